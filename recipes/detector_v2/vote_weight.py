"""How much should each head weigh in the vote? Leave-one-source-out, from saved out-of-fold scores (nothing refitted).

The shipped `default` averages two heads' log-odds with equal weight. One head can be right on a page where the other is
confidently wrong (Tortoise: the fine-structure head alone catches it, the equal vote does not), so this asks what other
weights would have scored on the same unseen pages. Reads `fusion_loso.py --scores-out` (each file's out-of-fold log-odds
per model and channel) and scores (1 - w) x FIRST + w x SECOND for each weight w, with the study's own per-page EER:

    python recipes/detector_v2/vote_weight.py runs/detector_v2/r9-a-scores.npz --models distillmos+spectral fine-mean \\
        [--weights 0 0.1 ... 1] [--channels clean opus_16k mp3_64k telephone_8k] [--json runs/detector_v2/r9-weights.json]

Prints per weight the mean per-page / pooled EER per channel, the channels' mean, pages over 35 %, and the page
interval (page_interval.py) against the equal weight. The weights are judged on the pages they would be chosen on: a
report for choosing what to study next, never a held-out figure for a chosen weight.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from frontends_loso import report  # noqa: I001  (this folder is on sys.path when the script runs)
from fusion_loso import read_scores
from page_interval import page_bootstrap, page_differences

EQUAL = 0.5


def weighted_vote(first: dict[str, np.ndarray], second: dict[str, np.ndarray], weight: float, channels: list[str]) -> dict[str, np.ndarray]:
    """Each channel's (1 - weight) x first + weight x second; weight 0.5 is the shipped vote's mean."""
    return {ch: (1.0 - weight) * first[ch] + weight * second[ch] for ch in channels}


def weight_curve(scores: dict[str, dict[str, np.ndarray]], labels: np.ndarray, sources: np.ndarray, models: tuple[str, str],
                 weights: list[float], channels: list[str], *, draws: int = 5000) -> list[dict]:
    """One row per weight: the study's report per channel, the channels' mean per-page EER, and (beside the equal
    weight) the page interval of the difference from it."""
    first, second = (scores[m] for m in models)
    reports = {w: {ch: report(s, labels, sources) for ch, s in weighted_vote(first, second, w, channels).items()} for w in sorted({*weights, EQUAL})}
    rows = []
    for w in weights:
        row = {"weight": w, "channels": reports[w], "mean_of_channels": float(np.mean([reports[w][ch]["mean_source_eer"] for ch in channels]))}
        if w != EQUAL:
            _, differences = page_differences(reports[EQUAL], reports[w], channels)
            row["against_equal"] = page_bootstrap(differences, draws=draws)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scores", type=Path, help="a fusion_loso.py --scores-out file")
    parser.add_argument("--models", nargs=2, required=True, metavar=("FIRST", "SECOND"), help="the two heads; the weight is SECOND's")
    parser.add_argument("--weights", type=float, nargs="+", default=[round(0.1 * k, 1) for k in range(11)])
    parser.add_argument("--channels", nargs="+", default=["clean", "opus_16k", "mp3_64k", "telephone_8k"])
    parser.add_argument("--draws", type=int, default=5000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if any(not 0 <= w <= 1 for w in args.weights):
        parser.error("--weights are between 0 (FIRST alone) and 1 (SECOND alone)")
    scores, labels, sources = read_scores(args.scores)
    missing = [f"{m}|{ch}" for m in args.models for ch in args.channels if ch not in scores.get(m, {})]
    if missing:
        raise SystemExit(f"error: {args.scores} holds no scores for {', '.join(missing)} (it holds models {', '.join(scores) or 'none'})")
    rows = weight_curve(scores, labels, sources, tuple(args.models), args.weights, args.channels, draws=args.draws)
    print(f"(1 - w) x {args.models[0]} + w x {args.models[1]}: mean per page / pooled EER % (pages over 35 %); against w = {EQUAL} over pages")
    for row in rows:
        line = "  ".join(f"{ch} {r['mean_source_eer']:5.1f} / {r['pooled_eer']:5.1f} ({r['sources_over_35']})" for ch, r in row["channels"].items())
        versus = row.get("against_equal")
        tail = f"  {versus['mean']:+.2f} [{versus['low']:+.2f}, {versus['high']:+.2f}], better on {versus['better']}/{versus['pages']}" if versus else "  (equal weight)"
        print(f"w {row['weight']:.2f}  {line}  mean {row['mean_of_channels']:5.2f}{tail}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"scores": str(args.scores), "models": args.models, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
