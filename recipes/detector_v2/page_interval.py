"""How sure is a leave-one-source-out difference? A bootstrap over the held-out pages of two studies' JSON files.

Every study here is judged by the mean of per-page EERs, so the uncertainty that matters is which pages happened to be
in the pool: resampling the pages (with replacement) asks whether the change would still win on another draw of pages
like these. Reads two --json outputs of the studies (nothing is scored again):

    python recipes/detector_v2/page_interval.py runs/detector_v2/mlp-hidden-64.json runs/detector_v2/mix-pages.json \\
        [--model wide-student+spectral] [--channels clean telephone_8k] [--draws 5000]
    python recipes/detector_v2/page_interval.py runs/detector_v2/s31-0.json runs/detector_v2/s31-0.json \\
        --model distillmos+spectral --candidate-model distillmos+spectral+fine   # two models of one run

Prints, per channel and for the channels' mean, the candidate's mean per-page EER minus the baseline's, its 95 %
interval over pages, and on how many pages the candidate is better. The interval covers the choice of pages, not the
files within a page (recipes/default_detector/paired_interval.py resamples files and speakers instead).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def page_differences(baseline: dict, candidate: dict, channels: list[str]) -> tuple[list[str], np.ndarray]:
    """(pages, differences): one row per page both results hold, one column per channel, candidate - baseline (points)."""
    pages = sorted(set.intersection(*(set(r[ch]["per_source"]) for r in (baseline, candidate) for ch in channels)))
    if not pages:
        raise ValueError("the two results share no held-out page in these channels")
    return pages, np.array([[candidate[ch]["per_source"][p] - baseline[ch]["per_source"][p] for ch in channels] for p in pages])


def page_bootstrap(differences: np.ndarray, *, draws: int = 5000, seed: int = 0) -> dict:
    """{"mean", "low", "high", "better", "pages"} of the per-page differences averaged over channels (one row per page):
    the mean, its 2.5 / 97.5 percentiles over `draws` resamplings of the pages, the number of pages with a negative
    difference, and the number of pages."""
    per_page = differences.mean(1)
    rng = np.random.default_rng(seed)
    means = per_page[rng.integers(0, len(per_page), (draws, len(per_page)))].mean(1)
    return {"mean": float(per_page.mean()), "low": float(np.percentile(means, 2.5)), "high": float(np.percentile(means, 97.5)),
            "better": int((per_page < 0).sum()), "pages": len(per_page)}


def _results(path: Path, model: str | None) -> tuple[str, dict]:
    try:
        results = json.loads(path.read_text())["results"]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"error: {path}: not a study's --json output ({exc})") from None
    name = model or next(iter(results))
    if name not in results:
        raise SystemExit(f"error: {path} holds no model {name!r} (it holds {', '.join(results)})")
    return name, results[name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("candidate", type=Path)
    parser.add_argument("--model", help="which model of the JSON files (default: each file's first)")
    parser.add_argument("--candidate-model", help="the candidate file's model, where it differs from --model (two models of one study run)")
    parser.add_argument("--channels", nargs="+", default=["clean", "telephone_8k"])
    parser.add_argument("--draws", type=int, default=5000)
    args = parser.parse_args()
    (base_name, baseline), (cand_name, candidate) = _results(args.baseline, args.model), _results(args.candidate, args.candidate_model or args.model)
    missing = [ch for ch in args.channels if ch not in baseline or ch not in candidate]
    if missing:
        raise SystemExit(f"error: channel(s) {', '.join(missing)} not in both results")
    pages, differences = page_differences(baseline, candidate, args.channels)
    print(f"{cand_name} ({args.candidate.name}) - {base_name} ({args.baseline.name}), mean per-page EER, points [95 % interval over {len(pages)} pages]")
    for i, channel in enumerate([*args.channels, "mean"]):
        column = differences if channel == "mean" else differences[:, [i]]
        r = page_bootstrap(column, draws=args.draws)
        print(f"  {channel:14s} {r['mean']:+.2f} [{r['low']:+.2f}, {r['high']:+.2f}]  better on {r['better']}/{r['pages']} pages")


if __name__ == "__main__":
    main()
