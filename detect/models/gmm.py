"""LFCC-GMM, the ASVspoof 2019/2021 baseline: one diagonal-covariance GMM on LFCC frames per class;
the score is the average frame log-likelihood ratio (bona fide minus spoof).

EM runs in scikit-learn (fitting is a one-off); scoring runs in torch on any device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from voxtwin.features import FeatureSpec, LFCCSpec, build_features


@dataclass(frozen=True)
class GMMConfig:
    n_components: int = 512  # the baseline's size; 64 is enough for small corpora
    max_iter: int = 100
    max_frames_per_class: int = 200_000  # EM cost grows with frames; a random subset is used beyond this
    seed: int = 0

    @classmethod
    def tiny(cls) -> "GMMConfig":
        return cls(n_components=4, max_iter=20, max_frames_per_class=5_000)


class DiagonalGMM(nn.Module):
    """Log-likelihood of frames under a diagonal GMM, from fitted weights, means and variances.

    Computed as one matrix product over [x^2, x] (no (N, K, D) difference tensor: 30-60x faster on CPU). Frames
    and means are first centred on the mean of the means, so the expanded squares stay small and float32 keeps the
    direct form's accuracy."""

    def __init__(self, weights: Tensor, means: Tensor, variances: Tensor) -> None:
        super().__init__()
        self.register_buffer("log_weights", torch.log(weights))
        self.register_buffer("means", means)
        self.register_buffer("variances", variances)
        centre = means.mean(dim=0)
        m, precision = means - centre, 1.0 / variances
        log_norm = -0.5 * (means.shape[1] * math.log(2 * math.pi) + torch.log(variances).sum(-1))
        self.register_buffer("centre", centre, persistent=False)
        self.register_buffer("projection", torch.cat([-0.5 * precision, m * precision], dim=1).T.contiguous(), persistent=False)  # (2D, K)
        self.register_buffer("offset", self.log_weights + log_norm - 0.5 * (m.square() * precision).sum(-1), persistent=False)

    def component_log_likelihoods(self, frames: Tensor) -> Tensor:
        """(N, D) -> (N, K) weighted component log-densities."""
        x = frames - self.centre
        return torch.cat([x.square(), x], dim=1) @ self.projection + self.offset

    def forward(self, frames: Tensor) -> Tensor:
        """frames (N, D) -> log-likelihood (N,)."""
        return torch.logsumexp(self.component_log_likelihoods(frames), dim=1)


class GMMCountermeasure(nn.Module):
    """Bona fide and spoof GMMs over a feature spec (LFCC by default)."""

    name = "lfcc-gmm"
    Config = GMMConfig

    def __init__(self, config: GMMConfig, spec: FeatureSpec | None = None) -> None:
        super().__init__()
        self.config = config
        self.spec = spec or LFCCSpec()
        self.frontend = build_features(self.spec)
        self.bonafide: DiagonalGMM | None = None
        self.spoof: DiagonalGMM | None = None

    def frames(self, wav: Tensor) -> Tensor:
        """(1, T) -> feature frames (L, D)."""
        return self.frontend(wav)[0].T

    def fit(self, bonafide_frames: np.ndarray, spoof_frames: np.ndarray) -> "GMMCountermeasure":
        from sklearn.mixture import GaussianMixture

        rng = np.random.default_rng(self.config.seed)
        fitted = []
        for frames in (bonafide_frames, spoof_frames):
            if len(frames) > self.config.max_frames_per_class:
                frames = frames[rng.choice(len(frames), self.config.max_frames_per_class, replace=False)]
            n = min(self.config.n_components, len(frames))
            gmm = None
            for reg_covar in (1e-3, 1e-2, 1e-1):  # digital silence gives collapsed frames; regularise more if EM fails
                try:
                    gmm = GaussianMixture(n, covariance_type="diag", max_iter=self.config.max_iter, random_state=self.config.seed, reg_covar=reg_covar).fit(frames)
                    break
                except ValueError:
                    continue
            if gmm is None:
                raise ValueError("GMM fitting failed even with strong covariance regularisation")
            fitted.append(DiagonalGMM(*(torch.tensor(a, dtype=torch.float32) for a in (gmm.weights_, gmm.means_, gmm.covariances_))))
        self.bonafide, self.spoof = fitted
        return self

    def frame_llr(self, frames: Tensor) -> Tensor:
        """Per-frame log-likelihood ratio (bona fide minus spoof), frames (L, D) -> (L,)."""
        if self.bonafide is None:
            raise RuntimeError("the GMMs are not fitted")
        return self.bonafide(frames) - self.spoof(frames)

    def score(self, wav: Tensor) -> Tensor:
        """Average frame log-likelihood ratio per utterance, shape (B,)."""
        feats = self.frontend(wav).transpose(1, 2)  # (B, L, D)
        return torch.stack([self.frame_llr(f).mean() for f in feats])

    def score_span(self, span: Tensor, starts: list[int], window: int) -> Tensor:
        """Scores of windows at `starts` (samples into `span`) of `window` samples, with the features and frame
        ratios computed once over the span: the score averages frames, so overlapping windows share their work.
        Equal to scoring each window alone except for the deltas of the two frames at each window edge."""
        llr = self.frame_llr(self.frames(span.reshape(1, -1)))
        hop, win = self.spec.hop_length, self.spec.win_length
        per_window = max(1, 1 + (window - win) // hop)
        cumulative = torch.cat([llr.new_zeros(1), llr.cumsum(0)])
        first = torch.tensor([min(round(s / hop), len(llr) - 1) for s in starts], device=llr.device)
        last = torch.clamp(first + per_window, max=len(llr))
        return (cumulative[last] - cumulative[first]) / (last - first)

    def tensors(self) -> dict[str, Tensor]:
        out = {}
        for cls_name, gmm in (("bonafide", self.bonafide), ("spoof", self.spoof)):
            out[f"{cls_name}.weights"] = gmm.log_weights.exp()
            out[f"{cls_name}.means"] = gmm.means
            out[f"{cls_name}.variances"] = gmm.variances
        return out

    def load_tensors(self, tensors: dict[str, Tensor]) -> None:
        self.bonafide = DiagonalGMM(tensors["bonafide.weights"], tensors["bonafide.means"], tensors["bonafide.variances"])
        self.spoof = DiagonalGMM(tensors["spoof.weights"], tensors["spoof.means"], tensors["spoof.variances"])
