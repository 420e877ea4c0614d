"""How a set's files came out, by verdict: what a user sees, which EER does not show. Shared by compare.py (verdicts
of `Detector.score`) and score_fusion.py (verdicts of fused probabilities)."""

from __future__ import annotations

import numpy as np

VERDICTS = ("synthetic", "uncertain", "real")


def verdict_shares(verdicts: np.ndarray, fake: np.ndarray) -> dict:
    """Each verdict's share (%) of the synthetic and of the real files."""
    return {label: {v: 100 * float(np.mean(verdicts[is_fake] == v)) for v in VERDICTS} for label, is_fake in (("synthetic", fake), ("real", ~fake))}


def headline_shares(verdicts: np.ndarray, fake: np.ndarray) -> dict:
    """The three shares the recipe's rules name: fakes called `synthetic`, real files called `real` and `synthetic` (%)."""
    shares = verdict_shares(verdicts, fake)
    return {"fake_called_synthetic_percent": shares["synthetic"]["synthetic"], "real_called_real_percent": shares["real"]["real"],
            "real_called_synthetic_percent": shares["real"]["synthetic"]}
