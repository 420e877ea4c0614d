"""`distillmos-spectral-linear`'s window statistics under one hidden layer instead of one logistic unit.

In leave-one-source-out on ../shared/data (recipes/detector_v2/fusion_loso.py --head mlp) a small hidden layer over
the same statistics lowered the mean per-source EER from 22.9 to 19.7 % as recorded and from 35.6 to 30.2 % through the
8 kHz telephone band, with most pages gaining (Vocos 20 -> 10 %). The head is fitted as detect/window_mlp_head.py
does (3 seeds of 64 units, class-balanced) and stored as one layer: the mean of the seeds' log-odds is exactly one
network whose hidden layer holds every seed's units and whose output weighs each by a third. The front-end and the
statistics are distillmos-spectral-linear's, so the recipe reuses its cached statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from detect.models.distillmos_linear import with_precision_offset
from detect.models.distillmos_spectral_linear import DistillMOSSpectralLinear, DistillMOSSpectralLinearConfig
from detect.models.registry import MODELS
from voxtwin.features import FeatureSpec


def pinned_statistics_name(front_end: str, sha256: str) -> str:
    """The recipe's cache name for the window statistics of a CNN pinned by `sha256` (a tuned layer, a student):
    one cache per weights file, never another's."""
    return f"distillmos-{front_end}-{sha256[:12] or 'unpinned'}-spectral"


@dataclass(frozen=True)
class DistillMOSSpectralMLPConfig(DistillMOSSpectralLinearConfig):
    """distillmos-spectral-linear's settings (the same front-end and statistics) and the hidden layer's width."""

    hidden: int = 192  # hidden units: the seeds' layers side by side (3 x 64, detect/window_mlp_head.py)

    @classmethod
    def tiny(cls) -> "DistillMOSSpectralMLPConfig":
        return cls(pretrained=False, hidden=8)


@MODELS.register("distillmos-spectral-mlp")
class DistillMOSSpectralMLP(DistillMOSSpectralLinear):
    Config = DistillMOSSpectralMLPConfig
    statistics_of = "distillmos-spectral-linear"  # whose window statistics these are (the recipe's cache is shared)
    head_kind = "mlp"  # detect/frozen_head.fit_head fits it with fit_mlp_head

    def __init__(self, config: DistillMOSSpectralMLPConfig, spec: FeatureSpec) -> None:
        super().__init__(config, spec)
        self.hidden = nn.Linear(self.stats_dim, config.hidden)
        self.out = nn.Linear(config.hidden, 1)

    def head(self, stats: Tensor) -> Tensor:
        """(N, stats_dim) -> (N,) log-odds of bona fide."""
        z = self.out(F.gelu(self.hidden(self.standardise(stats)))).squeeze(-1)
        return with_precision_offset(z, self.config, self.precision)
