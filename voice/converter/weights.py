"""The converter's weights file: fp16 safetensors with the generator config and provenance in the metadata
(voxtwin/weights_file.py: loading checks the format name and version and the tensor shapes before any
weight reaches the network)."""

from __future__ import annotations

import os
from pathlib import Path

from voice.converter.network import GeneratorConfig, MelGenerator
from voxtwin.weights_file import read_fp16_weights, write_fp16_weights

FORMAT = "voxtwin-converter"
FORMAT_VERSION = 1
MAX_BYTES = 64 * 1024**2
SHIPPED = Path(__file__).resolve().parent / "weights" / "vox-vc.safetensors"
# the flow-matching mel refiner trained behind SHIPPED (mel_refiner.py), which `convert` runs since 2026.12-5 at the
# temperature its metadata records (recipes/voice_converter/install_refiner.py); `speak` does not: MODEL_CARD.md
SHIPPED_REFINER = SHIPPED.with_name("vox-vc-refiner.safetensors")


def save_weights(model: MelGenerator, path: Path, *, extra: dict | None = None) -> Path:
    return write_fp16_weights(model, path, fmt=FORMAT, format_version=FORMAT_VERSION, config_key="generator", config=model.config.to_dict(), info=extra)


def load_weights(path: str | os.PathLike = SHIPPED) -> tuple[MelGenerator, dict]:
    """(network in eval mode, fp32, info) from a converter weights file."""
    build = lambda config: MelGenerator(GeneratorConfig(**config))  # noqa: E731
    return read_fp16_weights(path, fmt=FORMAT, format_version=FORMAT_VERSION, config_key="generator", what="converter weights", max_bytes=MAX_BYTES, build=build)
