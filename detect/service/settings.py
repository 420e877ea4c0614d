"""The service's limits and model, in one place: `voxtwin serve` options, environment for extra workers, docs."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

SETTINGS_ENV = "VOXTWIN_SERVE_SETTINGS"  # JSON of ServiceSettings, for the worker processes uvicorn starts


@dataclass(frozen=True)
class ServiceSettings:
    model: str = "default"  # default, fast, or a checkpoint path
    max_upload_mb: float = 25.0  # larger request bodies: 413
    max_duration_s: float = 600.0  # longer decoded audio: 422
    request_timeout_s: float = 120.0  # scoring that takes longer: 504
    queue_size: int = 8  # requests waiting for a model worker, per worker process; more: 503 with Retry-After
    retry_after_s: int = 5
    device: str = "auto"
    precision: str | None = None  # the default detector's CNN: auto, fp32, bf16 or int8 (None: $VOXTWIN_PRECISION, else auto)
    synthetic_prior: float | None = None  # share of synthetic speech expected (None: the detector's own, 0.5)

    def __post_init__(self) -> None:
        for name in ("max_upload_mb", "max_duration_s", "request_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.queue_size < 0 or self.retry_after_s < 0:
            raise ValueError("queue_size and retry_after_s must be >= 0")
        if self.synthetic_prior is not None and not 0 < self.synthetic_prior < 1:
            raise ValueError(f"synthetic_prior must be between 0 and 1 (exclusive), got {self.synthetic_prior!r}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1_000_000)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "ServiceSettings":
        raw = os.environ.get(SETTINGS_ENV)
        return cls(**json.loads(raw)) if raw else cls()
