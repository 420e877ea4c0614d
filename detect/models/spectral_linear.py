"""A linear countermeasure on log-spectrum statistics: the cheapest detector that still sees the whole band.

Each 4 s window is summarised per frequency bin (257 bins, 32 ms frames, 10 ms hop) by the mean and standard
deviation of the log power and the mean absolute change from one frame to the next (vocoders leave the fine
temporal texture of the spectrum too smooth or too noisy); standardisation + one logistic unit score the window.
Nothing is pretrained: the head is fitted on cached window statistics like distillmos-linear's
(detect/frozen_head.py), and scoring costs one STFT per second of audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from detect.models.registry import MODELS
from detect.models.window_stats_linear import WindowStatsLinear, mean_std_of_windows
from voxtwin.features import FeatureSpec, WaveformSpec

N_FFT = 512
HOP = 160
BINS = N_FFT // 2 + 1
SPECTRAL_MEAN = slice(0, BINS)  # where spectral_window_stats puts the per-bin mean log power


@dataclass(frozen=True)
class SpectralLinearConfig:
    floor: float = 1e-8  # power floor before the log: digital silence must not reach -inf
    # False: the head ignores the per-bin mean log power, which carries each recording's channel colouring (microphone,
    # room, codec): in leave-one-source-out it made unseen pages worse (recipes/detector_v2/recording_norm_loso.py)
    spectral_mean: bool = True
    band_ceiling_hz: float = 0.0  # > 0: every signal low-passed there before the front-ends (voxtwin/band_ceiling.py); 0: the whole band

    @classmethod
    def tiny(cls) -> "SpectralLinearConfig":
        return cls()


@MODELS.register("spectral-linear")
class SpectralLinear(WindowStatsLinear):
    Config = SpectralLinearConfig
    default_spec = WaveformSpec()
    samples_per_frame = HOP
    frame_span = N_FFT
    stats_dim = 3 * BINS

    def __init__(self, config: SpectralLinearConfig, spec: FeatureSpec) -> None:
        super().__init__(config, spec)
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)

    def ignored_stats(self) -> slice | None:
        return None if self.config.spectral_mean else SPECTRAL_MEAN

    def frames(self, wav: Tensor) -> Tensor:
        return log_power_frames(wav, self.window, self.config.floor)

    def window_stats(self, frames: Tensor) -> Tensor:
        return spectral_window_stats(frames)

    def stats_of_windows(self, frames: Tensor, first: list[int], length: int) -> Tensor:
        return spectral_stats_of_windows(frames, first, length)


def log_power_frames(wav: Tensor, window: Tensor, floor: float) -> Tensor:
    """(B, T) 16 kHz -> (B, L, 257) log power, L = 1 + (T - 512) // 160 (shorter inputs are zero-padded)."""
    if wav.shape[-1] < N_FFT:
        wav = torch.nn.functional.pad(wav, (0, N_FFT - wav.shape[-1]))
    spectrum = torch.fft.rfft(wav.unfold(-1, N_FFT, HOP) * window)
    return torch.log(spectrum.real.square() + spectrum.imag.square() + floor)


def spectral_window_stats(frames: Tensor) -> Tensor:
    """(B, L, 257) -> (B, 771): mean, standard deviation and mean absolute frame-to-frame change per bin."""
    std, mean = torch.std_mean(frames, dim=1, unbiased=False)
    change = (frames[:, 1:] - frames[:, :-1]).abs().mean(1) if frames.shape[1] > 1 else torch.zeros_like(mean)
    return torch.cat([mean, std, change], dim=1)


def spectral_stats_of_windows(frames: Tensor, first: list[int], length: int) -> Tensor:
    """(len(first), 771): spectral_window_stats of frames[a : a + length] for each a: mean and spread from plain sums
    (mean_std_of_windows; torch.std_mean per window took a third of `fast`'s scoring time), and the frame-to-frame
    changes computed once for the span, not once per overlapping window."""
    change = (frames[1:] - frames[:-1]).abs()
    moved = []
    for a in first:
        n = min(length, len(frames) - a)
        moved.append(change[a : a + n - 1].sum(0) / (n - 1) if n > 1 else frames.new_zeros(frames.shape[1]))
    return torch.cat([mean_std_of_windows(frames, first, length), torch.stack(moved)], dim=1)
