"""Nuisance attribute projection for the detector studies: keep a head from reading which corpus a recording came from.

In speaker verification, NAP removes the directions along which one speaker's recordings differ by channel. Here the
nuisance is the corpus: each training source's mean over its real windows (per channel, centred on that channel's mean
over sources, so the telephone band itself is not a nuisance) spans the directions along which real recordings differ
by corpus and recording chain; those carry no evidence of generation, yet a head fitted across pages leans on them
(recipes/detector_v2/README.md, stops 68-70). Measured in the same README ("Corpus directions projected out?", stop 70)."""

from __future__ import annotations

import numpy as np


def corpus_directions(z: np.ndarray, real: np.ndarray, sources: np.ndarray, channels: np.ndarray, k: int) -> np.ndarray:
    """(features, k') orthonormal directions, k' <= k: the top right singular vectors of the per-(source, channel) means of
    the real rows of `z`, each centred on its channel's mean over sources."""
    means = []
    for channel in np.unique(channels[real]):
        in_channel = real & (channels == channel)
        per_source = np.stack([z[in_channel & (sources == s)].mean(0) for s in np.unique(sources[in_channel])])
        means.append(per_source - per_source.mean(0))
    stacked = np.vstack(means)
    _, singular, vt = np.linalg.svd(stacked, full_matrices=False)
    keep = min(k, int(np.sum(singular > 1e-8 * max(singular[0], 1e-30))))
    return vt[:keep].T


def project_out(z: np.ndarray, u: np.ndarray) -> np.ndarray:
    """`z` without its components along the orthonormal columns of `u`."""
    return z - (z @ u) @ u.T


class ProjectedScaler:
    """A fitted scaler whose output has the directions `u` (orthonormal columns) projected out."""

    def __init__(self, scaler, u: np.ndarray) -> None:
        self.scaler, self.u = scaler, u

    def transform(self, x: np.ndarray) -> np.ndarray:
        return project_out(self.scaler.transform(x), self.u)
