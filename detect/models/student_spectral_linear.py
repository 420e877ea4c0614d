"""`distillmos-spectral-linear` with the distilled StudentCNN in place of DistillMOS's CNN: the same statistics
(2 x 1024 CNN + 3 x 257 spectral) and the same one logistic unit, ~4x less CNN work.

The student (detect/models/student_cnn.py) is read from detect/weights/student_cnn.safetensors (fp16, shipped since
`default` 2026.12-7 runs on it; recipes/default_detector/distill_frontend.py --export writes it). This linear-head
detector is not shipped: on the first, narrower student it lost 2 points of calibration-set EER against `default`
(detect/MODEL_CARD.md, "A distilled student CNN"). The head is ours and lives in the detector's checkpoint, pinned
to the student's SHA-256 so a checkpoint never runs on a student it was not fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass

from detect.models.distillmos_linear import freeze_as_encoder, weights_sha256
from detect.models.distillmos_spectral_linear import DistillMOSSpectralLinear
from detect.models.registry import MODELS
from detect.models.student_cnn import WEIGHTS_FILE, StudentCNN, load_student
from detect.models.student_cnn_int8 import int8_engine_available, read_grids
from voxtwin.errors import CheckpointError


@dataclass(frozen=True)
class StudentSpectralLinearConfig:
    pretrained: bool = True  # False builds the student with random weights (tests; nothing to load)
    student_sha256: str = ""  # SHA-256 of the student weights the head was fitted on ("" = not checked)
    input_gain: float = 1.8  # as distillmos-linear: the student was distilled on the teacher's input
    floor: float = 1e-8  # as spectral-linear
    spectral_mean: bool = True  # as distillmos-spectral-linear
    bf16_logit_offset: float = 0.0  # as distillmos-linear (recipes/default_detector/precision_offset.py)
    int8_logit_offset: float = 0.0  # as distillmos-linear (--precision int8)
    band_ceiling_hz: float = 0.0  # > 0: every signal low-passed there before the front-ends (voxtwin/band_ceiling.py); 0: the whole band

    @classmethod
    def tiny(cls) -> "StudentSpectralLinearConfig":
        return cls(pretrained=False)


def student_weights():
    """The student's weights (detect/weights/student_cnn.safetensors, in the package; the recipe's --export replaces them)."""
    if not WEIGHTS_FILE.is_file():
        raise CheckpointError(f"no student CNN weights at {WEIGHTS_FILE} (the package ships them: reinstall voxtwin); or make them with "
                              "recipes/default_detector/distill_frontend.py --out RUN, then --export " + str(WEIGHTS_FILE))
    return WEIGHTS_FILE


@MODELS.register("distillmos-student-spectral-linear")
class StudentSpectralLinear(DistillMOSSpectralLinear):
    Config = StudentSpectralLinearConfig

    def attach_encoder(self, config: StudentSpectralLinearConfig) -> None:
        attach_student(self, config)


def attach_student(model, config) -> None:
    """The exported student as `model`'s frozen encoder, refused when it is not the one `config.student_sha256` pins
    (tests, `pretrained = False`: a random student), with its int8 grids when the shipped ones were measured on it."""
    if config.pretrained:
        path = student_weights()
        found = weights_sha256(path)
        if config.student_sha256 and found != config.student_sha256:
            raise CheckpointError(f"this detector was fitted on student CNN weights {config.student_sha256[:12]}, {WEIGHTS_FILE} has "
                                  f"{found[:12]}; export the student the detector was fitted on")
        encoder = load_student(path)
        grids = read_grids()
        if grids is not None and grids.student_sha256 == found and int8_engine_available():
            encoder.int8_grids = grids
    else:
        encoder = StudentCNN().eval()
    freeze_as_encoder(model, encoder)
