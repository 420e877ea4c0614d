"""The one preparation every waveform gets before a detector sees it, in training and in scoring alike:
16 kHz mono, loudness normalised to -23 LUFS, leading and trailing silence trimmed. Format, level and
silence length then cannot give the label away."""

from __future__ import annotations

import numpy as np

from voxtwin import audio

SAMPLE_RATE = 16_000
TARGET_LUFS = -23.0


def standardize(wav: np.ndarray, sample_rate: int, *, trim: bool = True) -> np.ndarray:
    """Resample to 16 kHz, normalise loudness, trim silence (an all-silent input comes back empty)."""
    wav = audio.resample(wav, sample_rate, SAMPLE_RATE)
    wav = audio.normalize_loudness(wav, SAMPLE_RATE, target_lufs=TARGET_LUFS)
    return audio.trim_silence(wav, SAMPLE_RATE) if trim else wav


def load_standardized(path, *, trim: bool = True) -> np.ndarray:
    wav, rate = audio.load(path)
    return standardize(wav, rate, trim=trim)


def crop(wav: np.ndarray, n_samples: int, *, start: int = 0) -> np.ndarray:
    """A window of n_samples from `start`, repeating the signal when it is shorter (repeat-padding)."""
    if len(wav) == 0:
        raise ValueError("cannot crop an empty signal")
    if len(wav) < start + n_samples:
        reps = int(np.ceil((start + n_samples) / len(wav)))
        wav = np.tile(wav, reps)
    return wav[start : start + n_samples]
