"""The spectrum's fine structure at 7.8 Hz resolution, as window statistics a detector's head can read.

A neural vocoder's upsampling leaves narrow tones at fixed frequencies, and a phase guessed from a mel blurs the
structure between harmonics; `fast`'s 31 Hz bins and DistillMOS's mel-like view do not resolve either. In
leave-one-source-out on ../shared/data a second head on these statistics, its log-odds averaged with `default`'s,
lowered the mean per-page EER by ~1 point on two seed sets (recipes/detector_v2/README.md, "`fine`'s own head as a
second vote?"). This is that study's `fine-mean` front-end (recipes/detector_v2/front_ends.py FineStructureMeanStats)
made for scoring: one STFT per span, shared by overlapping windows, in torch on the input's device.

From a 2,048-point STFT (128 ms, hop 512), each curve against its own 33-bin (~258 Hz) running reference across
frequency: (a) the window's long-term log spectrum minus its running median (a fixed tone stands out of it, moving
harmonics smear), (b) each bin's spread of log power over the window's frames minus its running median, negated (a
steady tone spreads less than speech), (c) each active frame's log spectrum minus its running mean (harmonic
sharpness). Per 1 kHz band only frequency-free summaries (median, 90th / 99th percentile, maximum and spread of (a)
and (b); the frames' mean 90th percentile and spread of (c)), so a head cannot learn one generator's tone
frequencies: 12 numbers x 8 bands.

Unlike the study's, the power floor is fixed (the detector standardises loudness first) instead of relative to the
window's mean, so that a frame's numbers do not depend on which span it was computed in.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

N_FFT = 2048
HOP = 512
REFERENCE_BINS = 33  # ~258 Hz at 7.8 Hz per bin
BANDS = 8  # 1 kHz each at 16 kHz
PER_BAND = 12
FINE_STATS = PER_BAND * BANDS
FLOOR = 1e-9  # power floor before the log (speech at -23 LUFS has a mean power of ~4 at this STFT's scale)
ACTIVE_BELOW_PEAK = 1e-5  # frames with less energy than this share of the window's loudest frame are silence for (c)
QUANTILES = (0.5, 0.9, 0.99)


def fine_frames(wav: Tensor, *, window: Tensor) -> tuple[Tensor, Tensor]:
    """(T,) 16 kHz -> ((L, 1025) power, (L, 1025) log power) of 2,048-point frames every 512 samples (no centring;
    a span shorter than one frame is zero-padded to one)."""
    if wav.shape[-1] < N_FFT:
        wav = F.pad(wav, (0, N_FFT - wav.shape[-1]))
    power = torch.stft(wav, N_FFT, HOP, window=window, center=False, return_complex=True).abs().square().T
    return power, torch.log(power + FLOOR)


def running_mean(x: Tensor) -> Tensor:
    """x's running mean across its last axis over REFERENCE_BINS bins, edges repeated (scipy's mode="nearest"); from
    running sums in float64 (~1.3x faster than a pooling kernel of 33)."""
    half = REFERENCE_BINS // 2
    padded = F.pad(x.reshape(-1, 1, x.shape[-1]), (half, half), mode="replicate")[:, 0].double()
    sums = torch.cat([padded.new_zeros(len(padded), 1), padded.cumsum(-1)], dim=-1)
    return ((sums[:, REFERENCE_BINS:] - sums[:, :-REFERENCE_BINS]) / REFERENCE_BINS).to(x.dtype).reshape(x.shape)


def on_cpu_without_grad(x: Tensor) -> bool:
    """Whether x can be read by NumPy as it is (its selections below are exact, so either library gives the same bits)."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and not x.requires_grad


def running_median(x: Tensor) -> Tensor:
    """x's running median across its last axis over REFERENCE_BINS bins, edges repeated. On the CPU by NumPy's
    partition, ~5x faster than torch's median over the same windows and the same values (an odd count: the median is
    an element; finite input, as the detector's statistics are)."""
    half = REFERENCE_BINS // 2
    padded = F.pad(x.reshape(-1, 1, x.shape[-1]), (half, half), mode="replicate").reshape(*x.shape[:-1], -1)
    if on_cpu_without_grad(padded):
        windows = np.lib.stride_tricks.sliding_window_view(padded.numpy(), REFERENCE_BINS, axis=-1)
        return torch.from_numpy(np.partition(windows, half, axis=-1)[..., half])
    return padded.unfold(-1, REFERENCE_BINS, 1).median(-1).values


