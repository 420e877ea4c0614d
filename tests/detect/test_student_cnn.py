"""The distilled student of DistillMOS's CNN (detect/models/student_cnn.py, detect/frontend_distillation.py) and the
detector that reads it (detect/models/student_spectral_linear.py)."""

import dataclasses

import numpy as np
import pytest
import torch

from detect.checkpoints import save_detector
from detect.frontend_distillation import DistillationSettings, distill, explained_variance, frame_loss
from detect.models import build_model
from detect.models.distillmos_linear import build_encoder
from detect.models.student_cnn import STUDENT_WIDTHS, StudentCNN, compressed_spectrogram, load_student, pruned_from, save_student
from detect.models.student_spectral_linear import StudentSpectralLinearConfig
from detect.models.student_spectral_mlp import StudentSpectralMLPConfig
from voxtwin.errors import CheckpointError
from voxtwin.testing import speechlike

SR = 16_000


def test_spectrogram_is_distillmos_own_input():
    from distillmos.sqa import _complex_compressed

    wav = torch.from_numpy(speechlike(duration_s=1.0, seed=2))[None]
    torch.testing.assert_close(compressed_spectrogram(wav), _complex_compressed(wav, 160, 320).permute(0, 3, 1, 2))


@torch.inference_mode()
def test_student_frames_have_the_teachers_layout_and_pruning_keeps_the_strongest_filters():
    torch.manual_seed(0)
    teacher = build_encoder(pretrained=False).eval()
    student = pruned_from(teacher, STUDENT_WIDTHS).eval()
    wav = torch.randn(2, 3 * SR) * 0.1
    assert student(wav).shape == teacher(wav).shape == (2, 1024, 150)
    first_t, first_s = teacher.cnn[0], student.cnn[0]
    norms = first_t.weight.abs().sum(dim=(1, 2, 3))
    kept = torch.topk(norms, STUDENT_WIDTHS[0]).indices.sort().values
    torch.testing.assert_close(first_s.weight, first_t.weight[kept])
    # a student as wide as its teacher, pruned from it, is the teacher
    twin = pruned_from(teacher, (64, 64, 128, 256, 256, 256)).eval()
    torch.testing.assert_close(twin(wav), teacher(wav))


def test_loss_is_zero_for_a_perfect_copy_and_counts_quiet_dimensions():
    teacher = torch.randn(2, 4, 10)
    inverse_variance = 1 / teacher.var(dim=(0, 2))
    loss, parts = frame_loss(teacher.clone(), teacher, inverse_variance, stats_weight=1.0)
    assert float(loss) == 0 and explained_variance(teacher, teacher, inverse_variance) == 1.0
    quiet = teacher.clone()
    quiet[:, 0] *= 0.001  # a dimension 1000x quieter than the others
    inverse_variance = 1 / quiet.var(dim=(0, 2))
    off = quiet.clone()
    off[:, 0] += quiet[:, 0].std()  # off by one of its own standard deviations
    loss, parts = frame_loss(off, quiet, inverse_variance, stats_weight=0.0)
    assert parts["frames"] == pytest.approx(0.25, rel=1e-3)  # 1 of 4 dimensions, error 1 in its own units
    assert explained_variance(torch.zeros_like(quiet), quiet, inverse_variance) < 0.1  # all-zero frames explain ~nothing


def test_distillation_improves_the_copy_and_resumes(tmp_path):
    torch.manual_seed(0)
    teacher = build_encoder(pretrained=False).eval()
    waves = [(speechlike(duration_s=1.5, seed=s) * 20000).astype(np.int16) for s in range(6)]
    settings = DistillationSettings(widths=(8, 8, 16, 16, 16, 256), steps=12, batch_size=2, crop_samples=8000, save_every=6, learning_rate=3e-3, augment_prob=0.0)
    last = distill(teacher, waves[:4], waves[4:], tmp_path, settings)
    state = torch.load(last, weights_only=True)
    history = state["history"]
    assert [h["step"] for h in history] == [0, 6, 12]
    assert history[-1]["valid_explained_variance"] > history[0]["valid_explained_variance"]
    longer = dataclasses.replace(settings, steps=18)
    state = torch.load(distill(teacher, waves[:4], waves[4:], tmp_path, longer), weights_only=True)
    assert [h["step"] for h in state["history"]] == [0, 6, 12, 18]  # resumed, not restarted


