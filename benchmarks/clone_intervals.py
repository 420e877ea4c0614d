"""Means of benchmarks/clone.py's judges with 95 % bootstrap intervals: is a gap to an aim larger than the noise of
25 pairs and 5 target voices?

    python benchmarks/clone_intervals.py runs/clone.json [--group-by target|pair] [--draws 2000] [--json out.json]
    python benchmarks/clone_intervals.py runs/candidate.json --baseline runs/shipped.json   # paired differences

Reads clone.py's --json output (its per-pair rows; nothing is converted again). `--group-by target` (the default)
draws the 5 target voices whole, as their pairs share a reference recording; `pair` treats pairs as independent
(narrower). Rows written before 2026-12-03 carry no `target` key: they are in clone.py's target order, the same
number per target, and are labelled from that.

With `--baseline OTHER.json` (the same pairs run another way: other weights, precision, gain) it gives each judge's
mean difference, this run minus the baseline, pair by pair, with the same intervals: a paired comparison is far
tighter than two separate intervals, because most of the spread is between pairs, not between the runs. Rows are
matched by source, target and utterance (or sentence); each system is compared only where both files have it.

With `--leave-out SEEN.json` the rows of pairs another run already holds are dropped (from both runs) before
anything is counted: a candidate looked at on the first 25 conversions is judged on the other 50 of
`--utterances-per-pair 3`.

    python benchmarks/clone_intervals.py runs/candidate-k3.json --baseline runs/shipped-k3.json --leave-out runs/seen-25.json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from voxtwin.grouped_bootstrap import grouped_resamples, percentile_interval

TARGETS = 5  # clone.py's VCC 2016 target speakers
LABELS = {"source", "target", "utterance", "sentence"}  # name a row's pair; never averaged


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
    keys = [k for k, v in rows[0].items() if _judge(k, v)]
    values = np.array([[float(r[k]) for k in keys] for r in rows])
    drawn = np.array([values[index].mean(axis=0) for index in grouped_resamples(groups, draws=draws)])
    return {k: {"mean": float(values[:, i].mean()), **dict(zip(("low", "high"), percentile_interval(drawn[:, i])))} for i, k in enumerate(keys)}


def row_keys(rows: list[dict]) -> list[tuple]:
    """Each row's pair: source, target and utterance (or sentence) where named, then its place among rows with the
    same names (so `speak` rows of older files, which name only their target, pair in the script's order)."""
    seen: Counter = Counter()
    keys = []
    for row in rows:
        if "target" not in row:
            raise ValueError("rows without a target cannot be paired")
        named = (str(row.get("source", "")), str(row["target"]), str(row.get("utterance", row.get("sentence", ""))))
        keys.append((*named, seen[named]))
        seen[named] += 1
    return keys


def paired_differences(rows: list[dict], baseline: list[dict]) -> list[dict]:
    """Per pair, each numeric judge of `rows` minus the baseline's for the same pair."""
    base = dict(zip(row_keys(baseline), baseline))
    keys = row_keys(rows)
    if sorted(base) != sorted(keys):
        raise ValueError("the two runs do not hold the same pairs")
    out = []
    for key, row in zip(keys, rows):
        other = base[key]
        numbers = {k: float(v) - float(other[k]) for k, v in row.items() if _judge(k, v) and _judge(k, other.get(k))}
        out.append({**numbers, "target": row["target"]})
    return out


def leave_out(rows: list[dict], seen: list[dict]) -> list[dict]:
    """The rows whose pair (source, target, utterance or sentence) `seen` does not hold."""
    looked_at = {key[:3] for key in row_keys(seen)}
    return [row for key, row in zip(row_keys(rows), rows) if key[:3] not in looked_at]


def _judge(key: str, value) -> bool:
    """A judge's figure, not a label naming the pair."""
    return key not in LABELS and isinstance(value, (int, float)) and not isinstance(value, bool)


def read_rows(path: Path) -> dict[str, list[dict]]:
    try:
        return json.loads(path.read_text())["rows"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"error: {path} is not benchmarks/clone.py --json output ({exc.__class__.__name__})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clone_json", type=Path)
    parser.add_argument("--group-by", choices=["target", "pair"], default="target")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--baseline", type=Path, help="another clone.py --json run of the same pairs: report differences (this run - baseline)")
    parser.add_argument("--leave-out", type=Path, help="a clone.py --json run whose pairs are dropped first (conversions already looked at)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = read_rows(args.clone_json)
    baseline = read_rows(args.baseline) if args.baseline else None
    if args.leave_out:
        seen = read_rows(args.leave_out)
        try:
            rows = {system: leave_out(r, seen.get(system, [])) for system, r in rows.items()}
            if baseline is not None:
                baseline = {system: leave_out(r, seen.get(system, [])) for system, r in baseline.items()}
        except ValueError as exc:
            raise SystemExit(f"error: --leave-out needs rows that name their target ({exc})")
    report = {}
    for system, system_rows in rows.items():
        if not system_rows or (baseline is not None and not baseline.get(system)):
            continue
        try:
            if baseline is not None:
                system_rows = paired_differences(system_rows, baseline[system])
            report[system] = intervals(system_rows, group_by=args.group_by, draws=args.draws)
        except ValueError as exc:  # e.g. the reader's floor: one row per sentence, not per target
            print(f"{system}: skipped ({exc}{'' if baseline is not None else '; try --group-by pair'})")
            continue
        print(f"{system}{', this run minus --baseline' if baseline is not None else ''} ({len(system_rows)} rows, grouped by {args.group_by}): "
              + ", ".join(f"{k} {v['mean']:.3f} [{v['low']:.3f}, {v['high']:.3f}]" for k, v in report[system].items()))
    if baseline is not None and not report:
        raise SystemExit(f"error: no system of {args.clone_json} could be paired with {args.baseline}")
    if args.json:
        args.json.write_text(json.dumps({"group_by": args.group_by, "draws": args.draws, "baseline": str(args.baseline) if args.baseline else None,
                                         "left_out": str(args.leave_out) if args.leave_out else None,
                                         "differences": baseline is not None, "systems": report}, indent=2))


if __name__ == "__main__":
    main()
