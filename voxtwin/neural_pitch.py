"""F0 from FCPE, a neural pitch tracker (torchfcpe: RVC's F0 model, MIT, its weights inside the wheel).

WORLD's DIO + StoneMask (voxtwin/pitch_features.py) is fast but leaves many voiced frames unvoiced (on 8 of the
converter's training recordings it called 22-65 % of frames voiced where Harvest called 60-83 %; FCPE agreed with
Harvest's voicing on 78-86 % of frames, DIO on 61-83 %). Same contract as `world_f0`: F0 in Hz per frame (0 =
unvoiced) on a grid of `hop_length` samples, so either tracker can feed the same code. Measured as the converter's
tracker and not adopted (voice/converter/MODEL_CARD.md); `pip install -e ".[pitch]"`.
"""

from __future__ import annotations

import contextlib
import io
from functools import lru_cache

import numpy as np
import torch

from voxtwin.audio import resample
from voxtwin.errors import VoxtwinError

FCPE_SAMPLE_RATE = 16_000
FCPE_HOP = 160  # the model's own frame hop: 10 ms at 16 kHz
VOICING_THRESHOLD = 0.006  # the package's default confidence threshold


@lru_cache(maxsize=1)
def _fcpe_model():
    try:
        from torchfcpe import spawn_bundled_infer_model
    except ImportError:
        raise VoxtwinError('the fcpe pitch tracker needs torchfcpe: pip install -e ".[pitch]"') from None
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints while it loads its weights
        return spawn_bundled_infer_model(device="cpu")


def fcpe_f0(wav: np.ndarray, *, sample_rate: int, hop_length: float, f0_min_hz: float, f0_max_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(F0 in Hz per frame, 0 where unvoiced; frame times in s) of one mono signal, frames every hop_length samples."""
    x = np.asarray(wav, dtype=np.float32)
    if sample_rate != FCPE_SAMPLE_RATE:
        x = resample(x, sample_rate, FCPE_SAMPLE_RATE)
    with torch.inference_mode():
        native = _fcpe_model().infer(torch.from_numpy(np.ascontiguousarray(x))[None, :, None], sr=FCPE_SAMPLE_RATE, decoder_mode="local_argmax",
                                     threshold=VOICING_THRESHOLD, f0_min=f0_min_hz, f0_max=f0_max_hz, interp_uv=False)[0, :, 0].numpy()
    native = np.where((native >= f0_min_hz) & (native <= f0_max_hz), native, 0.0)
    n_frames = 1 + int(len(wav) // hop_length)
    times = np.arange(n_frames) * hop_length / sample_rate
    return on_frame_times(native, FCPE_HOP / FCPE_SAMPLE_RATE, times), times


def on_frame_times(f0: np.ndarray, frame_s: float, times: np.ndarray) -> np.ndarray:
    """F0 frames every frame_s seconds -> F0 at `times`: voicing from the nearest frame, log-F0 interpolated between
    voiced neighbours (never across a voicing boundary, which would invent pitches between F0 and 0)."""
    position = np.clip(times / frame_s, 0, len(f0) - 1)
    lower = np.floor(position).astype(int)
    upper = np.minimum(lower + 1, len(f0) - 1)
    nearest = np.where(position - lower < 0.5, lower, upper)
    both = (f0[lower] > 0) & (f0[upper] > 0)
    weight = position - lower
    log_f0 = (1 - weight) * np.log(np.maximum(f0[lower], 1e-3)) + weight * np.log(np.maximum(f0[upper], 1e-3))
    return np.where(f0[nearest] > 0, np.where(both, np.exp(log_f0), f0[nearest]), 0.0)
