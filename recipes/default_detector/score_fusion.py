"""Would two shipped detectors together beat one? Score fusion from compare.py's saved per-file probabilities.

compare.py stores every file's p_synthetic per detector and channel. A fused detector's log-odds are the mean of the
named detectors' log-odds (equal weights: nothing is tuned on the set it is judged on), and its EER and verdicts (at
the shipped thresholds) are reported beside each detector's own, per channel, with the four-channel mean. Nothing is
scored again, so the fused row costs nothing to measure; running it would cost every named detector's time.

    python recipes/default_detector/compare.py --models default fast --sets calibration report --out runs/default_detector/compare.json
    python recipes/default_detector/score_fusion.py runs/default_detector/compare.json --models default fast
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from detect.detector import verdict_for
from detect.paired_bootstrap import eer_points
from verdict_shares import headline_shares  # noqa: I001  (this folder's verdict_shares.py)


def log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def fused_p_synthetic(per_model: list[np.ndarray]) -> np.ndarray:
    """The probability whose log-odds are the mean of the detectors' log-odds."""
    return 1 / (1 + np.exp(-np.mean([log_odds(p) for p in per_model], axis=0)))


def channel_summary(p: np.ndarray, fake: np.ndarray) -> dict:
    verdicts = np.array([verdict_for(float(x), []) for x in p])
    return {"eer_percent": eer_points(p, fake), **headline_shares(verdicts, fake)}


def fusion_table(compare: dict, models: list[str]) -> dict:
    """{set: {row: {channel: channel_summary, "mean_eer_percent"}}}, rows = each model and "fused"."""
    out = {}
    for set_name, found in compare.items():
        missing = [m for m in models if m not in found["models"]]
        if missing:
            raise SystemExit(f"error: {set_name}: compare.py scored no {', '.join(missing)} (it has {', '.join(found['models'])})")
        fake = np.asarray(found["is_synthetic"], dtype=bool)
        channels = list(found["models"][models[0]]["channels"])
        p = {m: {ch: np.asarray(found["models"][m]["channels"][ch]["p_synthetic"]) for ch in channels} for m in models}
        p["fused"] = {ch: fused_p_synthetic([p[m][ch] for m in models]) for ch in channels}
        out[set_name] = {}
        for row, by_channel in p.items():
            table = {ch: channel_summary(by_channel[ch], fake) for ch in channels}
            out[set_name][row] = table | {"mean_eer_percent": float(np.mean([t["eer_percent"] for t in table.values()]))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("compare_json", type=Path, help="compare.py's --out")
    parser.add_argument("--models", nargs="+", default=["default", "fast"], help="two or more detectors compare.py scored")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if len(args.models) < 2:
        parser.error("--models: name at least two detectors to fuse")
    if not args.compare_json.is_file():
        raise SystemExit(f"error: {args.compare_json}: no such file (run compare.py first)")
    table = fusion_table(json.loads(args.compare_json.read_text()), args.models)
    for set_name, rows in table.items():
        for row, t in rows.items():
            eers = " / ".join(f"{t[ch]['eer_percent']:.1f}" for ch in t if ch != "mean_eer_percent")
            real = " / ".join(f"{t[ch]['real_called_synthetic_percent']:.1f}" for ch in t if ch != "mean_eer_percent")
            print(f"{set_name:12s} {row:10s} EER % {eers} (mean {t['mean_eer_percent']:.2f})   real called synthetic % {real}")
    if args.out:
        args.out.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