def test_student_round_trips_through_fp16_safetensors(tmp_path):
    torch.manual_seed(0)
    student = StudentCNN((8, 8, 16, 16, 16, 256)).eval()
    path = save_student(student, tmp_path / "s.safetensors", metadata={"step": 1})
    loaded = load_student(path)
    assert loaded.widths == student.widths
    for (name, a), (_, b) in zip(student.state_dict().items(), loaded.state_dict().items()):
        torch.testing.assert_close(b, a.half().float(), msg=name)
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable student CNN weights"):
        load_student(tmp_path / "bad.safetensors")
    with pytest.raises(CheckpointError, match="student CNN weights not found"):
        load_student(tmp_path / "missing.safetensors")
    from voxtwin.weights_file import write_fp16_weights

    other = write_fp16_weights(student, tmp_path / "other.safetensors", fmt="voxtwin-vc", format_version=1, config_key="config",
                               config={"widths": list(student.widths)}, info={})
    with pytest.raises(CheckpointError, match="not voxtwin student CNN weights"):
        load_student(other)  # right tensors, another format: refused


@pytest.mark.parametrize("name, config, head_keys", [
    ("distillmos-student-spectral-linear", StudentSpectralLinearConfig.tiny(), {"out.weight", "out.bias"}),
    ("distillmos-student-spectral-mlp", StudentSpectralMLPConfig.tiny(), {"hidden.weight", "hidden.bias", "out.weight", "out.bias"}),
])
def test_detector_on_the_student_keeps_only_its_head_in_the_checkpoint(tmp_path, name, config, head_keys):
    torch.manual_seed(0)
    model = build_model(name, **dataclasses.asdict(config)).eval()
    wav = torch.from_numpy(speechlike(duration_s=5.0, seed=3))
    stats = model.span_stats(wav, [0, SR], 4 * SR)
    assert stats.shape == (2, 2 * 1024 + 3 * 257)
    path = save_detector(tmp_path / "d", model, name=name)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        assert set(f.keys()) == {"mean", "scale"} | head_keys


@pytest.mark.parametrize("name", ["distillmos-student-spectral-linear", "distillmos-student-spectral-mlp"])
def test_detector_reads_the_student_file_and_refuses_one_it_was_not_fitted_on(tmp_path, monkeypatch, name):
    from detect.models import student_spectral_linear
    from detect.models.distillmos_linear import weights_sha256

    monkeypatch.setattr(student_spectral_linear, "WEIGHTS_FILE", tmp_path / "student_cnn.safetensors")
    with pytest.raises(CheckpointError, match="distill_frontend.py"):
        build_model(name)
    torch.manual_seed(0)
    student = StudentCNN((8, 8, 16, 16, 16, 256)).eval()
    path = save_student(student, tmp_path / "student_cnn.safetensors", metadata={})
    model = build_model(name, student_sha256=weights_sha256(path))
    assert model.encoder.widths == (8, 8, 16, 16, 16, 256) and not any(p.requires_grad for p in model.encoder.parameters())
    with pytest.raises(CheckpointError, match="fitted on student CNN weights"):
        build_model(name, student_sha256="0" * 64)


def test_the_hidden_layer_heads_statistics_are_cached_per_student():
    """run.py caches window statistics under `statistics_of`: a head must never be fitted on another student's."""
    one = build_model("distillmos-student-spectral-mlp", pretrained=False, student_sha256="a" * 64)
    other = build_model("distillmos-student-spectral-mlp", pretrained=False, student_sha256="b" * 64)
    assert one.statistics_of != other.statistics_of and "a" * 12 in one.statistics_of
