"""HiFi-GAN's transposed convolutions as two ordinary ones: the same waveform (to ~1e-6), faster on a CPU.

V1 upsamples with ConvTranspose1d(stride u, kernel 2u, padding u/2): every output sample n*u + r is the sum of two
kernel taps applied to two neighbouring input samples, and which two depends only on the phase r. So the layer is u
small convolutions of kernel 2 over the input, their outputs interleaved. The phases r with r + u/2 < u read x[n-1]
and x[n]; the others read x[n] and x[n+1]; each group is one Conv1d with u/2 x out_channels outputs. PyTorch's CPU
transposed convolution ran at about half the arithmetic rate of its direct one on V1's layers (17-34 against ~40-50
GMAC/s on one AVX2 thread), so the two direct convolutions take ~0.6x its time (voice/converter/MODEL_CARD.md,
"Transposed convolutions as two direct ones"). `PolyphaseConvTranspose1d` is an `nn.ConvTranspose1d` (same parameters,
same state dict) that takes this path only in float32 on a CPU with no gradient wanted; otherwise it is the plain
layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from voice.fft_convolution import weight_version


def splits_into_phases(layer: nn.ConvTranspose1d) -> bool:
    """Whether `layer` is the HiFi-GAN kind the polyphase path computes: stride u >= 2 (even), kernel 2u, padding u/2,
    one group, no dilation or output padding."""
    u = layer.stride[0]
    return (u >= 2 and u % 2 == 0 and layer.kernel_size[0] == 2 * u and layer.padding == (u // 2,) and layer.groups == 1
            and layer.dilation == (1,) and layer.output_padding == (0,) and layer.padding_mode == "zeros")


class PolyphaseConvTranspose1d(nn.ConvTranspose1d):
    """A HiFi-GAN upsampling layer computed as two direct convolutions in float32 on a CPU when no gradient is wanted.

    The phase kernels are cached and rebuilt when the weight changes (its version counter moves; weights made under
    torch.inference_mode have none and are taken as fixed)."""

    @classmethod
    def from_layer(cls, layer: nn.ConvTranspose1d) -> PolyphaseConvTranspose1d:
        """The same layer, sharing `layer`'s weight and bias tensors."""
        if not splits_into_phases(layer):
            raise ValueError("PolyphaseConvTranspose1d takes stride-u, kernel-2u, padding-u/2 transposed convolutions")
        new = cls(layer.in_channels, layer.out_channels, layer.kernel_size[0], stride=layer.stride[0], padding=layer.padding[0],
                  bias=layer.bias is not None, device="meta")
        new.weight = layer.weight
        if layer.bias is not None:
            new.bias = layer.bias
        return new

    def polyphase_applies(self, x: torch.Tensor) -> bool:
        # float32 only: V1's bfloat16 output was checked with the transposed layers (voice/converter/MODEL_CARD.md)
        # and runs no faster this way
        wants_grad = torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad)
        return (x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 3 and not wants_grad
                and not torch.is_autocast_enabled("cpu"))

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if output_size is not None or not self.polyphase_applies(x):
            return super().forward(x, output_size)
        (early, early_bias), (late, late_bias) = self._phase_kernels()
        batch, _, length = x.shape
        u, out = self.stride[0], self.out_channels
        n_early = early.shape[0] // out
        reads_previous = F.conv1d(F.pad(x, (1, 0)), early, early_bias)  # phases that read x[n-1] and x[n]
        reads_next = F.conv1d(F.pad(x, (0, 1)), late, late_bias)  # phases that read x[n] and x[n+1]
        y = reads_previous.new_empty(batch, out, length, u)
        y[..., :n_early] = reads_previous.view(batch, n_early, out, length).permute(0, 2, 3, 1)
        y[..., n_early:] = reads_next.view(batch, u - n_early, out, length).permute(0, 2, 3, 1)
        return y.view(batch, out, length * u)

    def _phase_kernels(self):
        """((early kernels, bias), (late kernels, bias)): (phases x out, in, 2) each, phase-major."""
        key = (self.weight.data_ptr(), weight_version(self.weight), None if self.bias is None else weight_version(self.bias))
        if getattr(self, "_kernels_key", None) != key:
            with torch.no_grad():
                w = self.weight.detach()  # (in, out, 2u)
                u, p = self.stride[0], self.padding[0]
                early = [torch.stack([w[:, :, r + p + u].T, w[:, :, r + p].T], dim=-1) for r in range(u - p)]
                late = [torch.stack([w[:, :, r + p].T, w[:, :, r + p - u].T], dim=-1) for r in range(u - p, u)]
                bias = self.bias.detach() if self.bias is not None else None
                self._kernels = tuple((torch.cat(group).contiguous(), None if bias is None else bias.repeat(len(group)))
                                      for group in (early, late))
            self._kernels_key = key
        return self._kernels


def use_polyphase_upsampling(generator: nn.Module) -> int:
    """Swap every ConvTranspose1d of `generator` that `splits_into_phases` for a PolyphaseConvTranspose1d sharing its
    parameters (in place; the state dict is unchanged). Returns how many were swapped."""
    swapped = 0
    for module in list(generator.modules()):
        for name, child in list(module.named_children()):
            if type(child) is nn.ConvTranspose1d and splits_into_phases(child):
                setattr(module, name, PolyphaseConvTranspose1d.from_layer(child))
                swapped += 1
    return swapped
