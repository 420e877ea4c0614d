"""Declarative feature front-ends shared by `detect/` models and `voice/` backends.

A `FeatureSpec` is a frozen dataclass that names its kind; `build_features(spec)` turns it into a
torch module that maps waveforms (B, T) to features (B, C, L) on the input's device. No other module
computes spectrograms, cepstra, CQT, F0 or WORLD parameters.

    spec = FeatureSpec.from_dict({"kind": "lfcc"})      # ASVspoof LFCC baseline: 20 filters, 60 dims
    frontend = build_features(spec)
    feats = frontend(wav)                               # (B, 60, L)
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torchaudio
from torch import Tensor, nn

from voxtwin import functional as VF
from voxtwin.errors import SpecMismatchError
from voxtwin.registry import Registry

FEATURES: Registry[type["FeatureSpec"]] = Registry("feature kind")
NORMALIZATIONS = ("none", "cmn", "cmvn")


@dataclass(frozen=True)
class FeatureSpec(abc.ABC):
    """Base of every feature declaration: sample rate, delta order and per-utterance normalisation."""

    kind: ClassVar[str] = ""
    sample_rate: int = 16_000
    deltas: int = 0
    normalize: str = "none"

    def __post_init__(self) -> None:
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {self.normalize!r}")
        if not 0 <= self.deltas <= 2:
            raise ValueError(f"deltas must be 0, 1 or 2, got {self.deltas}")

    @property
    @abc.abstractmethod
    def base_dim(self) -> int:
        """Channels before deltas."""

    @property
    def dim(self) -> int:
        """Channels C of the output (B, C, L), deltas included."""
        return self.base_dim * (1 + self.deltas)

    @property
    @abc.abstractmethod
    def hop_length(self) -> int:
        """Samples between frames (every subclass defines it as a field)."""

    @abc.abstractmethod
    def build(self) -> nn.Module:
        """The torch module computing these features."""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **dataclasses.asdict(self)}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> "FeatureSpec":
        data = dict(data)
        cls = FEATURES.get(data.pop("kind", ""))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fields for feature kind {cls.kind!r}: {', '.join(sorted(unknown))}")
        return cls(**data)

    def check_compatible(self, other: "FeatureSpec", *, what: str) -> None:
        """Raise SpecMismatchError when `other` differs (e.g. a checkpoint's stored spec)."""
        if self.to_dict() != other.to_dict():
            raise SpecMismatchError(f"{what}: features {other.to_dict()} differ from the expected {self.to_dict()}")


def register(name: str):
    def add(cls):
        cls.kind = name
        return FEATURES.register(name)(cls)

    return add


def build_features(spec: FeatureSpec) -> nn.Module:
    """The torch module for a spec: forward(wav (B, T)) -> (B, spec.dim, L)."""
    return spec.build()


class FeatureModule(nn.Module, abc.ABC):
    """Shared tail of every front-end: core features, then deltas, then normalisation."""

    def __init__(self, spec: FeatureSpec) -> None:
        super().__init__()
        self.spec = spec

    @abc.abstractmethod
    def core(self, wav: Tensor) -> Tensor:
        """(B, T) -> (B, base_dim, L), before deltas and normalisation."""

    def forward(self, wav: Tensor) -> Tensor:
        if wav.dim() != 2:
            raise ValueError(f"expected waveforms of shape (B, T), got {tuple(wav.shape)}")
        feats = self.core(wav)
        if self.spec.deltas:
            feats = VF.deltas(feats, order=self.spec.deltas)
        return VF.normalize(feats, mode=self.spec.normalize)


# ------------------------------------------------------------------------------------ linear spectrogram


@register("spectrogram")
@dataclass(frozen=True)
class SpectrogramSpec(FeatureSpec):
    """Log power spectrogram (linear frequency), centred frames: L = 1 + T // hop_length."""

    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    log: bool = True

    @property
    def base_dim(self) -> int:
        return self.n_fft // 2 + 1

    def build(self) -> nn.Module:
        return Spectrogram(self)


class Spectrogram(FeatureModule):
    def __init__(self, spec: SpectrogramSpec) -> None:
        super().__init__(spec)
        self.register_buffer("window", torch.hann_window(spec.win_length), persistent=False)

    def core(self, wav: Tensor) -> Tensor:
        s = self.spec
        power = VF.power_spectrogram(wav, window=self.window, n_fft=s.n_fft, hop_length=s.hop_length, center=True)
        return torch.log(power + 1e-10) if s.log else power


# ----------------------------------------------------------------------------------------------- log-mel


@register("log_mel")
@dataclass(frozen=True)
class LogMelSpec(FeatureSpec):
    """Log-mel magnitude spectrogram in the HiFi-GAN convention (Slaney mel, reflect padding of
    (n_fft - hop) / 2, no centring, natural log clamped at 1e-5): L = T // hop_length."""

    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_mels: int = 80
    f_min_hz: float = 0.0
    f_max_hz: float | None = None
    power: float = 1.0  # 1 = magnitude (HiFi-GAN), 2 = power

    @classmethod
    def hifigan_v1(cls) -> "LogMelSpec":
        """The 22.05 kHz, 80-band, hop-256 mel that the HiFi-GAN V1 vocoders invert."""
        return cls(sample_rate=22_050, n_fft=1024, win_length=1024, hop_length=256, n_mels=80, f_min_hz=0.0, f_max_hz=8000.0)

    @property
    def base_dim(self) -> int:
        return self.n_mels

    def build(self) -> nn.Module:
        return LogMel(self)


class LogMel(FeatureModule):
    def __init__(self, spec: LogMelSpec) -> None:
        super().__init__(spec)
        fb = torchaudio.functional.melscale_fbanks(
            spec.n_fft // 2 + 1, spec.f_min_hz, spec.f_max_hz or spec.sample_rate / 2, spec.n_mels,
            spec.sample_rate, norm="slaney", mel_scale="slaney",
        )
        self.register_buffer("filterbank", fb, persistent=False)
        self.register_buffer("window", torch.hann_window(spec.win_length), persistent=False)

    def core(self, wav: Tensor) -> Tensor:
        s = self.spec
        pad = (s.n_fft - s.hop_length) // 2
        wav = torch.nn.functional.pad(wav[:, None, :], (pad, pad), mode="reflect")[:, 0]
        spec = torch.stft(wav, s.n_fft, hop_length=s.hop_length, win_length=s.win_length, window=self.window, center=False, return_complex=True)
        magnitude = torch.sqrt(spec.real**2 + spec.imag**2 + 1e-9)
        mel = VF.apply_filterbank(magnitude**s.power, self.filterbank)
        return torch.log(torch.clamp(mel, min=1e-5))


# ------------------------------------------------------------------------------------------------- LFCC


@register("lfcc")
@dataclass(frozen=True)
class LFCCSpec(FeatureSpec):
    """Linear-frequency cepstral coefficients as in the ASVspoof 2019 LFCC baseline (Sahidullah et al. 2015):
    pre-emphasis 0.97, 20 ms Hamming window, 10 ms hop, 512-point FFT, 20 triangular linear filters over
    0..Nyquist, log energies, orthonormal DCT-II, 20 coefficients, deltas and delta-deltas (60 dims).
    Frames are not padded: L = 1 + (T - win_length) // hop_length."""

    win_length: int = 320
    hop_length: int = 160
    n_fft: int = 512
    n_filters: int = 20
    n_coeffs: int = 20
    f_min_hz: float = 0.0
    f_max_hz: float | None = None
    preemphasis: float = 0.97
    deltas: int = 2

    @property
    def base_dim(self) -> int:
        return self.n_coeffs

    def build(self) -> nn.Module:
        return LFCC(self)


class LFCC(FeatureModule):
    def __init__(self, spec: LFCCSpec) -> None:
        super().__init__(spec)
        fb = torchaudio.functional.linear_fbanks(
            spec.n_fft // 2 + 1, spec.f_min_hz, spec.f_max_hz or spec.sample_rate / 2, spec.n_filters, spec.sample_rate
        )
        self.register_buffer("filterbank", fb, persistent=False)
        self.register_buffer("window", torch.hamming_window(spec.win_length, periodic=False), persistent=False)
        self.register_buffer("dct", torchaudio.functional.create_dct(spec.n_coeffs, spec.n_filters, norm="ortho"), persistent=False)

    def core(self, wav: Tensor) -> Tensor:
        s = self.spec
        wav = VF.preemphasis(wav, coefficient=s.preemphasis)
        power = VF.power_spectrogram(wav, window=self.window, n_fft=s.n_fft, hop_length=s.hop_length, center=False)
        energies = torch.log(VF.apply_filterbank(power, self.filterbank) + torch.finfo(power.dtype).eps)
        return torch.einsum("bnl,nc->bcl", energies, self.dct)


# ------------------------------------------------------------------------------------------------- MFCC


@register("mfcc")
@dataclass(frozen=True)
class MFCCSpec(FeatureSpec):
    """MFCC via torchaudio (Slaney mel, power in dB with an 80 dB floor, orthonormal DCT): L = 1 + T // hop."""

    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_mels: int = 40
    n_mfcc: int = 20
    f_min_hz: float = 0.0
    f_max_hz: float | None = None

    @property
    def base_dim(self) -> int:
        return self.n_mfcc

    def build(self) -> nn.Module:
        return MFCC(self)


class MFCC(FeatureModule):
    def __init__(self, spec: MFCCSpec) -> None:
        super().__init__(spec)
        self.mfcc = torchaudio.transforms.MFCC(
            sample_rate=spec.sample_rate, n_mfcc=spec.n_mfcc, norm="ortho",
            melkwargs={
                "n_fft": spec.n_fft, "win_length": spec.win_length, "hop_length": spec.hop_length, "n_mels": spec.n_mels,
                "f_min": spec.f_min_hz, "f_max": spec.f_max_hz, "norm": "slaney", "mel_scale": "slaney",
            },
        )

    def core(self, wav: Tensor) -> Tensor:
        # torchaudio's 80 dB floor is taken over the whole batch; per item keeps batched == stacked singles.
        return torch.stack([self.mfcc(w) for w in wav])


# -------------------------------------------------------------------------------------------------- CQT


@register("cqt")
@dataclass(frozen=True)
class CQTSpec(FeatureSpec):
    """Log-magnitude constant-Q transform with librosa's Hann wavelets (scale=True), computed as a
    strided complex convolution so it runs batched on GPU: L = 1 + T // hop_length."""

    hop_length: int = 256
    f_min_hz: float = 32.70319566  # C1
    n_bins: int = 84
    bins_per_octave: int = 12
    log: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        top = self.f_min_hz * 2 ** ((self.n_bins - 1) / self.bins_per_octave)
        if top * (1 + 2 ** (1 / self.bins_per_octave)) / 2 >= self.sample_rate / 2:
            raise ValueError(f"CQT top bin {top:.0f} Hz is too close to Nyquist for {self.sample_rate} Hz; lower n_bins")

    @property
    def base_dim(self) -> int:
        return self.n_bins

    def build(self) -> nn.Module:
        return CQT(self)


class CQT(FeatureModule):
    def __init__(self, spec: CQTSpec) -> None:
        super().__init__(spec)
        import librosa

        freqs = librosa.cqt_frequencies(n_bins=spec.n_bins, fmin=spec.f_min_hz, bins_per_octave=spec.bins_per_octave)
        kernels, lengths = librosa.filters.wavelet(freqs=freqs, sr=spec.sample_rate, window="hann", filter_scale=1, norm=1)
        kernels = kernels * np.sqrt(lengths)[:, None]  # librosa's scale=True normalisation
        # correlation with conj(kernel) == convolution with the kernel reversed
        conj = np.conj(kernels)
        self.register_buffer("kernels_real", torch.tensor(conj.real, dtype=torch.float32), persistent=False)
        self.register_buffer("kernels_imag", torch.tensor(conj.imag, dtype=torch.float32), persistent=False)

    def core(self, wav: Tensor) -> Tensor:
        mag = VF.complex_conv_magnitude(wav, kernels_real=self.kernels_real, kernels_imag=self.kernels_imag, hop_length=self.spec.hop_length)
        return torch.log(mag + 1e-6) if self.spec.log else mag


# The remaining kinds live in their own modules; importing them registers them.
from voxtwin import pitch_features, waveform_features  # noqa: E402,F401
from voxtwin.pitch_features import F0Spec, WorldSpec, world_analysis  # noqa: E402,F401
from voxtwin.waveform_features import SincSpec, WaveformSpec  # noqa: E402,F401
