"""Bootstrap resampling by groups: how far a figure measured on a few hundred files could move by chance.

Files that share a speaker (or a target voice, or a system) are not independent, so resampling them one by one
makes an interval too narrow: whole groups are drawn with replacement instead, and within each stratum separately
(e.g. real and synthetic files, so every draw keeps both). Used by the detectors' paired EER differences
(detect/paired_bootstrap.py) and the clone benchmark's intervals (benchmarks/clone_intervals.py).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np


def grouped_resamples(groups: Sequence, *, draws: int, seed: int = 0, strata: Sequence | None = None) -> Iterator[np.ndarray]:
    """`draws` index arrays, each the files of groups drawn with replacement (as many groups as there are) within
    each stratum. `groups`: one label per file; `strata`: one label per file (default: a single stratum)."""
    labels = np.asarray([str(g) for g in groups])
    layers = np.asarray([str(s) for s in strata]) if strata is not None else np.zeros(len(labels), dtype=str)
    if len(layers) != len(labels):
        raise ValueError("groups and strata need one label per file")
    members = [[np.flatnonzero((labels == g) & (layers == s)) for g in np.unique(labels[layers == s])] for s in np.unique(layers)]
    rng = np.random.default_rng(seed)
    for _ in range(draws):
        yield np.concatenate([of_stratum[i] for of_stratum in members for i in rng.integers(len(of_stratum), size=len(of_stratum))])


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central `level` share of bootstrap values."""
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(np.asarray(values, dtype=float), [tail, 100 - tail], axis=0)
    return float(low), float(high)
