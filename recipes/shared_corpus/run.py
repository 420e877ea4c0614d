"""Leave-one-source-out benchmark on ../shared/data: every model family x every source that holds spoofs.

    python recipes/shared_corpus/run.py --root ../shared/data --models lfcc-gmm lcnn rawnet2 [--folds vits_demo ...]

Each fold trains on all other sources (minus a fixed pool of real speakers) and reports the EER on the held-out
source plus that pool. Finished folds are skipped on rerun (their summary.json exists), so the run resumes.
Writes runs/shared_corpus/results.json and results.md (the table in this folder's README).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
import torch

from detect.datasets import read_dataset
from detect.recipes import run_recipe
from detect.splits import spoof_sources

# CPU-sized variants of each family (the official sizes are in the other recipes)
MODEL_OVERRIDES = {
    "lfcc-gmm": ["train.model_config={n_components=32, max_iter=50, max_frames_per_class=50000}"],
    "lcnn": [],
    "rawnet2": ["train.model_config={gru_node=256, nb_gru_layer=1, nb_fc_node=256}"],
    "aasist-l": [],
    "aasist": [],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--models", nargs="+", default=["lfcc-gmm", "lcnn"], choices=sorted(MODEL_OVERRIDES))
    parser.add_argument("--folds", nargs="*", default=None, help="held-out sources (default: every source with spoofs)")
    parser.add_argument("--out", default="runs/shared_corpus")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra recipe overrides")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    folds = args.folds or spoof_sources(read_dataset("manifest", args.root, "all"))
    out = Path(args.out)
    for model in args.models:
        for fold in folds:
            run_dir = out / model / fold
            if (run_dir / "summary.json").is_file():
                continue
            logging.info("model %s, held-out source %s", model, fold)
            run_recipe("shared_corpus", [f"root='{args.root}'", f"holdout='{fold}'", f"train.model='{model}'", f"train.out_dir='{run_dir}'",
                                         *MODEL_OVERRIDES[model], *args.overrides])
    write_table(out, args.models, folds)


def write_table(out: Path, models: list[str], folds: list[str]) -> None:
    results: dict[str, dict[str, dict]] = {}
    for model in models:
        for fold in folds:
            path = out / model / fold / "summary.json"
            if path.is_file():
                result = json.loads(path.read_text())["eval"][f"holdout_{fold}"]
                results.setdefault(model, {})[fold] = {"eer_percent": result["eer_percent"], "n_bonafide": result["n_bonafide"], "n_spoof": result["n_spoof"]}
    (out / "results.json").write_text(json.dumps(results, indent=2))
    lines = ["| held-out source | n spoof | " + " | ".join(models) + " |", "|---|---|" + "---|" * len(models)]
    for fold in folds:
        n_spoof = next((results[m][fold]["n_spoof"] for m in models if fold in results.get(m, {})), "")
        cells = [f"{results[m][fold]['eer_percent']:.1f}" if fold in results.get(m, {}) else "-" for m in models]
        lines.append(f"| {fold} | {n_spoof} | " + " | ".join(cells) + " |")
    means = [f"**{np.mean([r['eer_percent'] for r in results[m].values()]):.1f}**" if results.get(m) else "-" for m in models]
    lines.append("| **mean over folds** | | " + " | ".join(means) + " |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
