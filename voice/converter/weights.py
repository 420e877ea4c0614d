"""The converter's weights file: fp16 safetensors with the generator config and provenance in the metadata.

Loading checks the format name and version and the tensor shapes before any weight reaches the network.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from voice.converter.network import GeneratorConfig, MelGenerator
from voxtwin.errors import CheckpointError, FormatVersionError

FORMAT = "voxtwin-converter"
FORMAT_VERSION = 1
MAX_BYTES = 64 * 1024**2
SHIPPED = Path(__file__).resolve().parent / "weights" / "vox-vc.safetensors"


def save_weights(model: MelGenerator, path: Path, *, extra: dict | None = None) -> Path:
    from safetensors.torch import save_file

    tensors = {name: t.detach().to("cpu", torch.float16).contiguous() for name, t in model.state_dict().items()}
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "generator": json.dumps(model.config.to_dict()), "info": json.dumps(extra or {})}
    tmp = path.with_name(f".{path.name}.part")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)
    return path


def load_weights(path: str | os.PathLike = SHIPPED) -> tuple[MelGenerator, dict]:
    """(network in eval mode, fp32, info) from a converter weights file."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: converter weights not found")
    if path.stat().st_size > MAX_BYTES:
        raise CheckpointError(f"{path}: too large for converter weights")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise CheckpointError(f"{path}: not voxtwin converter weights")
            version = int(meta.get("format_version", "0"))
            if version != FORMAT_VERSION:
                raise FormatVersionError(f"{path}: converter weights format version {version}; this voxtwin reads {FORMAT_VERSION}")
            config = GeneratorConfig(**json.loads(meta["generator"]))
            tensors = {name: f.get_tensor(name) for name in f.keys()}
        info = json.loads(meta.get("info", "{}"))
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: unreadable converter weights ({exc.__class__.__name__}: {' '.join(str(exc).split())[:120]})") from None
    model = MelGenerator(config)
    expected = model.state_dict()
    if set(tensors) != set(expected) or any(tensors[k].shape != expected[k].shape for k in expected):
        raise CheckpointError(f"{path}: converter weights do not match their config")
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.eval(), info
