"""Versioned artifacts: `name.safetensors` (tensors only) beside `name.json` (everything else).

Never pickle: loading an untrusted checkpoint or voice profile can only yield tensors and JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors_bytes
from safetensors.torch import save as save_tensors_bytes

from voxtwin.errors import CheckpointError, FormatVersionError

MAX_ARTIFACT_BYTES = 4 * 1024**3
MAX_METADATA_BYTES = 16 * 1024**2


def artifact_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """(tensors, metadata) paths for an artifact given by either file or its stem."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".safetensors", ".json") else path
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def save(path: str | os.PathLike, tensors: dict[str, torch.Tensor], meta: dict[str, Any], *, fmt: str, format_version: int) -> Path:
    """Write tensors + metadata atomically; returns the .safetensors path."""
    from voxtwin import __version__

    tensors_path, meta_path = artifact_paths(path)
    blob = save_tensors_bytes({k: v.detach().contiguous().cpu() for k, v in tensors.items()})
    record = {"format": fmt, "format_version": format_version, **meta, "voxtwin_version": __version__, "tensors_sha256": hashlib.sha256(blob).hexdigest()}
    _atomic_write(tensors_path, blob)
    _atomic_write(meta_path, json.dumps(record, indent=2, sort_keys=False).encode())
    return tensors_path


def load(path: str | os.PathLike, *, fmt: str, supported_versions: tuple[int, ...]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and verify an artifact: format name, version, size limits and tensor hash."""
    tensors_path, meta_path = artifact_paths(path)
    for p in (tensors_path, meta_path):
        if not p.is_file():
            raise CheckpointError(f"{p}: missing; a {fmt} artifact is a .safetensors file with a .json file beside it")
    if meta_path.stat().st_size > MAX_METADATA_BYTES or tensors_path.stat().st_size > MAX_ARTIFACT_BYTES:
        raise CheckpointError(f"{tensors_path}: larger than the size limit for artifacts")
    try:
        meta = json.loads(meta_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{meta_path}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{meta_path}: format {found!r}, expected {fmt!r}")
    version = meta.get("format_version")
    if version not in supported_versions:
        newer = isinstance(version, int) and version > max(supported_versions)
        hint = "; upgrade voxtwin to read it" if newer else ""
        raise FormatVersionError(
            f"{meta_path}: {fmt} format version {version!r}; this voxtwin reads versions {', '.join(map(str, supported_versions))}{hint}"
        )
    blob = tensors_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != meta.get("tensors_sha256"):
        raise CheckpointError(f"{tensors_path}: tensors do not match the hash in {meta_path.name} (corrupt or altered)")
    try:
        tensors = load_tensors_bytes(blob)
    except (SafetensorError, ValueError) as exc:
        raise CheckpointError(f"{tensors_path}: not a valid safetensors file ({' '.join(str(exc).split())})") from None
    return tensors, meta


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
