"""One utterance -> what the converter sees: content frames, log-F0 and voicing on the mel grid, the target mel.

Training and conversion share this so that the network never sees features made another way. Loudness is set to
-23 LUFS first, since the mel the vocoder inverts is absolute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from voxtwin.whisper_encoder import SAMPLE_RATE, encoder_frames
from voxtwin.audio import resample
from voxtwin.features import LogMelSpec, build_features
from voxtwin.loudness import normalize_loudness

MEL = LogMelSpec.hifigan_v1()
MEL_RATE_HZ = MEL.sample_rate / MEL.hop_length  # 86.13 frames per second
F0_MIN_HZ, F0_MAX_HZ = 50.0, 600.0
LOG_F0_CENTER, LOG_F0_SCALE = np.log(150.0), 0.5  # network input: (log f0 - center) / scale


@dataclass
class Utterance:
    content: np.ndarray  # (frames_50hz, 384)
    log_f0: np.ndarray  # (n_mel,), 0 where unvoiced
    voiced: np.ndarray  # (n_mel,) bool
    mel: np.ndarray | None  # (80, n_mel), only for training


def stretch_frames(frames: np.ndarray, n_frames: int) -> np.ndarray:
    """(L, D) frames -> (n_frames, D), linear interpolation in time (e.g. 50 Hz content onto the 86 Hz mel grid)."""
    positions = np.linspace(0, len(frames) - 1, n_frames)
    lower = np.floor(positions).astype(int)
    upper = np.minimum(lower + 1, len(frames) - 1)
    weight = (positions - lower)[:, None].astype(np.float32)
    return (1 - weight) * frames[lower].astype(np.float32) + weight * frames[upper].astype(np.float32)


def on_mel_grid(content: np.ndarray, n_mel: int) -> np.ndarray:
    """(frames_50hz, 384) -> (384, n_mel)."""
    return stretch_frames(content, n_mel).T


def pitch_input(log_f0: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """(2, L): normalised log-F0 (0 where unvoiced) and the voicing flag."""
    normalised = np.where(voiced, (log_f0 - LOG_F0_CENTER) / LOG_F0_SCALE, 0.0)
    return np.stack([normalised, voiced.astype(np.float32)]).astype(np.float32)


def prepare(wav: np.ndarray) -> np.ndarray:
    """16 kHz speech at the loudness the converter was trained on."""
    return np.clip(normalize_loudness(np.asarray(wav, dtype=np.float32), SAMPLE_RATE), -1.0, 1.0)


PITCH_TRACKERS = ("world", "fcpe")  # WORLD DIO + StoneMask (what vox-vc was trained on until now) or FCPE (torchfcpe)


def pitch(wav: np.ndarray, n_frames: int, *, tracker: str = "world") -> tuple[np.ndarray, np.ndarray]:
    """(log F0, voiced) on the mel frame grid."""
    from voxtwin.neural_pitch import fcpe_f0
    from voxtwin.pitch_features import world_f0

    if tracker not in PITCH_TRACKERS:
        raise ValueError(f"unknown pitch tracker {tracker!r} (known: {', '.join(PITCH_TRACKERS)})")
    track = world_f0 if tracker == "world" else fcpe_f0
    f0, _ = track(wav, sample_rate=SAMPLE_RATE, hop_length=SAMPLE_RATE / MEL_RATE_HZ, f0_min_hz=F0_MIN_HZ, f0_max_hz=F0_MAX_HZ)
    f0 = np.pad(f0, (0, max(0, n_frames - len(f0))))[:n_frames]
    voiced = f0 > 0
    return np.where(voiced, np.log(np.maximum(f0, 1.0)), 0.0).astype(np.float32), voiced


_mel_module = None


def mel_of(wav: np.ndarray) -> np.ndarray:
    global _mel_module
    if _mel_module is None:
        _mel_module = build_features(MEL)
    with torch.inference_mode():
        return _mel_module(torch.from_numpy(resample(wav, SAMPLE_RATE, MEL.sample_rate))[None])[0].numpy()


def analyse(wav: np.ndarray, *, with_mel: bool, tracker: str = "world") -> Utterance:
    """16 kHz mono speech (already `prepare`d) -> Utterance; `tracker`: the pitch tracker the weights were trained on."""
    mel = mel_of(wav) if with_mel else None
    n_mel = mel.shape[1] if mel is not None else int(np.ceil(len(wav) / SAMPLE_RATE * MEL_RATE_HZ))
    log_f0, voiced = pitch(wav, n_mel, tracker=tracker)
    return Utterance(content=encoder_frames(wav), log_f0=log_f0, voiced=voiced, mel=mel)
