"""voxtwin/band_ceiling.py: one low-pass for every 16 kHz signal, so that the rate a file was made at does not show."""

import numpy as np
import pytest

from voxtwin.band_ceiling import CeilingStream, ceiled, ceiling_taps

SR = 16_000


def tone(hz: float, seconds: float = 1.0) -> np.ndarray:
    return np.sin(2 * np.pi * hz * np.arange(int(seconds * SR)) / SR).astype(np.float32)


def level_db(x: np.ndarray) -> float:
    middle = x[SR // 4 : -SR // 4]  # away from the zero-padded ends
    return float(20 * np.log10(np.sqrt(np.mean(middle.astype(np.float64) ** 2)) / np.sqrt(0.5) + 1e-30))


def test_the_band_below_passes_and_the_band_above_is_gone():
    for hz in (200.0, 3000.0, 6500.0, 6800.0):
        assert abs(level_db(ceiled(tone(hz), 7000)) - 0.0) < 0.5, hz
    for hz in (7300.0, 7600.0, 7900.0):
        assert level_db(ceiled(tone(hz), 7000)) < -85, hz


def test_blocks_of_any_size_give_the_whole_signal_result():
    rng = np.random.default_rng(0)
    for n in (10, 127, 128, 5000):  # shorter and longer than the filter's delay
        x = rng.standard_normal(n).astype(np.float32)
        whole = ceiled(x, 7000)
        assert len(whole) == n
        np.testing.assert_allclose(whole, np.convolve(x.astype(np.float64), ceiling_taps(7000.0))[127 : 127 + n], atol=1e-6)  # no delay
        stream, parts, start = CeilingStream(7000), [], 0
        for size in rng.integers(1, 60, size=n):
            parts.append(stream.push(x[start : start + size]))
            start += size
            if start >= n:
                break
        parts.append(stream.finish())
        assert np.array_equal(np.concatenate(parts), whole)


def test_a_ceiling_outside_the_band_is_refused():
    for hz in (0.0, 500.0, 8000.0, 12_000.0):
        with pytest.raises(ValueError, match="band ceiling"):
            ceiling_taps(hz)
