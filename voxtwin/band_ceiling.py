"""A band ceiling: every 16 kHz signal low-passed at the same frequency, so that how a file reached 16 kHz does not show.

A recording made at 16 kHz keeps energy up to 8 kHz; one resampled from 22.05-48 kHz (soxr, as voxtwin's loader and most
demo pages' curators do) loses everything above ~7.6 kHz. ../shared/data's synthetic files mostly came from 22-24 kHz
models, its real files mostly from 16 kHz corpora, so detectors learned "nothing above 7.6 kHz" as a sign of synthesis,
and the same real recording handed over at 48 kHz scored as more synthetic (detect/MODEL_CARD.md, "The sample rate a
file arrives at"). A linear-phase FIR with its stop band from ~7.2 kHz (<= -90 dB) makes both look alike. `ceiled`
filters a whole signal, `CeilingStream` the same signal block by block with the same result (zero-padded ends, no delay).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import firwin, lfilter

SAMPLE_RATE = 16_000
TAPS = 255  # odd: a whole-sample delay of (TAPS - 1) / 2, removed
KAISER_BETA = 8.6


@lru_cache(maxsize=8)
def ceiling_taps(ceiling_hz: float) -> np.ndarray:
    """The filter's taps: -6 dB at ceiling_hz, flat (within 0.5 dB) below ceiling_hz - 100 Hz at 16 kHz."""
    if not 1000.0 <= ceiling_hz < SAMPLE_RATE / 2:
        raise ValueError(f"band ceiling must be 1000-{SAMPLE_RATE // 2} Hz, got {ceiling_hz}")
    taps = firwin(TAPS, ceiling_hz, fs=SAMPLE_RATE, window=("kaiser", KAISER_BETA))
    taps.setflags(write=False)
    return taps


def ceiled(wav: np.ndarray, ceiling_hz: float) -> np.ndarray:
    """A whole 16 kHz signal under the ceiling, same length (float32)."""
    stream = CeilingStream(ceiling_hz)
    return np.concatenate([stream.push(np.asarray(wav, dtype=np.float32)), stream.finish()])


class CeilingStream:
    """The ceiling over a signal that arrives in blocks: `push` each block, then `finish`; the outputs joined are
    `ceiled` of the blocks joined (the filter's delay is taken off the front and flushed with zeros at the end)."""

    def __init__(self, ceiling_hz: float) -> None:
        self.taps = ceiling_taps(float(ceiling_hz))
        self.state = np.zeros(TAPS - 1)
        self.to_skip = (TAPS - 1) // 2

    def push(self, block: np.ndarray) -> np.ndarray:
        out, self.state = lfilter(self.taps, 1.0, np.asarray(block, dtype=np.float64), zi=self.state)
        skip = min(self.to_skip, len(out))
        self.to_skip -= skip
        return out[skip:].astype(np.float32)

    def finish(self) -> np.ndarray:
        """The signal's last samples, still inside the filter."""
        return self.push(np.zeros((TAPS - 1) // 2))
