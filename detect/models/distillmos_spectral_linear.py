"""`default`'s and `fast`'s window statistics side by side under one logistic unit.

DistillMOS's CNN frames describe how natural speech sounds; the plain log-spectrum statistics of `fast` describe the
signal's own fine texture (per-bin level, spread and frame-to-frame change). They fail on different generators, and
in leave-one-source-out on ../shared/data (recipes/detector_v2/fusion_loso.py) one linear unit over both lowered the
mean per-source EER from 23.5 to 22.9 % as recorded and from 40.5 to 35.6 % through the 8 kHz telephone band. The
spectral half costs one STFT per second of audio, a few per cent of the CNN's time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from detect.models.distillmos_linear import FRAME_DIM, SAMPLES_PER_FRAME, attach_frozen_encoder, cnn_frames, with_precision_offset
from detect.models.registry import MODELS
from detect.models.spectral_linear import BINS, HOP, N_FFT, SPECTRAL_MEAN, log_power_frames, spectral_stats_of_windows, spectral_window_stats
from detect.models.window_stats_linear import WindowStatsLinear, mean_std_of_windows
from voxtwin.features import FeatureSpec, WaveformSpec

CNN_STATS = 2 * FRAME_DIM
SPECTRAL_STATS = 3 * BINS


@dataclass(frozen=True)
class DistillMOSSpectralLinearConfig:
    pretrained: bool = True  # False builds the CNN with random weights (tests)
    encoder_sha256: str = ""  # SHA-256 of the DistillMOS weights the head was fitted on ("" = not checked)
    input_gain: float = 1.8  # as distillmos-linear
    floor: float = 1e-8  # as spectral-linear
    spectral_mean: bool = True  # as spectral-linear: False, the head ignores the spectrum's per-bin mean log power
    bf16_logit_offset: float = 0.0  # as distillmos-linear (recipes/default_detector/precision_offset.py)
    int8_logit_offset: float = 0.0  # as distillmos-linear (--precision int8)
    band_ceiling_hz: float = 0.0  # > 0: every signal low-passed there before the front-ends (voxtwin/band_ceiling.py); 0: the whole band

    @classmethod
    def tiny(cls) -> "DistillMOSSpectralLinearConfig":
        return cls(pretrained=False)


@MODELS.register("distillmos-spectral-linear")
class DistillMOSSpectralLinear(WindowStatsLinear):
    """Two frame streams at their own rates (CNN: 20 ms hop; spectrum: 10 ms hop, 32 ms frames): `frames` returns
    both and every window's statistics are those of distillmos-linear followed by those of spectral-linear."""

    Config = DistillMOSSpectralLinearConfig
    default_spec = WaveformSpec()
    samples_per_frame = frame_span = SAMPLES_PER_FRAME  # of the CNN stream (what window placement follows)
    stats_dim = CNN_STATS + SPECTRAL_STATS

    def __init__(self, config: DistillMOSSpectralLinearConfig, spec: FeatureSpec) -> None:
        super().__init__(config, spec)
        self.attach_encoder(config)
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)

    def ignored_stats(self) -> slice | None:
        if self.config.spectral_mean:
            return None
        return slice(CNN_STATS + SPECTRAL_MEAN.start, CNN_STATS + SPECTRAL_MEAN.stop)

    def attach_encoder(self, config) -> None:
        """The CNN that makes the 1024-d frames: DistillMOS's own (a subclass may bring another)."""
        attach_frozen_encoder(self, config)

    def frames(self, wav: Tensor) -> tuple[Tensor, Tensor]:
        """(B, T) 16 kHz -> ((B, T // 320, 1024) CNN frames, (B, 1 + (T - 512) // 160, 257) log power)."""
        cnn = cnn_frames(self.encoder, wav, input_gain=self.config.input_gain, precision=self.precision)
        return cnn, log_power_frames(wav, self.window, self.config.floor)

    def window_stats(self, frames: tuple[Tensor, Tensor]) -> Tensor:
        cnn, spectrum = frames
        return torch.cat([cnn.mean(1), cnn.std(1, unbiased=False), spectral_window_stats(spectrum)], dim=1)

    def span_stats(self, wav: Tensor, starts: list[int], window: int) -> Tensor:
        """As WindowStatsLinear.span_stats, each stream placed by its own hop."""
        cnn, spectrum = (f[0] for f in self.frames(wav[None]))
        parts = []
        for frames, hop, span, summarise in (
            (cnn, SAMPLES_PER_FRAME, SAMPLES_PER_FRAME, mean_std_of_windows),
            (spectrum, HOP, N_FFT, spectral_stats_of_windows),
        ):
            length = max(1, 1 + (window - span) // hop)
            first = [min(s // hop, max(0, len(frames) - length)) for s in starts]
            parts.append(summarise(frames, first, length))
        return torch.cat(parts, dim=1)

    def head(self, stats: Tensor) -> Tensor:
        return with_precision_offset(super().head(stats), self.config, self.precision)
