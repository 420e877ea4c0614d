"""How well enrolment's one-speaker check refuses references that mix voices (needs ../shared/data).

Builds references of 12 s from real speech in ../shared/data: one speaker (three utterances of one VCTK / VCC 2016
speaker) or a mixture (one utterance each of two or three different speakers), and reports the check's statistic
(the lowest similarity of a 2 s chunk to the rest, voice/enrollment.py) for each kind, the share refused at the
shipped threshold, and the threshold that would separate them best.

    python benchmarks/speaker_mixtures.py [--data ../shared/data] [--n 40]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np

from shared_data import DEFAULT_SHARED_DATA, require_shared_data
from voice.enrollment import MIN_SPLIT_SIMILARITY, speaker_consistency
from voxtwin import audio

REFERENCE_S = 12.0


def _speakers(shared: Path) -> dict[str, list[Path]]:
    by_speaker = defaultdict(list)
    with open(shared / "manifest.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["label"] == "bonafide" and row["source"] in ("autovc_vctk", "vcc2016_ccganvc") and row["speaker"]:
                by_speaker[f"{row['source']}/{row['speaker']}"].append(shared / row["path"])
    return {k: v for k, v in by_speaker.items() if len(v) >= 3}


def _reference(paths: list[Path]) -> np.ndarray:
    parts = [audio.trim_silence(audio.load(p, 16_000)[0], 16_000) for p in paths]
    per_part = int(REFERENCE_S / len(parts) * 16_000)
    return np.concatenate([np.resize(p, per_part) if len(p) < per_part else p[:per_part] for p in parts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_SHARED_DATA)
    parser.add_argument("--n", type=int, default=40, help="references of each kind")
    args = parser.parse_args()
    require_shared_data(args.data, "the real speech of VCTK and VCC 2016 speakers")
    rng = random.Random(0)
    speakers = _speakers(args.data)
    names = sorted(speakers)
    stats: dict[str, list[float]] = {"one speaker": [], "two speakers": [], "three speakers": []}
    for _ in range(args.n):
        one = rng.choice(names)
        stats["one speaker"].append(speaker_consistency(_reference(rng.sample(speakers[one], 3)))[1])
        for kind, k in (("two speakers", 2), ("three speakers", 3)):
            chosen = rng.sample(names, k)
            stats[kind].append(speaker_consistency(_reference([rng.choice(speakers[s]) for s in chosen]))[1])
    threshold = MIN_SPLIT_SIMILARITY  # 12 s references always get the cut check
    same, mixed = np.array(stats["one speaker"]), np.array(stats["two speakers"] + stats["three speakers"])
    candidates = np.unique(np.concatenate([same, mixed]))
    errors = [(np.mean(same < t) + np.mean(mixed >= t)) / 2 for t in candidates]
    best = float(candidates[int(np.argmin(errors))])
    report = {
        "threshold": threshold,
        "kinds": {k: {"n": len(v), "median": round(float(np.median(v)), 3), "refused_percent": round(100 * float(np.mean(np.array(v) < threshold)), 1)} for k, v in stats.items()},
        "best_threshold": round(best, 3),
        "best_balanced_error_percent": round(100 * float(min(errors)), 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
