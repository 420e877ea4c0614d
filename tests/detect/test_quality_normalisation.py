"""The quality-conditioned score normalisation study (recipes/detector_v2/quality_normalisation.py): its covariates
read recording conditions, and its normaliser takes out a condition's score shift learnt from other pages' real files."""

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from quality_normalisation import COVARIATES, normalised, pooled_bootstrap, recording_quality  # noqa: E402

from detect.metrics import eer  # noqa: E402

SR = 16_000
FLOOR, RANGE, ROLLOFF, TILT, HIGH_SHARE, DURATION = range(len(COVARIATES))


def _noise(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    return 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SR))


def test_band_limited_noise_reads_a_low_rolloff_and_a_falling_tilt():
    white = recording_quality(_noise())
    low_passed = recording_quality(scipy.signal.sosfilt(scipy.signal.butter(8, 3000, fs=SR, output="sos"), _noise()))
    assert white[ROLLOFF] > 7.5 and low_passed[ROLLOFF] < 3.5
    assert low_passed[HIGH_SHARE] < white[HIGH_SHARE] - 20
    assert low_passed[TILT] < white[TILT] - 2


def test_pauses_lower_the_floor_and_widen_the_range():
    steady = recording_quality(_noise())
    paused = recording_quality(np.concatenate([1e-4 * _noise(1.0, seed=1), _noise()]))
    assert paused[FLOOR] < steady[FLOOR] - 30 and paused[RANGE] > steady[RANGE] + 30
    assert paused[DURATION] > steady[DURATION]


def _pages(rng: np.random.Generator, n_pages: int = 8, per_class: int = 40):
    """Pages whose real and fake files share a recording condition that shifts every score by the same amount."""
    scores, covariates, labels, sources = [], [], [], []
    for page in range(n_pages):
        condition = rng.normal(0, 2)
        for label in (0, 1):
            c = condition + 0.1 * rng.standard_normal(per_class)
            scores.append(3 * c + (1.0 if label == 0 else -1.0) + 0.5 * rng.standard_normal(per_class))  # bona fide log-odds
            covariates.append(np.column_stack([c, rng.standard_normal(per_class)]))
            labels.append(np.full(per_class, label))
            sources.append(np.full(per_class, f"page{page}"))
    return np.concatenate(scores), np.vstack(covariates), np.concatenate(labels), np.concatenate(sources)


def test_a_shared_condition_shift_is_taken_out_and_pooled_eer_falls():
    scores, covariates, labels, sources = _pages(np.random.default_rng(0))
    before = eer(scores[labels == 0], scores[labels == 1])[0]
    after_scores = normalised(scores, covariates, labels, sources)
    after = eer(after_scores[labels == 0], after_scores[labels == 1])[0]
    assert before > 0.2 and after < 0.05
    gain = pooled_bootstrap({"clean": scores, "unchanged": scores}, {"clean": after_scores, "unchanged": scores}, labels, sources, draws=200)
    assert gain["clean"]["high"] < 0 and gain["unchanged"]["low"] == gain["unchanged"]["high"] == 0
    assert gain["mean"]["mean"] == pytest.approx(gain["clean"]["mean"] / 2)  # the channels' mean, a channel with no change counting


def test_a_held_out_page_never_shapes_its_own_shift():
    scores, covariates, labels, sources = _pages(np.random.default_rng(1))
    changed = scores.copy()
    page0 = sources == "page0"
    changed[page0] += 50.0  # only page 0's own scores move
    a, b = normalised(scores, covariates, labels, sources), normalised(changed, covariates, labels, sources)
    np.testing.assert_allclose(b[page0] - a[page0], 50.0, atol=1e-9)  # its shift came from the other pages alone


def test_centred_normalisation_ignores_the_covariates_absolute_level():
    scores, covariates, labels, sources = _pages(np.random.default_rng(2))
    shifted = covariates + np.array([-50.0, 7.0])  # e.g. a floor in dB far from 0: the same pages, another origin
    np.testing.assert_allclose(normalised(scores, shifted, labels, sources, centred=True), normalised(scores, covariates, labels, sources, centred=True), atol=1e-9)
    uncentred = normalised(scores, shifted, labels, sources) - normalised(scores, covariates, labels, sources)
    assert np.ptp([uncentred[sources == page].mean() for page in np.unique(sources)]) > 0.1  # each fold's slopes times the level
