"""A source-filter vocoder: a pulse train at the converter's own F0 and white noise, shaped frame by frame by filters
a small network reads from the mel (a study toward RTF <= 0.5 on one AVX2 core; not shipped).

HiFi-GAN V1 spends ~95 % of a conversion learning, at every sample, harmonics whose phase it must get right; the
cheaper learnt vocoders tried so far (a pruned V1, an iSTFT head) lost most where the harmonics are (below 4 kHz,
voice/converter/MODEL_CARD.md). Here the harmonics come from the F0 the converter already predicts: a band-limited
pulse train, whose STFT carries every harmonic at the right frequency and phase progression. The network (a few
convolutions over mel frames, 1.5-6 M multiply-adds per frame: RTF 0.004-0.009 on one thread against V1's ~0.36)
predicts per frame and STFT bin a harmonic gain and phase shift and a noise gain; one inverse STFT makes the waveform:

    S = exp(lh) e^{i pi tanh(theta)} STFT(pulses(f0)) + exp(ln) STFT(noise)

Trained with spectral losses only (recipes/voice_converter/source_filter_vocoder.py), as neural source-filter
vocoders are. Measured, not shipped: voice/converter/MODEL_CARD.md, "A source-filter vocoder".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from voice.converter.analysis import LOG_F0_CENTER, LOG_F0_SCALE

SAMPLE_RATE, N_FFT, HOP = 22_050, 1024, 256  # V1's mel grid
PULSE_CEILING_HZ = 8_000.0  # the mel's top band; the training speech (16 kHz) has nothing above it


def sample_f0(log_f0: Tensor, voiced: Tensor, *, hop: int = HOP) -> tuple[Tensor, Tensor]:
    """Frame log-F0 (B, L) and voicing -> per-sample F0 in Hz and voicing weight (B, L x hop), linearly interpolated
    between frame centres (frame k at the middle of samples k x hop ... (k + 1) x hop). Unvoiced frames take the
    nearest voiced F0 so the phase runs on."""
    f0 = torch.where(voiced, log_f0.exp(), torch.zeros_like(log_f0))
    filled = _fill_unvoiced(f0, voiced)
    length = log_f0.shape[-1] * hop
    grid = lambda x: F.interpolate(x[:, None], size=length, mode="linear", align_corners=False)[:, 0]  # noqa: E731
    return grid(filled), grid(voiced.float())


def _fill_unvoiced(f0: Tensor, voiced: Tensor) -> Tensor:
    """Each unvoiced frame takes the F0 of the nearest voiced one (the earlier on a tie); 100 Hz if none is voiced."""
    out = f0.clone()
    frames = torch.arange(f0.shape[-1])
    for b in range(f0.shape[0]):
        idx = torch.nonzero(voiced[b]).flatten()
        if len(idx) == 0:
            out[b] = 100.0
            continue
        after = torch.searchsorted(idx, frames, right=True)  # a voiced frame's own index is the one before
        previous, following = idx[(after - 1).clamp(min=0)], idx[after.clamp(max=len(idx) - 1)]
        out[b] = f0[b, torch.where((frames - previous).abs() <= (following - frames).abs(), previous, following)]
    return out


def harmonic_pulses(f0: Tensor, voicing: Tensor, *, sample_rate: int = SAMPLE_RATE, ceiling_hz: float = PULSE_CEILING_HZ) -> Tensor:
    """Per-sample F0 (B, T) -> a pulse train with every harmonic below `ceiling_hz` at unit amplitude (the Dirichlet
    kernel sum_{h=1..H} cos(h phi)), times the voicing weight."""
    phase = 2 * math.pi * torch.cumsum(f0.double() / sample_rate, dim=-1)
    phase = torch.remainder(phase, 2 * math.pi)
    harmonics = torch.floor(ceiling_hz / f0.clamp_min(20.0).double())
    half = torch.sin(phase / 2)
    near_zero = half.abs() < 1e-6
    kernel = torch.sin((harmonics + 0.5) * phase) / (2 * torch.where(near_zero, torch.ones_like(half), half)) - 0.5
    kernel = torch.where(near_zero, harmonics, kernel)
    return (kernel * voicing.double()).float()


class SourceFilterVocoder(nn.Module):
    """(mel (B, 80, L), log_f0 (B, L), voiced (B, L)) -> waveform (B, L x 256) at 22.05 kHz."""

    def __init__(self, channels: int = 256, layers: int = 4, kernel: int = 5, n_fft: int = N_FFT, hop: int = HOP, pulses_everywhere: bool = False) -> None:
        """n_fft, hop: the synthesis STFT; a hop below the mel's (256) gives HOP // hop filters per mel frame.
        pulses_everywhere: the pulse train runs through unvoiced frames too (at a nearby F0) and the network's
        harmonic gain alone decides where harmonics sound, instead of the pitch tracker's voicing (WORLD's DIO calls
        many voiced frames unvoiced: MODEL_CARD.md, "FCPE's pitch")."""
        super().__init__()
        if HOP % hop or n_fft < 2 * hop:
            raise ValueError(f"the synthesis hop must divide {HOP} and be at most half of n_fft, got hop {hop}, n_fft {n_fft}")
        self.config = {"channels": channels, "layers": layers, "kernel": kernel, "n_fft": n_fft, "hop": hop, "pulses_everywhere": pulses_everywhere}
        self.pulses_everywhere = pulses_everywhere
        self.n_fft, self.hop, self.bins = n_fft, hop, n_fft // 2 + 1
        self.inp = nn.Conv1d(82, channels, kernel, padding=kernel // 2)
        self.blocks = nn.ModuleList(nn.Conv1d(channels, channels, kernel, padding=kernel // 2) for _ in range(layers - 1))
        up = HOP // hop
        self.upsample = nn.ConvTranspose1d(channels, channels, 2 * up, up, padding=up // 2) if up > 1 else None
        self.out = nn.Conv1d(channels, 3 * self.bins, 1)
        with torch.no_grad():
            self.out.weight.mul_(0.1)
            self.out.bias.zero_()
            self.out.bias[: self.bins] = -3.0  # quiet harmonics and noise to start
            self.out.bias[2 * self.bins :] = -6.0
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def filters(self, mel: Tensor, log_f0: Tensor, voiced: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        pitch = torch.where(voiced, (log_f0 - LOG_F0_CENTER) / LOG_F0_SCALE, torch.zeros_like(log_f0))  # as analysis.pitch_input
        x = torch.cat([(mel + 5.0) / 2.5, pitch[:, None], voiced[:, None].float()], dim=1)
        h = F.leaky_relu(self.inp(x), 0.1)
        for block in self.blocks:
            h = h + F.leaky_relu(block(h), 0.1)
        if self.upsample is not None:
            h = F.leaky_relu(self.upsample(h), 0.1)
        lh, theta, ln = self.out(h).split(self.bins, dim=1)
        return lh, theta, ln

    def forward(self, mel: Tensor, log_f0: Tensor, voiced: Tensor, *, noise: Tensor | None = None) -> Tensor:
        lh, theta, ln = self.filters(mel, log_f0, voiced)
        f0, voicing = sample_f0(log_f0, voiced)
        pulses = harmonic_pulses(f0, torch.ones_like(voicing) if self.pulses_everywhere else voicing)
        if noise is None:
            noise = torch.randn_like(pulses)
        length = pulses.shape[-1]
        spectrum = lambda x: torch.stft(x, self.n_fft, self.hop, window=self.window, center=True, return_complex=True)[..., : lh.shape[-1]]  # noqa: E731
        harmonic = torch.polar(lh.clamp(max=7.0).exp(), math.pi * torch.tanh(theta)) * spectrum(pulses)
        aperiodic = ln.clamp(max=7.0).exp() * spectrum(noise)
        total = F.pad(harmonic + aperiodic, (0, 1))  # istft wants L + 1 frames for L x hop samples
        return torch.istft(total, self.n_fft, self.hop, window=self.window, center=True, length=length)
