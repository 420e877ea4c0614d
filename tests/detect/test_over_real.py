"""The over-real reading of the detector studies (recipes/detector_v2/over_real.py): which pages' fakes score above
almost every real file, and a two-sided reading whose ceiling a held-out page never sets."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from over_real import over_real_shares, real_ceilings, two_sided  # noqa: E402

from detect.metrics import eer  # noqa: E402


def _pool(rng: np.random.Generator, over_real_page: bool = True):
    """Three pages, 100 real and 100 fake files each (scores are bona fide log-odds); the last page's fakes score far
    above every real file when `over_real_page`."""
    scores, labels, sources = [], [], []
    for page in range(3):
        fake_mean = 12.0 if over_real_page and page == 2 else -3.0
        scores += [rng.normal(2.0, 1.5, 100), rng.normal(fake_mean, 1.0, 100)]
        labels += [np.zeros(100, int), np.ones(100, int)]
        sources += [np.full(200, f"page{page}")]
    return np.concatenate(scores), np.concatenate(labels), np.concatenate(sources)


def _eer(scores: np.ndarray, labels: np.ndarray) -> float:
    return eer(scores[labels == 0], scores[labels == 1])[0]


def test_an_over_real_page_is_found_and_the_two_sided_reading_catches_it():
    scores, labels, sources = _pool(np.random.default_rng(0))
    q = real_ceilings(scores, labels, sources, 95.0)
    shares = over_real_shares(scores, q, labels, sources)
    assert shares["page2"] > 0.95 and shares["page0"] == shares["page1"] == 0.0
    held = sources == "page2"
    two = two_sided(scores, q)
    assert _eer(scores[held], labels[held]) > 0.9 and _eer(two[held], labels[held]) < 0.1
    # pages whose fakes score low keep their ranking: only the few real files above q move
    for page in ("page0", "page1"):
        keep = sources == page
        assert abs(_eer(two[keep], labels[keep]) - _eer(scores[keep], labels[keep])) < 0.05


def test_a_held_out_page_never_sets_its_own_ceiling():
    scores, labels, sources = _pool(np.random.default_rng(1))
    q = real_ceilings(scores, labels, sources, 95.0)
    moved = scores.copy()
    moved[(sources == "page0") & (labels == 0)] += 100.0  # page0's own real files, far above everything
    q_moved = real_ceilings(moved, labels, sources, 95.0)
    assert np.allclose(q_moved[sources == "page0"], q[sources == "page0"])
    assert np.all(q_moved[sources != "page0"] > q[sources != "page0"])
