"""The distilled StudentCNN in 8-bit integer arithmetic, for CPUs without native bfloat16.

`default` spends most of its time in the student's six convolutions. On an AVX2-only CPU bfloat16 is emulated (slower
than float32), but 8-bit integer convolutions (PyTorch's quantized kernels, fbgemm) run ~1.3-1.45x faster than
float32 there (detect/MODEL_CARD.md, "int8 for the student CNN"). Weights are quantized per output channel from the shipped float32 student when the twin is built;
activations need fixed grids (scale, zero point) at the input and after each convolution and LeakyReLU, which must come from real
audio: recipes/default_detector/int8_grids.py measures them on training files and writes
detect/weights/student_cnn_int8.json, pinned to the student's SHA-256 so grids never meet another student. The
frames differ from float32 by a few percent, so the head's log-odds move by a nearly constant amount that the
detector's `int8_logit_offset` takes back (recipes/default_detector/precision_offset.py --precision int8).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from detect.models.student_cnn import StudentCNN, compressed_spectrogram
from voxtwin.errors import CheckpointError
from voxtwin.precision import resolve_precision

# PyTorch 2.14 warns that quantized tensors will leave a future release; the twin is only built where they work
# (int8_engine_available), and the warning would reach every user's terminal, once per scoring process
warnings.filterwarnings("ignore", message="torch.quantize_per_tensor, torch.quantize_per_channel", category=UserWarning)

GRIDS_FILE = Path(__file__).resolve().parents[1] / "weights" / "student_cnn_int8.json"
GRIDS_FORMAT, GRIDS_FORMAT_VERSION = "voxtwin-student-cnn-int8-grids", 1
MAX_GRIDS_BYTES = 256 * 1024
NEGATIVE_SLOPE = 0.1  # the student's LeakyReLU
# weights on 7 bits (+-63): an AVX2 CPU without VNNI multiplies unsigned 8-bit activations by signed weights in pairs
# summed into 16 bits (vpmaddubsw), which saturates past 32767 with 8-bit weights (255 x 127 x 2) and so gave other
# answers than on AVX-512 VNNI (log-odds spread 0.37 against 0.18 on training files); 255 x 63 x 2 never saturates,
# so every x86 CPU computes the same integers
WEIGHT_LEVELS = 63


Grid = tuple[float, int]  # (scale, zero point) of an unsigned 8-bit tensor


@dataclass(frozen=True)
class ActivationGrids:
    """Where the student's activations sit on the 8-bit grid: its input spectrogram, and for each layer the
    convolution's output and the LeakyReLU's (which keeps only a tenth of the negative range, so it gets a finer grid
    of its own). `bias_corrections`: per layer, what each output channel's rounding takes away on average, added
    back to its bias (the head reads frame means, which rounding would otherwise shift: 2.0 -> 0.8 % on training
    files). `auto`: whether precision "auto" may pick int8 (set once its check passed)."""

    student_sha256: str
    input: Grid
    layers: tuple[tuple[Grid, Grid], ...]
    bias_corrections: tuple[tuple[float, ...], ...] = ()
    auto: bool = False


@functools.cache
def int8_engine_available() -> bool:
    """Whether this PyTorch build has quantized tensors and an x86 quantized engine (fbgemm or oneDNN) to run the
    twin; where it has not (another CPU family, or a future PyTorch without quantized tensors), int8 means float32."""
    try:
        engines = torch.backends.quantized.supported_engines
        torch.quantize_per_tensor(torch.zeros(1), 1.0, 0, torch.quint8)
        _ = torch.ao.nn.quantized.Conv2d, torch.ao.nn.quantized.LeakyReLU
    except (AttributeError, RuntimeError, NotImplementedError):
        return False
    return any(name in engines for name in ("x86", "fbgemm", "onednn"))


def int8_form(encoder: nn.Module | None) -> ActivationGrids | None:
    """The grids of `encoder`'s int8 twin, or None when it has none (not a student, or no grids measured on it)."""
    return getattr(encoder, "int8_grids", None) if isinstance(encoder, StudentCNN) else None


def encoder_precision(encoder: nn.Module | None, precision: str | None, device: str | torch.device) -> str:
    """What `precision` (voxtwin/precision.py) resolves to for a detector's `encoder` on `device`: int8 only for a
    student CNN with an int8 form, and under "auto" only where its grids passed their check."""
    grids = int8_form(encoder)
    return resolve_precision(precision, device, int8=grids is not None, auto_int8=bool(grids and grids.auto))


_TWINS: "weakref.WeakKeyDictionary[StudentCNN, StudentCNNInt8]" = weakref.WeakKeyDictionary()


