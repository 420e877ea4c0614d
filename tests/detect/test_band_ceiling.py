"""A detector with a band ceiling (voxtwin/band_ceiling.py) reads the same recording the same whether it arrives at 16 kHz
or at 48 kHz (where the loader's resampler removes everything above ~7.6 kHz), and its training statistics are those of
the same ceiled signal."""

import json

import numpy as np
import pytest
import torch

from detect.checkpoints import save_detector
from detect.detector import Detector
from detect.frozen_head import file_stats
from detect.models import build_model
from voxtwin import audio
from voxtwin.band_ceiling import ceiled
from voxtwin.errors import CheckpointError
from voxtwin.testing import speechlike

SR = 16_000
TOP_BINS = slice(236, 257)  # 7.4-8 kHz of spectral-linear's 257 per-bin mean log powers (the first statistics)
FLOOR_LOG = float(np.log(1e-8))  # spectral-linear's power floor: where a ceiled top band ends up


def recording(seed: int = 0) -> np.ndarray:
    """Speech-like vowels over a microphone's noise floor, which fills the band to 8 kHz as a 16 kHz recording does."""
    rng = np.random.default_rng(seed)
    return (speechlike(duration_s=5.0, seed=seed) + 0.005 * rng.standard_normal(5 * SR)).astype(np.float32)


def top_band_reader(ceiling_hz: float):
    """spectral-linear whose head reads only the mean log power above 7.4 kHz: log-odds 0 when that band is empty."""
    model = build_model("spectral-linear", band_ceiling_hz=ceiling_hz).eval()
    with torch.no_grad():
        model.out.weight.zero_()
        model.out.weight[0, TOP_BINS] = 0.01
        model.out.bias.fill_(-0.01 * (TOP_BINS.stop - TOP_BINS.start) * FLOOR_LOG)
    return model


def detector(tmp_path, ceiling_hz: float) -> Detector:
    path = save_detector(tmp_path / f"ceiling-{ceiling_hz:.0f}", top_band_reader(ceiling_hz), name="spectral-linear",
                         scoring={"calibration": {"slope": 1.0, "intercept": 0.0}, "window_s": 4.0, "version": "test"})
    return Detector.load(path, device="cpu")


def logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def test_the_same_recording_handed_over_at_48k_reads_the_same_under_a_ceiling_and_not_without(tmp_path):
    wav = recording()
    at_48k = audio.resample(wav, SR, 48_000)
    moved = {}
    for ceiling_hz in (0.0, 7000.0):
        d = detector(tmp_path, ceiling_hz)
        moved[ceiling_hz] = abs(logit(d.score(wav, SR).p_synthetic) - logit(d.score(at_48k, 48_000).p_synthetic))
    assert moved[0.0] > 1.0  # the whole band: the resampler's roll-off above 7.6 kHz reads as a different file
    assert moved[7000.0] < 0.01  # under the ceiling both top bands are empty


def test_training_statistics_are_those_of_the_ceiled_signal():
    wav = recording(1)
    ceiled_model, whole_model = top_band_reader(7000.0), top_band_reader(0.0)
    kept = file_stats(ceiled_model, wav, window=4 * SR, hop=SR)
    np.testing.assert_allclose(kept, file_stats(whole_model, ceiled(wav, 7000.0), window=4 * SR, hop=SR), atol=1e-6)
    assert np.abs(kept - file_stats(whole_model, wav, window=4 * SR, hop=SR))[:, TOP_BINS].min() > 5  # nats: the band was there


@pytest.mark.parametrize("bad", [9000.0, 200.0, "high"])
def test_a_checkpoint_with_a_ceiling_out_of_range_is_refused_in_one_line(tmp_path, bad):
    path = save_detector(tmp_path / "model", top_band_reader(7000.0), name="spectral-linear", scoring={"window_s": 4.0})
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["config"]["band_ceiling_hz"] = bad
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="bad config") as caught:
        Detector.load(path, device="cpu")
    assert "\n" not in str(caught.value)
