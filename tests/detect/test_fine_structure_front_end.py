"""The fine-structure front-end of the detector studies (recipes/detector_v2/front_ends.py FineStructureStats): a
fixed tone such as an upsampler leaves stands out of the long-term spectrum and its steadiness, wherever it sits in
its band, and speech's moving harmonics do not."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from front_ends import FRONT_ENDS, FineStructureStats  # noqa: E402
from voxtwin.testing import harmonic  # noqa: E402

SR = 16_000
LONG_TERM_MAX, STEADINESS_MAX = 3, 8  # per band: (a) median, p90, p99, max, spread; (b) the same; (c) p90, spread


def _voiced(seconds: float = 4.0) -> np.ndarray:
    """Harmonics of a 140 Hz voice with vibrato up to 7.5 kHz: moving harmonics."""
    return harmonic(140.0, duration_s=seconds, n_harmonics=53)


def _bands(x: np.ndarray) -> np.ndarray:
    return FineStructureStats()(x).reshape(FineStructureStats.BANDS, 12)


def test_a_fixed_tone_stands_out_in_its_band_wherever_it_sits():
    voice = _voiced()
    original = _bands(voice)
    t = np.arange(len(voice)) / SR
    for hz in (5_512.5, 5_900.0):  # HiFi-GAN's fs/4 at 22.05 kHz and another frequency of the same band
        toned = _bands(voice + 0.02 * np.sin(2 * np.pi * hz * t).astype(np.float32))  # beside a voice peaking at 0.3
        band = int(hz // 1000)
        assert toned[band, LONG_TERM_MAX] > original[band, LONG_TERM_MAX] + 2.0
        others = [b for b in range(FineStructureStats.BANDS) if b != band]
        assert np.abs(toned[others] - original[others]).max() < 0.5  # the other bands do not move


def test_a_steady_tone_spreads_less_over_time_than_noise_around_it():
    t = np.arange(4 * SR) / SR
    noise = 0.01 * np.random.default_rng(1).standard_normal(len(t))
    plain, toned = _bands(noise), _bands(noise + 0.01 * np.sin(2 * np.pi * 2_000 * t))
    assert toned[2, STEADINESS_MAX] > plain[2, STEADINESS_MAX] + 0.5


def test_fine_structure_statistics_have_a_fixed_width_and_survive_silence_and_short_windows():
    fine = FRONT_ENDS["fine"]()
    assert fine(_voiced(1.0)).shape == (FineStructureStats.WIDTH,) == (96,)
    assert np.isfinite(fine(np.zeros(SR, np.float32))).all()
    assert np.isfinite(fine(_voiced(0.05))).all()  # shorter than one 2,048-sample frame: padded


def test_the_cheap_variant_changes_only_each_frames_sharpness():
    voice = _voiced(2.0)
    median, mean = _bands(voice), FRONT_ENDS["fine-mean"]()(voice).reshape(FineStructureStats.BANDS, 12)
    np.testing.assert_allclose(mean[:, :10], median[:, :10], rtol=1e-6)  # (a) and (b): one curve per window, the same median
    assert not np.allclose(mean[:, 10:], median[:, 10:])  # (c): against a running mean
