"""Is it speech at all? Silero VAD v6 (MIT), whose ONNX file ships inside the faster-whisper wheel, run with
onnxruntime on the CPU, streaming and in bounded memory.

The energy VAD (voxtwin/vad.py) finds where a signal is loud, and counts white noise, pink noise or a 440 Hz tone
as 100 % speech. Silero tells speech from such sounds. This exported model scores each 32 ms chunk (with 4 ms of
context before it) independently, so only every STRIDE-th chunk is scored: one every ~100 ms is enough to gate
30 ms energy frames, and costs a third of scoring them all (~1,100x real time on one core).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from voxtwin.errors import VoxtwinError

PRESENCE_RATE = 16_000
CHUNK = 512  # samples of 16 kHz audio per probability
CONTEXT = 64  # samples before each chunk that the model also sees
STRIDE = 3  # score every 3rd chunk (96 ms apart)
THRESHOLD = 0.5  # Silero's own default speech threshold
SPREAD_S = 0.3  # a frame is speech-like if a chunk within this distance is


class SpeechModelMissingError(VoxtwinError):
    """The speech detector's weights (inside faster-whisper) are not installed."""


def _model_path() -> Path:
    spec = importlib.util.find_spec("faster_whisper")  # located without importing it (that would load ctranslate2)
    if spec is None or not spec.submodule_search_locations:
        raise SpeechModelMissingError("the speech detector needs faster-whisper (Silero VAD inside it): pip install -e .")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "silero_vad_v6.onnx"
    if not path.is_file():
        raise SpeechModelMissingError(f"{path}: Silero VAD weights missing from the faster-whisper package")
    return path


@functools.cache
def _session():
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = options.intra_op_num_threads = 1
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(str(_model_path()), sess_options=options, providers=["CPUExecutionProvider"])


def chunk_probabilities(chunks_with_context: np.ndarray) -> np.ndarray:
    """Speech probability of each row of (N, CONTEXT + CHUNK) float32 samples at 16 kHz."""
    if len(chunks_with_context) == 0:
        return np.zeros(0, dtype=np.float32)
    state = np.zeros((1, 1, 128), dtype=np.float32)
    out, _, _ = _session().run(None, {"input": np.ascontiguousarray(chunks_with_context, dtype=np.float32), "h": state, "c": state})
    return np.asarray(out, dtype=np.float32).reshape(-1)


class SpeechPresence:
    """Streaming speech probabilities of a 16 kHz signal, every STRIDE-th 32 ms chunk."""

    def __init__(self) -> None:
        self._buffer = np.zeros(CONTEXT, dtype=np.float32)  # CONTEXT samples of history, then unprocessed samples
        self._next_chunk = 0  # index of the next chunk to look at
        self.times_s: list[np.ndarray] = []
        self.probabilities: list[np.ndarray] = []

    def update(self, block: np.ndarray) -> None:
        self._buffer = np.concatenate([self._buffer, np.asarray(block, dtype=np.float32)])
        n_chunks = (len(self._buffer) - CONTEXT) // CHUNK
        if n_chunks <= 0:
            return
        indices = np.arange(n_chunks)
        picked = indices[(indices + self._next_chunk) % STRIDE == 0]
        if len(picked):
            rows = np.stack([self._buffer[i * CHUNK : i * CHUNK + CONTEXT + CHUNK] for i in picked])
            self.probabilities.append(chunk_probabilities(rows))
            self.times_s.append(((picked + self._next_chunk) * CHUNK + CHUNK / 2) / PRESENCE_RATE)
        self._next_chunk += n_chunks
        self._buffer = self._buffer[n_chunks * CHUNK :]

    def frame_mask(self, n_frames: int, frame_s: float) -> np.ndarray:
        """One bool per frame of `frame_s`: a chunk within SPREAD_S of the frame is speech. A signal too short for
        one chunk is judged on what it has (zero-padded)."""
        if not self.probabilities and len(self._buffer) > CONTEXT:
            padded = np.zeros(CONTEXT + CHUNK, dtype=np.float32)
            padded[: len(self._buffer)] = self._buffer[: CONTEXT + CHUNK]
            self.probabilities.append(chunk_probabilities(padded[None]))
            self.times_s.append(np.array([CHUNK / 2 / PRESENCE_RATE]))
        if not self.probabilities:
            return np.zeros(n_frames, dtype=bool)
        times = np.concatenate(self.times_s)[np.concatenate(self.probabilities) > THRESHOLD]
        if len(times) == 0:
            return np.zeros(n_frames, dtype=bool)
        centres = (np.arange(n_frames) + 0.5) * frame_s
        nearest = np.searchsorted(times, centres).clip(1, len(times) - 1) if len(times) > 1 else np.zeros(n_frames, dtype=int)
        distance = np.minimum(np.abs(times[nearest] - centres), np.abs(times[np.maximum(nearest - 1, 0)] - centres))
        return distance <= SPREAD_S


def speech_presence_mask(wav16k: np.ndarray, n_frames: int, frame_s: float) -> np.ndarray:
    """SpeechPresence of a whole 16 kHz signal, as one bool per frame."""
    presence = SpeechPresence()
    presence.update(wav16k)
    return presence.frame_mask(n_frames, frame_s)
