"""Detector checkpoints: safetensors weights + JSON (model name, config, feature spec, training record).

Loading never unpickles: tensors come from safetensors, everything else from JSON, and the model is rebuilt
from its registered name and typed config.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from detect.models import MODELS, Countermeasure
from detect.models.gmm import GMMConfig, GMMCountermeasure
from detect.models.registry import make_config
from voxtwin import checkpoint
from voxtwin.errors import CheckpointError
from voxtwin.features import FeatureSpec

FORMAT = "voxtwin.checkpoint"
FORMAT_VERSION = 1
GMM_NAME = "lfcc-gmm"


def detector_tensors(model: Countermeasure | GMMCountermeasure) -> dict[str, torch.Tensor]:
    """The tensors a detector checkpoint holds for `model` (its state dict; the GMM's own tensors)."""
    return model.tensors() if isinstance(model, GMMCountermeasure) else dict(model.state_dict())


def save_detector(
    path: str | Path, model: Countermeasure | GMMCountermeasure, *, name: str, record: dict[str, Any] | None = None,
    extra_tensors: dict[str, torch.Tensor] | None = None, scoring: dict[str, Any] | None = None, half_matrices: bool = False,
) -> Path:
    """Write a detector; `scoring` (calibration, window, version) is what `voxtwin detect score` needs.

    `half_matrices` stores weight matrices (2-D and up) in float16, how the package ships a head too large for 3 MiB in
    float32; vectors (biases, the standardisation's means and spreads) stay float32, and loading casts back."""
    tensors = detector_tensors(model)
    tensors.update(extra_tensors or {})
    if half_matrices:
        tensors = {k: v.half() if v.is_floating_point() and v.ndim >= 2 else v for k, v in tensors.items()}
    meta = {
        "kind": "detector",
        "name": name,
        "config": dataclasses.asdict(model.config),
        "features": model.spec.to_dict(),
        "training": record or {},
    }
    if scoring:
        meta["scoring"] = scoring
    return checkpoint.save(path, tensors, meta, fmt=FORMAT, format_version=FORMAT_VERSION)


def load_detector(path: str | Path, *, map_location: str | torch.device = "cpu") -> tuple[Countermeasure | GMMCountermeasure, dict[str, Any], dict[str, torch.Tensor]]:
    """(model in eval mode, metadata, tensors not belonging to the model)."""
    tensors, meta = checkpoint.load(path, fmt=FORMAT, supported_versions=(FORMAT_VERSION,))
    if meta.get("kind") != "detector":
        raise CheckpointError(f"{path}: a {meta.get('kind')!r} checkpoint, expected a detector")
    name = meta.get("name")
    try:
        spec = FeatureSpec.from_dict(meta["features"])
    except (KeyError, ValueError, LookupError) as exc:
        raise CheckpointError(f"{path}: bad feature spec ({exc})") from None
    if name == GMM_NAME:
        model = GMMCountermeasure(_config(GMMConfig, meta, path), spec)
        model.load_tensors(tensors)
        return model.eval(), meta, {}
    cls = MODELS.get(name)
    try:
        model = cls(make_config(cls, meta.get("config", {})), spec)
    except (TypeError, ValueError) as exc:  # an unknown key, or a setting the model refuses (e.g. a band ceiling out of range)
        raise CheckpointError(f"{path}: bad config for model {name!r} ({exc})") from None
    own = model.state_dict().keys()
    try:
        model.load_state_dict({k: v for k, v in tensors.items() if k in own}, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit model {name!r} ({' '.join(str(exc).split())[:300]})") from None
    return model.to(map_location).eval(), meta, {k: v for k, v in tensors.items() if k not in own}


def _config(cls, meta, path):
    try:
        return cls(**meta.get("config", {}))
    except TypeError as exc:
        raise CheckpointError(f"{path}: bad config ({exc})") from None
