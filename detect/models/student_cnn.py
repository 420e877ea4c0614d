"""A narrower copy of DistillMOS's CNN, distilled to reproduce its 1024-d frames at a fraction of the cost.

`default` spends ~95 % of its time in DistillMOS's CNN (64-64-128-256-256-256 channels over a compressed complex
spectrogram). The student keeps the same input, kernels, strides and output layout (256 channels x 4 frequency rows,
50 frames per second, after the same LeakyReLU), so a window-statistics head reads it exactly as it reads the
teacher, but its inner layers are narrower. It starts from the teacher's own filters (the strongest ones of each
layer, `pruned_from`) and is then trained to copy the teacher's frames (detect/frontend_distillation.py,
recipes/default_detector/distill_frontend.py), which exports it as fp16 safetensors (loaded without pickle).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from voxtwin.weights_file import read_fp16_weights, write_fp16_weights

TEACHER_WIDTHS = (64, 64, 128, 256, 256, 256)
STUDENT_WIDTHS = (32, 32, 64, 96, 128, 256)  # ~4.5x faster than the teacher on 2 AVX2 cores (30 s of speech)
HOP_LENGTH, WIN_LENGTH = 160, 320  # DistillMOS's STFT: 10 ms hop, 20 ms Hann window, no centring
WEIGHTS_FILE = Path(__file__).resolve().parents[1] / "weights" / "student_cnn.safetensors"


def compressed_spectrogram(wav: Tensor) -> Tensor:
    """DistillMOS's input, computed by the distillmos package itself (its pinned version; the student must see
    exactly what the teacher sees): the complex STFT with its magnitude compressed to the power 0.3.

    Args:
        wav: (B, T) 16 kHz.
    Returns:
        (B, 2, 161, frames) real and imaginary parts, frames = 1 + (T - 160) // 160.
    """
    from distillmos.sqa import _complex_compressed

    return _complex_compressed(wav, HOP_LENGTH, WIN_LENGTH).permute(0, 3, 1, 2)


class StudentCNN(nn.Module):
    """(B, T) 16 kHz -> (B, 1024, frames) like DistillMOS's CNN, with inner widths `widths[:-1]`."""

    def __init__(self, widths: tuple[int, ...] = STUDENT_WIDTHS) -> None:
        super().__init__()
        if len(widths) != len(TEACHER_WIDTHS) or widths[-1] != TEACHER_WIDTHS[-1]:
            raise ValueError(f"a student has {len(TEACHER_WIDTHS)} layers ending in {TEACHER_WIDTHS[-1]} channels, got {widths}")
        self.widths = tuple(int(w) for w in widths)
        # activation grids for the int8 twin (detect/models/student_cnn_int8.py), set by attach_student when the shipped
        # grids were measured on these very weights; None: no int8 form
        self.int8_grids = None
        layers, previous = [], 2
        for i, width in enumerate(self.widths):
            stride = (2 if i >= 1 else 1, 2 if i == len(self.widths) - 1 else 1)  # (frequency, time), as the teacher
            layers += [nn.Conv2d(previous, width, (3, 3), stride=stride, padding=(0, 1)), nn.LeakyReLU(0.1, inplace=True)]
            previous = width
        self.cnn = nn.Sequential(*layers)

    def forward(self, wav: Tensor) -> Tensor:
        return torch.flatten(self.cnn(compressed_spectrogram(wav)), 1, -2)


def pruned_from(teacher: nn.Module, widths: tuple[int, ...] = STUDENT_WIDTHS) -> StudentCNN:
    """A student whose every filter is one of the teacher's: in each layer the `width` output channels with the
    largest L1 weight norm, and of each kept filter only the input channels the previous layer kept. The last
    layer keeps all of its outputs, so the student's frames start as a degraded copy of the teacher's."""
    student = StudentCNN(widths)
    teacher_convs = [m for m in teacher.modules() if isinstance(m, nn.Conv2d)]
    student_convs = [m for m in student.modules() if isinstance(m, nn.Conv2d)]
    kept_inputs = torch.arange(2)
    with torch.no_grad():
        for t, s in zip(teacher_convs, student_convs):
            strength = t.weight[:, kept_inputs].abs().sum(dim=(1, 2, 3))
            kept = torch.sort(torch.topk(strength, s.out_channels).indices).values
            s.weight.copy_(t.weight[kept][:, kept_inputs])
            s.bias.copy_(t.bias[kept])
            kept_inputs = kept
    return student


STUDENT_FORMAT, STUDENT_FORMAT_VERSION = "voxtwin-student-cnn", 1
MAX_STUDENT_BYTES = 16 * 1024**2  # a full-width student in fp16 is ~3 MB


def save_student(student: StudentCNN, path: Path, *, metadata: dict) -> Path:
    """fp16 safetensors (voxtwin/weights_file.py) with the widths and `metadata` (teacher hash, training run)."""
    return write_fp16_weights(student, Path(path), fmt=STUDENT_FORMAT, format_version=STUDENT_FORMAT_VERSION, config_key="config",
                              config={"widths": list(student.widths)}, info=metadata)


def load_student(path: Path = WEIGHTS_FILE) -> StudentCNN:
    """The student in float32 (no pickle; voxtwin/weights_file.py's checks: size, format, version, shapes)."""
    student, _ = read_fp16_weights(path, fmt=STUDENT_FORMAT, format_version=STUDENT_FORMAT_VERSION, config_key="config", what="student CNN weights",
                                   max_bytes=MAX_STUDENT_BYTES, build=lambda config: StudentCNN(tuple(config["widths"])))
    return student
