"""A one-class head: how typical of real speech a window's statistics are, learned from real speech only.

The linear heads learn "real versus the synthetic pages we have", and on a page they never saw their scores are on
that page's own scale (recipes/detector_v2/README.md). One-class learning models the bona fide class alone, so it
cannot learn any generator's cues; it is said to generalise better to unseen attacks. Here the simplest form: the
real windows' standardised statistics, PCA-whitened to `dims` dimensions, and the score a window's squared distance
from real speech in that space (a Gaussian's negative log-likelihood up to a constant). Measured as a study head
(`fusion_loso.py --one-class-dims`), not shipped.
"""

from __future__ import annotations

import numpy as np


class RealSpeechGaussian:
    """fit(real windows) -> decision_function(windows): larger = less like real speech (sklearn's sign: spoof)."""

    def __init__(self, dims: int) -> None:
        if dims < 1:
            raise ValueError("dims must be at least 1")
        self.dims = dims

    def fit(self, real: np.ndarray) -> "RealSpeechGaussian":
        real = np.asarray(real, dtype=np.float64)
        if len(real) <= self.dims:
            raise ValueError(f"{len(real)} real windows cannot fit {self.dims} dimensions")
        self.mean_ = real.mean(0)
        centred = real - self.mean_
        variance, axes = np.linalg.eigh(centred.T @ centred / (len(real) - 1))  # ascending; cheaper than an SVD of the windows
        top = np.argsort(variance)[::-1][: self.dims]
        self.projection_ = axes[:, top] / np.sqrt(np.maximum(variance[top], 1e-16))  # whitened principal axes
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float64) - self.mean_) @ self.projection_
        return 0.5 * (z**2).sum(1) - 0.5 * self.dims  # ~0 on average for real speech
