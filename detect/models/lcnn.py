"""LFCC-LCNN, the ASVspoof 2021 LA/DF baseline (Wang & Yamagishi): light CNN with max-feature-map
activations over LFCC frames, two BLSTM layers with a residual connection, and mean pooling over time."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from detect.models.registry import MODELS, Countermeasure
from voxtwin.features import FeatureSpec, LFCCSpec, build_features


class MaxFeatureMap(nn.Module):
    """Split channels in two halves and keep the element-wise maximum (halves the channels)."""

    def forward(self, x: Tensor) -> Tensor:
        a, b = x.chunk(2, dim=1)
        return a.maximum(b)


@dataclass(frozen=True)
class LCNNConfig:
    channels: tuple = (64, 64, 96, 96, 128, 128, 64, 64, 64)  # conv outputs before max-feature-map
    dropout: float = 0.7

    @classmethod
    def tiny(cls) -> "LCNNConfig":
        return cls(channels=(8, 8, 8, 8, 8, 8, 8, 8, 8))


class BLSTM(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, dim // 2, batch_first=True, bidirectional=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.lstm(x)[0]


@MODELS.register("lcnn")
class LCNN(Countermeasure):
    Config = LCNNConfig
    default_spec = LFCCSpec()

    def __init__(self, config: LCNNConfig, spec: FeatureSpec) -> None:
        super().__init__(config, spec)
        c = config.channels
        if spec.dim < 16:
            raise ValueError(f"LCNN needs at least 16 feature dims (4 poolings), the spec has {spec.dim}")
        mfm = MaxFeatureMap
        bn = lambda n: nn.BatchNorm2d(n, affine=False)  # noqa: E731
        pool = lambda: nn.MaxPool2d(2, 2)  # noqa: E731
        self.frontend = build_features(spec)
        self.body = nn.Sequential(
            nn.Conv2d(1, c[0], 5, padding=2), mfm(), pool(),
            nn.Conv2d(c[0] // 2, c[1], 1), mfm(), bn(c[1] // 2),
            nn.Conv2d(c[1] // 2, c[2], 3, padding=1), mfm(), pool(), bn(c[2] // 2),
            nn.Conv2d(c[2] // 2, c[3], 1), mfm(), bn(c[3] // 2),
            nn.Conv2d(c[3] // 2, c[4], 3, padding=1), mfm(), pool(),
            nn.Conv2d(c[4] // 2, c[5], 1), mfm(), bn(c[5] // 2),
            nn.Conv2d(c[5] // 2, c[6], 3, padding=1), mfm(), bn(c[6] // 2),
            nn.Conv2d(c[6] // 2, c[7], 1), mfm(), bn(c[7] // 2),
            nn.Conv2d(c[7] // 2, c[8], 3, padding=1), mfm(), pool(),
            nn.Dropout(config.dropout),
        )
        dim = (spec.dim // 16) * (c[8] // 2)
        self.blstm = nn.Sequential(BLSTM(dim), BLSTM(dim))
        self.out = nn.Linear(dim, 2)

    def forward(self, wav: Tensor) -> Tensor:
        feats = self.frontend(wav).transpose(1, 2).unsqueeze(1)  # (B, 1, L, D)
        h = self.body(feats)  # (B, C, L/16, D/16)
        h = h.permute(0, 2, 1, 3).flatten(2)  # (B, L/16, C * D/16)
        pooled = (self.blstm(h) + h).mean(dim=1)
        return self.out(pooled)
