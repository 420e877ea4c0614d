"""How sure is "detector B is N points worse than A"? A paired bootstrap of the EER difference.

Two detectors scored on the same files differ by a few EER points; with a few hundred files that can be chance.
Both are re-scored on the same resampled sets (paired, so what the files share cancels), real and synthetic files
drawn separately (every draw keeps both classes), and whole groups at a time (a speaker's or a system's files are
not independent, and resampling them one by one would make the interval too narrow). The interval covers the
sampling of files or groups from the sources in the set, not the choice of those sources: a set with three fake
systems says little about a fourth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detect.metrics import eer
from voxtwin.grouped_bootstrap import grouped_resamples, percentile_interval


@dataclass(frozen=True)
class Difference:
    """EER(B) - EER(A) in points, with its percentile interval."""

    points: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"difference_points": self.points, "low": self.low, "high": self.high}


def eer_points(p_synthetic: np.ndarray, is_fake: np.ndarray) -> float:
    """EER in percent of per-file probabilities of synthetic speech."""
    return 100 * eer(-p_synthetic[~is_fake], -p_synthetic[is_fake])[0]


def paired_eer_difference(
    scores_a: dict[str, np.ndarray], scores_b: dict[str, np.ndarray], is_fake: np.ndarray, groups: list[str] | None = None,
    *, draws: int = 2000, level: float = 0.95, seed: int = 0,
) -> dict[str, Difference]:
    """Per channel (the keys of scores_a, each an array of p_synthetic per file) and for the mean over channels:
    EER(B) - EER(A) and its `level` interval from `draws` paired resamples. `groups` (one label per file; default:
    every file its own group) are resampled whole, within each class."""
    is_fake = np.asarray(is_fake, dtype=bool)
    if set(scores_a) != set(scores_b):
        raise ValueError("both detectors need scores for the same channels")
    if not is_fake.any() or is_fake.all():
        raise ValueError("the set needs real and synthetic files")
    labels = groups if groups is not None else range(len(is_fake))
    channels = list(scores_a)
    a = {ch: np.asarray(scores_a[ch], dtype=float) for ch in channels}
    b = {ch: np.asarray(scores_b[ch], dtype=float) for ch in channels}

    def differences(index: np.ndarray) -> np.ndarray:
        fake = is_fake[index]
        return np.array([eer_points(b[ch][index], fake) - eer_points(a[ch][index], fake) for ch in channels])

    observed = differences(np.arange(len(is_fake)))
    drawn = np.array([differences(index) for index in grouped_resamples(labels, draws=draws, seed=seed, strata=is_fake)])
    result = {}
    for i, ch in enumerate([*channels, "mean"]):
        values = drawn.mean(axis=1) if ch == "mean" else drawn[:, i]
        point = float(observed.mean()) if ch == "mean" else float(observed[i])
        result[ch] = Difference(point, *percentile_interval(values, level))
    return result
