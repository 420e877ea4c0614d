"""Where a fitted head fails on the recipe's validation split: EER per source, from the cached window statistics.

    python recipes/default_detector/validation_by_source.py runs/default_detector/ab/all.safetensors \\
        runs/default_detector/ab/paired.safetensors [--stats-dir runs/default_detector/train/stats_distillmos-spectral-linear_4.0s]

The validation split holds unseen speakers of the training sources, so one large page can decide its EER. For each
checkpoint (a run.py candidate with a frozen-statistics head) this prints the pooled EER, each synthetic source's
EER against all real validation files, each real source's EER against all synthetic ones, and the EER within the
pages that hold both classes in the fit set (detect/paired_sources.py). It reads the statistics run.py cached for
the validation split (`valid-*.npz`; made by a run.py run of the same model and window), so it costs seconds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from detect import metrics
from detect.checkpoints import load_detector
from detect.frozen_head import WindowStats, score_stats
from detect.paired_sources import sources_with_both_classes
from detect.recipes import load_recipe
from detect.splits import validation_split
from voxtwin.errors import VoxtwinError

from run import HERE, recipe_trials, split_trials  # noqa: I001  (this folder's run.py)


def eer_percent(real: np.ndarray, fake: np.ndarray) -> float:
    return 100 * metrics.eer(real, fake)[0] if len(real) and len(fake) else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--stats-dir", type=Path, default=Path("runs/default_detector/train/stats_distillmos-spectral-linear_4.0s"))
    args = parser.parse_args()
    cached = sorted(args.stats_dir.glob("valid-*.npz"))
    if len(cached) != 1:
        raise SystemExit(f"error: expected one valid-*.npz in {args.stats_dir}, found {len(cached)}: run recipes/default_detector/run.py first")
    config = load_recipe(str(HERE / "config.toml"), [])
    train, _, _ = split_trials(recipe_trials(config), config["calibration_sources"], config["report_sources"])
    fit, valid = validation_split(train)
    stats = WindowStats.load(cached[0])
    if int(stats.owner.max()) + 1 != len(valid):
        raise SystemExit(f"error: {cached[0]} describes {int(stats.owner.max()) + 1} files, the validation split {len(valid)}: rerun run.py")
    source = np.array([t.source for t in valid])
    spoof = np.array([t.is_spoof for t in valid])
    paired = sorted(sources_with_both_classes([t.is_spoof for t in fit], [t.source for t in fit]))
    in_paired = np.isin(source, paired)
    for path in args.checkpoints:
        try:
            model, meta, _ = load_detector(path, map_location="cpu")
        except VoxtwinError as exc:
            raise SystemExit(f"error: {exc}")
        if not hasattr(model, "head"):
            raise SystemExit(f"error: {path} has no frozen-statistics head")
        scores = score_stats(model, stats, len(valid))  # bona fide log-odds
        real, fake = scores[~spoof], scores[spoof]
        print(f"\n{path}: pooled EER {eer_percent(real, fake):.1f} % ({(~spoof).sum()} real, {spoof.sum()} synthetic files); "
              f"within the {len(paired)} pages with both classes {eer_percent(scores[in_paired & ~spoof], scores[in_paired & spoof]):.1f} %")
        for name in sorted(set(source[spoof])):
            print(f"  synthetic {name:28s} {(spoof & (source == name)).sum():3d} files, EER vs all real {eer_percent(real, scores[spoof & (source == name)]):5.1f} %")
        for name in sorted(set(source[~spoof])):
            print(f"  real      {name:28s} {(~spoof & (source == name)).sum():3d} files, EER vs all synthetic {eer_percent(scores[~spoof & (source == name)], fake):5.1f} %"
                  f"{'  (page with both classes)' if name in paired else ''}")


if __name__ == "__main__":
    main()
