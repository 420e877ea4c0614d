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
# fixed front-end (pretrained or plain spectra) + logistic regression (detect/frozen_head.py), with the default detector's [head] settings
FROZEN_HEAD = ("distillmos-linear", "spectral-linear")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--models", nargs="+", default=["lfcc-gmm", "lcnn"], choices=sorted(MODEL_OVERRIDES) + list(FROZEN_HEAD))
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
        if model in FROZEN_HEAD:
            run_frozen_head_folds(model, args.root, folds, out)
            continue
        for fold in folds:
            run_dir = out / model / fold
            if (run_dir / "summary.json").is_file():
                continue
            logging.info("model %s, held-out source %s", model, fold)
            run_recipe("shared_corpus", [f"root='{args.root}'", f"holdout='{fold}'", f"train.model='{model}'", f"train.out_dir='{run_dir}'",
                                         *MODEL_OVERRIDES[model], *args.overrides])
    write_table(out, args.models, folds)


def run_frozen_head_folds(name: str, root: str, folds: list[str], out: Path) -> None:
    """Leave-one-source-out for a frozen-front-end model: window statistics of every file are computed once
    (as recorded, plus augmented copies for training), then each fold fits its own head and scores its test files
    (mean window log-odds, 1 s hop, as `voxtwin detect score`)."""
    from detect.data import WaveformCache, load_trials
    from detect.frozen_head import WindowStats, augmented_copy, collect_stats, fit_head, score_stats
    from detect.metrics import eer
    from detect.models import build_model
    from detect.recipes import load_recipe
    from detect.splits import leave_one_source_out, validation_split
    from detect.train import default_cache_dir

    head = load_recipe("default_detector")["head"]
    trials, waves = load_trials(read_dataset("manifest", root, "all"), WaveformCache(default_cache_dir("")), description="Audio")
    model = build_model(name).eval()
    window, hop, train_hop = (int(head[k] * 16_000) for k in ("window_s", "hop_s", "train_hop_s"))
    stats_dir = out / name / "stats"
    stats_dir.mkdir(parents=True, exist_ok=True)

    def cached(label: str, **kwargs) -> WindowStats:
        settings = {"window": window} | {k: v for k, v in kwargs.items() if k != "transform"}
        return WindowStats.cached(stats_dir, label, waves, settings | {"augment": label}, lambda: collect_stats(model, waves, window=window, description=label, **kwargs))

    clean = cached("clean", hop=hop)
    augmented = [cached(f"aug_{label}", hop=train_hop, max_windows=head["max_windows"], transform=transform)
                 for label, transform in map(augmented_copy, head["augmented_copies"])]
    index = {id(t): i for i, t in enumerate(trials)}
    for fold in folds:
        run_dir = out / name / fold
        if (run_dir / "summary.json").is_file():
            continue
        train, test = leave_one_source_out(trials, fold)
        fit, valid = validation_split(train)
        fit_i, valid_i, test_i = (np.array([index[id(t)] for t in part]) for part in (fit, valid, test))
        bonafide = np.array([not t.is_spoof for t in trials])
        train_stats = WindowStats.concat([clean.subset(fit_i, max_windows=head["max_windows"])] + [a.subset(fit_i) for a in augmented])
        result = fit_head(model, train_stats, bonafide[fit_i], clean.subset(valid_i), bonafide[valid_i])
        scores = score_stats(model, clean.subset(test_i), len(test_i))
        real = bonafide[test_i]
        summary = {"recipe": "shared_corpus", "model": name, "head_fit": result, "eval": {f"holdout_{fold}": {
            "eer_percent": 100 * eer(scores[real], scores[~real])[0], "n_bonafide": int(real.sum()), "n_spoof": int((~real).sum())}}}
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        logging.info("%s %s: %s", name, fold, summary["eval"])


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
