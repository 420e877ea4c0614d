"""Global-variance postfilter: give the converter's mels back the contrast that L1 training takes out of them.

Trained with L1, the generator predicts the average of the mels its input could have: every band's movement over
time comes out flatter than in real speech, and HiFi-GAN renders such mels buzzy. Scaling each band's deviation
from its utterance mean by a fixed gain (the classic global-variance compensation of statistical speech synthesis)
restores the contrast at no cost. The gains were chosen on the training corpus's held-out validation speakers, never
on the VCC 2016 benchmark (voice/converter/MODEL_CARD.md has the tables).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch

from voxtwin.errors import VoxtwinError

VARIANCE_GAIN = 1.2
# `speak` converts hibari's clean studio voice, not recorded speech, and had slack in similarity and WER but not in
# naturalness: its own gain was chosen on the validation speakers reading sentences no benchmark uses (the highest
# DistillMOS with similarity within 0.03 of 1.2 and WER within 1 point), then checked on VCC 2016 (MODEL_CARD.md)
SPEAK_VARIANCE_GAIN = 1.3


def restore_variance(mel: torch.Tensor, gain: float | Sequence[float] = VARIANCE_GAIN) -> torch.Tensor:
    """(..., n_mels, L) log-mel -> the same with each band's deviation from its mean over time scaled by `gain`: one
    number for every band, or one per band (e.g. the deficit recipes/voice_converter/band_variance.py measures)."""
    mean = mel.mean(dim=-1, keepdim=True)
    gain = torch.as_tensor(gain, dtype=mel.dtype, device=mel.device)
    if gain.ndim:
        if gain.shape != (mel.shape[-2],):
            raise ValueError(f"{tuple(gain.shape)} band gains for {mel.shape[-2]} mel bands")
        gain = gain[:, None]
    return mean + gain * (mel - mean)


def write_band_gains(path: str | Path, gains: Sequence[float], **provenance) -> None:
    """Per-band gains as read_band_gains reads them, beside what made them (weights, recordings, scaling)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({**provenance, "gains": [round(float(g), 4) for g in gains]}, indent=1))


def read_band_gains(path: str | Path, n_mels: int = 80) -> list[float]:
    """Per-band gains from a write_band_gains file (recipes/voice_converter/band_variance.py --json); anything else is a VoxtwinError."""
    try:
        gains = json.loads(Path(path).read_text())["gains"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VoxtwinError(f"{path} is not a band_variance.py --json file ({exc.__class__.__name__})") from None
    if not isinstance(gains, list) or len(gains) != n_mels or not all(isinstance(g, (int, float)) and 0 < g < 10 for g in gains):
        raise VoxtwinError(f"{path} does not hold {n_mels} positive band gains")
    return [float(g) for g in gains]
