"""F0 and WORLD vocoder parameters as feature kinds (`f0`, `world`); registered by `voxtwin.features`."""

from __future__ import annotations

import abc

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from voxtwin.features import FeatureModule, FeatureSpec, register


# ------------------------------------------------------------------------------------- F0 and WORLD


@register("f0")
@dataclass(frozen=True)
class F0Spec(FeatureSpec):
    """Fundamental frequency in Hz (0 = unvoiced) from WORLD DIO + StoneMask: shape (B, 1, 1 + T // hop)."""

    hop_length: int = 160
    f0_min_hz: float = 50.0
    f0_max_hz: float = 600.0

    @property
    def base_dim(self) -> int:
        return 1

    def build(self) -> nn.Module:
        return F0(self)


@register("world")
@dataclass(frozen=True)
class WorldSpec(FeatureSpec):
    """WORLD vocoder parameters: [f0 (Hz), coded spectral envelope (n_envelope dims), coded band
    aperiodicity] per frame, shape (B, 1 + n_envelope + n_aperiodicity, 1 + T // hop)."""

    hop_length: int = 80
    f0_min_hz: float = 50.0
    f0_max_hz: float = 600.0
    n_envelope: int = 60

    @property
    def n_aperiodicity(self) -> int:
        import pyworld

        return int(pyworld.get_num_aperiodicities(self.sample_rate))

    @property
    def base_dim(self) -> int:
        return 1 + self.n_envelope + self.n_aperiodicity

    def build(self) -> nn.Module:
        return World(self)


def world_f0(wav: np.ndarray, *, sample_rate: int, hop_length: float, f0_min_hz: float, f0_max_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(f0 in Hz per frame, frame times) of one mono signal: WORLD DIO refined by StoneMask."""
    import pyworld

    x = np.ascontiguousarray(wav, dtype=np.float64)
    f0, times = pyworld.dio(x, sample_rate, f0_floor=f0_min_hz, f0_ceil=f0_max_hz, frame_period=1000.0 * hop_length / sample_rate)
    return pyworld.stonemask(x, f0, times, sample_rate), times


def world_analysis(wav: np.ndarray, *, sample_rate: int, hop_length: int, f0_min_hz: float, f0_max_hz: float):
    """(f0, spectral envelope, aperiodicity) of one mono signal, with frames every hop_length samples."""
    import pyworld

    x = np.ascontiguousarray(wav, dtype=np.float64)
    f0, times = world_f0(x, sample_rate=sample_rate, hop_length=hop_length, f0_min_hz=f0_min_hz, f0_max_hz=f0_max_hz)
    envelope = pyworld.cheaptrick(x, f0, times, sample_rate)
    aperiodicity = pyworld.d4c(x, f0, times, sample_rate)
    return f0, envelope, aperiodicity


def _fit_frames(values: np.ndarray, n_frames: int) -> np.ndarray:
    """Pad (edge) or cut the time axis (last) to n_frames."""
    if values.shape[-1] >= n_frames:
        return values[..., :n_frames]
    return np.pad(values, [(0, 0)] * (values.ndim - 1) + [(0, n_frames - values.shape[-1])], mode="edge")


class _PerItemAnalysis(FeatureModule):
    """CPU analysis (pyworld) of each batch item; the result is returned on the input's device."""

    @abc.abstractmethod
    def analyse(self, wav: np.ndarray) -> np.ndarray:
        """One mono signal -> (channels, frames)."""

    def core(self, wav: Tensor) -> Tensor:
        n_frames = 1 + wav.shape[-1] // self.spec.hop_length
        out = [_fit_frames(self.analyse(item), n_frames) for item in wav.detach().cpu().numpy()]
        return torch.tensor(np.stack(out), dtype=wav.dtype, device=wav.device)


class F0(_PerItemAnalysis):
    def analyse(self, wav: np.ndarray) -> np.ndarray:
        s = self.spec
        f0, _ = world_f0(wav, sample_rate=s.sample_rate, hop_length=s.hop_length, f0_min_hz=s.f0_min_hz, f0_max_hz=s.f0_max_hz)
        return f0[None, :]


class World(_PerItemAnalysis):
    def analyse(self, wav: np.ndarray) -> np.ndarray:
        import pyworld

        s = self.spec
        f0, envelope, aperiodicity = world_analysis(wav, sample_rate=s.sample_rate, hop_length=s.hop_length, f0_min_hz=s.f0_min_hz, f0_max_hz=s.f0_max_hz)
        coded_envelope = pyworld.code_spectral_envelope(envelope, s.sample_rate, s.n_envelope)
        coded_aperiodicity = pyworld.code_aperiodicity(aperiodicity, s.sample_rate)
        return np.concatenate([f0[:, None], coded_envelope, coded_aperiodicity], axis=1).T
