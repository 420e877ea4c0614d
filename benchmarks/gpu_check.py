"""GPU check of the trainer: train AASIST on a miniature ASVspoof 2019 LA layout with device=cuda (also under
`torchrun` for the DistributedDataParallel path), then reload the checkpoint on the CPU and compare scores.

    python benchmarks/gpu_check.py --out /tmp/gpu_check
    torchrun --nproc_per_node=1 benchmarks/gpu_check.py --out /tmp/gpu_check_ddp
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from detect.checkpoints import load_detector
from detect.datasets import read_dataset
from detect.recipes import run_recipe
from detect.testing import make_asvspoof2019_la


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="/tmp/gpu_check")
    parser.add_argument("--model", default="aasist")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    out = Path(args.out)
    rank = int(os.environ.get("RANK", "0"))
    data = out / "data"
    if rank == 0 and not (data / "LA").is_dir():
        make_asvspoof2019_la(data, n_per_class=24, duration_s=4.0)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        torch.distributed.init_process_group("nccl")
        torch.distributed.barrier()
    started = time.perf_counter()
    summary = run_recipe("asvspoof2019_la", [f"root='{data}'", f"train.model='{args.model}'", f"train.epochs={args.epochs}", "train.batch_size=8",
                                              "train.device='cuda'", f"train.out_dir='{out / 'run'}'", f"train.cache_dir='{out / 'cache'}'", "train.augment=['codec','rawboost']"])
    if rank != 0:
        return
    elapsed = time.perf_counter() - started
    gpu_model, meta, _ = load_detector(summary["checkpoint"], map_location="cuda")
    cpu_model, _, _ = load_detector(summary["checkpoint"], map_location="cpu")
    x = torch.randn(4, 64_600) * 0.1
    with torch.inference_mode():
        diff = float((gpu_model.score(x.cuda()).cpu() - cpu_model.score(x)).abs().max())
    report = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "world_size": int(os.environ.get("WORLD_SIZE", "1")),
              "seconds": elapsed, "epochs": summary["epochs_run"], "history": meta["training"]["history"], "eval": summary["eval"],
              "max_abs_score_diff_gpu_vs_cpu": diff, "n_train": len(read_dataset("asvspoof2019_la", data, "train"))}
    print(json.dumps(report, indent=2))
    (out / "report.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
