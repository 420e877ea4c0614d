"""Measure the 8-bit activation grids of the default detector's student CNN on training files and write them.

    python recipes/default_detector/int8_grids.py [--files 120] [--out detect/weights/student_cnn_int8.json] [--auto]

The student's int8 twin (detect/models/student_cnn_int8.py) quantizes its weights by itself, but where its input
spectrogram and each LeakyReLU output sit on the 8-bit grid must come from real audio. This script runs the float32
student on `--files` files of the recipe's TRAINING split (half real, half synthetic, picked by a stable hash; never
the calibration or report sets, on which the int8 form is judged: compare.py --precisions fp32 int8), 4 s of each
standardised as the detector sees it, lets PyTorch's histogram observer choose each grid, and prints how far the
int8 frames then are from float32 on other training files. `--auto` marks the grids as checked, so that precision
"auto" picks int8 on CPUs without native bfloat16 (only after compare.py's rule passed: detect/MODEL_CARD.md).
The grids are pinned to the student's SHA-256. Next: precision_offset.py --precision int8 --write.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch

from detect.data import INT16_SCALE, WaveformCache, load_trials
from detect.models.distillmos_linear import SAMPLES_PER_FRAME, DistillMOSLinearConfig, weights_sha256
from detect.models.student_cnn import WEIGHTS_FILE, compressed_spectrogram, load_student
from detect.models.student_cnn_int8 import GRIDS_FILE, StudentCNNInt8, measure_grids, write_grids
from detect.recipes import load_recipe
from detect.train import default_cache_dir
from compare import subset
from run import HERE, recipe_trials, split_trials  # noqa: I001  (this folder's scripts)

EXCERPT_SAMPLES = 4 * 16_000


def excerpts(waves: list[np.ndarray]) -> list[torch.Tensor]:
    """The first 4 s of each file (whole files when shorter) as the detector's CNN sees them, (1, T) float32."""
    gain = DistillMOSLinearConfig().input_gain
    out = []
    for wave in waves:
        wav = wave[:EXCERPT_SAMPLES].astype(np.float32) / INT16_SCALE
        n = len(wav) // SAMPLES_PER_FRAME * SAMPLES_PER_FRAME
        if n:
            out.append(torch.from_numpy(wav[:n] * gain)[None])
    return out


def relative_error(student, twin, wavs: list[torch.Tensor]) -> tuple[float, float]:
    """Median over files of |int8 - fp32| / |fp32| for the frames and for their mean over time (what the head reads)."""
    frames, means = [], []
    with torch.inference_mode():
        for wav in wavs:
            a, b = student(wav), twin(wav)
            frames.append(float((a - b).norm() / a.norm()))
            means.append(float((a.mean(-1) - b.mean(-1)).norm() / a.mean(-1).norm()))
    return float(np.median(frames)), float(np.median(means))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=120, help="training files to measure on, half of each class")
    parser.add_argument("--check-files", type=int, default=40, help="other training files on which the error is printed")
    parser.add_argument("--out", type=Path, default=GRIDS_FILE)
    parser.add_argument("--auto", action="store_true", help="mark the grids as checked: precision auto picks int8 where bf16 is not native")
    args = parser.parse_args()
    torch.set_num_threads(2)
    config = load_recipe(str(HERE / "config.toml"), [])
    train, _, _ = split_trials(recipe_trials(config), config["calibration_sources"], config["report_sources"])
    chosen = subset(train, (args.files + args.check_files) // 2)
    _, waves = load_trials(chosen, WaveformCache(default_cache_dir("")), description="training audio")
    wavs = excerpts(waves)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(wavs))
    fit, check = [wavs[i] for i in order[: args.files]], [wavs[i] for i in order[args.files:]]
    student = load_student().eval()
    with torch.inference_mode():
        grids = measure_grids(student, [compressed_spectrogram(w) for w in fit], student_sha256=weights_sha256(WEIGHTS_FILE))
    twin = StudentCNNInt8(student, grids).eval()
    frames_error, means_error = relative_error(student, twin, check)
    print(f"grids from {len(fit)} training files; on {len(check)} others int8 frames are {100 * frames_error:.1f} % from float32 "
          f"(their means over time {100 * means_error:.2f} %)")
    info = {"measured_on": f"{len(fit)} training-split files of recipes/default_detector (first 4 s each), recipes/default_detector/int8_grids.py",
            "frames_relative_error": round(frames_error, 4), "means_relative_error": round(means_error, 4)}
    path = write_grids(args.out, dataclasses.replace(grids, auto=args.auto), info=info)
    print(f"wrote {path} (auto: {args.auto})")


if __name__ == "__main__":
    main()
