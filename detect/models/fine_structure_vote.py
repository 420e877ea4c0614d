"""`default` since 2026.12-8: a hidden-layer head like 2026.12-7's beside a second one on the spectrum's fine structure,
their log-odds averaged.

In leave-one-source-out on ../shared/data (recipes/detector_v2/README.md, "`fine`'s own head as a second vote?"), a
head on the fine-structure statistics (detect/fine_structure.py) voting beside the DistillMOS + spectrum head lowered
the mean per-page EER by ~1 point on both seed sets (23.15 -> 22.05, 22.80 -> 21.80) where fusing the same statistics
into one head did not: the fused head follows its CNN statistics, a second head keeps its own view. Both heads read
one standardisation of one statistics vector (the student's and the spectrum's, then the fine structure's); each is
fitted as detect/window_mlp_head.py fits one (64 units per seed), and the window's bona fide log-odds are the mean
of the two heads'. Shipped with nine seeds per head (576 units) after fresh seeds met a rule written before their
numbers (detect/MODEL_CARD.md, "2026.12-8").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from detect.fine_structure import FINE_STATS, HOP, N_FFT, fine_frames, fine_stats_of_windows, frames_per_window
from detect.models.distillmos_linear import with_precision_offset
from detect.models.distillmos_spectral_mlp import pinned_statistics_name
from detect.models.registry import MODELS
from detect.models.student_spectral_mlp import StudentSpectralMLP, StudentSpectralMLPConfig
from voxtwin.features import FeatureSpec


@dataclass(frozen=True)
class FineStructureVoteConfig(StudentSpectralMLPConfig):
    """distillmos-student-spectral-mlp's settings; the fine-structure head has as many hidden units (`hidden`)."""

    @classmethod
    def tiny(cls) -> "FineStructureVoteConfig":
        return cls(pretrained=False, hidden=8)


@MODELS.register("distillmos-student-fine-vote")
class FineStructureVote(StudentSpectralMLP):
    """`hidden`/`out` (inherited) read the first `main_dim` standardised statistics, `fine_hidden`/`fine_out` the last
    FINE_STATS. `frames` and `window_stats` stay the parent's (the student's and the spectrum's); the fine structure's
    statistics come from their own STFT in `span_stats`, which `forward` goes through too."""

    Config = FineStructureVoteConfig
    main_dim = StudentSpectralMLP.stats_dim
    stats_dim = StudentSpectralMLP.stats_dim + FINE_STATS

    def __init__(self, config: FineStructureVoteConfig, spec: FeatureSpec) -> None:
        super().__init__(config, spec)
        self.hidden = nn.Linear(self.main_dim, config.hidden)
        self.fine_hidden = nn.Linear(FINE_STATS, config.hidden)
        self.fine_out = nn.Linear(config.hidden, 1)
        self.register_buffer("fine_window", torch.hann_window(N_FFT), persistent=False)

    @property
    def statistics_of(self) -> str:
        """Its own cache: the student's statistics and the fine structure's, one vector per window."""
        return pinned_statistics_name("student", self.config.student_sha256) + "-fine"

    def vote_heads(self) -> list[tuple[slice, nn.Linear, nn.Linear]]:
        """(the statistics it reads, hidden layer, output layer) of each head whose log-odds are averaged
        (detect/frozen_head.fit_mlp_head fits each on its slice)."""
        return [(slice(0, self.main_dim), self.hidden, self.out), (slice(self.main_dim, self.stats_dim), self.fine_hidden, self.fine_out)]

    def span_stats(self, wav: Tensor, starts: list[int], window: int) -> Tensor:
        """As the parent's, with the fine structure's statistics of the same windows after them (one STFT per span)."""
        power, log_power = fine_frames(wav, window=self.fine_window)
        length = frames_per_window(window)
        first = [min(s // HOP, max(0, len(power) - length)) for s in starts]
        return torch.cat([super().span_stats(wav, starts, window), fine_stats_of_windows(power, log_power, first, length)], dim=1)

    def forward(self, wav: Tensor) -> Tensor:
        """(B, T) -> (B, 2) [spoof, bona fide] logits of each whole signal as one window."""
        z = self.head(torch.cat([self.span_stats(w, [0], w.shape[-1]) for w in wav]))
        return torch.stack([-z / 2, z / 2], dim=1)

    def head(self, stats: Tensor) -> Tensor:
        """(N, stats_dim) -> (N,) the mean of the two heads' log-odds of bona fide."""
        z = self.standardise(stats)
        votes = [out(F.gelu(hidden(z[:, part]))).squeeze(-1) for part, hidden, out in self.vote_heads()]
        return with_precision_offset(torch.stack(votes).mean(0), self.config, self.precision)