def int8_twin(student: StudentCNN) -> "StudentCNNInt8":
    """`student`'s int8 twin, built on first use (weights quantized in a few milliseconds) and kept while it lives."""
    twin = _TWINS.get(student)
    if twin is None:
        grids = int8_form(student)
        if grids is None:
            raise CheckpointError("this student CNN has no int8 grids measured on its weights")
        twin = _TWINS[student] = StudentCNNInt8(student, grids).eval()
    return twin


def measure_grids(student: StudentCNN, spectrograms: list[Tensor], *, student_sha256: str = "") -> ActivationGrids:
    """Grids for the student's input, each convolution's output and each LeakyReLU's, by PyTorch's histogram
    observer (the clipping range that minimises the quantization error over `spectrograms`, each (1, 2, 161, frames)
    from compressed_spectrogram)."""
    from torch.ao.quantization.observer import HistogramObserver

    convs = _convs(student)
    observers = [HistogramObserver(dtype=torch.quint8) for _ in range(2 * len(convs) + 1)]
    with torch.no_grad():
        for spectrogram in spectrograms:
            h = spectrogram
            observers[0](h)
            for i, conv in enumerate(convs):
                h = conv(h)
                observers[1 + 2 * i](h)
                h = nn.functional.leaky_relu(h, NEGATIVE_SLOPE)
                observers[2 + 2 * i](h)
    found = [(float(scale), int(zero_point)) for scale, zero_point in (observer.calculate_qparams() for observer in observers)]
    grids = ActivationGrids(student_sha256, found[0], tuple((found[1 + 2 * i], found[2 + 2 * i]) for i in range(len(convs))))
    return dataclasses.replace(grids, bias_corrections=_bias_corrections(student, grids, spectrograms))


def _bias_corrections(student: StudentCNN, grids: ActivationGrids, spectrograms: list[Tensor]) -> tuple[tuple[float, ...], ...]:
    """Layer by layer, the mean of (float32 output - int8 output) per channel over `spectrograms`, the int8 path
    running with the corrections of the layers before it (so each layer also takes back what reached it)."""
    convs, corrections = _convs(student), []
    inputs = list(spectrograms)  # each spectrogram's float32 input to the current layer, advanced one layer at a time
    with torch.no_grad():
        for i, conv in enumerate(convs):
            partial = dataclasses.replace(grids, layers=grids.layers[: i + 1], bias_corrections=tuple(corrections) + ((0.0,) * conv.out_channels,))
            twin = StudentCNNInt8(student, partial, layers=i + 1)
            total, count = torch.zeros(conv.out_channels, dtype=torch.float64), 0
            for k, spectrogram in enumerate(spectrograms):
                reference = conv(inputs[k])
                difference = reference - twin.last_convolution(spectrogram)
                total += difference.double().sum(dim=(0, 2, 3))
                count += difference.shape[0] * difference.shape[2] * difference.shape[3]
                inputs[k] = nn.functional.leaky_relu(reference, NEGATIVE_SLOPE)
            corrections.append(tuple(float(v) for v in total / max(count, 1)))
    return tuple(corrections)


class StudentCNNInt8(nn.Module):
    """(B, T) 16 kHz -> (B, 1024, frames) like StudentCNN.forward, with 8-bit weights and activations."""

    def __init__(self, student: StudentCNN, grids: ActivationGrids, *, layers: int | None = None) -> None:
        """layers: build only the first ones (measure_grids, layer by layer); None: all, as the grids must cover."""
        super().__init__()
        convs = _convs(student)[:layers]
        if len(grids.layers) != len(convs) or (grids.bias_corrections and len(grids.bias_corrections) != len(convs)):
            raise CheckpointError(f"int8 grids for {len(grids.layers)} layers, but the student has {len(convs)}")
        corrections = grids.bias_corrections or [None] * len(convs)
        for conv, correction in zip(convs, corrections):
            if correction is not None and len(correction) != conv.out_channels:
                raise CheckpointError(f"int8 grids: {len(correction)} bias corrections for a layer of {conv.out_channels} channels")
        self.input_scale, self.input_zero_point = grids.input
        with _packing_engine():
            self.convs = nn.ModuleList(_quantized_conv(conv, *conv_grid, correction) for conv, (conv_grid, _), correction in zip(convs, grids.layers, corrections))
        self.activations = nn.ModuleList(torch.ao.nn.quantized.LeakyReLU(*grid, NEGATIVE_SLOPE) for _, grid in grids.layers)

    def forward(self, wav: Tensor) -> Tensor:
        h = self._quantized_input(compressed_spectrogram(wav))
        for conv, activation in zip(self.convs, self.activations):
            h = activation(conv(h))
        return torch.flatten(h.dequantize(), 1, -2)

    def last_convolution(self, spectrogram: Tensor) -> Tensor:
        """The last built layer's convolution output (before its LeakyReLU), in float32: what bias correction compares."""
        h = self._quantized_input(spectrogram)
        for conv, activation in zip(self.convs[:-1], self.activations[:-1]):
            h = activation(conv(h))
        return self.convs[-1](h).dequantize()

    def _quantized_input(self, spectrogram: Tensor) -> Tensor:
        return torch.quantize_per_tensor(spectrogram, self.input_scale, self.input_zero_point, torch.quint8)


