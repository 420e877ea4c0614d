"""Throughput and memory of `voxtwin detect score`.

    python benchmarks/score.py [--files 24] [--models default fast] [--hop-s 1.0] [--jobs 1 0] [--passes 2] [--precisions fp32 auto]

1. A folder of mixed voice messages (Opus/Ogg, M4A, MP3, WAV; 3-30 s; 16-48 kHz) scored as `detect score` does:
   seconds of audio per second of wall time (x real time) on this machine's CPU threads, side by side for each
   `--jobs` value (1 = one file at a time; 0 = the default, one worker process per core) and each shipped detector (or
   checkpoint), interleaved pass by pass because a shared machine's speed drifts; with several `--precisions` each
   detector is timed in each (the default detector's CNN in float32 or bfloat16, voxtwin/precision.py).
2. Peak memory (RSS) of `voxtwin detect score` on a one-hour Opus file, run as a subprocess per detector.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from detect.detector import Detector
from voxtwin import audio
from voxtwin.freed_memory import keep_freed_memory
from voxtwin.precision import PRECISIONS
from voxtwin.testing import speechlike

FORMATS = [(".opus", 48_000), (".ogg", 16_000), (".m4a", 44_100), (".mp3", 24_000), (".wav", 16_000)]


def make_messages(root: Path, n: int) -> tuple[list[Path], float]:
    rng = np.random.default_rng(0)
    paths, total = [], 0.0
    for i in range(n):
        ext, rate = FORMATS[i % len(FORMATS)]
        seconds = float(rng.uniform(3, 30))
        paths.append(audio.save(root / f"message_{i:02d}{ext}", speechlike(duration_s=seconds, sample_rate=rate, seed=i), rate))
        total += seconds
    return paths, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--models", nargs="+", default=["default", "fast"], help="shipped detector names or checkpoints")
    parser.add_argument("--hop-s", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 0], help="files scored at once (0 = default)")
    parser.add_argument("--passes", type=int, default=2, help="interleaved passes over all models and jobs")
    # default: $VOXTWIN_PRECISION, else auto (until 2026-12-05 the default was "auto", which overrode the variable)
    parser.add_argument("--precisions", nargs="+", default=[None], choices=list(PRECISIONS),
                        help="the default detector's CNN precision(s) (voxtwin/precision.py; default: $VOXTWIN_PRECISION, else auto)")
    parser.add_argument("--skip-hour", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # as `voxtwin` does (voxtwin/freed_memory.py); VOXTWIN_KEEP_FREED_MEMORY=0 times glibc's default instead
    print(f"freed memory kept for reuse: {'yes' if keep_freed_memory() else 'no'}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths, total_s = make_messages(Path(tmp), args.files)
        detectors = {}  # (name, resolved precision): a detector without a CNN (fast) is timed once, whatever --precisions says
        for name in args.models:
            for precision in args.precisions:
                detector = Detector.load(name, device="cpu", hop_s=args.hop_s, precision=precision)
                detectors.setdefault((name, detector.precision), detector)
        for detector in detectors.values():
            detector.score_file(paths[0])  # warm-up
        for _ in range(args.passes):
            for (name, precision), detector in detectors.items():
                for jobs in args.jobs:
                    start = time.perf_counter()
                    results = list(detector.score_files(paths, jobs=jobs))
                    elapsed = time.perf_counter() - start
                    assert not any(r.error for r in results)
                    print(f"{len(paths)} messages, {total_s:.0f} s of audio, {elapsed:.2f} s wall on {args.threads} threads, jobs {jobs}: "
                          f"{total_s / elapsed:.0f}x real time (hop {args.hop_s} s, model {name} = {detector.name}, {detector.precision})", flush=True)
        if not args.skip_hour:
            hour = Path(tmp) / "hour.opus"
            audio.save(hour, np.tile(speechlike(duration_s=60.0, seed=1), 60), 16_000)
            for name, precision in detectors:
                cmd = [sys.executable, "-m", "voxtwin.cli", "detect", "score", str(hour), "--json", "--hop-s", str(args.hop_s), "--model", name, "--precision", precision]
                start = time.perf_counter()
                child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
                _, _, usage = os.wait4(child.pid, 0)
                elapsed = time.perf_counter() - start
                print(f"one-hour Opus file, model {name} ({precision}): {elapsed:.1f} s wall ({3600 / elapsed:.0f}x real time), peak RSS {usage.ru_maxrss / 1024:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
