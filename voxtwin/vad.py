"""Speech-activity detection: an energy VAD for where, Silero VAD (voxtwin/speech_presence.py) for whether.

Frames of 30 ms are loud when their level is above an absolute floor and either well above the
file's own noise floor (its 10th-percentile frame level) or, for speech without pauses (where that
percentile is speech too), close to its loud frames (90th percentile). Short gaps are bridged
(hangover) and isolated blips dropped, which is what trimming and `speech_ratio` need. Being
energy-based, that alone counts any loud sound as speech, so a loud frame is speech only where Silero
also hears speech nearby: noise, hum and tones come out as no speech.
"""

from __future__ import annotations

import numpy as np

FRAME_S = 0.03
ABSOLUTE_FLOOR_DBFS = -50.0  # quieter frames are never speech
ABOVE_NOISE_DB = 12.0  # speech stands this far above the noise floor
BELOW_PEAK_DB = 6.0  # ... unless the file has no pauses: then frames within this of its loud frames count
PEAK_PERCENTILE = 90.0
NOISE_PERCENTILE = 10.0
HANGOVER_S = 0.2  # bridge pauses shorter than this inside speech
MIN_SPEECH_S = 0.09  # drop isolated bursts shorter than this
TRIM_MARGIN_S = 0.1  # keep this much around trimmed speech


class FrameLevels:
    """Streaming per-frame RMS level (dBFS) of a mono signal."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.frame_length = max(1, int(round(FRAME_S * sample_rate)))
        self._pending = np.zeros(0, dtype=np.float32)
        self._levels: list[np.ndarray] = []

    def update(self, block: np.ndarray) -> None:
        x = np.concatenate([self._pending, np.asarray(block, dtype=np.float32)])
        n = len(x) // self.frame_length
        if n:
            frames = x[: n * self.frame_length].reshape(n, self.frame_length).astype(np.float64)
            power = np.mean(frames**2, axis=1)
            self._levels.append((10 * np.log10(power + 1e-12)).astype(np.float32))
        self._pending = x[n * self.frame_length :]

    @property
    def levels_db(self) -> np.ndarray:
        return np.concatenate(self._levels) if self._levels else np.zeros(0, dtype=np.float32)


def speech_mask_from_levels(levels_db: np.ndarray) -> np.ndarray:
    """Boolean speech decision per frame from frame levels in dBFS."""
    if len(levels_db) == 0:
        return np.zeros(0, dtype=bool)
    noise_floor, loud = np.percentile(levels_db, [NOISE_PERCENTILE, PEAK_PERCENTILE])
    threshold = max(ABSOLUTE_FLOOR_DBFS, min(noise_floor + ABOVE_NOISE_DB, loud - BELOW_PEAK_DB))
    mask = levels_db > threshold
    mask = _close_gaps(mask, int(round(HANGOVER_S / FRAME_S)))
    return _drop_short_runs(mask, int(round(MIN_SPEECH_S / FRAME_S)))


def loud_mask(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-frame (30 ms) energy decision alone: loud enough to be speech (or any other sound)."""
    levels = FrameLevels(sample_rate)
    levels.update(wav)
    return speech_mask_from_levels(levels.levels_db)


def speech_mask(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-frame (30 ms) speech decision for a mono signal: loud, and speech by Silero VAD."""
    from voxtwin.speech_presence import speech_presence_mask

    loud = loud_mask(wav, sample_rate)
    return loud & speech_presence_mask(wav, sample_rate, len(loud), FRAME_S)


def detect_speech(wav: np.ndarray, sample_rate: int) -> list[tuple[float, float]]:
    """Speech segments as (start_s, end_s) pairs."""
    return mask_to_segments(speech_mask(wav, sample_rate))


def speech_ratio(wav: np.ndarray, sample_rate: int) -> float:
    """Fraction of 30 ms frames that hold speech (0 for signals shorter than a frame)."""
    mask = speech_mask(wav, sample_rate)
    return float(mask.mean()) if len(mask) else 0.0


def trim_silence(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cut leading and trailing silence (the energy VAD alone: trimming is about quiet, not about what the sound is),
    keeping a 100 ms margin; all-silent input comes back empty."""
    segments = mask_to_segments(loud_mask(wav, sample_rate))
    if not segments:
        return wav[:0]
    start = max(0, int((segments[0][0] - TRIM_MARGIN_S) * sample_rate))
    end = min(len(wav), int((segments[-1][1] + TRIM_MARGIN_S) * sample_rate))
    return wav[start:end]


def mask_to_segments(mask: np.ndarray) -> list[tuple[float, float]]:
    """Runs of True frames as (start_s, end_s)."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(float(s * FRAME_S), float(e * FRAME_S)) for s, e in zip(edges[::2], edges[1::2])]


def _runs(mask: np.ndarray) -> list[tuple[int, int, bool]]:
    change = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(mask)]])
    return [(int(s), int(e), bool(mask[s])) for s, e in zip(starts, ends)]


def _close_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    out = mask.copy()
    for start, end, value in _runs(mask):
        if not value and 0 < start and end < len(mask) and end - start <= max_gap:
            out[start:end] = True
    return out


def _drop_short_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    out = mask.copy()
    for start, end, value in _runs(mask):
        if value and end - start < min_len:
            out[start:end] = False
    return out
