"""The shared shape of the linear-head detectors: a fixed front-end turns 16 kHz speech into frames, a window's
frames are summarised by per-dimension statistics, and standardisation + one logistic unit score the window.

Nothing before the head is trained, so the statistics of every training window are computed once and the head is
fitted on them in seconds (detect/frozen_head.py); at scoring time the front-end runs once over each run of
overlapping windows (`span_stats`), and training and scoring compute the statistics with the same code.
"""

from __future__ import annotations

import abc

import torch
from torch import Tensor, nn

from detect.models.registry import Countermeasure
from voxtwin.band_ceiling import ceiling_taps


class WindowStatsLinear(Countermeasure, abc.ABC):
    """Subclasses define `frames`, `samples_per_frame` (the frame hop), `frame_span` (samples the first frame
    needs) and `stats_dim`, and may override `window_stats`."""

    samples_per_frame: int
    frame_span: int
    stats_dim: int

    def __init__(self, config, spec) -> None:
        super().__init__(config, spec)
        if self.band_ceiling_hz:
            ceiling_taps(self.band_ceiling_hz)  # a ceiling out of range is refused when the model is built
        self.register_buffer("mean", torch.zeros(self.stats_dim))
        self.register_buffer("scale", torch.ones(self.stats_dim))
        ignored = self.ignored_stats()
        kept = None if ignored is None else torch.ones(self.stats_dim).index_fill_(0, torch.arange(self.stats_dim)[ignored], 0.0)
        self.register_buffer("kept_stats", kept, persistent=False)  # None: the head reads every statistic
        self.out = nn.Linear(self.stats_dim, 1)

    @property
    def band_ceiling_hz(self) -> float:
        """Where every signal is low-passed before the front-ends, training and scoring alike (its config's
        `band_ceiling_hz`; 0: the whole band, as both shipped detectors read it)."""
        return float(getattr(self.config, "band_ceiling_hz", 0.0))

    def ignored_stats(self) -> slice | None:
        """Statistics the head reads as zero, by the config (a subclass says which); they are still computed, so every
        head over one front-end shares the recipe's cached statistics. None: the head reads them all."""
        return None

    def standardise(self, stats: Tensor, mean: Tensor | None = None, scale: Tensor | None = None) -> Tensor:
        """(N, stats_dim) -> what the head reads: standardised statistics (by the model's own `mean`/`scale`, or those
        given, for a second head), the ignored ones zero."""
        z = (stats - (self.mean if mean is None else mean)) / (self.scale if scale is None else scale)
        return z if self.kept_stats is None else z * self.kept_stats

    @abc.abstractmethod
    def frames(self, wav: Tensor) -> Tensor:
        """(B, T) 16 kHz -> (B, L, D)."""

    def window_stats(self, frames: Tensor) -> Tensor:
        """(B, L, D) -> (B, stats_dim): per-dimension mean and standard deviation over the frames."""
        return torch.cat([frames.mean(1), frames.std(1, unbiased=False)], dim=1)

    def head(self, stats: Tensor) -> Tensor:
        """(N, stats_dim) window statistics -> (N,) log-odds of bona fide."""
        return self.out(self.standardise(stats)).squeeze(-1)

    def forward(self, wav: Tensor) -> Tensor:
        z = self.head(self.window_stats(self.frames(wav)))
        return torch.stack([-z / 2, z / 2], dim=1)  # [spoof, bonafide] logits whose difference is z

    def frames_per_window(self, window: int) -> int:
        return max(1, 1 + (window - self.frame_span) // self.samples_per_frame)

    def span_stats(self, wav: Tensor, starts: list[int], window: int) -> Tensor:
        """(len(starts), stats_dim) statistics of the windows [s, s + window) of one contiguous 16 kHz signal (starts
        in samples, relative to wav[0]), with the front-end run once over the span instead of once per window."""
        frames = self.frames(wav[None])[0]
        length = self.frames_per_window(window)
        first = [min(s // self.samples_per_frame, max(0, len(frames) - length)) for s in starts]
        return self.stats_of_windows(frames, first, length)

    def stats_of_windows(self, frames: Tensor, first: list[int], length: int) -> Tensor:
        """(len(first), stats_dim): window_stats of frames[a : a + length] for each a (span_stats' last step, which
        a subclass may compute more cheaply from work shared by overlapping windows)."""
        return torch.cat([self.window_stats(frames[a : a + length][None]) for a in first])

    def score_span(self, wav: Tensor, starts: list[int], window: int) -> Tensor:
        """Log-odds of bona fide of those windows (see span_stats)."""
        return self.head(self.span_stats(wav, starts, window))


def mean_std_of_windows(frames: Tensor, first: list[int], length: int) -> Tensor:
    """(len(first), 2 D): the per-dimension mean and standard deviation (biased) of frames[a : a + length] for each a,
    i.e. the default window_stats of each window, from two plain sums per window (6-8x faster than a std per window,
    which took ~5 % of `default`'s scoring time); the frames are centred on the span's mean first, so that variance =
    mean of squares - square of mean loses no precision in float32 (as spectral_stats_of_windows)."""
    offset = frames.mean(0)
    centred = frames - offset
    squares = centred.square()
    rows = []
    for a in first:
        n = max(1, min(length, len(frames) - a))
        shift = centred[a : a + n].sum(0) / n  # the window's mean minus the span's
        variance = (squares[a : a + n].sum(0) / n - shift.square()).clamp(min=0)
        rows.append(torch.cat([offset + shift, variance.sqrt()]))
    return torch.stack(rows)
