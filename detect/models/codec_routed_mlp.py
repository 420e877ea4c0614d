"""Two heads on `default`'s statistics, weighed per window by a router that tells a recording as made from one
that went through a lossy codec or a telephone line.

Fitted without its codec-augmented copy, `default`'s recipe separated real from synthetic speech as recorded far
better (calibration set 31.0 -> 19.3 % EER) but called 64-71 % of real files through Opus 16 kbps `synthetic`: the
codec copy is what teaches the head that a codec's smearing is not a generator's (detect/MODEL_CARD.md, "Without the
codec copy"). A codec leaves its own traces in the same statistics, so a logistic router reads them and gives each
window r = P(lossy): the window's bona fide log-odds are q x the codec-robust head's + (1 - q) x the sharp head's, with
q = r + (1 - r) x `recorded_lossy_share` (0: q = r), each head's Platt calibration baked in, so the checkpoint's own
calibration is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from detect.models.distillmos_linear import with_precision_offset
from detect.models.registry import MODELS
from detect.models.student_spectral_mlp import StudentSpectralMLP, StudentSpectralMLPConfig
from voxtwin.features import FeatureSpec

LOSSY_AUGMENTATIONS = frozenset({"codec", "telephone"})  # detect/augment.py's names the router learns as "lossy"


@dataclass(frozen=True)
class CodecRoutedMLPConfig(StudentSpectralMLPConfig):
    """distillmos-student-spectral-mlp's settings (both heads have `hidden` units) and the robust head's share on
    windows the router takes for a recording as made (0: the sharp head alone there)."""

    recorded_lossy_share: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.recorded_lossy_share <= 1:
            raise ValueError(f"recorded_lossy_share must be between 0 and 1, got {self.recorded_lossy_share}")

    @classmethod
    def tiny(cls) -> "CodecRoutedMLPConfig":
        return cls(pretrained=False, hidden=8)


@MODELS.register("distillmos-student-codec-routed")
class CodecRoutedMLP(StudentSpectralMLP):
    """`hidden`/`out` (inherited) is the codec-robust head, read after `mean`/`scale`; `clean_*` the head fitted
    without codec copies, with its own standardisation; `router` reads the inherited standardisation."""

    Config = CodecRoutedMLPConfig

    def __init__(self, config: CodecRoutedMLPConfig, spec: FeatureSpec) -> None:
        super().__init__(config, spec)
        self.register_buffer("clean_mean", torch.zeros(self.stats_dim))
        self.register_buffer("clean_scale", torch.ones(self.stats_dim))
        self.clean_hidden = nn.Linear(self.stats_dim, config.hidden)
        self.clean_out = nn.Linear(config.hidden, 1)
        self.router = nn.Linear(self.stats_dim, 1)
        # each head's Platt map (slope, intercept) onto calibrated bona fide log-odds: slope * z - intercept
        self.register_buffer("lossy_platt", torch.tensor([1.0, 0.0]))
        self.register_buffer("clean_platt", torch.tensor([1.0, 0.0]))

    def lossy_head(self, stats: Tensor) -> Tensor:
        """(N, stats_dim) -> (N,) the codec-robust head's bona fide log-odds, before calibration."""
        return self.out(F.gelu(self.hidden(self.standardise(stats)))).squeeze(-1)

    def clean_head(self, stats: Tensor) -> Tensor:
        """(N, stats_dim) -> (N,) the head fitted without codec copies, before calibration."""
        return self.clean_out(F.gelu(self.clean_hidden(self.standardise(stats, self.clean_mean, self.clean_scale)))).squeeze(-1)

    def lossy_probability(self, stats: Tensor) -> Tensor:
        """(N, stats_dim) -> (N,) the router's P(the window went through a lossy codec or a telephone line)."""
        return torch.sigmoid(self.router(self.standardise(stats)).squeeze(-1))

    def head(self, stats: Tensor) -> Tensor:
        """(N, stats_dim) -> (N,) calibrated bona fide log-odds, each head weighed by the router."""
        r = self.lossy_probability(stats)
        q = r + (1 - r) * self.config.recorded_lossy_share  # the robust head's weight
        lossy = self.lossy_platt[0] * self.lossy_head(stats) - self.lossy_platt[1]
        clean = self.clean_platt[0] * self.clean_head(stats) - self.clean_platt[1]
        return with_precision_offset(q * lossy + (1 - q) * clean, self.config, self.precision)

    @torch.no_grad()
    def take_clean_head(self, fitted: StudentSpectralMLP) -> None:
        """Copy the hidden-layer head (and its standardisation) fitted into `fitted` as this model's clean head."""
        for mine, theirs in ((self.clean_mean, fitted.mean), (self.clean_scale, fitted.scale), (self.clean_hidden.weight, fitted.hidden.weight),
                             (self.clean_hidden.bias, fitted.hidden.bias), (self.clean_out.weight, fitted.out.weight), (self.clean_out.bias, fitted.out.bias)):
            mine.copy_(theirs)

    @torch.no_grad()
    def set_router(self, weight, bias: float) -> None:
        """The router's logistic weights over the standardised statistics (as sklearn's coef_[0], intercept_[0])."""
        self.router.weight.copy_(torch.as_tensor(weight, dtype=torch.float32).reshape(1, -1))
        self.router.bias.fill_(float(bias))

    @torch.no_grad()
    def set_platt(self, head: str, slope: float, intercept: float) -> None:
        """Bake a Platt calibration (detect/calibration.py) into `head` ("lossy" or "clean")."""
        getattr(self, f"{head}_platt").copy_(torch.tensor([float(slope), float(intercept)]))
