"""EER and min t-DCF on 71,237 scores (the size of ASVspoof 2019 LA eval), in seconds.

    python benchmarks/metrics.py
Uses ../shared/data/asvspoof2019 when present (RawGAT-ST scores, organisers' ASV scores), else synthetic scores
of the same size.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from detect import metrics
from detect.scorefile import read_asv_scores, read_cm_scores

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "asvspoof2019"


def main() -> None:
    if SHARED.is_dir():
        cm = read_cm_scores(SHARED / "RawGAT_ST_mul.eval.scores.txt")
        bonafide, spoof = cm.bonafide, cm.spoof
        asv = read_asv_scores(SHARED / "ASVspoof2019.LA.asv.eval.gi.trl.scores.txt")
        source = "RawGAT-ST (mul) eval scores"
    else:
        rng = np.random.default_rng(0)
        bonafide, spoof = rng.normal(2, 1, 7355), rng.normal(-2, 1, 63882)
        asv = {"target": rng.normal(3, 1, 5370), "nontarget": rng.normal(-3, 1, 33327), "spoof": rng.normal(1, 2, 63882)}
        source = "synthetic scores"
    start = time.perf_counter()
    result = metrics.summarize(bonafide, spoof, asv=asv)
    elapsed = time.perf_counter() - start
    print(f"{source}: {len(bonafide) + len(spoof)} scores, EER {result['eer_percent']:.6f} %, min t-DCF {result['min_tdcf']:.6f}, {elapsed:.3f} s")


if __name__ == "__main__":
    main()
