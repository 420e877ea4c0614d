"""HiFi-GAN V1's long convolutions by overlap-save FFT: the same waveform (to ~1e-6), fewer multiply-adds on a CPU.

V1's residual blocks spend ~95 % of a conversion's time in float32 convolutions of kernels 3, 7 and 11 (dilations 1, 3
and 5) that a CPU's direct kernels already run near their peak (voice/converter/MODEL_CARD.md, "Why RTF <= 0.5 in
float32 is out of V1's reach"). Computed in the frequency domain, a convolution costs about the same whatever its
kernel and dilation: the signal is cut into overlapping blocks of `block` samples, each block's spectrum is multiplied
by the kernel's (one complex matrix product per frequency bin, channels mixed), and the valid part of each block's
inverse transform is kept. For kernel 11 that is ~2.5 real multiply-adds per output and channel pair instead of 11;
for kernel 3 it is a loss. `FFTConv1d` is an `nn.Conv1d` (same parameters, same state dict) that takes this path only
where it is exact and pays: float32 on a CPU, no gradient wanted, no autocast; otherwise it is a plain Conv1d.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn


FFT_ENV = "VOXTWIN_FFT_CONVOLUTION"
BLOCKS_PER_PASS = 64


def fft_convolution_enabled() -> bool:
    """On unless $VOXTWIN_FFT_CONVOLUTION is 0/off/false/no (benchmarks set it to time the direct kernels side by side)."""
    return os.environ.get(FFT_ENV, "1").strip().lower() not in ("0", "off", "false", "no")


def worth_fft(in_channels: int, kernel_size: int) -> bool:
    """Whether the FFT path beats a CPU's direct float32 kernel for one of V1's convolutions.

    Measured one layer at a time on one thread of an AVX2-only AMD EPYC (recipes/voice_converter/fft_vocoder.py
    --layers, 2026-12-07): kernel 11 runs in 0.45-0.97x the direct time at 32-256 channels, kernel 7 in 0.64-0.96x at
    128-256; kernel 3 (1.4-4.1x) and kernel 7 at 32-64 channels (1.05-1.8x) are slower through the FFT, whose
    transforms cost as much as they save there."""
    return kernel_size >= 11 or (kernel_size >= 7 and in_channels >= 128)


def keeps_length(conv: nn.Conv1d) -> bool:
    """Whether `conv` is what the FFT path computes: stride 1, one group, zeros padded by (kernel - 1) x dilation / 2."""
    if isinstance(conv.padding, str):  # "same" / "valid": the layer pads as it pleases, not by a number we can check
        return False
    return (conv.stride == (1,) and conv.groups == 1 and conv.padding_mode == "zeros"
            and 2 * conv.padding[0] == (conv.kernel_size[0] - 1) * conv.dilation[0])


def block_length(span: int) -> int:
    """The FFT block for a kernel spanning `span` samples (dilation included): a power of two at least four spans
    and at least 128, so that most of each block's outputs are valid."""
    return max(128, 1 << (4 * span - 1).bit_length())


class FFTConv1d(nn.Conv1d):
    """A stride-1, ungrouped, 'same'-padded Conv1d computed by overlap-save FFT when that is exact and cheaper.

    The kernel's spectrum is cached and recomputed when the weight changes (its version counter moves; weights made
    under torch.inference_mode have none and are taken as fixed)."""

    @classmethod
    def from_conv(cls, conv: nn.Conv1d) -> FFTConv1d:
        """The same layer, sharing `conv`'s weight and bias tensors (so pruning or reading them still works)."""
        if not keeps_length(conv):
            raise ValueError("FFTConv1d takes stride-1, ungrouped convolutions zero-padded to keep the length")
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size[0], padding=conv.padding[0], dilation=conv.dilation[0],
                    bias=conv.bias is not None, device="meta")
        layer.weight = conv.weight
        if conv.bias is not None:
            layer.bias = conv.bias
        return layer

    @property
    def span(self) -> int:
        return (self.kernel_size[0] - 1) * self.dilation[0] + 1

    def fft_applies(self, x: torch.Tensor) -> bool:
        wants_grad = torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad)
        return x.device.type == "cpu" and x.dtype == torch.float32 and not wants_grad and not torch.is_autocast_enabled("cpu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fft_applies(x):
            return super().forward(x)
        return self._fft_forward(x)

    def _spectrum(self, block: int) -> torch.Tensor:
        """(bins, out, in) complex spectrum of the time-reversed, dilated kernel, with the bias in the DC bin."""
        key = (block, self.weight.data_ptr(), weight_version(self.weight), None if self.bias is None else weight_version(self.bias))
        if getattr(self, "_spectrum_key", None) != key:
            with torch.no_grad():
                weight = self.weight.detach()
                dilated = weight.new_zeros(weight.shape[0], weight.shape[1], self.span)
                dilated[..., :: self.dilation[0]] = weight
                spectrum = torch.fft.rfft(dilated.flip(-1), n=block, dim=-1).permute(2, 0, 1).contiguous()
                bias = None if self.bias is None else self.bias.detach().to(spectrum.dtype) * block
            self._spectrum_cache, self._bias_cache, self._spectrum_key = spectrum, bias, key
        return self._spectrum_cache

    def _fft_forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, length = x.shape
        span = self.span
        block = block_length(span)
        valid = block - span + 1
        spectrum = self._spectrum(block)
        n_blocks = -(-length // valid)
        padding = self.padding[0]
        padded = F.pad(x, (padding, (n_blocks - 1) * valid + block - length - padding))
        # blocks as (block, channels, batch, n_blocks): the transform along dim 0 leaves bins outermost, as the
        # per-bin matrix product wants them
        blocks = padded.unfold(-1, block, valid).permute(3, 1, 0, 2)
        out = x.new_empty(batch, self.out_channels, n_blocks, valid)
        # a few blocks at a time: the spectra stay small enough for the CPU's caches and the allocator's heap (whole
        # signals at once made each call fault in tens of MB of fresh pages)
        for start in range(0, n_blocks, BLOCKS_PER_PASS):
            stop = min(start + BLOCKS_PER_PASS, n_blocks)
            x_spectrum = torch.fft.rfft(blocks[..., start:stop], dim=0).reshape(-1, channels, batch * (stop - start))
            y_spectrum = torch.matmul(spectrum, x_spectrum)
            if self._bias_cache is not None:
                y_spectrum[0] += self._bias_cache[:, None]  # a constant added to every sample is N x it in the DC bin
            y = torch.fft.irfft(y_spectrum, n=block, dim=0)[span - 1 :]  # (valid, out, batch * passes)
            out[:, :, start:stop] = y.reshape(valid, self.out_channels, batch, stop - start).permute(2, 1, 3, 0)
        return out.reshape(batch, self.out_channels, n_blocks * valid)[..., :length]


def weight_version(tensor: torch.Tensor) -> int | None:
    """The tensor's in-place version counter; None for an inference tensor (made under torch.inference_mode), which
    keeps none: such weights are taken as fixed."""
    return None if tensor.is_inference() else tensor._version


def use_fft_convolutions(generator: nn.Module) -> int:
    """Swap every Conv1d of `generator` that `worth_fft` picks for an FFTConv1d sharing its parameters (in place;
    the state dict is unchanged). Returns how many were swapped."""
    swapped = 0
    for module in list(generator.modules()):
        for name, child in list(module.named_children()):
            if type(child) is nn.Conv1d and keeps_length(child) and worth_fft(child.in_channels, child.kernel_size[0]):
                setattr(module, name, FFTConv1d.from_conv(child))
                swapped += 1
    return swapped