@contextlib.contextmanager
def _packing_engine():
    """Pack the weights for fbgemm where it exists, as PyTorch's default "x86" engine does on CPUs without AVX-512
    VNNI. On CPUs with it "x86" picks oneDNN, which builds a kernel for every new input length (30-80 ms the first
    time on an Intel Xeon with AMX: `default` one file at a time 91x on a first pass, 180x once warm); fbgemm has no
    such start-up cost, and the same integers come out everywhere."""
    before = torch.backends.quantized.engine
    if "fbgemm" in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = "fbgemm"
    try:
        yield
    finally:
        torch.backends.quantized.engine = before


def _convs(student: StudentCNN) -> list[nn.Conv2d]:
    return [layer for layer in student.cnn if isinstance(layer, nn.Conv2d)]


def _quantized_conv(conv: nn.Conv2d, scale: float, zero_point: int, bias_correction: tuple[float, ...] | None = None) -> nn.Module:
    """`conv` with symmetric per-output-channel weights (7 bits, WEIGHT_LEVELS), its bias corrected, and its output
    on the (scale, zero point) grid."""
    weight = conv.weight.detach().float().contiguous()
    weight_scales = (weight.abs().amax(dim=(1, 2, 3)) / WEIGHT_LEVELS).clamp_min(1e-12).double()
    weight_q = torch.quantize_per_channel(weight, weight_scales, torch.zeros_like(weight_scales, dtype=torch.long), 0, torch.qint8)
    quantized = torch.ao.nn.quantized.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding)
    bias = torch.zeros(conv.out_channels) if conv.bias is None else conv.bias.detach().float().clone()
    if bias_correction is not None:
        bias += torch.tensor(bias_correction, dtype=torch.float32)
    quantized.set_weight_bias(weight_q, bias)
    quantized.scale, quantized.zero_point = float(scale), int(zero_point)
    return quantized


def write_grids(path: Path, grids: ActivationGrids, *, info: dict) -> Path:
    """The grids as a small JSON file (format and version named; `info` says what they were measured on)."""
    record = {"format": GRIDS_FORMAT, "format_version": GRIDS_FORMAT_VERSION, "student_sha256": grids.student_sha256,
              "input": list(grids.input), "layers": [[list(conv), list(activation)] for conv, activation in grids.layers],
              "bias_corrections": [list(layer) for layer in grids.bias_corrections], "auto": grids.auto, "info": info}
    path = Path(path)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def read_grids(path: Path = GRIDS_FILE) -> ActivationGrids | None:
    """The shipped grids, or None when there is no file. A file that is not a grids file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_GRIDS_BYTES:
        raise CheckpointError(f"{path}: {path.stat().st_size} bytes is too large for int8 grids (at most {MAX_GRIDS_BYTES})")
    try:
        record = json.loads(path.read_text())
        if record.get("format") != GRIDS_FORMAT or record.get("format_version") != GRIDS_FORMAT_VERSION:
            raise ValueError(f"not a {GRIDS_FORMAT} v{GRIDS_FORMAT_VERSION} file")
        layers = tuple((_grid(conv), _grid(activation)) for conv, activation in record["layers"])
        corrections = tuple(tuple(float(v) for v in layer) for layer in record.get("bias_corrections", []))
        if not all(math.isfinite(v) for layer in corrections for v in layer):
            raise ValueError("a bias correction is not a finite number")
        return ActivationGrids(str(record["student_sha256"]), _grid(record["input"]), layers, corrections, bool(record.get("auto", False)))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: unreadable int8 grids ({exc})") from None


def _grid(pair) -> Grid:
    scale, zero_point = float(pair[0]), int(pair[1])
    if not (scale > 0 and math.isfinite(scale)) or not 0 <= zero_point <= 255:
        raise ValueError(f"a grid needs a positive scale and a zero point in 0-255, got {pair}")
    return scale, zero_point
