"""Self-supervised front-end (wav2vec 2.0 / XLS-R / WavLM / HuBERT in Hugging Face format, loaded from a local
folder only) under an AASIST graph head (Tak et al., Odyssey 2022) or a linear head.

Needs the optional extra `pip install -e ".[ssl]"` (transformers). Weights load with `use_safetensors=True`,
so a checkpoint folder can never run pickled code; nothing is fetched from a hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch.nn.functional as F
from torch import Tensor, nn

from detect.models.aasist import AASISTConfig, GraphBackend, ResidualBlock2d
from detect.models.registry import MODELS, Countermeasure
from voxtwin.errors import CheckpointError
from voxtwin.features import WaveformSpec, build_features

HEADS = ("aasist", "linear")


@dataclass(frozen=True)
class SSLConfig:
    checkpoint_dir: str = ""  # local Hugging Face folder (config.json + model.safetensors)
    head: str = "aasist"
    projection_dim: int = 128
    freeze_encoder: bool = False
    layer: int = -1  # which hidden layer feeds the head (-1 = last)

    @classmethod
    def tiny(cls) -> "SSLConfig":
        return cls(projection_dim=16)


def load_ssl_encoder(checkpoint_dir: str | Path) -> nn.Module:
    """A pretrained speech encoder from a local folder; raises CheckpointError with the fix on failure."""
    try:
        from transformers import AutoConfig, AutoModel
    except ImportError:
        raise CheckpointError("the ssl-aasist model needs transformers: pip install -e '.[ssl]'") from None
    folder = Path(checkpoint_dir)
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"{folder}: not a Hugging Face model folder (config.json missing); pass checkpoint_dir=<local folder>")
    if not any(folder.glob("*.safetensors")):
        raise CheckpointError(f"{folder}: no .safetensors weights; convert pytorch_model.bin to safetensors first (pickled weights are refused)")
    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    if config.model_type not in ("wav2vec2", "wavlm", "hubert", "data2vec-audio"):
        raise CheckpointError(f"{folder}: model type {config.model_type!r} is not a speech SSL encoder (wav2vec2, wavlm, hubert, data2vec-audio)")
    return AutoModel.from_pretrained(folder, local_files_only=True, use_safetensors=True)


@MODELS.register("ssl-aasist")
class SSLCountermeasure(Countermeasure):
    Config = SSLConfig
    default_spec = WaveformSpec(normalize="cmvn")

    def __init__(self, config: SSLConfig, spec: WaveformSpec) -> None:
        super().__init__(config, spec)
        if config.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {config.head!r}")
        self.frontend = build_features(spec)
        self.encoder = load_ssl_encoder(config.checkpoint_dir)
        if config.freeze_encoder:
            self.encoder.requires_grad_(False)
        hidden = self.encoder.config.hidden_size
        self.projection = nn.Linear(hidden, config.projection_dim)
        if config.head == "aasist":
            graph = AASISTConfig(gat_dims=(64, 32))
            self.first_bn = nn.BatchNorm2d(1)
            self.encoder2d = nn.Sequential(
                # SSL frames are 20 ms, so only two blocks pool over time (4 s -> 22 temporal nodes)
                ResidualBlock2d((1, 32), first=True), ResidualBlock2d((32, 32)),
                ResidualBlock2d((32, 64), pool=False), ResidualBlock2d((64, 64), pool=False),
            )
            self.backend = GraphBackend(graph, n_spectral_nodes=config.projection_dim // 3, channels=64)
        else:
            self.out = nn.Linear(config.projection_dim, 2)

    def forward(self, wav: Tensor) -> Tensor:
        x = self.frontend(wav)[:, 0]
        outputs = self.encoder(x, output_hidden_states=self.config.layer != -1)
        h = outputs.last_hidden_state if self.config.layer == -1 else outputs.hidden_states[self.config.layer]
        h = self.projection(h)  # (B, frames, projection_dim)
        if self.config.head == "linear":
            return self.out(h.mean(dim=1))
        x = F.max_pool2d(h.transpose(1, 2).unsqueeze(1), (3, 3))  # (B, 1, dim/3, frames/3)
        x = F.selu(self.first_bn(x))
        return self.backend(self.encoder2d(x))
