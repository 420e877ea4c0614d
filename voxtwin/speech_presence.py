"""Is it speech at all? Silero VAD v6 (MIT), whose ONNX file ships inside the faster-whisper wheel, run with
onnxruntime on the CPU, streaming and in bounded memory.

The energy VAD (voxtwin/vad.py) finds where a signal is loud, and counts white noise, pink noise or a 440 Hz tone
as 100 % speech. Silero tells speech from such sounds. This exported model scores each 32 ms chunk (with 4 ms of
context before it) independently, so only every STRIDE-th chunk is scored: one every 256 ms is enough to gate
30 ms energy frames, and costs an eighth of scoring them all.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from voxtwin.errors import VoxtwinError

PRESENCE_RATE = 16_000
CHUNK = 512  # samples of 16 kHz audio per probability
CONTEXT = 64  # samples before each chunk that the model also sees
STRIDE = 8  # score every 8th chunk (256 ms apart; with SPREAD_S every frame has one within 0.13 s)
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
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = False
    # no busy-waiting threads after each run: they would take a core from the detector's torch threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(str(_model_path()), sess_options=options, providers=["CPUExecutionProvider"])


_runner: ThreadPoolExecutor | None = None
_runner_pid = 0


def _run_in_own_thread(rows: np.ndarray) -> np.ndarray:
    """onnxruntime's run slows the torch and numpy work that follows on the thread that called it: run on the
    scoring thread, Silero cost the `fast` detector 35-45 % of its throughput (benchmarks/score.py, 24 messages:
    ~400x instead of 580-670x); in a thread of its own, with one call per file, the cost is within the machine's
    noise (635-661x vs 632-685x, side by side). One such thread per process; a forked scoring worker makes its own."""
    global _runner, _runner_pid
    if _runner is None or _runner_pid != os.getpid():
        _runner, _runner_pid = ThreadPoolExecutor(1, thread_name_prefix="silero-vad"), os.getpid()
    state = np.zeros((1, 1, 128), dtype=np.float32)
    return _runner.submit(lambda: _session().run(None, {"input": rows, "h": state, "c": state})[0]).result()


def chunk_probabilities(chunks_with_context: np.ndarray) -> np.ndarray:
    """Speech probability of each row of (N, CONTEXT + CHUNK) float32 samples at 16 kHz."""
    if len(chunks_with_context) == 0:
        return np.zeros(0, dtype=np.float32)
    out = _run_in_own_thread(np.ascontiguousarray(chunks_with_context, dtype=np.float32))
    return np.asarray(out, dtype=np.float32).reshape(-1)


class SpeechPresence:
    """Streaming speech probabilities of a 16 kHz signal, every STRIDE-th 32 ms chunk. The picked chunks are
    gathered and scored in few large batches (one per file, or per FLUSH_ROWS): many small model calls between the
    detector's own work cost far more than their arithmetic on this kind of CPU."""

    FLUSH_ROWS = 4096  # ~17 min of audio; bounds the memory held for a long file

    def __init__(self) -> None:
        self._buffer = np.zeros(CONTEXT, dtype=np.float32)  # CONTEXT samples of history, then unprocessed samples
        self._next_chunk = 0  # index of the next chunk to look at
        self._rows: list[np.ndarray] = []
        self._row_times: list[float] = []
        self.times_s: list[np.ndarray] = []
        self.probabilities: list[np.ndarray] = []
        self._peak = 1.0  # the stream's largest sample so far, at least full scale

    def update(self, block: np.ndarray) -> None:
        self._buffer = np.concatenate([self._buffer, np.asarray(block, dtype=np.float32)])
        n_chunks = (len(self._buffer) - CONTEXT) // CHUNK
        if n_chunks <= 0:
            return
        first = (-self._next_chunk) % STRIDE
        for i in range(first, n_chunks, STRIDE):
            self._rows.append(self._buffer[i * CHUNK : i * CHUNK + CONTEXT + CHUNK].copy())
            self._row_times.append(((i + self._next_chunk) * CHUNK + CHUNK / 2) / PRESENCE_RATE)
        self._next_chunk += n_chunks
        self._buffer = self._buffer[n_chunks * CHUNK :]
        if len(self._rows) >= self.FLUSH_ROWS:
            self._flush()

    def _scored(self, rows: np.ndarray) -> np.ndarray:
        """Silero reads samples in [-1, 1]: a float file far past full scale (a tone at x1000 was heard as speech) is
        scaled down as a whole, by its largest sample so far (the whole file's, up to FLUSH_ROWS of chunks)."""
        self._peak = max(self._peak, float(np.max(np.abs(rows), initial=0.0)))
        return chunk_probabilities(rows / self._peak if self._peak > 1.0 else rows)

    def _flush(self) -> None:
        if self._rows:
            self.probabilities.append(self._scored(np.stack(self._rows)))
            self.times_s.append(np.asarray(self._row_times))
            self._rows, self._row_times = [], []

    def frame_mask(self, n_frames: int, frame_s: float) -> np.ndarray:
        """One bool per frame of `frame_s`: a chunk within SPREAD_S of the frame is speech. A signal too short for
        one chunk is judged on what it has (zero-padded)."""
        self._flush()
        if not self.probabilities and len(self._buffer) > CONTEXT:
            padded = np.zeros(CONTEXT + CHUNK, dtype=np.float32)
            padded[: len(self._buffer)] = self._buffer[: CONTEXT + CHUNK]
            self.probabilities.append(self._scored(padded[None]))
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


def speech_presence_mask(wav: np.ndarray, sample_rate: int, n_frames: int, frame_s: float) -> np.ndarray:
    """SpeechPresence of a whole signal (resampled to 16 kHz when needed), as one bool per frame."""
    import soxr

    wav = np.asarray(wav, dtype=np.float32)
    if sample_rate != PRESENCE_RATE:
        wav = soxr.resample(wav, sample_rate, PRESENCE_RATE, quality="HQ").astype(np.float32)
    presence = SpeechPresence()
    presence.update(wav)
    return presence.frame_mask(n_frames, frame_s)
