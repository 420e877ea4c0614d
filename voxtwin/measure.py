"""One streaming pass over decoded blocks: length, peak, full-scale samples, BS.1770 loudness and speech frames
(energy VAD gated by Silero VAD, voxtwin/vad.py).

Shared by `voxtwin info` and the detector's first pass, so both read a file the same way in bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import soxr

from voxtwin.loudness import LoudnessMeter
from voxtwin.speech_presence import PRESENCE_RATE, SpeechPresence
from voxtwin.vad import FRAME_S, FrameLevels, speech_mask_from_levels

FULL_SCALE = 0.999  # samples at or above this magnitude count as clipped


@dataclass(frozen=True)
class SignalStats:
    sample_rate: int
    n_samples: int
    peak: float
    n_full_scale: int
    loudness_lufs: float | None
    speech_mask: np.ndarray  # one bool per 30 ms frame (voxtwin.vad.FRAME_S)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate if self.sample_rate else 0.0


def measure(blocks: Iterable[tuple[np.ndarray, int]]) -> SignalStats:
    """Statistics of a mono signal given as (block, sample rate) pairs, e.g. from `voxtwin.audio.iter_blocks`."""
    meter = levels = to_16k = None
    presence = SpeechPresence()
    n_samples, rate, peak, n_full_scale = 0, 0, 0.0, 0
    for block, rate in blocks:
        if meter is None:
            meter, levels = LoudnessMeter(rate), FrameLevels(rate)
            to_16k = None if rate == PRESENCE_RATE else soxr.ResampleStream(rate, PRESENCE_RATE, 1, dtype="float32", quality="HQ")
        meter.update(block)
        levels.update(block)
        presence.update(block if to_16k is None else to_16k.resample_chunk(np.asarray(block, dtype=np.float32)))
        n_samples += len(block)
        if len(block):
            magnitude = np.abs(block)
            peak = max(peak, float(magnitude.max()))
            n_full_scale += int(np.count_nonzero(magnitude >= FULL_SCALE))
    if meter is None:
        return SignalStats(0, 0, 0.0, 0, None, np.zeros(0, dtype=bool))
    if to_16k is not None:
        presence.update(to_16k.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    loud = speech_mask_from_levels(levels.levels_db)
    speech = loud & presence.frame_mask(len(loud), FRAME_S)  # loud, and speech by Silero VAD (not noise or a tone)
    return SignalStats(rate, n_samples, peak, n_full_scale, meter.integrated_lufs, speech)
