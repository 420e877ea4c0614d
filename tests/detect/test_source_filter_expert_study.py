"""The source-filter expert study (recipes/detector_v2/source_filter_expert_loso.py) must keep its folds honest: a held-out
source's own copies never train the expert that scores it, and its scores are put on a scale set by other sources only."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from source_filter_expert_loso import expert_out_of_fold, normalised_by_other_reals  # noqa: E402


def _windows(rng, n_files: int, shift: float, first_owner: int = 0) -> dict:
    owner = np.repeat(np.arange(first_owner, first_owner + n_files), 2)
    return {"layer5": (rng.standard_normal((len(owner), 6)) + shift).astype(np.float16),
            "spectral": rng.standard_normal((len(owner), 3)).astype(np.float16), "owner": owner}


def test_a_held_out_sources_own_copies_never_reach_its_scores():
    rng = np.random.default_rng(0)
    labels = np.zeros(30, dtype=int)
    sources = np.array(["a"] * 10 + ["b"] * 10 + ["c"] * 10)
    features = {"clean": _windows(rng, 30, 0.0)}
    copies = {"clean": _windows(rng, 30, 1.0)}  # each real file's copy, shifted: the expert learns the shift
    before = expert_out_of_fold(features, copies, labels, sources, c=1.0)["clean"]
    moved = {"clean": dict(copies["clean"])}
    of_a = sources[moved["clean"]["owner"]] == "a"
    moved["clean"]["layer5"] = moved["clean"]["layer5"].copy()
    moved["clean"]["layer5"][of_a] -= 5  # source a's copies changed beyond recognition
    after = expert_out_of_fold(features, moved, labels, sources, c=1.0)["clean"]
    np.testing.assert_allclose(after[sources == "a"], before[sources == "a"])  # a is scored by a fold without them
    assert np.abs(after[sources == "b"] - before[sources == "b"]).max() > 1e-3  # the folds that train on them move


def test_each_source_is_scaled_by_the_other_sources_real_files_only():
    labels = np.array([0, 0, 0, 1, 0, 0, 0, 1])
    sources = np.array(["a"] * 4 + ["b"] * 4)
    spoof = np.array([0.0, 1.0, 2.0, 5.0, 10.0, 11.0, 12.0, 20.0])
    z = normalised_by_other_reals(spoof, labels, sources)
    median_b, tail_b = 11.0, np.percentile([10.0, 11.0, 12.0], 95)
    np.testing.assert_allclose(z[:4], (spoof[:4] - median_b) / (tail_b - median_b))
    changed = spoof.copy()
    changed[:3] += 100  # a's own real files do not set a's scale
    np.testing.assert_allclose(normalised_by_other_reals(changed, labels, sources)[3], z[3])
