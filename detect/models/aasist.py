"""AASIST (Jung et al., ICASSP 2022): spectro-temporal graph attention on a sinc-filterbank encoder.

The official configurations have exactly 297,866 (AASIST) and 85,306 (AASIST-L) trainable parameters; the
fixed mel-spaced sinc front-end comes from `voxtwin.features` (kind "sinc") and has no parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from detect.models.registry import MODELS, Countermeasure
from voxtwin.features import SincSpec, build_features

N_SPECTRAL_NODES = 23  # 70 sinc channels after 3x max-pooling


@dataclass(frozen=True)
class AASISTConfig:
    filts: tuple = (70, (1, 32), (32, 32), (32, 64), (64, 64))
    gat_dims: tuple = (64, 32)
    pool_ratios: tuple = (0.5, 0.7, 0.5, 0.5)
    temperatures: tuple = (2.0, 2.0, 100.0, 100.0)

    @classmethod
    def light(cls) -> "AASISTConfig":
        return cls(filts=(70, (1, 32), (32, 32), (32, 24), (24, 24)), gat_dims=(24, 32), pool_ratios=(0.4, 0.5, 0.5, 0.5))

    @classmethod
    def tiny(cls) -> "AASISTConfig":
        return cls(filts=(70, (1, 8), (8, 8), (8, 8), (8, 8)), gat_dims=(8, 8), pool_ratios=(0.5, 0.5, 0.5, 0.5))


def _xavier(rows: int, cols: int) -> nn.Parameter:
    weight = nn.Parameter(torch.empty(rows, cols))
    nn.init.xavier_normal_(weight)
    return weight


def _pairwise(x: Tensor) -> Tensor:
    """(B, N, D) -> (B, N, N, D) products of every node pair."""
    return x.unsqueeze(2) * x.unsqueeze(1)


class GraphAttention(nn.Module):
    """Graph attention over fully connected nodes with a temperature on the attention softmax."""

    def __init__(self, in_dim: int, out_dim: int, *, temperature: float) -> None:
        super().__init__()
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_weight = _xavier(out_dim, 1)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.drop = nn.Dropout(0.2)
        self.temperature = temperature

    def forward(self, x: Tensor) -> Tensor:
        x = self.drop(x)
        att = torch.tanh(self.att_proj(_pairwise(x))) @ self.att_weight
        att = F.softmax(att / self.temperature, dim=-2).squeeze(-1)
        x = self.proj_with_att(att @ x) + self.proj_without_att(x)
        return F.selu(self.bn(x.transpose(1, 2)).transpose(1, 2))


class HeterogeneousGraphAttention(nn.Module):
    """HS-GAL: attention across two node types (temporal, spectral) plus a stack (master) node."""

    def __init__(self, in_dim: int, out_dim: int, *, temperature: float) -> None:
        super().__init__()
        self.proj_type1 = nn.Linear(in_dim, in_dim)
        self.proj_type2 = nn.Linear(in_dim, in_dim)
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_projM = nn.Linear(in_dim, out_dim)
        self.att_weight11 = _xavier(out_dim, 1)
        self.att_weight22 = _xavier(out_dim, 1)
        self.att_weight12 = _xavier(out_dim, 1)
        self.att_weightM = _xavier(out_dim, 1)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.proj_with_attM = nn.Linear(in_dim, out_dim)
        self.proj_without_attM = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.drop = nn.Dropout(0.2)
        self.temperature = temperature

    def forward(self, x1: Tensor, x2: Tensor, master: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        n1 = x1.shape[1]
        x = self.drop(torch.cat([self.proj_type1(x1), self.proj_type2(x2)], dim=1))
        # stack node: attends to every node
        att_m = torch.tanh(self.att_projM(x * master)) @ self.att_weightM
        att_m = F.softmax(att_m / self.temperature, dim=-2).squeeze(-1).unsqueeze(1)
        master = self.proj_with_attM(att_m @ x) + self.proj_without_attM(master)
        # node-to-node attention with a weight vector per type pair
        hidden = torch.tanh(self.att_proj(_pairwise(x)))
        same1 = torch.zeros(x.shape[1], x.shape[1], 1, device=x.device, dtype=torch.bool)
        same1[:n1, :n1] = True
        same2 = torch.zeros_like(same1)
        same2[n1:, n1:] = True
        att = torch.where(same1, hidden @ self.att_weight11, torch.where(same2, hidden @ self.att_weight22, hidden @ self.att_weight12))
        att = F.softmax(att / self.temperature, dim=-2).squeeze(-1)
        x = self.proj_with_att(att @ x) + self.proj_without_att(x)
        x = F.selu(self.bn(x.transpose(1, 2)).transpose(1, 2))
        return x[:, :n1], x[:, n1:], master


class GraphPool(nn.Module):
    """Keep the top-k share of nodes by a learned sigmoid score (nodes scaled by their score)."""

    def __init__(self, ratio: float, in_dim: int, dropout: float = 0.3) -> None:
        super().__init__()
        self.ratio = ratio
        self.proj = nn.Linear(in_dim, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor) -> Tensor:
        scores = torch.sigmoid(self.proj(self.drop(h)))
        k = max(int(h.shape[1] * self.ratio), 1)
        _, idx = torch.topk(scores, k, dim=1)
        return torch.gather(h * scores, 1, idx.expand(-1, -1, h.shape[2]))


class ResidualBlock2d(nn.Module):
    """Pre-activation residual block on (B, C, F, T) with (2, 3) kernels and 1x3 max-pooling over time."""

    def __init__(self, channels: tuple, *, first: bool = False, pool: bool = True) -> None:
        super().__init__()
        c_in, c_out = channels
        self.first = first
        if not first:
            self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, kernel_size=(2, 3), padding=(1, 1))
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, kernel_size=(2, 3), padding=(0, 1))
        self.conv_downsample = nn.Conv2d(c_in, c_out, kernel_size=(1, 3), padding=(0, 1)) if c_in != c_out else None
        self.pool = nn.MaxPool2d((1, 3)) if pool else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out = x if self.first else F.selu(self.bn1(x))
        out = self.conv2(F.selu(self.bn2(self.conv1(out))))
        identity = self.conv_downsample(x) if self.conv_downsample is not None else x
        return self.pool(out + identity)


class GraphBackend(nn.Module):
    """AASIST's graph back-end: GAT-S / GAT-T, two HS-GAL branches with stack nodes, readout to 2 logits.

    Input: encoder output (B, C, F, T) where F spectral and T temporal nodes come from max-pooling.
    """

    def __init__(self, config: AASISTConfig, *, n_spectral_nodes: int, channels: int) -> None:
        super().__init__()
        gat0, gat1 = config.gat_dims
        temp = config.temperatures
        self.pos_S = nn.Parameter(torch.randn(1, n_spectral_nodes, channels))
        self.master1 = nn.Parameter(torch.randn(1, 1, gat0))
        self.master2 = nn.Parameter(torch.randn(1, 1, gat0))
        self.GAT_layer_S = GraphAttention(channels, gat0, temperature=temp[0])
        self.GAT_layer_T = GraphAttention(channels, gat0, temperature=temp[1])
        self.HtrgGAT_layer_ST11 = HeterogeneousGraphAttention(gat0, gat1, temperature=temp[2])
        self.HtrgGAT_layer_ST12 = HeterogeneousGraphAttention(gat1, gat1, temperature=temp[2])
        self.HtrgGAT_layer_ST21 = HeterogeneousGraphAttention(gat0, gat1, temperature=temp[2])
        self.HtrgGAT_layer_ST22 = HeterogeneousGraphAttention(gat1, gat1, temperature=temp[2])
        self.pool_S = GraphPool(config.pool_ratios[0], gat0)
        self.pool_T = GraphPool(config.pool_ratios[1], gat0)
        self.pool_hS1 = GraphPool(config.pool_ratios[2], gat1)
        self.pool_hT1 = GraphPool(config.pool_ratios[2], gat1)
        self.pool_hS2 = GraphPool(config.pool_ratios[2], gat1)
        self.pool_hT2 = GraphPool(config.pool_ratios[2], gat1)
        self.drop_way = nn.Dropout(0.2)
        self.drop = nn.Dropout(0.5)
        self.out_layer = nn.Linear(5 * gat1, 2)

    def _branch(self, out_T, out_S, master, first, second, pool_S, pool_T):
        t, s, m = first(out_T, out_S, master)
        s, t = pool_S(s), pool_T(t)
        t_aug, s_aug, m_aug = second(t, s, m)
        return self.drop_way(t + t_aug), self.drop_way(s + s_aug), self.drop_way(m + m_aug)

    def forward(self, e: Tensor) -> Tensor:
        batch = e.shape[0]
        e_S = torch.amax(e.abs(), dim=3).transpose(1, 2) + self.pos_S  # spectral nodes
        out_S = self.pool_S(self.GAT_layer_S(e_S))
        e_T = torch.amax(e.abs(), dim=2).transpose(1, 2)  # temporal nodes
        out_T = self.pool_T(self.GAT_layer_T(e_T))
        m1, m2 = self.master1.expand(batch, -1, -1), self.master2.expand(batch, -1, -1)
        t1, s1, m1 = self._branch(out_T, out_S, m1, self.HtrgGAT_layer_ST11, self.HtrgGAT_layer_ST12, self.pool_hS1, self.pool_hT1)
        t2, s2, m2 = self._branch(out_T, out_S, m2, self.HtrgGAT_layer_ST21, self.HtrgGAT_layer_ST22, self.pool_hS2, self.pool_hT2)
        out_T, out_S, master = torch.maximum(t1, t2), torch.maximum(s1, s2), torch.maximum(m1, m2)
        hidden = torch.cat([out_T.abs().amax(1), out_T.mean(1), out_S.abs().amax(1), out_S.mean(1), master.squeeze(1)], dim=1)
        return self.out_layer(self.drop(hidden))


@MODELS.register("aasist")
class AASIST(Countermeasure):
    Config = AASISTConfig
    default_spec = SincSpec(n_filters=70, kernel_size=128)

    def __init__(self, config: AASISTConfig, spec: SincSpec) -> None:
        super().__init__(config, spec)
        filts = config.filts
        if spec.n_filters != filts[0]:
            raise ValueError(f"AASIST expects {filts[0]} sinc filters, the spec has {spec.n_filters}")
        self.frontend = build_features(spec)
        self.first_bn = nn.BatchNorm2d(1)
        self.encoder = nn.Sequential(
            ResidualBlock2d(filts[1], first=True),
            ResidualBlock2d(filts[2]),
            ResidualBlock2d(filts[3]),
            ResidualBlock2d(filts[4]),
            ResidualBlock2d(filts[4]),
            ResidualBlock2d(filts[4]),
        )
        self.backend = GraphBackend(config, n_spectral_nodes=spec.n_filters // 3, channels=filts[4][1])

    def forward(self, wav: Tensor) -> Tensor:
        x = self.frontend(wav).unsqueeze(1)  # (B, 1, filters, T)
        x = F.selu(self.first_bn(F.max_pool2d(x.abs(), (3, 3))))
        return self.backend(self.encoder(x))


@MODELS.register("aasist-l")
class AASISTLight(AASIST):
    """AASIST-L: the light configuration (85,306 parameters)."""

    @dataclass(frozen=True)
    class Config(AASISTConfig):
        filts: tuple = AASISTConfig.light().filts
        gat_dims: tuple = AASISTConfig.light().gat_dims
        pool_ratios: tuple = AASISTConfig.light().pool_ratios
