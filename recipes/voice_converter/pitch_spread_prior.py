"""How far can one recording's pitch spread be trusted? The shrinkage prior for the converter's log-F0 mapping.

`convert` moves the source's intonation into the target's range by z-scores: (log F0 - the recording's mean) / the
recording's standard deviation, rescaled by the target's. A short recording's standard deviation is a poor estimate
of its speaker's (1.5 s of speech holds one or two phrases): on VCC 2016, sources under 2 s converted at DistillMOS
2.67 against 3.65 for the others, and taking the spread from six other recordings of the same speaker lifted them.
The converter therefore shrinks the recording's spread toward a prior, std^2 = (n s^2 + n0 prior^2) / (n + n0), n
its voiced frames (voice/converter/backend.py). Both numbers come from the converter's own training speakers (../shared/data's
real speech without VCC 2016), never from the benchmark: for every recording of a named speaker with at least three, the
reference is the spread of the speaker's *other* recordings; the prior is the median speaker's spread and n0 the
grid value that brings the shrunk estimate closest to the reference (mean |log ratio|).

    python recipes/voice_converter/pitch_spread_prior.py [--data ../shared/data] [--json runs/voice_converter/pitch-spread-prior.json]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from rich.progress import track

from voice.converter.analysis import MEL_RATE_HZ, pitch, prepare
from voice.converter.backend import shrunk_spread
from voice.converter.corpus import real_recordings
from voxtwin import audio

HERE = Path(__file__).resolve().parent
N0_GRID = (0, 25, 50, 100, 200, 400, 800, 1600)
MIN_VOICED = 20  # frames: fewer and a recording says nothing of its spread
MAX_PER_SPEAKER = 8


def voiced_log_f0(path: Path) -> np.ndarray:
    wav = prepare(audio.load(path, 16_000)[0])
    log_f0, voiced = pitch(wav, int(np.ceil(len(wav) / 16_000 * MEL_RATE_HZ)))
    return log_f0[voiced]


def main() -> None:
    config = json.loads((HERE / "config.json").read_text())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    manifest = args.data / "manifest.csv"
    if not manifest.is_file():
        raise SystemExit(f"error: {manifest} not found: the prior is measured on the converter's training speakers (--data DIR)")
    by_speaker = defaultdict(list)
    for rec in real_recordings(manifest, exclude_sources=tuple(config["exclude_sources"])):
        if not rec.speaker.endswith("/"):  # a blank speaker column lumps a page's many voices together
            by_speaker[rec.speaker].append(rec.path)
    chosen = {s: sorted(p)[:MAX_PER_SPEAKER] for s, p in by_speaker.items() if len(p) >= 3}
    contours = {s: [voiced_log_f0(p) for p in paths] for s, paths in track(list(chosen.items()), description="pitch of training speakers")}
    contours = {s: [c for c in cs if len(c) >= MIN_VOICED] for s, cs in contours.items()}
    contours = {s: cs for s, cs in contours.items() if len(cs) >= 3}
    speaker_std = np.array([np.concatenate(cs).std() for cs in contours.values()])
    prior = float(np.median(speaker_std))
    own, n, ref = [], [], []
    for cs in contours.values():
        for i, c in enumerate(cs):
            others = np.concatenate([o for j, o in enumerate(cs) if j != i])
            own.append(c.std()), n.append(len(c)), ref.append(others.std())
    own, n, ref = map(np.asarray, (own, n, ref))
    errors = {n0: float(np.mean(np.abs(np.log(shrunk_spread(own, n, prior, n0) / ref)))) for n0 in N0_GRID}
    best = min(errors, key=errors.get)
    short = n < np.median(n)
    result = {"speakers": len(contours), "recordings": len(own), "prior_log_f0_std": round(prior, 4),
              "speaker_std_quartiles": [round(float(q), 4) for q in np.percentile(speaker_std, [25, 50, 75])],
              "median_voiced_frames": float(np.median(n)), "error_by_n0": {str(k): round(v, 4) for k, v in errors.items()}, "n0": best,
              "error_short_half": {"raw": round(float(np.mean(np.abs(np.log(own[short] / ref[short])))), 4),
                                   "shrunk": round(float(np.mean(np.abs(np.log(shrunk_spread(own[short], n[short], prior, best) / ref[short])))), 4)}}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
