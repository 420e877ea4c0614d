"""Means of benchmarks/clone.py's judges with 95 % bootstrap intervals: is a gap to an aim larger than the noise of
25 pairs and 5 target voices?

    python benchmarks/clone_intervals.py runs/clone.json [--group-by target|pair] [--draws 2000] [--json out.json]

Reads clone.py's --json output (its per-pair rows; nothing is converted again). `--group-by target` (the default)
draws the 5 target voices whole, as their pairs share a reference recording; `pair` treats pairs as independent
(narrower). Rows written before 2026-12-03 carry no `target` key: they are in clone.py's target order, the same
number per target, and are labelled from that.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from voxtwin.grouped_bootstrap import grouped_resamples, percentile_interval

TARGETS = 5  # clone.py's VCC 2016 target speakers


def target_labels(rows: list[dict]) -> list[str]:
    if all("target" in r for r in rows):
        return [r["target"] for r in rows]
    if len(rows) % TARGETS:
        raise ValueError(f"{len(rows)} rows without target names cannot be split over {TARGETS} targets")
    per_target = len(rows) // TARGETS
    return [f"target {i // per_target + 1}" for i in range(len(rows))]


def intervals(rows: list[dict], *, group_by: str, draws: int) -> dict[str, dict[str, float]]:
    """Per numeric judge of the rows: mean, low, high."""
    groups = target_labels(rows) if group_by == "target" else list(range(len(rows)))
    keys = [k for k, v in rows[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    values = np.array([[float(r[k]) for k in keys] for r in rows])
    drawn = np.array([values[index].mean(axis=0) for index in grouped_resamples(groups, draws=draws)])
    return {k: {"mean": float(values[:, i].mean()), **dict(zip(("low", "high"), percentile_interval(drawn[:, i])))} for i, k in enumerate(keys)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clone_json", type=Path)
    parser.add_argument("--group-by", choices=["target", "pair"], default="target")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    try:
        rows = json.loads(args.clone_json.read_text())["rows"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"error: {args.clone_json} is not benchmarks/clone.py --json output ({exc.__class__.__name__})")
    report = {}
    for system, system_rows in rows.items():
        if not system_rows:
            continue
        try:
            report[system] = intervals(system_rows, group_by=args.group_by, draws=args.draws)
        except ValueError as exc:  # e.g. the reader's floor: one row per sentence, not per target
            print(f"{system}: skipped ({exc}; try --group-by pair)")
            continue
        print(f"{system} ({len(system_rows)} rows, grouped by {args.group_by}): "
              + ", ".join(f"{k} {v['mean']:.3f} [{v['low']:.3f}, {v['high']:.3f}]" for k, v in report[system].items()))
    if args.json:
        args.json.write_text(json.dumps({"group_by": args.group_by, "draws": args.draws, "systems": report}, indent=2))


if __name__ == "__main__":
    main()
