"""RawNet2, the ASVspoof 2021 baseline (Tak et al., ICASSP 2021): fixed mel-spaced sinc filters, residual
blocks with filter-wise feature map scaling (FMS), a GRU and a linear classifier."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from detect.models.registry import MODELS, Countermeasure
from voxtwin.features import SincSpec, build_features


@dataclass(frozen=True)
class RawNet2Config:
    filts: tuple = (20, (20, 20), (20, 128), (128, 128))
    gru_node: int = 1024
    nb_gru_layer: int = 3
    nb_fc_node: int = 1024

    @classmethod
    def tiny(cls) -> "RawNet2Config":
        return cls(filts=(20, (20, 8), (8, 8), (8, 8)), gru_node=16, nb_gru_layer=1, nb_fc_node=16)


class ResidualBlock1d(nn.Module):
    def __init__(self, channels: tuple, *, first: bool = False) -> None:
        super().__init__()
        c_in, c_out = channels
        self.first = first
        if not first:
            self.bn1 = nn.BatchNorm1d(c_in)
        self.conv1 = nn.Conv1d(c_in, c_out, 3, padding=1)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, 3, padding=1)
        self.conv_downsample = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else None
        self.pool = nn.MaxPool1d(3)

    def forward(self, x: Tensor) -> Tensor:
        out = x if self.first else F.leaky_relu(self.bn1(x), 0.3)
        out = self.conv2(F.leaky_relu(self.bn2(self.conv1(out)), 0.3))
        identity = self.conv_downsample(x) if self.conv_downsample is not None else x
        return self.pool(out + identity)


class FeatureMapScaling(nn.Module):
    """x * s + s with s = sigmoid(fc(mean over time)): the FMS attention of RawNet2."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        s = torch.sigmoid(self.fc(x.mean(dim=-1))).unsqueeze(-1)
        return x * s + s


@MODELS.register("rawnet2")
class RawNet2(Countermeasure):
    Config = RawNet2Config
    default_spec = SincSpec(n_filters=20, kernel_size=1024)

    def __init__(self, config: RawNet2Config, spec: SincSpec) -> None:
        super().__init__(config, spec)
        f = config.filts
        narrow, wide = (f[1][1], f[1][1]), (f[2][1], f[2][1])
        self.frontend = build_features(spec)
        self.first_bn = nn.BatchNorm1d(spec.n_filters)
        self.blocks = nn.ModuleList(
            [ResidualBlock1d(f[1], first=True), ResidualBlock1d(narrow), ResidualBlock1d(f[2]), ResidualBlock1d(wide), ResidualBlock1d(wide), ResidualBlock1d(wide)]
        )
        self.scalings = nn.ModuleList([FeatureMapScaling(f[1][1]), FeatureMapScaling(f[1][1])] + [FeatureMapScaling(f[2][1]) for _ in range(4)])
        self.bn_before_gru = nn.BatchNorm1d(f[2][1])
        self.gru = nn.GRU(f[2][1], config.gru_node, num_layers=config.nb_gru_layer, batch_first=True)
        self.fc1_gru = nn.Linear(config.gru_node, config.nb_fc_node)
        self.fc2_gru = nn.Linear(config.nb_fc_node, 2)

    def forward(self, wav: Tensor) -> Tensor:
        x = F.selu(self.first_bn(F.max_pool1d(self.frontend(wav).abs(), 3)))
        for block, scaling in zip(self.blocks, self.scalings):
            x = scaling(block(x))
        x = F.selu(self.bn_before_gru(x)).transpose(1, 2)
        x, _ = self.gru(x)
        return self.fc2_gru(self.fc1_gru(x[:, -1]))
