"""Speaker-verification EER of the Resemblyzer d-vector on ../shared/data, and the threshold at the EER point.

voxtwin uses this threshold to accept a consent recording as the same voice as the enrolment references
(voice/consent.py: CONSENT_SPEAKER_THRESHOLD). Trials: every same-speaker pair and an equal number of random
different-speaker pairs among the multi-utterance real speakers (VCC 2016, LibriSpeech test-other, VCTK).

    python benchmarks/speaker_threshold.py [--data ../shared/data] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np

from detect.metrics import eer
from voice import judges
from voxtwin import audio
from shared_data import require_shared_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--per-speaker", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    require_shared_data(args.data, "the real speech of many speakers")
    by_speaker = defaultdict(list)
    with open(args.data / "manifest.csv") as f:
        for row in csv.DictReader(f):
            if row["label"] == "bonafide" and row["corpus"] in ("vcc2016", "librispeech", "vctk") and float(row["duration_s"]) >= 2.0:
                by_speaker[(row["corpus"], row["speaker"])].append(row["path"])
    speakers = {k: sorted(v)[: args.per_speaker] for k, v in by_speaker.items() if len(v) >= 3}
    embeddings = {}
    for paths in speakers.values():
        for p in paths:
            wav, rate = audio.load(args.data / p, 16_000)
            embeddings[p] = judges.speaker_embedding(wav, rate)
    same = [judges.cosine(embeddings[a], embeddings[b]) for paths in speakers.values() for a, b in itertools.combinations(paths, 2)]
    rng = random.Random(0)
    keys = list(speakers)
    different = []
    while len(different) < len(same):
        s1, s2 = rng.sample(keys, 2)
        different.append(judges.cosine(embeddings[rng.choice(speakers[s1])], embeddings[rng.choice(speakers[s2])]))
    rate, threshold = eer(np.asarray(same), np.asarray(different))
    result = {"speakers": len(speakers), "utterances": len(embeddings), "same_trials": len(same), "different_trials": len(different),
              "eer_percent": round(100 * rate, 2), "threshold": round(float(threshold), 4)}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
