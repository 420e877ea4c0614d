"""`speak`: text to speech in an enrolled voice. An offline TTS voice (Piper, or eSpeak NG) reads each sentence,
conversion moves it into the profile's voice, and the sentences are joined with short pauses and crossfades so
there are no clicks."""

from __future__ import annotations

import re
from typing import Callable

import numpy as np

from voice.matching import ANALYSIS_RATE, DEFAULT_TIMBRE
from voice.matching import convert as convert_frames
from voice.profile import VoiceProfile
from voice.tts import TTSError, load_tts
from voxtwin import audio

SENTENCE_PAUSE_S = 0.25
FADE_S = 0.01
MAX_TEXT_CHARS = 20_000
SUPPORTED_LANGUAGES = ("en",)


def split_sentences(text: str) -> list[str]:
    """Sentences (on . ! ? ; and line breaks), long ones cut at commas to stay under ~300 characters."""
    parts = [p.strip() for p in re.split(r"(?<=[.!?;])\s+|\n+", text) if p.strip()]
    out = []
    for part in parts:
        while len(part) > 300 and "," in part[:300]:
            cut = part[:300].rindex(",") + 1
            out.append(part[:cut].strip())
            part = part[cut:].strip()
        out.append(part)
    return [p for p in out if re.search(r"\w", p)]


def _faded(wav: np.ndarray) -> np.ndarray:
    n = min(int(FADE_S * ANALYSIS_RATE), len(wav) // 2)
    if n:
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
        wav = wav.copy()
        wav[:n] *= ramp
        wav[-n:] *= ramp[::-1]
    return wav


def speak(
    text: str,
    profile: VoiceProfile,
    *,
    engine: str = "piper",
    language: str = "en",
    timbre: float = DEFAULT_TIMBRE,
    on_sentence: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Text -> (speech in the profile's voice, 16000).

    Args:
        text: What to say; split into sentences.
        engine: The offline TTS voice that reads the text (`piper` or `espeak`).
        language: Only "en" for now (the bundled voices are English).
        on_sentence: Called with (done, total) after each sentence, for progress bars.
    """
    if language not in SUPPORTED_LANGUAGES:
        raise TTSError(f"unsupported language {language!r}; voxtwin speaks: {', '.join(SUPPORTED_LANGUAGES)}")
    if len(text) > MAX_TEXT_CHARS:
        raise TTSError(f"text is {len(text)} characters; the limit is {MAX_TEXT_CHARS} per call")
    sentences = split_sentences(text)
    if not sentences:
        raise TTSError("empty text: nothing to say")
    tts = load_tts(engine)
    pause = np.zeros(int(SENTENCE_PAUSE_S * ANALYSIS_RATE), dtype=np.float32)
    pieces = []
    for i, sentence in enumerate(sentences):
        wav = audio.resample(tts.synthesize(sentence), tts.sample_rate, ANALYSIS_RATE)
        if len(wav):
            converted = convert_frames(wav, profile.frames, timbre=timbre)
            peak = float(np.max(np.abs(converted))) or 1.0
            pieces += [_faded(converted * (0.9 / peak)), pause]
        if on_sentence:
            on_sentence(i + 1, len(sentences))
    return np.concatenate(pieces[:-1] or [pause]), ANALYSIS_RATE