def two_order_statistics(x: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The k-th and (k + 1)-th smallest values (0-based) along x's last axis. On the CPU one NumPy partition and a
    minimum (~5x faster than torch's topk, the same values)."""
    if on_cpu_without_grad(x):
        parted = np.partition(x.numpy(), k, axis=-1)
        return torch.from_numpy(parted[..., k]), torch.from_numpy(parted[..., k + 1 :].min(-1))
    top = x.topk(x.shape[-1] - k, dim=-1).values.flip(-1)  # the values from the k-th smallest up, ascending
    return top[..., 0], top[..., 1]


def band_edges(n_bins: int) -> list[tuple[int, int]]:
    """(lo, hi) bin ranges of the BANDS bands, as the study cut them (the Nyquist bin in none)."""
    top = n_bins - 1
    return [(band * top // BANDS, (band + 1) * top // BANDS) for band in range(BANDS)]


def by_band(x: Tensor) -> Tensor:
    """(..., 1025) -> (..., BANDS, 128): the bins of each band side by side (the bands are of equal width)."""
    edges = band_edges(x.shape[-1])
    lo, hi = edges[0][0], edges[-1][1]
    return x[..., lo:hi].reshape(*x.shape[:-1], BANDS, (hi - lo) // BANDS)


def sorted_quantiles(ascending: Tensor, quantiles: tuple[float, ...]) -> Tensor:
    """(..., n) values sorted along the last axis -> (..., len(quantiles)), linearly interpolated as numpy's default."""
    n = ascending.shape[-1]
    out = []
    for q in quantiles:
        position = q * (n - 1)
        below = int(position)
        above = min(below + 1, n - 1)
        out.append(ascending[..., below] + (position - below) * (ascending[..., above] - ascending[..., below]))
    return torch.stack(out, dim=-1)


def frame_sharpness(log_power: Tensor) -> Tensor:
    """(L, 1025) log power -> (L, BANDS, 2): per frame and band, the 90th percentile and the spread of (c), the log
    spectrum against its running mean. Computed once per frame and averaged per window."""
    bands = by_band(log_power - running_mean(log_power))
    n = bands.shape[-1]
    below = int(0.9 * (n - 1))
    lower, upper = two_order_statistics(bands, below)
    position = 0.9 * (n - 1) - below
    q90 = lower + position * (upper - lower)
    return torch.stack([q90, bands.std(-1, unbiased=False)], dim=-1)


def curve_summaries(curves: Tensor) -> Tensor:
    """(W, 1025) curves -> (W, BANDS, 5): per band the median, 90th and 99th percentile, maximum and spread."""
    bands = by_band(curves)
    ascending = bands.sort(-1).values
    return torch.cat([sorted_quantiles(ascending, QUANTILES), ascending[..., -1:], bands.std(-1, unbiased=False, keepdim=True)], dim=-1)


def fine_stats_of_windows(power: Tensor, log_power: Tensor, first: list[int], length: int) -> Tensor:
    """(len(first), FINE_STATS) statistics of the windows frames[a : a + length] for each a.

    Args:
        power, log_power: (L, 1025) fine_frames of one span.
        first: each window's first frame.
        length: frames per window (fewer where the span ends first).

    Returns:
        (W, 96): per band (a)'s five summaries, (b)'s five, then (c)'s two, band after band.
    """
    sharpness = frame_sharpness(log_power)
    energy = power.sum(-1)
    # running sums over frames (float64: variance as mean of squares minus squared mean), read once per window
    zero = power.new_zeros(1, power.shape[-1], dtype=torch.float64)
    sums = [torch.cat([zero, x.double().cumsum(0)]) for x in (power, log_power, log_power.double().square())]
    bounds, frame_parts = [], []
    for a in first:
        a = min(a, len(power) - 1)  # a window past the span's end reads its last frame
        n = max(1, min(length, len(power) - a))
        bounds.append((a, a + n))
        active = energy[a : a + n] > energy[a : a + n].max() * ACTIVE_BELOW_PEAK
        frame_parts.append(sharpness[a : a + n][active].mean(0) if bool(active.any()) else torch.zeros_like(sharpness[0]))
    start = torch.tensor([lo for lo, _ in bounds], device=power.device)
    end = torch.tensor([hi for _, hi in bounds], device=power.device)
    count = (end - start).double()[:, None]
    mean_power, mean_log, mean_square = ((s[end] - s[start]) / count for s in sums)
    long_term = torch.log(mean_power + FLOOR).float()
    steadiness = (mean_square - mean_log.square()).clamp(min=0).sqrt().float()
    references = running_median(torch.stack([long_term, steadiness]))
    a_part = curve_summaries(long_term - references[0])
    b_part = curve_summaries(-(steadiness - references[1]))
    out = torch.cat([a_part, b_part, torch.stack(frame_parts)], dim=-1)  # (W, BANDS, 12)
    return torch.nan_to_num(out.reshape(len(first), FINE_STATS).float())


def frames_per_window(window: int) -> int:
    """Fine frames in a window of `window` samples (at least one)."""
    return max(1, 1 + (window - N_FFT) // HOP)
