"""The default detector's log-odds shift under bfloat16 (or int8), measured on training files, optionally written into its weights.

    python recipes/default_detector/precision_offset.py [--model default] [--files 240] [--precision bf16|int8] [--write]

The head was fitted on float32 statistics of DistillMOS's CNN or its distilled student (detect/frozen_head.py). Run in bfloat16 (2-3x
faster where the CPU has AVX512-BF16 or AMX), the CNN's frames differ by ~0.4 %, which moves every window's
log-odds by a nearly constant amount. This script scores windows of `--files` files from the recipe's TRAINING
split (half real, half synthetic, picked by a stable hash; never the calibration or report sets, on which the
choice is judged by compare.py --precisions fp32 bf16) in both precisions, prints the shift's mean and spread per
class, and with --write stores minus the mean as `bf16_logit_offset` in the model's config (its JSON file).
`--precision int8` does the same for the student CNN's int8 twin (detect/models/student_cnn_int8.py; its grids must
exist first: int8_grids.py) and stores `int8_logit_offset`.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from detect.data import INT16_SCALE, WaveformCache, load_trials
from detect.detector import Detector, shipped_or_path
from detect.frozen_head import file_stats
from detect.models.student_cnn_int8 import encoder_precision
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
        stored = {"bf16": model.config.bf16_logit_offset, "int8": model.config.int8_logit_offset}.get(precision, 0.0)
        return (z - stored).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--files", type=int, default=240, help="training files, half of each class")
    parser.add_argument("--precision", default="bf16", choices=["bf16", "int8"], help="the precision whose shift from float32 is measured")
    parser.add_argument("--write", action="store_true", help="store the offset in the model's JSON file")
    args = parser.parse_args()
    config = load_recipe(str(HERE / "config.toml"), [])
    train, _, _ = split_trials(recipe_trials(config), config["calibration_sources"], config["report_sources"])
    kept, waves = load_trials(subset(train, args.files // 2), WaveformCache(default_cache_dir("")), description="training audio")
    detector = Detector.load(args.model, device="cpu", precision="fp32")
    if not hasattr(detector.model, "precision") or not hasattr(detector.model.config, "bf16_logit_offset"):
        raise SystemExit(f"{args.model} is a {detector.meta.get('name')} detector; only detectors on DistillMOS's CNN (or its student) run it in bfloat16")
    if args.precision == "int8" and encoder_precision(detector.model.encoder, "int8", "cpu") != "int8":
        raise SystemExit(f"{args.model}'s CNN has no int8 form here: measure its grids first (recipes/default_detector/int8_grids.py)")
    shift = {"synthetic": [], "real": []}
    for trial, wave in zip(kept, waves):
        wav = wave.astype(np.float32) / INT16_SCALE
        delta = window_logits(detector, wav, args.precision) - window_logits(detector, wav, "fp32")
        shift["synthetic" if trial.is_spoof else "real"].append(float(delta.mean()))
    every = np.array(shift["synthetic"] + shift["real"])
    for label, values in shift.items():
        print(f"{label}: {len(values)} files, log-odds shift mean {np.mean(values):+.4f}, sd {np.std(values):.4f}")
    print(f"all: {len(every)} files, mean {every.mean():+.4f}, sd {every.std():.4f}, range {every.min():+.4f} .. {every.max():+.4f}")
    offset, key = round(-float(every.mean()), 4), f"{args.precision}_logit_offset"
    if args.write:
        path = shipped_or_path(args.model).with_suffix(".json")
        meta = json.loads(path.read_text())
        meta["config"][key] = offset
        meta.setdefault("scoring", {})[f"{args.precision}_offset_measured_on"] = f"{len(every)} training-split files (recipes/default_detector/precision_offset.py)"
        path.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote {key} = {offset} into {path}")
    else:
        print(f"{key} would be {offset} (--write stores it)")


if __name__ == "__main__":
    main()
