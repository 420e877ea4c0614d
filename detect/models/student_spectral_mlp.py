"""`default` since 2026.12-7: the statistics and hidden-layer head of distillmos-spectral-mlp on the distilled
StudentCNN instead of DistillMOS's CNN: ~3.4x less CNN time on AVX2 kernels with the wider student
(32-32-64-128-128-256), so that `default` passes 100x real time on CPUs without native bfloat16 too.

In leave-one-source-out on ../shared/data the wider student, distilled without any page that holds synthetic speech,
read as well as the teacher under this head (recipes/detector_v2/README.md, "The distilled student,
leave-one-source-out"); through 2026.12-6's recipe it was 1.24 points worse on the calibration set (the rule allowed
1) at 3x the throughput under AVX2 kernels, and distilled from `default`'s tuned CNN 1.10 points better (the candidate
for `default` 2026.12-7; detect/MODEL_CARD.md). `default` since 2026.12-7: the student's weights ship in
detect/weights/student_cnn.safetensors (recipes/default_detector/distill_frontend.py --export); the head is pinned to
their SHA-256 as in distillmos-student-spectral-linear.
"""

from __future__ import annotations

from dataclasses import dataclass

from detect.models.distillmos_spectral_mlp import DistillMOSSpectralMLP, DistillMOSSpectralMLPConfig, pinned_statistics_name
from detect.models.registry import MODELS
from detect.models.student_spectral_linear import attach_student


@dataclass(frozen=True)
class StudentSpectralMLPConfig(DistillMOSSpectralMLPConfig):
    """distillmos-spectral-mlp's settings and the student's SHA-256 the head was fitted on ("" = not checked)."""

    student_sha256: str = ""

    @classmethod
    def tiny(cls) -> "StudentSpectralMLPConfig":
        return cls(pretrained=False, hidden=8)


@MODELS.register("distillmos-student-spectral-mlp")
class StudentSpectralMLP(DistillMOSSpectralMLP):
    Config = StudentSpectralMLPConfig

    @property
    def statistics_of(self) -> str:
        """The recipe caches window statistics under this name: one cache per student, never another's."""
        return pinned_statistics_name("student", self.config.student_sha256)

    def attach_encoder(self, config: StudentSpectralMLPConfig) -> None:
        attach_student(self, config)
