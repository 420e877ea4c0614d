"""The student CNN's int8 twin (detect/models/student_cnn_int8.py): close to float32 with grids measured on speech,
far from it with wrong grids; its grids file is checked; the shipped grids pin the shipped student; and a detector
scores with it when asked."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from detect.models import build_model
from detect.models.distillmos_linear import cnn_frames, weights_sha256
from detect.models.student_cnn import WEIGHTS_FILE, StudentCNN, compressed_spectrogram
from detect.models.student_cnn_int8 import (
    GRIDS_FILE,
    StudentCNNInt8,
    encoder_precision,
    int8_engine_available,
    measure_grids,
    read_grids,
    write_grids,
)
from detect.models.student_spectral_mlp import StudentSpectralMLPConfig
from voxtwin.errors import CheckpointError
from voxtwin.testing import speechlike

pytestmark = pytest.mark.skipif(not int8_engine_available(), reason="this PyTorch has no x86 quantized engine")
SR = 16_000


def _speech(seed: int, seconds: float = 2.0) -> torch.Tensor:
    return torch.from_numpy(speechlike(duration_s=seconds, seed=seed, f0_hz=100 + 15 * seed) * 1.8)[None]


def _student_and_grids() -> tuple[StudentCNN, object]:
    torch.manual_seed(0)
    student = StudentCNN().eval()
    with torch.inference_mode():
        grids = measure_grids(student, [compressed_spectrogram(_speech(seed)) for seed in range(4)], student_sha256="abc")
    return student, grids


@torch.inference_mode()
def test_the_twin_reproduces_float32_frames_with_measured_grids_and_not_with_wrong_ones():
    student, grids = _student_and_grids()
    wav = _speech(9, 3.0)  # not one the grids were measured on
    reference = student(wav)
    twin = StudentCNNInt8(student, grids)
    frames = twin(wav)
    assert frames.shape == reference.shape == (1, 1024, 150)
    error = float((frames - reference).norm() / reference.norm())
    assert error < 0.15, error
    coarse = dataclasses.replace(grids, layers=tuple((conv, (scale * 40, zero)) for conv, (scale, zero) in grids.layers))
    coarse_error = float((StudentCNNInt8(student, coarse)(wav) - reference).norm() / reference.norm())
    assert coarse_error > 2 * error  # the grids matter: the test can fail


def test_grids_round_trip_and_bad_files_are_one_line_errors(tmp_path):
    _, grids = _student_and_grids()
    path = write_grids(tmp_path / "grids.json", dataclasses.replace(grids, auto=True), info={"measured_on": "test"})
    assert read_grids(path) == dataclasses.replace(grids, auto=True)
    assert read_grids(tmp_path / "missing.json") is None
    record = json.loads(path.read_text())
    for broken, match in (("{not json", "unreadable int8 grids"), (json.dumps({**record, "format": "other"}), "not a voxtwin-student-cnn-int8-grids"),
                          (json.dumps({**record, "input": [-1.0, 0]}), "positive scale"), (json.dumps({**record, "layers": 3}), "unreadable")):
        path.write_text(broken)
        with pytest.raises(CheckpointError, match=match) as caught:
            read_grids(path)
        assert "\n" not in str(caught.value)
    path.write_text(" " * 300_000)
    with pytest.raises(CheckpointError, match="too large"):
        read_grids(path)
    student = StudentCNN()
    with pytest.raises(CheckpointError, match="int8 grids for 5 layers"):
        StudentCNNInt8(student, dataclasses.replace(grids, layers=grids.layers[:5]))


def test_the_shipped_grids_pin_the_shipped_student():
    grids = read_grids(GRIDS_FILE)
    assert grids is not None and grids.student_sha256 == weights_sha256(WEIGHTS_FILE)
    assert len(grids.layers) == 6


@torch.inference_mode()
def test_a_detector_runs_its_student_in_int8_only_when_it_has_grids_and_adds_the_int8_offset():
    student, grids = _student_and_grids()
    model = build_model("distillmos-student-spectral-mlp", **dataclasses.asdict(dataclasses.replace(StudentSpectralMLPConfig.tiny(), int8_logit_offset=0.5))).eval()
    model.encoder.load_state_dict(student.state_dict())
    wav = _speech(5, 3.0)
    assert encoder_precision(model.encoder, "int8", "cpu") == "fp32"  # no grids: int8 means float32
    fp32 = cnn_frames(model.encoder, wav, input_gain=1.0, precision="fp32")
    torch.testing.assert_close(cnn_frames(model.encoder, wav, input_gain=1.0, precision="int8"), fp32)
    model.encoder.int8_grids = grids
    assert encoder_precision(model.encoder, "int8", "cpu") == "int8"
    assert encoder_precision(model.encoder, "auto", "cpu") in ("fp32", "bf16")  # grids not marked as checked
    int8 = cnn_frames(model.encoder, wav, input_gain=1.0, precision="int8")
    assert not torch.equal(int8, fp32) and float((int8 - fp32).norm() / fp32.norm()) < 0.15
    stats = torch.randn(2, model.stats_dim)
    model.precision = "fp32"
    z32 = model.head(stats)
    model.precision = "int8"
    torch.testing.assert_close(model.head(stats), z32 + 0.5)


def test_default_scores_in_int8_when_asked_close_to_float32():
    from detect.detector import Detector

    wav = speechlike(duration_s=4.0, seed=3)
    fp32 = Detector.load("default", device="cpu", precision="fp32")
    int8 = Detector.load("default", device="cpu", precision="int8")
    assert int8.precision == "int8" and fp32.precision == "fp32"
    a, b = fp32.score(wav, SR), int8.score(wav, SR)
    assert abs(a.p_synthetic - b.p_synthetic) < 0.1
    assert np.isfinite(b.p_synthetic)


def test_detect_score_takes_int8_on_the_command_line(tmp_path):
    import json as json_module

    from typer.testing import CliRunner

    from voxtwin import audio
    from voxtwin.cli import app

    path = audio.save(tmp_path / "message.wav", speechlike(duration_s=3.0, seed=4), SR)
    runner = CliRunner()
    scores = {}
    for precision in ("fp32", "int8"):
        result = runner.invoke(app, ["detect", "score", str(path), "--json", "--precision", precision])
        assert result.exit_code in (0, 1), result.output
        scores[precision] = json_module.loads(result.stdout)
    (a,), (b,) = scores["fp32"], scores["int8"]  # one file, one result each
    assert abs(a["p_synthetic"] - b["p_synthetic"]) < 0.1
