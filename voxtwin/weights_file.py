"""One file of network weights: fp16 safetensors whose metadata holds the format name and version, the network's
config (JSON, under `config_key`) and provenance (`info`). The converter and the compact vocoder
(voice/converter/weights.py, compact_vocoder.py) and the detectors' distilled student CNN (detect/models/student_cnn.py)
store theirs this way; voice profiles (voice/profile.py) are read through the same checks (`open_versioned`).

Reading refuses, with a one-line CheckpointError, a missing or oversized file, another format, another version, an
unreadable file or config, and tensors whose names or shapes differ from the network the config builds.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import torch
from torch import nn

from voxtwin.errors import CheckpointError, FormatVersionError

Net = TypeVar("Net", bound=nn.Module)


def write_fp16_weights(model: nn.Module, path: Path, *, fmt: str, format_version: int, config_key: str, config: dict, info: dict | None) -> Path:
    """Write the model's state in fp16 atomically (a crash never leaves half a file)."""
    from safetensors.torch import save_file

    tensors = {name: t.detach().to("cpu", torch.float16).contiguous() for name, t in model.state_dict().items()}
    metadata = {"format": fmt, "format_version": str(format_version), config_key: json.dumps(config), "info": json.dumps(info or {})}
    tmp = path.with_name(f".{path.name}.part")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)
    return path


def tensors_sha256(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of the tensors themselves (names, dtypes, shapes and values, in name order): the same for every export
    of the same weights, unlike the file's bytes, whose metadata order safetensors does not keep from run to run."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


@contextlib.contextmanager
def open_versioned(path: str | os.PathLike, *, fmt: str, format_version: int, what: str, max_bytes: int,
                   not_ours: str | None = None) -> Iterator[tuple[dict, dict[str, torch.Tensor]]]:
    """A voxtwin safetensors file's (metadata, tensors), after the checks every such file gets: it exists, is at
    most `max_bytes`, names `fmt` and `format_version`. Errors while reading it, or in the caller's `with` block
    that parses it, become one-line CheckpointErrors naming the file and `what` it should be."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: {what} not found")
    if path.stat().st_size > max_bytes:
        raise CheckpointError(f"{path}: too large for {what}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != fmt:
                raise CheckpointError(f"{path}: {not_ours or 'not voxtwin ' + what}")
            version = int(meta.get("format_version", "0"))
            if version > format_version:
                raise FormatVersionError(f"{path}: {what} format version {version} is newer than this voxtwin reads ({format_version}); upgrade voxtwin")
            if version != format_version:
                raise FormatVersionError(f"{path}: unsupported {what} format version {version}; this voxtwin reads {format_version}")
            tensors = {name: f.get_tensor(name) for name in f.keys()}
        yield meta, tensors
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: unreadable {what} ({exc.__class__.__name__}: {' '.join(str(exc).split())[:120]})") from None


def read_fp16_weights(
    path: str | os.PathLike, *, fmt: str, format_version: int, config_key: str, what: str, max_bytes: int, build: Callable[[dict], Net]
) -> tuple[Net, dict]:
    """(network built by `build(config dict)` with the file's weights, in eval mode, fp32; info). `what` names the
    file in errors, e.g. "converter weights"."""
    with open_versioned(path, fmt=fmt, format_version=format_version, what=what, max_bytes=max_bytes) as (meta, tensors):
        model = build(json.loads(meta[config_key]))
        info = json.loads(meta.get("info", "{}"))
    expected = model.state_dict()
    if set(tensors) != set(expected) or any(tensors[k].shape != expected[k].shape for k in expected):
        raise CheckpointError(f"{path}: {what} do not match their config")
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.eval(), info
