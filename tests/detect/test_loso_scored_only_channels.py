"""Channels a leave-one-source-out study scores but never fits on (recipes/detector_v2: out_of_fold's `scored_only`,
fusion_loso.py --scored-only-channels): adding them must leave the fitted channels' scores and verdicts as they were.
And the codec copy it can fit on (fusion_loso.py --codec-copy): each file's windows through one codec, drawn per file."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from layers_loso import channel_results, cross_fitted_p_synthetic, out_of_fold  # noqa: E402


def _study(seed: int = 0):
    """Three sources of 12 files (6 real, 6 fake), two windows per file; one statistic that tells the classes apart."""
    rng = np.random.default_rng(seed)
    labels = np.tile(np.repeat([0, 1], 6), 3)
    sources = np.repeat(["a", "b", "c"], 12)
    owner = np.repeat(np.arange(len(labels)), 2)
    x = (labels[owner] + 0.6 * rng.standard_normal(len(owner)))[:, None]
    return labels, sources, owner, x


def test_a_scored_only_channel_changes_neither_the_fitted_channels_scores_nor_their_verdicts():
    labels, sources, owner, x = _study()
    fitted = {"clean": {"s": x, "owner": owner}}
    shifted = {"opus_16k": {"s": x + 5.0, "owner": owner}}  # a channel the head never saw, scored far off
    alone = out_of_fold(fitted, ("s",), labels, sources, c=1.0)
    both = out_of_fold(fitted, ("s",), labels, sources, c=1.0, scored_only=shifted)
    assert set(both) == {"clean", "opus_16k"}
    np.testing.assert_array_equal(alone["clean"], both["clean"])
    assert not np.allclose(both["clean"], both["opus_16k"])  # the extra channel was really scored

    p_alone = cross_fitted_p_synthetic(alone, sources, labels, prior=0.5)
    p_restricted = cross_fitted_p_synthetic(both, sources, labels, prior=0.5, calibrated_on=["clean"])
    p_pooled = cross_fitted_p_synthetic(both, sources, labels, prior=0.5)
    np.testing.assert_allclose(p_restricted["clean"], p_alone["clean"])
    assert not np.allclose(p_pooled["clean"], p_alone["clean"])  # pooling the extra channel would have moved them

    results = channel_results(both, labels, sources, prior=0.5, calibrated_on=["clean"])
    assert results["clean"]["verdicts"] == channel_results(alone, labels, sources, prior=0.5)["clean"]["verdicts"]
    assert results["clean"]["pooled_eer"] < 30 and set(results) == {"clean", "opus_16k"}


def test_a_codec_copy_takes_each_files_windows_whole_from_one_drawn_channel():
    from fusion_loso import codec_copy

    owner = np.repeat(np.arange(40), 3)
    opus = {"owner": owner, "s": np.full((len(owner), 2), 1.0)}
    mp3 = {"owner": owner[:-1], "s": np.full((len(owner) - 1, 2), 2.0)}  # a channel can cut one window fewer
    copy = codec_copy({"opus_16k": opus, "mp3_64k": mp3}, n_files=40)
    assert set(copy) == {"owner", "s"}
    for f in range(40):
        values = set(copy["s"][copy["owner"] == f, 0])
        assert len(values) == 1  # one codec per file
        assert (copy["owner"] == f).sum() == ((opus if values == {1.0} else mp3)["owner"] == f).sum()  # all of its windows
    drawn = {float(copy["s"][copy["owner"] == f, 0][0]) for f in range(40)}
    assert drawn == {1.0, 2.0}  # both codecs drawn over 40 files
    again = codec_copy({"mp3_64k": mp3, "opus_16k": opus}, n_files=40)
    np.testing.assert_array_equal(np.sort(again["owner"]), np.sort(copy["owner"]))  # the draw is fixed (seed 0), not the dict's order


def test_a_map_per_channel_undoes_a_channels_shift_that_the_pooled_map_turns_into_accusations():
    labels, sources, owner, x = _study(1)
    fitted = {"clean": {"s": x, "owner": owner}}
    shifted = {"opus_16k": {"s": x + 1.5, "owner": owner}}  # both classes look more synthetic through the codec
    scores = out_of_fold(fitted, ("s",), labels, sources, c=1.0, scored_only=shifted)
    results = channel_results(scores, labels, sources, prior=0.5, calibrated_on=["clean"], per_channel_maps=True)
    pooled, own = results["opus_16k"]["verdicts"], results["opus_16k"]["verdicts_per_channel_map"]
    assert pooled["real_files"]["synthetic"] > own["real_files"]["synthetic"]
    # a map fitted on one channel's own scores: on the fitted channel alone it is the pooled map
    assert results["clean"]["verdicts_per_channel_map"] == results["clean"]["verdicts"]
    assert "verdicts_per_channel_map" not in channel_results(scores, labels, sources, prior=0.5, calibrated_on=["clean"])["clean"]
