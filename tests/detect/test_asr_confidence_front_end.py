"""The ASR-confidence front-end of the detector studies (recipes/detector_v2/front_ends.py AsrConfidenceStats): how sure
Whisper tiny.en is of the words, read per file."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from front_ends import FRONT_ENDS, AsrConfidenceStats  # noqa: E402

from voxtwin import audio  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "voxtwin" / "demo_audio" / "real_librispeech_1688-142285-0001.opus"
MEAN_LOGPROB, NO_SPEECH, TOKENS_PER_S, MEAN_WORD_P, LOW_WORD_SHARE = 0, 2, 4, 6, 8


def test_recorded_speech_reads_confident_words():
    wav, _ = audio.load(DEMO, 16_000)
    numbers = AsrConfidenceStats()(wav)
    assert numbers.shape == (AsrConfidenceStats.WIDTH,) and FRONT_ENDS["asr"] is AsrConfidenceStats
    assert numbers[MEAN_LOGPROB] > -0.8 and numbers[MEAN_WORD_P] > 0.6 and numbers[LOW_WORD_SHARE] < 0.5  # -0.58, 0.80, 0.25 here
    padded = AsrConfidenceStats()(np.concatenate([wav, np.zeros_like(wav)]))  # the same words over twice the time
    assert 0.4 < padded[TOKENS_PER_S] / numbers[TOKENS_PER_S] < 0.6


def test_noise_reads_no_words_or_unsure_ones():
    noise = 0.05 * np.random.default_rng(0).standard_normal(3 * 16_000).astype(np.float32)
    numbers = AsrConfidenceStats()(noise)
    speech = AsrConfidenceStats()(audio.load(DEMO, 16_000)[0])
    assert numbers[MEAN_LOGPROB] < speech[MEAN_LOGPROB] or numbers[TOKENS_PER_S] == 0
    assert numbers[NO_SPEECH] > speech[NO_SPEECH]
