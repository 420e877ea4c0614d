"""The per-recording normalisation study (recipes/detector_v2/recording_norm_loso.py): subtracting the recording's
mean log spectrum removes a fixed colouring of the channel, which the plain per-bin mean carries."""

import sys
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from voxtwin import audio
from voxtwin.testing import speechlike

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from recording_norm_loso import cached_stats, smooth_across_bins  # noqa: E402

SR = 16_000


def test_a_fixed_colouring_moves_the_mean_but_not_the_mean_minus_the_recordings(tmp_path):
    wav = speechlike(duration_s=10.0, seed=3) + 0.003 * np.random.default_rng(0).standard_normal(10 * SR).astype(np.float32)
    coloured = lfilter([1.0, -0.9], [1.0], wav).astype(np.float32)  # a tilt, as a microphone or a codec's filter
    rows = []
    for name, x in (("plain", wav), ("coloured", coloured)):
        audio.save(tmp_path / f"{name}.wav", 0.5 * x / np.abs(x).max(), SR)
        rows.append({"path": f"{name}.wav", "label": "bonafide", "source": "test"})
    stats = cached_stats(rows, tmp_path, tmp_path / "cache", "clean")
    first = {owner: np.flatnonzero(stats["owner"] == owner) for owner in (0, 1)}
    assert len(first[0]) == len(first[1]) > 1

    def gap(name: str) -> float:
        return float(np.abs(stats[name][first[0]] - stats[name][first[1]]).mean())

    assert gap("mean") > 1.0  # the tilt moves the log power by up to ~6 nats
    assert gap("mean_minus_recording") < 0.1 * gap("mean")
    assert (tmp_path / "cache" / "recording-norm-clean.npz").is_file()


def test_the_envelope_keeps_smooth_shapes_and_leaves_a_narrow_peak_to_the_residual():
    flat = np.full((1, 257), 3.0)
    np.testing.assert_allclose(smooth_across_bins(flat), flat)  # edges too
    peaked = flat.copy()
    peaked[0, 100] += 5.0
    residual = peaked - smooth_across_bins(peaked)
    assert residual[0, 100] > 4.5 and np.abs(np.delete(residual[0], 100)).max() < 0.2
