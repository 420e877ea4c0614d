"""Training step time and scoring throughput of every countermeasure, side by side in one run.

    python benchmarks/detect_models.py [--crop-samples 64600] [--batch-size 8] [--device cpu]

Throughput is seconds of 16 kHz audio scored per second of wall time (higher is better); the step time is one
optimiser step on a batch of crops. LFCC-GMM (64 components) is scored on whole utterances of the same length.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from detect.models import build_model, count_parameters
from detect.models.gmm import GMMConfig, GMMCountermeasure

MODELS = ["lfcc-gmm", "lcnn", "rawnet2", "aasist-l", "aasist"]


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crop-samples", type=int, default=64_600)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    audio_s = args.batch_size * args.crop_samples / 16_000
    x = torch.randn(args.batch_size, args.crop_samples, device=device) * 0.1
    y = torch.randint(0, 2, (args.batch_size,), device=device)
    print(f"device {device}, batch {args.batch_size} x {args.crop_samples} samples ({audio_s:.1f} s of audio)")
    print(f"{'model':10s} {'params':>10s} {'train step (s)':>15s} {'scoring (x real time)':>22s}")
    for name in MODELS:
        if name == "lfcc-gmm":
            rng = np.random.default_rng(0)
            model = GMMCountermeasure(GMMConfig(n_components=64, max_iter=5)).fit(rng.normal(size=(5000, 60)), rng.normal(1, 1, size=(5000, 60))).to(device)
            params, step = sum(t.numel() for t in model.tensors().values()), float("nan")
        else:
            model = build_model(name).to(device)
            params = count_parameters(model)
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

            def train_step():
                loss = torch.nn.functional.cross_entropy(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if device.type == "cuda":
                    torch.cuda.synchronize()

            model.train()
            step = timed(train_step, args.repeats)
        model.eval()

        def score():
            with torch.inference_mode():
                model.score(x)
            if device.type == "cuda":
                torch.cuda.synchronize()

        print(f"{name:10s} {params:10d} {step:15.3f} {audio_s / timed(score, args.repeats):22.0f}")


if __name__ == "__main__":
    main()
