"""The default detector's log-odds shift under bfloat16, measured on training files, optionally written into its weights.

    python recipes/default_detector/precision_offset.py [--model default] [--files 240] [--write]

The head was fitted on float32 statistics of DistillMOS's CNN or its distilled student (detect/frozen_head.py). Run in bfloat16 (2-3x
faster where the CPU has AVX512-BF16 or AMX), the CNN's frames differ by ~0.4 %, which moves every window's
log-odds by a nearly constant amount. This script scores windows of `--files` files from the recipe's TRAINING
split (half real, half synthetic, picked by a stable hash; never the calibration or report sets, on which the
choice is judged by compare.py --precisions fp32 bf16) in both precisions, prints the shift's mean and spread per
class, and with --write stores minus the mean as `bf16_logit_offset` in the model's config (its JSON file).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from detect.data import INT16_SCALE, WaveformCache, load_trials
from detect.detector import Detector, shipped_or_path
from detect.frozen_head import file_stats
from detect.recipes import load_recipe
from detect.train import default_cache_dir
from compare import subset
from run import HERE, recipe_trials, split_trials  # noqa: I001  (this folder's scripts)


def window_logits(detector: Detector, wav: np.ndarray, precision: str) -> np.ndarray:
    """Each window's head output (log-odds of bona fide) with the CNN in `precision`, without any offset."""
    model = detector.model
    model.precision = precision
    with torch.inference_mode():
        stats = torch.from_numpy(file_stats(model, wav, window=detector.window, hop=detector.hop))
        z = model.head(stats).reshape(-1)  # whichever head the model has (one unit or a hidden layer), then the stored offset taken out
        return (z - model.config.bf16_logit_offset if precision == "bf16" else z).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--files", type=int, default=240, help="training files, half of each class")
    parser.add_argument("--write", action="store_true", help="store the offset in the model's JSON file")
    args = parser.parse_args()
    config = load_recipe(str(HERE / "config.toml"), [])
    train, _, _ = split_trials(recipe_trials(config), config["calibration_sources"], config["report_sources"])
    kept, waves = load_trials(subset(train, args.files // 2), WaveformCache(default_cache_dir("")), description="training audio")
    detector = Detector.load(args.model, device="cpu", precision="fp32")
    if not hasattr(detector.model, "precision") or not hasattr(detector.model.config, "bf16_logit_offset"):
        raise SystemExit(f"{args.model} is a {detector.meta.get('name')} detector; only detectors on DistillMOS's CNN (or its student) run it in bfloat16")
    shift = {"synthetic": [], "real": []}
    for trial, wave in zip(kept, waves):
        wav = wave.astype(np.float32) / INT16_SCALE
        delta = window_logits(detector, wav, "bf16") - window_logits(detector, wav, "fp32")
        shift["synthetic" if trial.is_spoof else "real"].append(float(delta.mean()))
    every = np.array(shift["synthetic"] + shift["real"])
    for label, values in shift.items():
        print(f"{label}: {len(values)} files, log-odds shift mean {np.mean(values):+.4f}, sd {np.std(values):.4f}")
    print(f"all: {len(every)} files, mean {every.mean():+.4f}, sd {every.std():.4f}, range {every.min():+.4f} .. {every.max():+.4f}")
    offset = round(-float(every.mean()), 4)
    if args.write:
        path = shipped_or_path(args.model).with_suffix(".json")
        meta = json.loads(path.read_text())
        meta["config"]["bf16_logit_offset"] = offset
        meta.setdefault("scoring", {})["bf16_offset_measured_on"] = f"{len(every)} training-split files (recipes/default_detector/precision_offset.py)"
        path.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote bf16_logit_offset = {offset} into {path}")
    else:
        print(f"bf16_logit_offset would be {offset} (--write stores it)")


if __name__ == "__main__":
    main()
