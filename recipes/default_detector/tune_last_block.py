"""Fine-tune DistillMOS's last convolution for `distillmos-tuned-spectral-mlp` (detect/last_block_tuning.py).

Trained only on the recipe's training files, the sources `default`'s head is fitted on (run.py's split and
head.train_sources / head.keep_generated), with the speaker-disjoint validation files choosing the step: the
calibration and report sets never reach it, so a head fitted on the tuned frames is judged exactly as the others.

    python recipes/default_detector/tune_last_block.py --out runs/default_detector/last_block [--steps 400] [--device cuda]
    python recipes/default_detector/tune_last_block.py --out runs/default_detector/last_block --export detect/weights/distillmos_last_block.safetensors
    python recipes/default_detector/run.py --set train.model=distillmos-tuned-spectral-mlp ... --no-install   # a head on the tuned frames
Resumes from OUT/tuning_last.pt; --export writes the best step's layer as fp16 safetensors (with the run's history).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch

from detect.data import WaveformCache, load_trials
from detect.last_block_tuning import TuningSettings, tune_last_block
from detect.models.distillmos_linear import build_encoder, distillmos_weights, weights_sha256
from detect.models.tuned_last_block import last_block, save_last_block
from detect.recipes import load_recipe
from detect.splits import validation_split
from detect.train import default_cache_dir
from run import HERE, front_end_run_arguments, head_sources, own_generated_sources, recipe_trials, split_trials  # noqa: I001  (this folder's run.py)


def export(run: Path, target: Path) -> None:
    state = torch.load(run / "tuning_last.pt", map_location="cpu", weights_only=True)
    best = state["best"]
    layer = _from_state(last_block(build_encoder(pretrained=False)), best["block"])  # the published layer's shape
    metadata = {"distillmos_sha256": weights_sha256(distillmos_weights()), "step": best["step"], "valid_eer_percent": best["valid_eer_percent"],
                "settings": state["settings"], "history": state["history"], "recipe": "recipes/default_detector/tune_last_block.py"}
    save_last_block(layer, target, metadata=metadata)
    print(f"wrote {target} (step {best['step']} of {state['step']}, validation crop EER {best['valid_eer_percent']:.2f} %)")


def _from_state(like: torch.nn.Conv2d, state: dict) -> torch.nn.Conv2d:
    layer = torch.nn.Conv2d(like.in_channels, like.out_channels, like.kernel_size, stride=like.stride, padding=like.padding)
    layer.load_state_dict(state)
    return layer


def head_files(trials, config: dict, own_sources: frozenset) -> list:
    """The files `default`'s head is fitted on (run.head_sources)."""
    chosen = head_sources(config["head"], np.array([t.is_spoof for t in trials]), np.array([t.source for t in trials]), own_sources)
    return list(trials) if chosen is None else [t for t in trials if t.source in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, history)")
    parser.add_argument("--steps", type=int, default=TuningSettings.steps)
    parser.add_argument("--batch-size", type=int, default=TuningSettings.batch_size)
    parser.add_argument("--pull", type=float, default=TuningSettings.pull, help="weight of the relative L2 pull toward DistillMOS's layer")
    parser.add_argument("--block-lr", type=float, default=TuningSettings.block_lr, help="the layer's learning rate")
    args = front_end_run_arguments(parser, export, exported="best layer")
    if args is None:
        return
    config = load_recipe(str(HERE / "config.toml"), args.overrides)
    train_trials, _, _ = split_trials(recipe_trials(config), config["calibration_sources"], config["report_sources"])
    own_sources = own_generated_sources(train_trials, config)
    fit, valid = validation_split(train_trials)
    fit, valid = head_files(fit, config, own_sources), head_files(valid, config, own_sources)
    cache = WaveformCache(default_cache_dir())
    fit_kept, fit_waves = load_trials(fit, cache, description="Training audio")
    valid_kept, valid_waves = load_trials(valid, cache, description="Validation audio")

    def by_class(kept, waves):
        return [w for t, w in zip(kept, waves) if not t.is_spoof], [w for t, w in zip(kept, waves) if t.is_spoof]

    settings = TuningSettings(steps=args.steps, batch_size=args.batch_size, pull=args.pull, block_lr=args.block_lr)
    train, held = by_class(fit_kept, fit_waves), by_class(valid_kept, valid_waves)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "settings.json").write_text(json.dumps({"real_files": len(train[0]), "synthetic_files": len(train[1]), "valid_real_files": len(held[0]),
                                                        "valid_synthetic_files": len(held[1]), "sources": sorted({t.source for t in fit_kept})}
                                                       | {f.name: getattr(settings, f.name) for f in fields(settings)}, indent=2))
    tune_last_block(build_encoder(pretrained=True), train, held, args.out, settings, device=args.device)


if __name__ == "__main__":
    main()
