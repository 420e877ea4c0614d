"""Waveform discriminators for training a vocoder adversarially, as HiFi-GAN was: copying V1's waveform with spectral
losses alone leaves a student that measures close and sounds buzzy (voice/converter/MODEL_CARD.md, "A faster
vocoder"), because those losses average over the fine phase and harmonic structure that a critic can hear.

- period discriminators: the waveform folded into rows of p samples (p = 2, 3, 5, 7, 11) and read by 2-D
  convolutions along the rows, so each sees the periodic structure at one period;
- scale discriminators: 1-D grouped convolutions over the waveform at 1x, 1/2x and 1/4x the sample rate.

Least-squares GAN losses and feature matching (L1 between the critics' inner activations for the target and the
student), as in HiFi-GAN; the layer sizes here are ours and smaller, for CPU steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

PERIODS = (2, 3, 5, 7, 11)
SLOPE = 0.1


def _critique(convs: nn.ModuleList, post: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A critic's pass: leaky-ReLU convolutions, then the scoring convolution; (scores, every layer's output)."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), SLOPE)
        features.append(x)
    x = post(x)
    features.append(x)
    return x.flatten(1), features


class PeriodDiscriminator(nn.Module):
    def __init__(self, period: int, channels: tuple[int, ...] = (32, 64, 128, 256)) -> None:
        super().__init__()
        self.period = period
        sizes = (1, *channels)
        self.convs = nn.ModuleList(weight_norm(nn.Conv2d(a, b, (5, 1), (3, 1), padding=(2, 0))) for a, b in zip(sizes, sizes[1:]))
        self.post = weight_norm(nn.Conv2d(sizes[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """wav (B, 1, T) -> (scores, inner activations)."""
        b, c, t = wav.shape
        if t % self.period:
            wav = F.pad(wav, (0, self.period - t % self.period), mode="reflect")
        return _critique(self.convs, self.post, wav.view(b, c, -1, self.period))


class ScaleDiscriminator(nn.Module):
    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        layout = [(1, channels // 4, 15, 1, 1), (channels // 4, channels, 41, 4, 4), (channels, channels, 41, 4, 16), (channels, channels, 41, 4, 16), (channels, channels, 5, 1, 1)]
        self.convs = nn.ModuleList(weight_norm(nn.Conv1d(a, b, k, s, padding=k // 2, groups=g)) for a, b, k, s, g in layout)
        self.post = weight_norm(nn.Conv1d(channels, 1, 3, padding=1))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return _critique(self.convs, self.post, wav)


class WaveformDiscriminators(nn.Module):
    """All the critics together: `forward(wav)` returns one (scores, features) pair per critic."""

    def __init__(self, periods: tuple[int, ...] = PERIODS, scales: int = 3) -> None:
        super().__init__()
        self.critics = nn.ModuleList([*(PeriodDiscriminator(p) for p in periods), *(ScaleDiscriminator() for _ in range(scales))])
        self.scale_of = [1] * len(periods) + [2**i for i in range(scales)]

    def forward(self, wav: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        wav = wav if wav.dim() == 3 else wav[:, None]
        outs, downsampled = [], {1: wav}
        for critic, scale in zip(self.critics, self.scale_of):
            if scale not in downsampled:
                downsampled[scale] = F.avg_pool1d(downsampled[scale // 2], 4, 2, padding=2)
            outs.append(critic(downsampled[scale]))
        return outs


def discriminator_loss(real: list, fake: list) -> torch.Tensor:
    """Least squares: targets' scores toward 1, the student's toward 0 (pass the student's waveform detached)."""
    return sum(torch.mean((1 - r) ** 2) + torch.mean(f**2) for (r, _), (f, _) in zip(real, fake))


def generator_loss(fake: list) -> torch.Tensor:
    """Least squares: the student's scores toward 1."""
    return sum(torch.mean((1 - f) ** 2) for f, _ in fake)


def feature_matching_loss(real: list, fake: list) -> torch.Tensor:
    """L1 between the critics' inner activations for the target and for the student (targets detached)."""
    return sum(F.l1_loss(g, r.detach()) for (_, rs), (_, fs) in zip(real, fake) for r, g in zip(rs, fs))
