import numpy as np
import torch
from torch import nn

import pytest

from detect.frozen_head import WindowStats, fit_head, source_folds_of
from detect.source_weights import source_balanced_weights


def test_every_source_weighs_the_same_within_its_class_and_the_classes_the_same():
    sources = np.array(["libri"] * 6 + ["vctk"] * 2 + ["page_a"] * 9 + ["page_b"] * 1 + ["page_c"] * 2)
    labels = np.array([0] * 8 + [1] * 12)
    weights = source_balanced_weights(sources, labels)
    assert np.isclose(weights.mean(), 1.0)
    totals = {s: weights[sources == s].sum() for s in np.unique(sources)}
    assert np.isclose(totals["libri"], totals["vctk"])
    assert np.isclose(totals["page_a"], totals["page_b"]) and np.isclose(totals["page_b"], totals["page_c"])
    assert np.isclose(weights[labels == 0].sum(), weights[labels == 1].sum())


class _TinyHead(nn.Module):
    """What fit_head fills in: standardisation and one logistic unit."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dims))
        self.register_buffer("scale", torch.ones(dims))
        self.out = nn.Linear(dims, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out((x - self.mean) / self.scale).squeeze(-1)


def test_source_weighting_lets_a_small_page_teach_the_head_its_cue():
    # real speech near 0; a large page is synthetic along dimension 0, a small one along dimension 1 only
    rng = np.random.default_rng(0)
    real = rng.normal(0, 1, (400, 2))
    large = rng.normal([3, 0], 1, (400, 2))
    small = rng.normal([0, 3], 1, (8, 2))
    stats = np.vstack([real, large, small]).astype(np.float32)
    sources = np.array(["corpus"] * 400 + ["large_page"] * 400 + ["small_page"] * 8)
    bonafide = sources == "corpus"
    train = WindowStats(stats, np.arange(len(stats)))
    valid = WindowStats(stats, np.arange(len(stats)))
    probe = torch.tensor([[0.0, 3.0]])  # a window like the small page's
    synthetic_log_odds = {}
    for weighting in ("class", "source"):
        head = _TinyHead(2)
        fit_head(head, train, bonafide, valid, bonafide, c_grid=(1.0,), train_sources=sources, weighting=weighting)
        with torch.no_grad():
            synthetic_log_odds[weighting] = -float(head(probe))  # the head scores bona fide log-odds
    assert synthetic_log_odds["source"] > synthetic_log_odds["class"] + 1.0


def test_source_folds_hold_out_whole_sources_of_similar_size():
    file_sources = np.array(["a"] * 50 + ["b"] * 40 + ["c"] * 30 + ["d"] * 20 + ["e"] * 10 + ["f"] * 5)
    owner = np.arange(len(file_sources))
    folds = source_folds_of(file_sources, owner, 3)
    assert set(folds) == set(file_sources) and set(folds.values()) == {0, 1, 2}
    sizes = [sum((file_sources == s).sum() for s, f in folds.items() if f == k) for k in range(3)]
    assert sorted(sizes) == [50, 50, 55]  # a, b, c start the three folds; each smaller one joins the lightest


def test_choosing_c_by_source_folds_scores_every_file_by_a_head_that_never_saw_its_source():
    rng = np.random.default_rng(1)
    sources = np.array([f"real_{i}" for i in range(4) for _ in range(30)] + [f"page_{i}" for i in range(4) for _ in range(30)])
    bonafide = np.array([s.startswith("real") for s in sources])
    centre = {s: rng.normal(0, 1, 4) + (0 if s.startswith("real") else np.array([2.0, 0, 0, 0])) for s in np.unique(sources)}
    stats = np.stack([centre[s] + rng.normal(0, 1, 4) for s in sources]).astype(np.float32)
    train = WindowStats(stats, np.arange(len(stats)))
    result = fit_head(_TinyHead(4), train, bonafide, train, bonafide, c_grid=(0.01, 1.0), train_sources=sources, source_folds=4)
    grid = {float(k): v for k, v in result["source_fold_grid"].items()}
    assert result["C"] == min(grid, key=grid.get)
    assert all(0 <= v < 50 for v in grid.values())  # the shared cue (dimension 0) carries to unseen pages
    with pytest.raises(ValueError, match="train_sources"):
        fit_head(_TinyHead(4), train, bonafide, train, bonafide, source_folds=4)
    with pytest.raises(ValueError, match="weighting"):
        fit_head(_TinyHead(4), train, bonafide, train, bonafide, train_sources=sources, weighting="speaker")
