"""The excitation front-end of the detector studies (recipes/detector_v2/front_ends.py ExcitationStats): what is left
once linear prediction takes out the spectral envelope, and whether its high band bursts with the pitch pulses."""

import sys
from pathlib import Path

import numpy as np
import scipy.linalg
import scipy.signal

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from front_ends import FRONT_ENDS, ExcitationStats, lpc_coefficients  # noqa: E402

SR = 16_000
VOCAL_TRACT = [1.0, -1.3, 0.8]  # one resonance near 1.1 kHz
# indices into the 37 numbers (see the class docstring for their order)
KURTOSIS_MEDIAN, PERIODICITY_SHARE, SYNC_MEDIAN = 5, 13, 34


def _through_tract(excitation: np.ndarray) -> np.ndarray:
    y = scipy.signal.lfilter([1.0], VOCAL_TRACT, excitation)
    return (0.1 * y / np.abs(y).max()).astype(np.float32)


def _pulses(seconds: float = 3.0, period: int = 128) -> np.ndarray:
    x = np.zeros(int(seconds * SR))
    x[::period] = 1.0
    return x + 1e-3 * np.random.default_rng(0).standard_normal(len(x))


def test_lpc_solves_the_autocorrelation_normal_equations():
    frame = scipy.signal.lfilter([1.0], VOCAL_TRACT, np.random.default_rng(1).standard_normal(400)) * np.hanning(400)
    a = lpc_coefficients(frame[None], 16)[0]
    r = np.correlate(frame, frame, "full")[399 : 399 + 17]
    r[0] = r[0] * (1 + 1e-4) + 1e-12  # the same white-noise floor
    assert a[0] == 1.0
    np.testing.assert_allclose(a[1:], scipy.linalg.solve_toeplitz(r[:16], -r[1:]), rtol=1e-8, atol=1e-10)


def test_a_pulse_train_reads_peaky_periodic_and_synchronised_noise_does_not():
    stats = FRONT_ENDS["excitation"]()
    pulses = stats(_through_tract(_pulses()))
    noise = stats(_through_tract(np.random.default_rng(2).standard_normal(3 * SR)))
    assert pulses.shape == noise.shape == (ExcitationStats.WIDTH,) == (37,)
    assert pulses[KURTOSIS_MEDIAN] > noise[KURTOSIS_MEDIAN] + 2  # log kurtosis: a pulse per period against ~3 (log 1.1)
    assert pulses[PERIODICITY_SHARE] == 1.0 and noise[PERIODICITY_SHARE] < 0.05  # a rare noise frame repeats by chance
    assert pulses[SYNC_MEDIAN] > 0.9


def test_a_high_band_that_ignores_the_pulses_reads_as_unsynchronised():
    """A source-filter vocoder's recipe (harmonics below, independent noise above) against a glottal-like source whose
    high band bursts with each pulse."""
    rng = np.random.default_rng(3)
    n, period = 3 * SR, 128
    sos = scipy.signal.butter(8, 3500, "highpass", fs=SR, output="sos")
    noise = scipy.signal.sosfilt(sos, rng.standard_normal(n))
    gate = np.zeros(n)
    for start in range(0, n, period):
        gate[start : start + 24] = 1.0  # noise bursts at each glottal closure
    pulses = scipy.signal.sosfilt(scipy.signal.butter(8, 3000, "lowpass", fs=SR, output="sos"), _pulses(n / SR, period))
    glottal = _through_tract(pulses + 0.3 * gate * noise)
    vocoder = _through_tract(pulses + 0.3 * np.sqrt(24 / period) * noise)  # the same noise power, not gated
    stats = ExcitationStats()
    assert stats(glottal)[SYNC_MEDIAN] > 0.5 > 0.2 > stats(vocoder)[SYNC_MEDIAN]


def test_silence_and_short_input_read_zeros():
    stats = ExcitationStats()
    assert not stats(np.zeros(SR, np.float32)).any()
    assert stats(np.zeros(100, np.float32)).shape == (37,)
