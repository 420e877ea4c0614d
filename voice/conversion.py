"""`convert`: recorded speech into an enrolled voice, with the chosen backend (voice/backends.py)."""

from __future__ import annotations

import os

import numpy as np

from voice.backends import ConvertBackend, load_convert_backend
from voice.matching import ANALYSIS_RATE, DEFAULT_TIMBRE
from voice.profile import VoiceProfile
from voxtwin import audio
from voxtwin.errors import AudioTooShortError, VoxtwinError

MIN_SOURCE_S = 0.1  # shorter sources convert to nothing (the content encoder's and the vocoder's frames)


def convert(
    source: str | os.PathLike | np.ndarray,
    profile: VoiceProfile,
    *,
    sample_rate: int | None = None,
    timbre: float = DEFAULT_TIMBRE,
    backend: str | ConvertBackend = "auto",
    model_dir: str | os.PathLike | None = None,
    device: str = "auto",
    precision: str | None = None,
    refiner: bool = True,
) -> tuple[np.ndarray, int]:
    """Speak the words of `source` in the profile's voice.

    Args:
        source: A recording (path) or a mono array at `sample_rate`.
        profile: The target voice.
        timbre: knn-world only: 0-1, how much of the envelope comes from the target (see voice/matching.py).
        backend: A backend name (`auto`, `vox-vc`, `knn-world`, `openvoice`) or a loaded backend; `auto` is the
            best pulled backend, else the built-in one (voice/pretrained/choice.py).
        model_dir: Local checkpoint folder for neural backends (default: their pulled copy).
        precision: vox-vc's vocoder: auto (= bf16 where native, else fp32), fp32 or bf16 (voxtwin/precision.py; None: $VOXTWIN_PRECISION).
        refiner: vox-vc only: run its shipped mel refiner (since 2026.12-5; False = 2026.12-4's path, ~10 % faster,
            less natural and less intelligible on VCC 2016; voice/converter/MODEL_CARD.md).
    Returns:
        (converted speech, its sample rate), at the source's level.
    """
    if not 0.0 <= timbre <= 1.0:
        raise VoxtwinError(f"timbre must be between 0 and 1, got {timbre}")
    if isinstance(source, np.ndarray):
        if sample_rate is None:
            raise VoxtwinError("an array source needs sample_rate")
        wav = audio.resample(np.asarray(source, dtype=np.float32), sample_rate, ANALYSIS_RATE)
    else:
        wav, _ = audio.load(source, ANALYSIS_RATE)
    if len(wav) < MIN_SOURCE_S * ANALYSIS_RATE:
        label = "the source" if isinstance(source, np.ndarray) else os.fspath(source)
        raise AudioTooShortError(f"{label}: {len(wav) / ANALYSIS_RATE:.2f} s is too short to convert (at least {MIN_SOURCE_S} s of audio)")
    if isinstance(backend, str):
        from voice.pretrained.choice import resolve

        choice = resolve("convert", backend, model_dir=model_dir)
        backend = load_convert_backend(choice.name, timbre=timbre, model_dir=choice.model_dir, device=device, precision=precision, **({} if refiner else {"refiner": None}))
    y = backend.convert(wav, profile)
    peak, out_peak = float(np.max(np.abs(wav))), float(np.max(np.abs(y))) if len(y) else 0.0
    if out_peak > 0:
        y = y * (min(peak, 0.95) / out_peak)  # the source's level, never clipping
    return y.astype(np.float32), backend.sample_rate
