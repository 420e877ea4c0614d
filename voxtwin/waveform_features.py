"""Waveform-domain front-ends as feature kinds (`sinc`, `waveform`); registered by `voxtwin.features`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from voxtwin.features import FeatureModule, FeatureSpec, register


# ------------------------------------------------------------------------- fixed sinc filterbank, waveform


@register("sinc")
@dataclass(frozen=True)
class SincSpec(FeatureSpec):
    """Fixed band-pass sinc filters with mel-spaced edges (the RawNet2 / AASIST front-end): Hamming-windowed
    ideal band-passes of odd length, applied by convolution without padding: (B, n_filters, T - kernel + 1).
    Filter edges split the mel range of a 512-point FFT grid from 0 Hz to Nyquist into n_filters bands."""

    n_filters: int = 70
    kernel_size: int = 129  # even sizes are rounded up to the next odd size, as in the reference code
    hop_length: int = 1

    @property
    def base_dim(self) -> int:
        return self.n_filters

    @property
    def odd_kernel_size(self) -> int:
        return self.kernel_size + 1 if self.kernel_size % 2 == 0 else self.kernel_size

    def build(self) -> nn.Module:
        return SincFilterbank(self)


def mel_spaced_sinc_filters(*, n_filters: int, kernel_size: int, sample_rate: int) -> np.ndarray:
    """(n_filters, kernel_size) Hamming-windowed band-pass filters with mel-spaced edges."""
    freqs = (sample_rate // 2) * np.linspace(0, 1, 257)
    mel = 2595 * np.log10(1 + freqs / 700)
    edges = 700 * (10 ** (np.linspace(mel.min(), mel.max(), n_filters + 1) / 2595) - 1)
    support = np.arange(-(kernel_size - 1) / 2, (kernel_size - 1) / 2 + 1)
    window = np.hamming(kernel_size)
    bank = np.zeros((n_filters, kernel_size))
    for i in range(n_filters):
        low, high = edges[i], edges[i + 1]
        ideal = (2 * high / sample_rate) * np.sinc(2 * high * support / sample_rate) - (2 * low / sample_rate) * np.sinc(2 * low * support / sample_rate)
        bank[i] = window * ideal
    return bank


class SincFilterbank(FeatureModule):
    def __init__(self, spec: SincSpec) -> None:
        super().__init__(spec)
        bank = mel_spaced_sinc_filters(n_filters=spec.n_filters, kernel_size=spec.odd_kernel_size, sample_rate=spec.sample_rate)
        self.register_buffer("filters", torch.tensor(bank, dtype=torch.float32)[:, None, :], persistent=False)

    def core(self, wav: Tensor) -> Tensor:
        return torch.nn.functional.conv1d(wav[:, None, :], self.filters)


@register("waveform")
@dataclass(frozen=True)
class WaveformSpec(FeatureSpec):
    """The waveform itself as one channel (B, 1, T), for models with a learned or pretrained front-end
    (self-supervised encoders); normalize='cmvn' gives the zero-mean unit-variance input wav2vec 2.0 expects."""

    hop_length: int = 1

    @property
    def base_dim(self) -> int:
        return 1

    def build(self) -> nn.Module:
        return Waveform(self)


class Waveform(FeatureModule):
    def core(self, wav: Tensor) -> Tensor:
        return wav[:, None, :]
