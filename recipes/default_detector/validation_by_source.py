"""Where a fitted head fails on the recipe's validation split: EER per source, from the cached window statistics.

    python recipes/default_detector/validation_by_source.py runs/default_detector/ab/all.safetensors \\
        runs/default_detector/ab/paired.safetensors [--stats-dir runs/default_detector/train/stats_distillmos-spectral-linear_4.0s]
    python recipes/default_detector/validation_by_source.py --compare runs/default_detector/ab/compare-calibration.json
        # the same per-source table for every model and channel of a compare.py --json file (its per-file p_synthetic)

The validation split holds unseen speakers of the training sources, so one large page can decide its EER. For each
checkpoint (a run.py candidate with a frozen-statistics head) this prints the pooled EER, each synthetic source's
EER against all real validation files, each real source's EER against all synthetic ones, and the EER within the
pages that hold both classes in the fit set (detect/paired_sources.py). It reads the statistics run.py cached for
the validation split (`valid-*.npz`; made by a run.py run of the same model and window), so it costs seconds.
"""

from __future__ import annotations

import argparse
import json
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


def print_by_source(title: str, bona_fide: np.ndarray, spoof: np.ndarray, source: np.ndarray, paired: list[str]) -> None:
    real, fake = bona_fide[~spoof], bona_fide[spoof]
    print(f"\n{title}: pooled EER {eer_percent(real, fake):.1f} % ({(~spoof).sum()} real, {spoof.sum()} synthetic files)")
    for name in sorted(set(source[spoof])):
        print(f"  synthetic {name:28s} {(spoof & (source == name)).sum():3d} files, EER vs all real {eer_percent(real, bona_fide[spoof & (source == name)]):5.1f} %")
    for name in sorted(set(source[~spoof])):
        print(f"  real      {name:28s} {(~spoof & (source == name)).sum():3d} files, EER vs all synthetic {eer_percent(bona_fide[~spoof & (source == name)], fake):5.1f} %"
              f"{'  (page with both classes)' if name in paired else ''}")


def source_of(path: Path, root: Path) -> str:
    """The folder under the data root a file lies in (../shared/data's layout); elsewhere (generated speech) its parent's name."""
    return path.relative_to(root).parts[0] if path.is_relative_to(root) else path.parent.name


def from_compare(path: Path, root: Path) -> None:
    """compare.py --json: every set, model and channel, by source (a file's source is its folder under the data root)."""
    try:
        sets = json.loads(path.read_text())
        for set_name, result in sets.items():
            source = np.array([source_of(Path(p), root) for p in result["paths"]])
            spoof = np.asarray(result["is_synthetic"], dtype=bool)
            for model, channels in result["models"].items():
                for channel, figures in channels["channels"].items():
                    print_by_source(f"{set_name} / {model} / {channel}", 1 - np.asarray(figures["p_synthetic"], dtype=float), spoof, source, [])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"error: {path} is not a compare.py --json file ({exc.__class__.__name__})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="*", type=Path)
    parser.add_argument("--stats-dir", type=Path, default=Path("runs/default_detector/train/stats_distillmos-spectral-linear_4.0s"))
    parser.add_argument("--compare", type=Path, help="a compare.py --json file instead of checkpoints")
    args = parser.parse_args()
    config = load_recipe(str(HERE / "config.toml"), [])
    if args.compare:
        return from_compare(args.compare, Path(config["root"]))
    if not args.checkpoints:
        parser.error("give checkpoints, or --compare JSON")
    cached = sorted(args.stats_dir.glob("valid-*.npz"))
    if len(cached) != 1:
        raise SystemExit(f"error: expected one valid-*.npz in {args.stats_dir}, found {len(cached)}: run recipes/default_detector/run.py first")
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
        print_by_source(str(path), scores, spoof, source, paired)
        print(f"  within the {len(paired)} pages with both classes: EER {eer_percent(scores[in_paired & ~spoof], scores[in_paired & spoof]):.1f} %")


if __name__ == "__main__":
    main()
