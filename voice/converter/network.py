"""The converter's mel generator: content (bottlenecked) + log-F0 + voicing, styled by a d-vector -> 80-band mel.

The bottleneck is what keeps the source speaker out: per-utterance normalisation of Whisper's frames (removes
their constant, channel- and speaker-like offsets), then a learned projection to `bottleneck` dims. The speaker
enters only through FiLM (a scale and shift per channel, per block) computed from the 256-d d-vector.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


CONTENT_NORMS = ("crop", "utterance")


@dataclass(frozen=True)
class GeneratorConfig:
    content_dim: int = 384
    bottleneck: int = 32
    speaker_dim: int = 256
    channels: int = 256
    blocks: int = 8
    kernel_size: int = 5
    n_mels: int = 80
    # how training normalised Whisper's frames: "crop" = over each 1.5 s training crop (2026.12 weights), "utterance"
    # = over the whole recording before cropping, as inference always does (voice/converter/MODEL_CARD.md)
    content_norm: str = "crop"

    def __post_init__(self) -> None:
        if self.content_norm not in CONTENT_NORMS:
            raise ValueError(f"content_norm must be one of {', '.join(CONTENT_NORMS)}, not {self.content_norm!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def shape(self) -> dict:
        """The fields that fix the weights' shapes (content_norm only says how they were trained)."""
        return {k: v for k, v in asdict(self).items() if k != "content_norm"}


class FiLMBlock(nn.Module):
    def __init__(self, channels: int, kernel_size: int, dilation: int, speaker_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, dilation=dilation, padding=dilation * (kernel_size - 1) // 2)
        self.norm = nn.GroupNorm(1, channels)
        self.film = nn.Linear(speaker_dim, 2 * channels)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(speaker).unsqueeze(-1).chunk(2, dim=1)
        h = self.norm(self.conv(x)) * (1 + scale) + shift
        return x + self.mix(F.gelu(h))


class MelGenerator(nn.Module):
    def __init__(self, config: GeneratorConfig = GeneratorConfig()) -> None:
        super().__init__()
        self.config = config
        self.bottleneck = nn.Conv1d(config.content_dim, config.bottleneck, 1)
        self.inp = nn.Conv1d(config.bottleneck + 2, config.channels, 3, padding=1)
        dilations = [1, 2, 4, 8][: max(1, min(4, config.blocks))]
        self.blocks = nn.ModuleList(
            FiLMBlock(config.channels, config.kernel_size, dilations[i % len(dilations)], config.speaker_dim) for i in range(config.blocks)
        )
        self.out = nn.Conv1d(config.channels, config.n_mels, 3, padding=1)

    @staticmethod
    def normalize_content(content: torch.Tensor) -> torch.Tensor:
        """(B, 384, L): zero mean and unit variance over time, per utterance and channel."""
        mean = content.mean(dim=-1, keepdim=True)
        std = content.std(dim=-1, keepdim=True).clamp_min(1e-3)
        return (content - mean) / std

    @property
    def frame_width(self) -> int:
        """Rows of frame_inputs: the content bottleneck and the two pitch rows."""
        return self.config.bottleneck + 2

    def frame_inputs(self, content: torch.Tensor, pitch: torch.Tensor, *, normalized: bool = False) -> torch.Tensor:
        """The speaker-free frames the generator reads: bottlenecked content and pitch, (B, bottleneck + 2, L)."""
        content = content if normalized else self.normalize_content(content)
        return torch.cat([self.bottleneck(content), pitch], dim=1)

    def forward(self, content: torch.Tensor, pitch: torch.Tensor, speaker: torch.Tensor, *, normalized: bool = False) -> torch.Tensor:
        """content (B, 384, L) on the mel grid, pitch (B, 2, L) = [normalised log-F0, voiced], speaker (B, 256)
        -> log-mel (B, 80, L). normalized: the content was already normalised over its whole recording (training
        crops cut from such recordings); otherwise it is normalised here over the L frames given."""
        speaker = F.normalize(speaker, dim=-1)
        x = self.inp(self.frame_inputs(content, pitch, normalized=normalized))
        for block in self.blocks:
            x = block(x, speaker)
        return self.out(F.gelu(x))
