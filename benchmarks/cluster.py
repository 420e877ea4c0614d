"""`--engine ray` against the local process pool on this machine: throughput with 1 and 2 Ray workers next to
`--jobs 1` and `--jobs 2` of the local engine, Ray's start-up, and the per-file overhead Ray adds.

Scores a generated folder (N speech-like messages of D seconds, written once) with the chosen detector. Ray's
start-up is timed apart from the scoring: the local cluster once, and the actors (a process each, importing torch and
loading the model) on every run, measured by a run of one file per actor and taken out of the scoring time.

    python benchmarks/cluster.py [--model fast] [--files 48] [--seconds 10] [--shard-size 8]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from detect.detector import Detector
from detect.ray_engine import connect, score_files_on_ray
from voxtwin import audio
from voxtwin.testing import speechlike


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fast")
    parser.add_argument("--files", type=int, default=48)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--shard-size", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="voxtwin-cluster-bench-"))
    os.environ["VOXTWIN_RAY_RUNS"] = str(work / "runs")
    files = [audio.save(work / f"m{i:03d}.wav", speechlike(duration_s=args.seconds, seed=i), 16_000) for i in range(args.files)]
    audio_s = args.files * args.seconds
    rows = []
    detector = Detector.load(args.model, device="cpu")
    list(detector.score_files(files[:2], jobs=1))  # warm-up
    for jobs in (1, 2):
        started = time.perf_counter()
        list(detector.score_files(files, jobs=jobs))
        seconds = time.perf_counter() - started
        rows.append({"engine": "local", "workers": jobs, "seconds": round(seconds, 2), "x_real_time": round(audio_s / seconds, 1)})
    started = time.perf_counter()
    connect(num_cpus=2)
    ray_start_s = time.perf_counter() - started
    for jobs in (1, 2):
        started = time.perf_counter()
        list(score_files_on_ray(files[:jobs], model=args.model, shard_size=1, jobs=jobs))  # starting the actors (and one file each)
        actor_start = time.perf_counter() - started
        started = time.perf_counter()
        list(score_files_on_ray(files, model=args.model, shard_size=args.shard_size, jobs=jobs))
        total = time.perf_counter() - started
        seconds = max(total - actor_start, 1e-6)  # scoring alone: the actors' start-up taken out
        rows.append({"engine": "ray", "workers": jobs, "seconds": round(seconds, 2), "x_real_time": round(audio_s / seconds, 1),
                     "seconds_with_actor_start": round(total, 2), "actor_start_s": round(actor_start, 2)})
    local_1 = next(r for r in rows if r["engine"] == "local" and r["workers"] == 1)["seconds"]
    ray_1 = next(r for r in rows if r["engine"] == "ray" and r["workers"] == 1)["seconds"]
    print(json.dumps({"model": args.model, "files": args.files, "seconds_each": args.seconds, "shard_size": args.shard_size, "ray_start_s": round(ray_start_s, 2),
                      "ray_overhead_ms_per_file": round(1000 * (ray_1 - local_1) / args.files, 1), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
