"""`voxtwin serve` under load: N concurrent clients on loopback, for the `fast` and `default` detectors.

Starts `voxtwin serve --model M --workers W` as a subprocess, sends the demo voice messages (the real one and the
TTS one, in turn) from N client threads for a fixed number of requests, and reports requests/s, p50/p95 latency,
the server's peak RSS (all its processes, from /proc), and how each request ended: every request must be answered
with the right result or refused with 503; none may be lost.

    python benchmarks/serve.py [--models fast default] [--clients 8] [--requests 48] [--workers 1] [--queue-size N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from detect.service.live_server import live_server
from voxtwin.cli import DEMO_AUDIO

MESSAGES = [DEMO_AUDIO / "real_librispeech_1688-142285-0001.opus", DEMO_AUDIO / "tts_piper_joe.opus"]


def _multipart(path: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _post(url: str, path: Path) -> tuple[int, float, dict]:
    body, content_type = _multipart(path)
    request = urllib.request.Request(f"{url}/v1/score", data=body, headers={"Content-Type": content_type}, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=300) as reply:
            return reply.status, time.perf_counter() - started, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, time.perf_counter() - started, json.loads(exc.read() or b"{}")


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (uvicorn's workers), from /proc."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def run(model: str, clients: int, requests: int, workers: int, queue_size: int | None = None) -> dict:
    with live_server("--model", model, "--workers", str(workers), "--queue-size", str(clients if queue_size is None else queue_size), startup_s=300) as (url, server):
        expected = {path.name: _post(url, path)[2]["p_synthetic"] for path in MESSAGES}  # warm-up and reference answers
        peak = _tree_rss_kb(server.pid)
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            futures = [pool.submit(_post, url, MESSAGES[i % len(MESSAGES)]) for i in range(requests)]
            while not all(f.done() for f in futures):
                peak = max(peak, _tree_rss_kb(server.pid))
                time.sleep(0.05)
        wall = time.perf_counter() - started
        outcomes = [f.result() for f in futures]
    ok = [(code, seconds, body) for code, seconds, body in outcomes if code == 200]
    correct = sum(1 for i, (code, _, body) in enumerate(outcomes) if code == 200 and abs(body["p_synthetic"] - expected[MESSAGES[i % len(MESSAGES)].name]) < 1e-3)
    latencies = np.array([seconds for _, seconds, _ in ok]) if ok else np.zeros(1)
    return {
        "model": model, "workers": workers, "clients": clients, "requests": requests, "queue_size": clients if queue_size is None else queue_size,
        "answered": len(ok), "correct": correct, "refused_503": sum(1 for code, _, _ in outcomes if code == 503),
        "other": sum(1 for code, _, _ in outcomes if code not in (200, 503)),
        "requests_per_s": round(len(ok) / wall, 2), "p50_s": round(float(np.percentile(latencies, 50)), 3), "p95_s": round(float(np.percentile(latencies, 95)), 3),
        "peak_rss_mb": round(peak / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["fast", "default"])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--queue-size", type=int, default=None, help="per worker (default: --clients, so nothing is refused)")
    args = parser.parse_args()
    rows = [run(model, args.clients, args.requests, args.workers, args.queue_size) for model in args.models]
    print(json.dumps(rows, indent=2))
    lost = [r for r in rows if r["answered"] + r["refused_503"] != r["requests"] or r["correct"] != r["answered"]]
    if lost:
        sys.exit("error: some requests were lost or answered wrongly (see 'other' and 'correct')")


if __name__ == "__main__":
    main()
