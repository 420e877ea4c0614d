"""MODELS registry and the shared contract of every neural countermeasure.

Every model is built as `Model(config, spec)`, takes waveforms (B, T) at spec.sample_rate, computes its
front-end with `voxtwin.features` and returns logits (B, 2) ordered [spoof, bonafide]; the score written to
score files is their difference, a log-odds of bona fide (higher = more bona fide).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import Tensor, nn

from voxtwin.features import FeatureSpec
from voxtwin.registry import Registry

MODELS: Registry = Registry("model")
SPOOF, BONAFIDE = 0, 1


class Countermeasure(nn.Module):
    """Base class: a feature front-end (from a spec) followed by a classifier."""

    Config: type = None  # each subclass defines a frozen dataclass with a tiny() classmethod
    default_spec: FeatureSpec = None

    def __init__(self, config, spec: FeatureSpec) -> None:
        super().__init__()
        self.config = config
        self.spec = spec

    def score(self, wav: Tensor) -> Tensor:
        """Log-odds of bona fide, shape (B,)."""
        logits = self(wav)
        return logits[:, BONAFIDE] - logits[:, SPOOF]


def build_model(name: str, *, spec: FeatureSpec | None = None, **overrides: Any) -> Countermeasure:
    """A registered countermeasure with its default config updated by `overrides` (unknown keys raise)."""
    cls = MODELS.get(name)
    config = make_config(cls, overrides)
    return cls(config, spec or cls.default_spec)


def make_config(cls, overrides: dict[str, Any]):
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown {cls.__name__} config keys: {', '.join(sorted(unknown))}; known: {', '.join(sorted(fields))}")
    return dataclasses.replace(cls.Config(), **{k: _as_field_type(v) for k, v in overrides.items()})


def _as_field_type(value: Any) -> Any:
    """JSON/TOML give lists; configs hold tuples so they stay hashable and frozen."""
    if isinstance(value, list):
        return tuple(_as_field_type(v) for v in value)
    return value


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def config_to_dict(config) -> dict[str, Any]:
    return dataclasses.asdict(config)


