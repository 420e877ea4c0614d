"""Pure tensor DSP used by `voxtwin.features`: no state, no I/O, runs on the input's device."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def preemphasis(wav: Tensor, *, coefficient: float = 0.97) -> Tensor:
    """y[t] = x[t] - c * x[t-1] (first sample kept), shape (B, T) -> (B, T)."""
    if coefficient == 0:
        return wav
    return torch.cat([wav[:, :1], wav[:, 1:] - coefficient * wav[:, :-1]], dim=1)


def power_spectrogram(wav: Tensor, *, window: Tensor, n_fft: int, hop_length: int, center: bool) -> Tensor:
    """|STFT|^2, shape (B, T) -> (B, 1 + n_fft // 2, L).

    With center=False, frames of len(window) samples start at sample 0 with no padding and are
    zero-padded to n_fft (L = 1 + (T - win) // hop), as in the ASVspoof MATLAB baselines; with
    center=True torch's reflect-padded framing (L = 1 + T // hop).
    """
    if not center:
        frames = wav.unfold(-1, window.shape[0], hop_length) * window
        spec = torch.fft.rfft(frames, n=n_fft).transpose(1, 2)
    else:
        spec = torch.stft(
            wav, n_fft=n_fft, hop_length=hop_length, win_length=window.shape[0], window=window,
            center=True, pad_mode="reflect", return_complex=True,
        )
    return spec.real**2 + spec.imag**2


def apply_filterbank(power: Tensor, filterbank: Tensor) -> Tensor:
    """(B, F, L) x (F, n_filters) -> (B, n_filters, L)."""
    return torch.einsum("bfl,fn->bnl", power, filterbank)


def deltas(features: Tensor, *, order: int) -> Tensor:
    """Append `order` orders of deltas, each x[t+1] - x[t-1] with edge frames repeated, as the ASVspoof
    baselines compute them: (B, C, L) -> (B, C * (1 + order), L)."""
    out = [features]
    current = features
    for _ in range(order):
        padded = F.pad(current, (1, 1), mode="replicate")
        current = padded[..., 2:] - padded[..., :-2]
        out.append(current)
    return torch.cat(out, dim=1)


def normalize(features: Tensor, *, mode: str) -> Tensor:
    """Per-utterance normalisation over time: 'none', 'cmn' (mean) or 'cmvn' (mean and variance)."""
    if mode == "none":
        return features
    mean = features.mean(dim=-1, keepdim=True)
    if mode == "cmn":
        return features - mean
    if mode == "cmvn":
        std = features.std(dim=-1, keepdim=True).clamp_min(1e-5)
        return (features - mean) / std
    raise ValueError(f"unknown normalisation {mode!r}; expected none, cmn or cmvn")


def complex_conv_magnitude(wav: Tensor, *, kernels_real: Tensor, kernels_imag: Tensor, hop_length: int) -> Tensor:
    """Magnitude of a bank of complex FIR filters applied with stride `hop_length`, centred frames:
    (B, T) -> (B, n_kernels, 1 + T // hop_length)."""
    half = kernels_real.shape[-1] // 2
    x = F.pad(wav[:, None, :], (half, half), mode="constant")
    real = F.conv1d(x, kernels_real[:, None, :], stride=hop_length)
    imag = F.conv1d(x, kernels_imag[:, None, :], stride=hop_length)
    n_frames = 1 + wav.shape[-1] // hop_length
    return torch.sqrt(real**2 + imag**2 + 1e-12)[..., :n_frames]
