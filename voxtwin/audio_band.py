"""Does a 16 kHz signal still carry its band above 4 kHz, or was it squeezed through a telephone-band channel?

A narrow-band chain (a phone call, an 8 kHz recording played back, AMR) removes everything above ~4 kHz, and the
detector's scores shift on such audio for real and synthetic speech alike; knowing it lets the detector say so
(flag `narrow_band`) and use the calibration fitted on that channel. Measured on the whole stream in one pass:
the energy above NARROW_BAND_EDGE_HZ relative to the energy below it.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000
FRAME = 512  # 32 ms frames, Hann-windowed, no overlap: a long-term spectrum needs no more
EVERY = 4  # and only every 4th frame of the stream: the decision has ~50 dB of margin, and reading every frame cost `fast` 3-5 %
LOW_BAND_HZ = (100.0, 3_800.0)
HIGH_BAND_HZ = (4_300.0, 7_600.0)
NARROW_BAND_DB = -50.0  # high band this far below the low band: telephone band (measured: full-band speech -4 to -39 dB through
# any codec, 250 files of ../shared/data; the telephone band -104 to -126 dB, about -57 dB once an Opus encoder has added its noise above 4 kHz)


class FramePower:
    """The power spectra of a 16 kHz stream's FRAME-sample frames (Hann-windowed, no overlap) as its blocks arrive,
    whatever their sizes; `every`: only the stream's every n-th frame. Shared by the band measure below and
    detect/codec_finder.py's spectrum shape."""

    def __init__(self, *, every: int = 1) -> None:
        self.every = every
        self._window = np.hanning(FRAME).astype(np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._n_frames = 0

    def update(self, block: np.ndarray) -> np.ndarray:
        """(frames completed by this block, FRAME // 2 + 1) power spectra (every `every`-th of the stream's frames)."""
        samples = np.concatenate([self._pending, np.asarray(block, dtype=np.float32)])
        n = len(samples) // FRAME * FRAME
        self._pending = samples[n:]
        frames = samples[:n].reshape(-1, FRAME)
        first = -self._n_frames % self.every  # the stream's every n-th frame, whatever the block sizes
        self._n_frames += len(frames)
        return np.abs(np.fft.rfft(frames[first:: self.every] * self._window, axis=1)) ** 2


class BandEnergy:
    """Accumulates the energy of the low (speech) band and the band above 4 kHz over 16 kHz blocks."""

    def __init__(self) -> None:
        freqs = np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)
        self._low = (freqs >= LOW_BAND_HZ[0]) & (freqs <= LOW_BAND_HZ[1])
        self._high = (freqs >= HIGH_BAND_HZ[0]) & (freqs <= HIGH_BAND_HZ[1])
        self._frames = FramePower(every=EVERY)
        self.low = 0.0
        self.high = 0.0

    def update(self, block: np.ndarray) -> None:
        """Add a block of 16 kHz mono samples."""
        power = self._frames.update(block)
        if len(power):
            self.low += float(power[:, self._low].sum())
            self.high += float(power[:, self._high].sum())

    @property
    def high_band_db(self) -> float | None:
        """Energy above 4 kHz relative to the speech band, in dB; None for a signal with no energy in either."""
        if self.low <= 0:
            return None
        return float(10 * np.log10(max(self.high, 1e-30) / self.low))

    @property
    def narrow_band(self) -> bool:
        """True when the band above 4 kHz is missing (telephone band or an 8 kHz source)."""
        db = self.high_band_db
        return db is not None and db < NARROW_BAND_DB


def high_band_db(wav: np.ndarray) -> float | None:
    """The whole-signal measure of BandEnergy for one 16 kHz array."""
    band = BandEnergy()
    band.update(wav)
    return band.high_band_db
