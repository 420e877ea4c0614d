"""Calibration of detector scores into probabilities, and how well calibrated they are.

Platt scaling: p_synthetic = sigmoid(slope * (-bonafide_log_odds) + intercept + log(prior / (1 - prior))), slope > 0,
so the map is monotone (more bona fide-looking audio never gets a higher p_synthetic). Slope and intercept are fitted
with both classes weighted equally; `synthetic_prior` then states how common synthetic speech is where the detector
is used (0.5: as common as real speech; a shipped detector may assume less, so that real messages, the great majority
of what people receive, are not left `uncertain` by a weak likelihood ratio). Bayes' rule: the prior only moves the
log-odds, so rankings and EER are unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

N_BINS = 10


@dataclass(frozen=True)
class Calibration:
    slope: float = 1.0
    intercept: float = 0.0
    synthetic_prior: float = 0.5

    def __post_init__(self) -> None:
        if not self.slope > 0:
            raise ValueError(f"calibration slope must be positive (monotone map), got {self.slope}")
        if not 0 < self.synthetic_prior < 1:
            raise ValueError(f"synthetic_prior must be between 0 and 1 (exclusive), got {self.synthetic_prior}")

    def p_synthetic(self, bonafide_log_odds: np.ndarray | float) -> np.ndarray:
        """Probability in [0, 1] that the audio is synthetic, given the prior."""
        prior_log_odds = np.log(self.synthetic_prior / (1 - self.synthetic_prior))
        z = self.slope * -np.asarray(bonafide_log_odds, dtype=np.float64) + self.intercept + prior_log_odds
        return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))

    def to_dict(self) -> dict:
        return asdict(self)


# which channel's calibration a file gets, by the codec its container declares (voxtwin.audio's decoder names, FFmpeg's and
# libsndfile's); AAC (.m4a) has no map of its own and takes MP3's, the nearer of the two measured (detect/MODEL_CARD.md)
CODEC_CHANNELS = {"opus": "opus", "libopus": "opus", "mp3": "mp3", "mp3float": "mp3", "mpeg_layer_iii": "mp3", "aac": "mp3"}
CALIBRATION_CHANNELS = ("clean", "opus", "mp3", "telephone")  # a checkpoint's `calibration_by_channel` keys (clean: its `calibration`)


def calibration_channel(codec: str | None, *, narrow_band: bool) -> str:
    """The channel whose calibration applies: `telephone` for audio without its band above 4 kHz (whatever carried it),
    else the container's lossy codec, else `clean`."""
    if narrow_band:
        return "telephone"
    return CODEC_CHANNELS.get((codec or "").lower(), "clean")


def at_prior(p_synthetic: np.ndarray | float, prior: float, *, from_prior: float = 0.5) -> np.ndarray:
    """p_synthetic computed under `from_prior`, restated under `prior` (Bayes' rule moves only the log-odds)."""
    if not (0 < prior < 1 and 0 < from_prior < 1):
        raise ValueError(f"priors must be between 0 and 1 (exclusive), got {prior} and {from_prior}")
    p = np.clip(np.asarray(p_synthetic, dtype=np.float64), 1e-12, 1 - 1e-12)
    z = np.log(p / (1 - p)) + np.log(prior / (1 - prior)) - np.log(from_prior / (1 - from_prior))
    return 1.0 / (1.0 + np.exp(-z))


def fit_platt(bonafide_log_odds: np.ndarray, is_synthetic: np.ndarray) -> Calibration:
    """Fit Platt scaling by logistic regression with balanced class weights (equal priors)."""
    from sklearn.linear_model import LogisticRegression

    x = -np.asarray(bonafide_log_odds, dtype=np.float64)[:, None]
    y = np.asarray(is_synthetic, dtype=int)
    if y.min() == y.max():
        raise ValueError("calibration needs both bona fide and synthetic examples")
    model = LogisticRegression(class_weight="balanced", C=1e4).fit(x, y)
    slope = float(model.coef_[0, 0])
    return Calibration(slope=max(slope, 1e-6), intercept=float(model.intercept_[0]))


def expected_calibration_error(p_synthetic: np.ndarray, is_synthetic: np.ndarray, *, n_bins: int = N_BINS, balanced: bool = True) -> float:
    """ECE with equal-width bins. With balanced=True the two classes are weighted equally, matching the
    equal-prior calibration (test sets here hold far more of one class than a user's inbox would)."""
    p = np.asarray(p_synthetic, dtype=np.float64)
    y = np.asarray(is_synthetic, dtype=np.float64)
    weights = np.ones_like(p)
    if balanced:
        n_pos = max(y.sum(), 1)
        n_neg = max(len(y) - y.sum(), 1)
        weights = np.where(y == 1, 0.5 / n_pos, 0.5 / n_neg)
    weights = weights / weights.sum()
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            w = weights[in_bin]
            ece += w.sum() * abs(np.average(y[in_bin], weights=w) - np.average(p[in_bin], weights=w))
    return float(ece)
