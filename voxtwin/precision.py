"""One rule for inference precision: bfloat16 for the big convolution stacks where the hardware runs it natively and
the output passed its quality check, float32 everywhere else.

The two costly networks users wait for, DistillMOS's CNN (the `default` detector's front-end) and HiFi-GAN V1 (the
converter's vocoder), run ~2x faster under bfloat16 autocast on a CPU with AVX512-BF16 or AMX (and on a CUDA GPU),
with outputs within ~0.4 % (CNN frames) and ~3 % (waveform) of float32. On a CPU without native bfloat16 the same
autocast is emulated and slower, so "auto" keeps float32 there, or would pick 8-bit integers for a network whose
int8 form passed its check (none yet: the default detector's student CNN has one, ~1.7x faster than float32 on AVX2
kernels, opt-in by name; detect/models/student_cnn_int8.py). Heads, calibration, judges and training stay float32.

    precision: "auto", "fp32" (always; reproduces float32 output exactly), "bf16" (always, also where emulated) or
    "int8" (on the CPU, for networks with an int8 form; float32 for the others). "auto" is bf16 where native for
    networks whose bf16 output passed its check (the CNN: same EER and verdicts, detect/MODEL_CARD.md, Speed) and
    fp32 for the others (HiFi-GAN: VCC 2016 WER +1.4 points, voice/converter/MODEL_CARD.md, "On a CPU with native
    bfloat16"); where bf16 is not native, int8 for a network whose int8 form passed its check, else fp32.
    $VOXTWIN_PRECISION sets the default for every command.
"""

from __future__ import annotations

import contextlib
import functools
import os

import torch

from voxtwin.errors import VoxtwinError

PRECISIONS = ("auto", "fp32", "bf16", "int8")
PRECISION_ENV = "VOXTWIN_PRECISION"


class PrecisionError(VoxtwinError):
    """A precision name other than auto, fp32, bf16 or int8."""


# oneDNN's instruction-set caps ($ONEDNN_MAX_CPU_ISA) under which its bfloat16 kernels are emulated, whatever the CPU has
ONEDNN_ISA_ENV = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")
ISAS_WITHOUT_NATIVE_BF16 = frozenset({"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"})


def onednn_isa_cap() -> str:
    """The instruction set oneDNN is capped at by the environment ("" when it may use all the CPU has)."""
    return next((os.environ[name].strip().upper() for name in ONEDNN_ISA_ENV if os.environ.get(name, "").strip()), "")


@functools.cache
def native_bf16(device_type: str) -> bool:
    """Whether bfloat16 matrix arithmetic is native on this kind of device (CPU: AVX512-BF16 or AMX tiles, unless
    $ONEDNN_MAX_CPU_ISA keeps oneDNN below them: then its bfloat16 convolutions are emulated, 4-15x slower than
    float32, so "auto" must not pick them; the cap also lets an AVX-512 machine measure an AVX2-only one's speed)."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        if onednn_isa_cap() in ISAS_WITHOUT_NATIVE_BF16:
            return False
        checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
        return any(check() for check in checks if check is not None)
    return False


def requested_precision(precision: str | None = None) -> str:
    """The precision name asked for (None: $VOXTWIN_PRECISION, else "auto"), checked but not resolved: what a
    worker on another machine resolves for itself."""
    name = (precision or os.environ.get(PRECISION_ENV) or "auto").strip().lower()
    if name not in PRECISIONS:
        source = "precision" if precision else f"${PRECISION_ENV}"
        raise PrecisionError(f"unknown {source} {name!r}; use {', '.join(PRECISIONS)}")
    return name


def resolve_precision(
    precision: str | None = None, device: str | torch.device = "cpu", *, auto_bf16: bool = True, int8: bool = False, auto_int8: bool = False
) -> str:
    """"fp32", "bf16" or "int8" for `precision` (None: $VOXTWIN_PRECISION, else "auto") on `device`. auto_bf16=False:
    a network whose bfloat16 output did not pass its quality check keeps float32 under "auto" (bf16 only by name).
    int8: the network has an int8 form that runs here (else "int8" means fp32); auto_int8: its int8 output passed
    its quality check, so "auto" picks it on a CPU without native bfloat16."""
    name = requested_precision(precision)
    device_type = torch.device(device).type
    int8_here = int8 and device_type == "cpu"
    if name == "auto":
        if auto_bf16 and native_bf16(device_type):
            return "bf16"
        return "int8" if int8_here and auto_int8 else "fp32"
    if name == "int8":
        return "int8" if int8_here else "fp32"
    return name


def inference_precision(precision: str | None, device: str | torch.device) -> contextlib.AbstractContextManager:
    """A context in which matrix products and convolutions run in the resolved precision (outputs may be bfloat16:
    cast them back with .float())."""
    device = torch.device(device)
    if resolve_precision(precision, device) == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
