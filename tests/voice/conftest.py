import numpy as np
import pytest

from voice.tts import load_tts
from voxtwin import audio

REFERENCE_TEXT = (
    "The museum opens at nine in the morning and closes late on Fridays. "
    "Please bring a warm coat, because the evenings by the river get cold. "
    "We will meet at the station and walk together to the old bridge."
)


@pytest.fixture(scope="session")
def piper_speech():
    """(reference ~10 s, another sentence) in the bundled Piper voice, at 16 kHz: one 'speaker' for the tests."""
    tts = load_tts("piper")
    reference = audio.resample(tts.synthesize(REFERENCE_TEXT), tts.sample_rate, 16_000)
    source = audio.resample(tts.synthesize("Could you send me the address of the new office before lunch?"), tts.sample_rate, 16_000)
    return reference.astype(np.float32), source.astype(np.float32)


@pytest.fixture(scope="session")
def espeak_speech():
    """A clearly different voice: eSpeak NG formant synthesis, 16 kHz."""
    tts = load_tts("espeak")
    return audio.resample(tts.synthesize("Could you send me the address of the new office before lunch?"), tts.sample_rate, 16_000)
