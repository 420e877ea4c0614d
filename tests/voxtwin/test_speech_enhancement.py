"""DeepFilterNet3 through its C runtime: it must remove noise, keep the speech aligned and keep the length, since
the detectors' laundering test and augmentation compare enhanced audio with the original sample for sample."""

import numpy as np

from voxtwin.speech_enhancement import enhance
from voxtwin.testing import speechlike


def _snr_db(clean: np.ndarray, other: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(clean**2) / np.sum((other - clean) ** 2)))


def test_enhancement_removes_noise_and_keeps_speech_aligned():
    clean = speechlike(duration_s=3.0, sample_rate=16_000, seed=5)
    noisy = clean + np.std(clean) * np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32)
    out = enhance(noisy, 16_000)
    assert out.shape == clean.shape and out.dtype == np.float32
    assert _snr_db(clean, out) > _snr_db(clean, noisy) + 3  # 0 dB in, ~5 dB out (the test signal is only speech-like)
    middle = slice(4000, len(clean) - 4000)
    lags = range(-160, 161, 4)
    best = max(lags, key=lambda lag: float(np.dot(np.roll(out, lag)[middle], clean[middle])))
    assert abs(best) <= 4  # the model's 30 ms lookahead is compensated


def test_enhancement_of_silence_stays_silent_at_any_rate():
    for rate in (8_000, 22_050):
        out = enhance(np.zeros(rate, dtype=np.float32), rate)
        assert len(out) == rate and np.max(np.abs(out)) < 1e-3
