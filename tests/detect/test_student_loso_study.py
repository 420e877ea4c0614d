"""The distilled student in the leave-one-source-out study: `distill_frontend.py --loso-safe` keeps every page of
../shared/data that holds synthetic speech (its real half too) away from the student, and the study reads the
student's frames exactly as it reads the teacher's last layer, so the two rows compare front-ends, not layouts;
`--teacher tuned` copies `default`'s CNN (its fine-tuned last convolution), not the published one."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from detect.datasets.trial import Trial
from detect.models.distillmos_linear import build_encoder
from detect.models.student_cnn import TEACHER_WIDTHS, pruned_from, save_student
from voxtwin.testing import speechlike

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
sys.path.insert(0, str(RECIPES / "detector_v2"))
sys.path.insert(0, str(RECIPES / "default_detector"))

from distill_frontend import without_spoof_bearing_pages  # noqa: E402
from front_ends import StudentStats  # noqa: E402
from layers_loso import LayerStats  # noqa: E402


def _trial(source: str, spoof: bool, n: int) -> Trial:
    return Trial(Path(f"{source}/{n}.wav"), "spoof" if spoof else "bonafide", "x" if spoof else "-", f"{source}-spk", str(n), source=source)


def test_loso_safe_training_keeps_no_file_of_a_page_with_synthetic_speech():
    trials = [_trial("vits_demo", True, 0), _trial("vits_demo", False, 1),  # a paired page: both halves go
              _trial("nii_nsf", True, 2),  # a fake-only page
              _trial("librispeech", False, 3), _trial("vctk", False, 4),  # real-only corpora stay
              _trial("voxtwin_kokoro", True, 5), _trial("voxtwin_clone", True, 6)]  # the project's own speech stays
    kept = without_spoof_bearing_pages(trials, {"voxtwin_kokoro", "voxtwin_clone"})
    assert [t.source for t in kept] == ["librispeech", "vctk", "voxtwin_kokoro", "voxtwin_clone"]
    # without the own-speech list, the project's fakes count as pages with synthetic speech like any other
    assert [t.source for t in without_spoof_bearing_pages(trials, set())] == ["librispeech", "vctk"]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_full_width_student_reads_exactly_the_teachers_last_layer_statistics(tmp_path, monkeypatch):
    student = pruned_from(build_encoder(pretrained=True).eval(), TEACHER_WIDTHS)  # keeps every filter: the teacher itself
    weights = save_student(student, tmp_path / "student.safetensors", metadata={})
    monkeypatch.setattr(StudentStats, "WEIGHTS", weights)
    window = speechlike(duration_s=4.0, seed=3)
    ours, teachers = StudentStats()(window), LayerStats()(window)[5].astype(np.float32)
    assert ours.shape == teachers.shape == (2048,)
    # fp16 weights and the cache's fp16 statistics apart, the same numbers in the same order
    np.testing.assert_allclose(ours, teachers, rtol=0.02, atol=2e-3)
    other = StudentStats()(speechlike(duration_s=4.0, seed=4, f0_hz=210.0))
    assert not np.allclose(other, ours, rtol=0.02, atol=2e-3)  # and they depend on the audio


def test_the_tuned_teacher_is_defaults_cnn_and_the_published_one_is_not():
    from distill_frontend import teacher_cnn

    from detect.models.tuned_last_block import last_block, load_last_block

    tuned, published, shipped = last_block(teacher_cnn("tuned")), last_block(teacher_cnn("published")), load_last_block()
    assert torch.equal(tuned.weight, shipped.weight.float()) and torch.equal(tuned.bias, shipped.bias.float())
    assert not torch.allclose(published.weight, shipped.weight.float())


@pytest.mark.parametrize("teacher", ["published", "tuned", None])
def test_export_records_which_teacher_the_student_copied(tmp_path, teacher):
    """The shipped student's header says which CNN it copied: a `--teacher tuned` run also names the tuned layer's hash
    (the published CNN's hash alone would describe the wrong teacher); runs that did not record it say nothing."""
    import json

    from distill_frontend import export
    from safetensors import safe_open

    from detect.models.student_cnn import StudentCNN, load_student
    from detect.models.tuned_last_block import last_block_sha256

    student = StudentCNN((8, 8, 8, 8, 8, 256))
    torch.save({"student": student.state_dict(), "widths": list(student.widths), "step": 3, "settings": {}, "history": [{"step": 3, "valid_explained_variance": 0.5}]}, tmp_path / "student_last.pt")
    if teacher:
        (tmp_path / "settings.json").write_text(json.dumps({"teacher": teacher}))
    target = tmp_path / "student.safetensors"
    export(tmp_path, target)
    with safe_open(str(target), framework="pt") as f:
        info = json.loads(f.metadata()["info"])
    assert info.get("teacher") == teacher
    assert ("teacher_last_block_sha256" in info) == (teacher == "tuned")
    if teacher == "tuned":
        assert info["teacher_last_block_sha256"] == last_block_sha256()
    assert load_student(target).widths == (8, 8, 8, 8, 8, 256)


def test_a_run_resumes_only_under_the_teacher_it_began_with(tmp_path):
    import json

    from distill_frontend import refuse_another_teacher

    refuse_another_teacher(tmp_path, "tuned")  # nothing begun: any teacher
    (tmp_path / "settings.json").write_text(json.dumps({"teacher": "published"}))
    refuse_another_teacher(tmp_path, "tuned")  # settings written, no checkpoint yet: a fresh start
    (tmp_path / "student_last.pt").write_bytes(b"")
    refuse_another_teacher(tmp_path, "published")
    with pytest.raises(SystemExit, match="began with --teacher published"):
        refuse_another_teacher(tmp_path, "tuned")
    (tmp_path / "settings.json").write_text(json.dumps({"files": 3}))  # before the teacher was recorded: the published CNN
    with pytest.raises(SystemExit, match="began with --teacher published"):
        refuse_another_teacher(tmp_path, "tuned")
