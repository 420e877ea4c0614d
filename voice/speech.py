"""`speak`: text to speech in an enrolled voice. The text is cut into sentences; the backend (voice/backends.py;
default: Piper reads, then kNN-WORLD conversion moves it into the voice) says each one, and the sentences are
joined with short pauses and fades so there are no clicks."""

from __future__ import annotations

import os
import re
from typing import Callable

import numpy as np

from voice.backends import SpeakBackend, load_speak_backend
from voice.matching import DEFAULT_TIMBRE
from voice.profile import VoiceProfile
from voice.text_script import check_script, drop_symbols
from voice.tts import TTSError

SENTENCE_PAUSE_S = 0.25
FADE_S = 0.01
MAX_TEXT_CHARS = 20_000


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


def _faded(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    n = min(int(FADE_S * sample_rate), len(wav) // 2)
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
    engine: str | None = None,
    language: str = "en",
    timbre: float = DEFAULT_TIMBRE,
    backend: str | SpeakBackend = "auto",
    model_dir: str | os.PathLike | None = None,
    device: str = "auto",
    precision: str | None = None,
    on_sentence: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Text -> (speech in the profile's voice, its sample rate).

    Args:
        text: What to say; split into sentences.
        engine: The offline TTS voice that reads the text before conversion, for `vox-vc` (default `hibari`) and
            `piper-knn` (default `piper`); also `kokoro`, `espeak`.
        language: Language code; the built-in backend speaks "en", XTTS its config's languages.
        backend: A backend name (`auto`, `vox-vc`, `piper-knn`, `xtts`) or a loaded backend; `model_dir` for neural
            ones (default: their pulled copy). `auto`: pulled XTTS-v2 for its languages, else `vox-vc`.
        precision: vox-vc's vocoder: auto (= bf16 where native, else fp32), fp32 or bf16 (voxtwin/precision.py; None: $VOXTWIN_PRECISION).
        on_sentence: Called with (done, total) after each sentence, for progress bars.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise TTSError(f"text is {len(text)} characters; the limit is {MAX_TEXT_CHARS} per call")
    text = drop_symbols(text)
    sentences = split_sentences(text)
    if not sentences:
        raise TTSError("empty text: nothing to say")
    backend_name = backend if isinstance(backend, str) else type(backend).__name__
    if isinstance(backend, str):
        from voice.pretrained.choice import resolve

        choice = resolve("speak", backend, model_dir=model_dir, language=language)
        backend_name = choice.name
        options = {"engine": engine} if engine else {}
        backend = load_speak_backend(choice.name, timbre=timbre, model_dir=choice.model_dir, device=device, precision=precision, **options)
    if language not in backend.languages:
        raise TTSError(f"unsupported language {language!r}; this backend speaks: {', '.join(backend.languages)}")
    check_script(text, language, speaks=backend.languages, backend=f"the {backend_name} backend")
    rate = backend.sample_rate
    pause = np.zeros(int(SENTENCE_PAUSE_S * rate), dtype=np.float32)
    pieces = []
    for i, sentence in enumerate(sentences):
        wav = backend.say(sentence, profile, language)
        if len(wav):
            peak = float(np.max(np.abs(wav))) or 1.0
            pieces += [_faded(wav * (0.9 / peak), rate), pause]
        if on_sentence:
            on_sentence(i + 1, len(sentences))
    return np.concatenate(pieces[:-1] or [pause]), rate
