"""The detectors shipped inside the package (`default`, `fast`): load with safetensors, are small, calibrated, and score."""

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from detect.detector import SHIPPED, Detector, shipped_or_path
from voxtwin.cli import DEMO_AUDIO

MAX_BYTES = 3 * 1024 * 1024
MAX_HALF_BYTES = 10 * 1024 * 1024  # model weights in float16 may be larger


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_weights_are_safetensors_and_small(name):
    """Under 3 MiB, or float16 matrices under 10 MiB (the repository's rule for shipped weights)."""
    path = SHIPPED[name].with_name(SHIPPED[name].name + ".safetensors")
    with safe_open(str(path), framework="pt") as f:
        tensors = {key: f.get_tensor(key) for key in f.keys()}
    assert len(tensors) > 0
    if path.stat().st_size >= MAX_BYTES:
        assert path.stat().st_size < MAX_HALF_BYTES
        assert all(t.dtype == torch.float16 for t in tensors.values() if t.ndim >= 2)
    meta = json.loads(SHIPPED[name].with_name(SHIPPED[name].name + ".json").read_text())
    assert meta["format"] == "voxtwin.checkpoint" and meta["scoring"]["calibration"]["slope"] > 0
    assert not {"resume"} & set(meta["training"]), "the shipped checkpoint carries no optimiser state"


def test_default_is_the_distillmos_detector_and_fast_the_spectral_one():
    assert Detector.load(device="cpu").name.startswith("distillmos-student-fine-vote@")
    assert Detector.load("fast", device="cpu").name.startswith("spectral-linear@")


def test_default_runs_on_the_shipped_student_it_was_fitted_on():
    """Since 2026.12-7 `default` reads the distilled StudentCNN; its fp16 weights ship beside the heads, small, and the
    checkpoint's pin is the hash of the shipped file, whose tensors are the encoder the detector runs."""
    from detect.models.distillmos_linear import weights_sha256
    from detect.models.student_cnn import WEIGHTS_FILE, load_student

    assert WEIGHTS_FILE.stat().st_size < MAX_BYTES
    with safe_open(str(WEIGHTS_FILE), framework="pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    detector = Detector.load(device="cpu")
    assert detector.model.config.student_sha256 == weights_sha256(WEIGHTS_FILE)
    shipped = load_student(WEIGHTS_FILE).state_dict()
    running = detector.model.encoder.state_dict()
    assert shipped.keys() == running.keys() and all(torch.equal(shipped[k].float(), running[k].float()) for k in shipped)


def test_the_tuned_layer_of_2026_12_6_still_ships():
    """2026.12-6 (the student's teacher) read DistillMOS with its last convolution fine-tuned; that layer stays in the
    package, small, so `distillmos-tuned-spectral-mlp` checkpoints and the student's recipe keep working."""
    from detect.models.tuned_last_block import LAST_BLOCK_FILE, load_last_block

    assert LAST_BLOCK_FILE.stat().st_size < MAX_BYTES
    assert load_last_block().weight.shape[0] > 0


def test_a_file_named_like_a_shipped_detector_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert shipped_or_path("fast") == SHIPPED["fast"]
    (tmp_path / "fast").write_text("")
    assert str(shipped_or_path("fast")) == "fast"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_detectors_score_the_demo_messages(name):
    detector = Detector.load(name, device="cpu")
    real = detector.score_file(DEMO_AUDIO / "real_librispeech_1688-142285-0001.opus")
    tts = detector.score_file(DEMO_AUDIO / "tts_piper_joe.opus")
    assert real.error is None and tts.error is None
    assert 0 <= real.p_synthetic <= 1 and 0 <= tts.p_synthetic <= 1
    assert tts.p_synthetic > real.p_synthetic
    assert real.speech_s > 4 and len(real.segments) >= 2


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_calibrated_probabilities_are_monotone_in_the_score(name):
    detector = Detector.load(name, device="cpu")
    p = detector.calibration.p_synthetic(np.linspace(-30, 30, 601))
    assert np.all(np.diff(p) <= 0) and p.min() >= 0 and p.max() <= 1
