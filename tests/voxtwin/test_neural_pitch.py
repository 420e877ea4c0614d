"""FCPE's F0 (voxtwin/neural_pitch.py): the same contract as WORLD's tracker, on signals whose pitch we know."""

import numpy as np
import pytest

from voxtwin.neural_pitch import fcpe_f0, on_frame_times


def _voice(f0_hz: float, seconds: float, rate: int) -> np.ndarray:
    """A buzzy vowel-like tone: 20 harmonics with falling amplitude."""
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * sum(np.sin(2 * np.pi * k * f0_hz * t) / k for k in range(1, 21))).astype(np.float32)


@pytest.mark.parametrize("rate, hop", [(16_000, 160), (22_050, 256)])
def test_fcpe_finds_the_pitch_and_the_silence(rate, hop):
    pytest.importorskip("torchfcpe")
    wav = np.concatenate([_voice(140.0, 0.8, rate), np.zeros(int(0.5 * rate), np.float32), _voice(230.0, 0.8, rate)])
    f0, times = fcpe_f0(wav, sample_rate=rate, hop_length=hop, f0_min_hz=50, f0_max_hz=600)
    assert len(f0) == len(times) == 1 + len(wav) // hop
    first, gap, second = f0[(times > 0.1) & (times < 0.7)], f0[(times > 0.95) & (times < 1.15)], f0[(times > 1.4) & (times < 2.0)]
    assert (gap == 0).all()  # silence is unvoiced
    assert (first > 0).mean() > 0.95 and (second > 0).mean() > 0.95
    assert np.median(np.abs(1200 * np.log2(first[first > 0] / 140.0))) < 30  # cents
    assert np.median(np.abs(1200 * np.log2(second[second > 0] / 230.0))) < 30


def test_frame_times_never_interpolate_across_voicing():
    f0 = np.array([100.0, 200.0, 0.0, 0.0, 400.0])  # frames every 10 ms
    out = on_frame_times(f0, 0.01, np.array([0.0, 0.005, 0.012, 0.018, 0.03, 0.038]))
    assert out[0] == pytest.approx(100.0)
    assert out[1] == pytest.approx(np.sqrt(100.0 * 200.0))  # halfway in log-F0
    assert out[2] == 200.0  # nearest frame voiced, neighbour unvoiced: that frame's F0, no ramp toward 0
    assert out[3] == 0.0  # nearest frame unvoiced
    assert out[4] == 0.0
    assert out[5] == pytest.approx(400.0)
