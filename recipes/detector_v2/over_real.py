"""More real than real? Which unseen pages' fakes score above almost every real file, and what a two-sided reading of
the score would change. Leave-one-source-out, from saved out-of-fold scores (nothing refitted).

A detector's bona fide log-odds are read one-sided: the higher, the more real. Tortoise's fakes score above the 95th
percentile of real speech on the shipped kind of vote (stop 69, recipes/detector_v2/README.md "Is the floor under the
words the background between them?"). A two-sided reading folds every score above the real files' `--percentile`
back below it (s -> q - (s - q)); for each held-out page, q comes from the OTHER pages' real files only:

    python recipes/detector_v2/over_real.py runs/detector_v2/s68-A-scores.npz [--model "score-mean distillmos+spectral, fine-mean"] \\
        [--channels clean telephone_8k] [--percentile 95] [--json runs/detector_v2/s69-over-real-A.json]

Prints per channel each page's share of fakes above q, then the study's report (mean per-page / pooled EER) one-sided
and two-sided. Tortoise suggested the reading, so this pool cannot test it: a lead for pages it does not hold, never a
held-out figure.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from frontends_loso import report  # noqa: I001  (this folder is on sys.path when the script runs)
from fusion_loso import read_scores

VOTE = "score-mean distillmos+spectral, fine-mean"


def real_ceilings(scores: np.ndarray, labels: np.ndarray, sources: np.ndarray, percentile: float) -> np.ndarray:
    """Each file's q: the `percentile` of the real files' scores of every source but its own (labels: 1 = spoof)."""
    q = np.zeros(len(scores))
    for source in np.unique(sources):
        held = sources == source
        q[held] = np.percentile(scores[~held & (labels == 0)], percentile)
    return q


def two_sided(scores: np.ndarray, ceilings: np.ndarray) -> np.ndarray:
    """Scores above their ceiling folded back below it: as far under q as they were over it."""
    return np.where(scores > ceilings, 2 * ceilings - scores, scores)


def over_real_shares(scores: np.ndarray, ceilings: np.ndarray, labels: np.ndarray, sources: np.ndarray) -> dict[str, float]:
    """{page: share of its fakes above their ceiling} for every page that holds fakes."""
    fakes = labels == 1
    return {str(s): float(np.mean((scores > ceilings)[fakes & (sources == s)])) for s in np.unique(sources[fakes])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scores", type=Path, help="a fusion_loso.py --scores-out file")
    parser.add_argument("--model", default=VOTE)
    parser.add_argument("--channels", nargs="+", default=["clean", "telephone_8k"])
    parser.add_argument("--percentile", type=float, default=95.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not 0 < args.percentile <= 100:
        parser.error("--percentile P needs 0 < P <= 100")
    scores, labels, sources = read_scores(args.scores)
    if args.model not in scores:
        raise SystemExit(f"error: {args.scores} holds no model {args.model!r} (it holds: {', '.join(sorted(scores))})")
    results = {}
    for ch in args.channels:
        if ch not in scores[args.model]:
            raise SystemExit(f"error: {args.scores} holds no {ch} scores for {args.model!r}")
        s = scores[args.model][ch]
        q = real_ceilings(s, labels, sources, args.percentile)
        shares = over_real_shares(s, q, labels, sources)
        results[ch] = {"over_real_share": shares, "one_sided": report(s, labels, sources), "two_sided": report(two_sided(s, q), labels, sources)}
        above = ", ".join(f"{page} {100 * share:.0f} %" for page, share in shares.items() if share > 0.0)
        print(f"{ch}: fakes above the other pages' real {args.percentile:g}th percentile: {above or 'none'}")
        for side in ("one_sided", "two_sided"):
            r = results[ch][side]
            print(f"  {side.replace('_', '-'):10s} mean per page / pooled EER {r['mean_source_eer']:5.1f} / {r['pooled_eer']:5.1f} ({r['sources_over_35']} over 35 %)", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"model": args.model, "percentile": args.percentile, "channels": results}, indent=1, default=str))


if __name__ == "__main__":
    main()
