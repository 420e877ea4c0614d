"""The detector shipped inside the package: loads with safetensors, is small, calibrated, and scores."""

import json

import numpy as np
from safetensors import safe_open

from detect.detector import DEFAULT_WEIGHTS, Detector
from voxtwin.cli import DEMO_AUDIO

MAX_BYTES = 3 * 1024 * 1024


def test_shipped_weights_are_safetensors_and_small():
    path = DEFAULT_WEIGHTS.with_name(DEFAULT_WEIGHTS.name + ".safetensors")
    assert path.stat().st_size < MAX_BYTES
    with safe_open(str(path), framework="pt") as f:
        assert len(list(f.keys())) > 0
    meta = json.loads(DEFAULT_WEIGHTS.with_name(DEFAULT_WEIGHTS.name + ".json").read_text())
    assert meta["format"] == "voxtwin.checkpoint" and meta["scoring"]["calibration"]["slope"] > 0
    assert not {"resume"} & set(meta["training"]), "the shipped checkpoint carries no optimiser state"


def test_default_detector_scores_the_demo_messages():
    detector = Detector.load(device="cpu")
    real = detector.score_file(DEMO_AUDIO / "real_librispeech_1688-142285-0001.opus")
    tts = detector.score_file(DEMO_AUDIO / "tts_piper_joe.opus")
    assert real.error is None and tts.error is None
    assert 0 <= real.p_synthetic <= 1 and 0 <= tts.p_synthetic <= 1
    assert tts.p_synthetic > real.p_synthetic
    assert real.speech_s > 4 and len(real.segments) >= 4


def test_calibrated_probabilities_are_monotone_in_the_score():
    detector = Detector.load(device="cpu")
    p = detector.calibration.p_synthetic(np.linspace(-30, 30, 601))
    assert np.all(np.diff(p) <= 0) and p.min() >= 0 and p.max() <= 1
