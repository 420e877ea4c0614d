"""The recording conditions detectors are checked in (voxtwin/acoustic_conditions.py)."""

import numpy as np
import pytest

from voxtwin.acoustic_conditions import CONDITIONS, pink_noise, room_impulse_response, through_condition
from voxtwin.codec import through_channel
from voxtwin.testing import speechlike


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_conditions_keep_length_and_level_and_repeat_exactly(name):
    wav = speechlike(duration_s=2.0, seed=1)
    out = through_condition(wav, 16_000, name)
    assert out.shape == wav.shape and out.dtype == np.float32 and not np.allclose(out, wav, atol=1e-3)
    assert np.sqrt(np.mean(out**2)) == pytest.approx(np.sqrt(np.mean(wav**2)), rel=0.02)
    np.testing.assert_array_equal(out, through_condition(wav, 16_000, name))
    np.testing.assert_array_equal(out, through_channel(wav, 16_000, name))  # compare.py's channels reach them by name


def test_pink_noise_is_at_its_snr_and_falls_with_frequency():
    wav = speechlike(duration_s=3.0, seed=2).astype(np.float64)
    noisy = through_condition(wav, 16_000, "pink_noise_15db").astype(np.float64)
    speech = wav * (noisy @ wav) / (wav @ wav)  # the part of the output that is the input
    assert 10 * np.log10(np.mean(speech**2) / np.mean((noisy - speech) ** 2)) == pytest.approx(15.0, abs=0.5)
    power = np.abs(np.fft.rfft(pink_noise(2**16, np.random.default_rng(0)))) ** 2
    low, high = power[100:200].mean(), power[1600:3200].mean()  # four octaves apart: ~12 dB
    assert 10 * np.log10(low / high) == pytest.approx(12.0, abs=2.0)


def test_room_tail_falls_60_db_in_its_rt60():
    response = room_impulse_response(16_000, 0.5, np.random.default_rng(0))
    assert response[0] == 1.0 and np.sum(response[1:] ** 2) == pytest.approx(1.0, rel=1e-6)
    energy = np.convolve(response[1:] ** 2, np.ones(800), mode="valid")  # 50 ms energy windows
    early, late = energy[int(0.05 * 16_000)], energy[int(0.45 * 16_000)]  # 0.4 s apart: -48 dB
    assert 10 * np.log10(early / late) == pytest.approx(48.0, abs=4.0)
