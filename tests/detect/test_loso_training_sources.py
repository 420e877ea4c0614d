"""The leave-one-source-out studies' fit restricted to some sources (recipes/detector_v2: layers_loso.out_of_fold's
`train_sources`, fusion_loso.py --train-on paired): a page's channel cannot teach the head where both classes share it."""

import sys
from pathlib import Path

import numpy as np
import pytest

from detect.paired_sources import sources_with_both_classes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from layers_loso import out_of_fold  # noqa: E402


def _group(rng, n, f0, f1):
    return np.column_stack([f0 + 0.5 * rng.standard_normal(n), f1 + 0.5 * rng.standard_normal(n)])


def test_fitting_on_paired_sources_ignores_a_channel_that_only_real_only_and_fake_only_sources_carry():
    rng = np.random.default_rng(0)
    n = 60
    # (source, label 1 = spoof, feature 0 = a synthesis cue, feature 1 = the channel)
    groups = [("P", 0, 2, 0), ("P", 1, -2, 0),          # a page with both classes: only the cue separates them
              ("R", 0, 0, 3), ("F", 1, 0, -3),          # a real-only corpus and a fake-only page on different channels
              ("T", 0, 2, -3), ("T", 1, -2, 3)]         # a page whose channels run the other way
    x = np.vstack([_group(rng, n, f0, f1) for _, _, f0, f1 in groups]).astype(np.float32)
    labels = np.repeat([g[1] for g in groups], n)
    sources = np.repeat([g[0] for g in groups], n)
    features = {"clean": {"f": x, "owner": np.arange(len(x))}}
    assert sources_with_both_classes(labels == 1, sources) == {"P", "T"}

    def margin(train_sources):
        scores = out_of_fold(features, ("f",), labels, sources, c=1.0, train_sources=train_sources)["clean"]  # bona fide log-odds
        held = sources == "T"
        return scores[held & (labels == 0)].mean() - scores[held & (labels == 1)].mean()

    every, paired = margin(None), margin(sources_with_both_classes(labels == 1, sources))
    assert paired > 2 and paired > every + 2  # fitted where the channel says nothing, the head reads the cue


def test_sources_with_both_classes_names_only_mixed_sources():
    assert sources_with_both_classes([0, 1, 0, 0, 1, 1], ["a", "a", "b", "b", "c", "c"]) == {"a"}
    assert sources_with_both_classes([], []) == set()


    with pytest.raises(ValueError, match="one class and one source per file"):
        sources_with_both_classes([0, 1], ["a"])
