"""Nuisance attribute projection of the corpora (recipes/detector_v2/recording_nuisance.py): the directions along which
real recordings differ by source are found from real rows only and projected out; a real-vs-made direction stays."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from recording_nuisance import ProjectedScaler, corpus_directions  # noqa: E402


class _Identity:
    def transform(self, x):
        return x


def _pool(seed: int = 0):
    """Three corpora whose real rows sit apart along feature 0 (and the telephone channel along feature 2); made rows
    lie along feature 1 in every corpus."""
    rng = np.random.default_rng(seed)
    rows, real, sources, channels = [], [], [], []
    for i, source in enumerate(["vctk", "libri", "demo"]):
        for channel, offset in (("clean", 0.0), ("telephone_8k", 5.0)):
            for made in (0, 1):
                z = 0.1 * rng.standard_normal((50, 4))
                z[:, 0] += 3.0 * i
                z[:, 1] += 2.0 * made
                z[:, 2] += offset
                rows.append(z)
                real += [made == 0] * 50
                sources += [source] * 50
                channels += [channel] * 50
    return np.vstack(rows), np.array(real), np.array(sources), np.array(channels)


def test_the_corpus_direction_is_found_and_removed_the_made_direction_stays():
    z, real, sources, channels = _pool()
    u = corpus_directions(z, real, sources, channels, k=1)
    assert u.shape == (4, 1) and abs(u[0, 0]) > 0.99  # the corpora's axis, not the channel's (2) nor the made one (1)
    projected = ProjectedScaler(_Identity(), u).transform(z)
    by_source = [projected[real & (sources == s)].mean(0) for s in np.unique(sources)]
    assert np.ptp([m[0] for m in by_source]) < 0.1  # the corpora no longer differ along feature 0
    assert projected[~real, 1].mean() - projected[real, 1].mean() > 1.9  # the made rows still stand apart


def test_no_more_directions_than_the_means_span():
    z, real, sources, channels = _pool(1)
    u = corpus_directions(z, real, sources, channels, k=10)
    assert u.shape[1] <= 4 and np.allclose(u.T @ u, np.eye(u.shape[1]), atol=1e-8)


def test_in_a_study_the_projection_takes_the_corpus_out_of_real_files_scores():
    """Through out_of_fold (fusion_loso.py --nuisance-dims): two real-only corpora sit apart from the paired pages
    along one statistic, which a head reads as 'real'; projected out, real files score alike whatever their corpus."""
    from layers_loso import out_of_fold

    rng = np.random.default_rng(0)
    sources = np.repeat(["vctk", "libri", "page_a", "page_b", "page_c"], 20)
    labels = np.where(np.isin(sources, ["vctk", "libri"]), 0, np.tile(np.repeat([0, 1], 10), 5))
    owner = np.repeat(np.arange(len(labels)), 2)
    x = 0.3 * rng.standard_normal((len(owner), 2))
    x[:, 0] += np.where(np.isin(sources[owner], ["vctk", "libri"]), 3.0, 0.0)  # the real-only corpora's recording chain
    x[:, 1] += labels[owner]  # what generation leaves
    features = {"clean": {"s": x, "owner": owner}}
    plain = out_of_fold(features, ("s",), labels, sources, c=1.0)["clean"]
    projected = out_of_fold(features, ("s",), labels, sources, c=1.0, nuisance_dims=1)["clean"]

    def corpus_gap(scores):
        real = labels == 0
        return abs(scores[real & np.isin(sources, ["vctk", "libri"])].mean() - scores[real & ~np.isin(sources, ["vctk", "libri"])].mean())

    assert corpus_gap(projected) < 0.25 * corpus_gap(plain)
    fake, real_paired = labels == 1, (labels == 0) & ~np.isin(sources, ["vctk", "libri"])
    assert projected[real_paired].mean() - projected[fake].mean() > 1.0  # bona fide log-odds: paired real above made
