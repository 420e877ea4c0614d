"""The phase front-end of the detector studies (recipes/detector_v2/front_ends.py PhaseStats): it reads what a
magnitude front-end cannot, whether a harmonic's phase agrees across its spectral lobe."""

import sys
from pathlib import Path

import numpy as np

from voice.vocoders import load_vocoder
from voxtwin.audio import resample

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from front_ends import FRONT_ENDS, PhaseStats  # noqa: E402

SR = 16_000


def _voiced(seconds: float = 3.0) -> np.ndarray:
    """A vowel-like tone: harmonics of a 140 Hz voice with 5 % vibrato up to 7.5 kHz, a little noise."""
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(140 * (1 + 0.05 * np.sin(2 * np.pi * 2 * t))) / SR
    harmonics = sum(np.sin(h * phase) / h for h in range(1, 54))
    return (0.3 * (harmonics + 0.003 * np.random.default_rng(0).standard_normal(len(t)))).astype(np.float32)


def _copy(name: str, x: np.ndarray) -> np.ndarray:
    vocoder = load_vocoder(name)
    return resample(vocoder.resynthesize(x, SR), vocoder.sample_rate, SR)[: len(x)]


def test_phase_guessed_from_a_mel_disagrees_across_each_harmonics_lobe():
    phase = PhaseStats()
    x = _voiced()
    original = phase(x).reshape(len(PhaseStats.BANDS_HZ), 8)
    lobe_median = 1  # per band: log1p of the lobe disagreement's 25th / 50th / 75th percentile, ...
    mel_gl = phase(_copy("mel-griffin-lim", x)).reshape(original.shape)
    exact_gl = phase(_copy("griffin-lim", x)).reshape(original.shape)
    # 1-4 kHz: the mel copy's harmonics disagree across their lobe several times more (log1p units) ...
    assert (mel_gl[1:4, lobe_median] - original[1:4, lobe_median]).min() > 1.0
    # ... while Griffin-Lim on the exact magnitude, a near-copy of the recording, stays close to it
    assert np.abs(exact_gl[1:4, lobe_median] - original[1:4, lobe_median]).max() < 0.4


def test_phase_statistics_have_a_fixed_width_and_read_zeros_where_there_is_nothing():
    phase = FRONT_ENDS["phase"]()
    assert phase(_voiced(1.0)).shape == (PhaseStats.WIDTH,) == (48,)
    assert not phase(np.zeros(SR, np.float32)).any()  # silence: no peaks anywhere
    telephone = resample(resample(_voiced(2.0), SR, 8000), 8000, SR)
    stats = phase(telephone).reshape(len(PhaseStats.BANDS_HZ), 8)
    assert stats[:3].any() and not stats[4:].any()  # nothing above 4 kHz in the telephone band
