"""Statistics whose real-vs-synthetic direction agrees across pages: a cue that synthesis moves the same way on every
page is kept, one that flips from page to page (a recording chain's, not synthesis's) is dropped."""

import numpy as np
import pytest

from detect.stable_statistics import direction_agreement, stable_columns


def pages_of_windows(seed: int = 0):
    rng = np.random.default_rng(seed)
    pages = np.repeat([f"page{i}" for i in range(6)], 200)
    is_spoof = np.tile([False, True], 600)
    x = rng.standard_normal((len(pages), 3))
    x[:, 0] += is_spoof * 1.0  # synthesis raises it on every page
    x[:, 1] += is_spoof * np.where(np.isin(pages, ["page0", "page1", "page2"]), 1.0, -1.0)  # up on half the pages, down on the rest
    return x, is_spoof, pages


def test_a_cue_that_flips_between_pages_is_dropped():
    x, is_spoof, pages = pages_of_windows()
    agreement, n_pages = direction_agreement(x, is_spoof, pages)
    assert n_pages == 6
    assert agreement[0] == 1.0 and agreement[1] == 0.5 and 0.5 <= agreement[2] < 0.8  # the third is noise
    assert stable_columns(x, is_spoof, pages, 0.8).tolist() == [True, False, False]
    assert stable_columns(x, is_spoof, pages, 0.5).all()


def test_single_class_pages_do_not_vote_and_bad_shares_are_refused():
    x, is_spoof, pages = pages_of_windows()
    real_only = np.full(300, "corpus")  # a real-only corpus whose windows sit far off: it has no direction to give
    x2 = np.vstack([x, np.full((300, 3), 50.0)])
    agreement, n_pages = direction_agreement(x2, np.concatenate([is_spoof, np.zeros(300, bool)]), np.concatenate([pages, real_only]))
    assert n_pages == 6 and agreement[0] == 1.0
    with pytest.raises(ValueError, match="between 0.5 and 1"):
        stable_columns(x, is_spoof, pages, 0.3)
    with pytest.raises(ValueError, match="both classes"):
        direction_agreement(x[~is_spoof], is_spoof[~is_spoof], pages[~is_spoof])
