"""The modulation front-end of the detector studies (recipes/detector_v2/front_ends.py ModulationStats): how fast the
speech bands' envelopes rise and fall, and how much they move together."""

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from front_ends import FRONT_ENDS, ModulationStats  # noqa: E402

SR = 16_000
BANDS = len(ModulationStats.EDGES_HZ) - 1
DEPTH = ModulationStats.GROUPS * BANDS  # the depth cells come first, group-major; the comodulation after them


def _band_of(hz: float) -> int:
    return int(np.searchsorted(ModulationStats.EDGES_HZ, hz, side="right")) - 1


def _noise_beating_at(hz: float, seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.1 * (1 + 0.9 * np.sin(2 * np.pi * hz * t)) * np.random.default_rng(seed).standard_normal(len(t))).astype(np.float32)


def test_the_envelope_rate_lands_in_its_modulation_band():
    slow, fast = ModulationStats()(_noise_beating_at(5.0)), ModulationStats()(_noise_beating_at(20.0))
    assert slow.shape == (ModulationStats.WIDTH,) and FRONT_ENDS["modulation"] is ModulationStats
    depth_slow, depth_fast = slow[:DEPTH].reshape(ModulationStats.GROUPS, BANDS), fast[:DEPTH].reshape(ModulationStats.GROUPS, BANDS)
    # in every acoustic group, 5 Hz beating is deepest in the 4-8 Hz band and 20 Hz beating in the 16-24 Hz band
    assert np.all(depth_slow.argmax(1) == _band_of(5.0)) and np.all(depth_fast.argmax(1) == _band_of(20.0))
    assert np.all(depth_slow[:, _band_of(5.0)] > depth_fast[:, _band_of(5.0)] + 1)


def test_bands_beating_together_are_comodulated_independent_bands_are_not():
    together = ModulationStats()(_noise_beating_at(5.0))
    # each half of the spectrum beating at its own rate and phase: the bands at the split no longer move together
    low, high = _noise_beating_at(5.0, seed=1), _noise_beating_at(13.0, seed=2)
    spectrum_low, spectrum_high = np.fft.rfft(low), np.fft.rfft(high)
    split = len(spectrum_low) // 4  # 2 kHz
    apart = np.fft.irfft(np.concatenate([spectrum_low[:split], spectrum_high[split:]]), n=len(low)).astype(np.float32)
    apart_stats = ModulationStats()(apart)
    assert np.median(together[DEPTH:]) > 0.5
    assert apart_stats[DEPTH:].min() < together[DEPTH:].min() - 0.3


def test_short_windows_stay_finite_and_too_short_reads_zeros():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no empty modulation band: a short window is zero-padded to 4 s
        short = ModulationStats()(_noise_beating_at(5.0, seconds=0.5))
    assert np.all(np.isfinite(short)) and np.any(short)
    assert not np.any(ModulationStats()(np.zeros(1000, dtype=np.float32)))
