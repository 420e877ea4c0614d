"""Keep freed memory in the process instead of handing it back to the kernel after every large tensor.

glibc's malloc serves a block above its mmap threshold (128 KB, rising to at most 32 MB) with fresh pages from the
kernel and unmaps it when it is freed, and it hands back the top of its heap whenever more than twice that threshold
lies free there. Scoring and conversion allocate tens of MB of short-lived tensors per second of audio (the default
detector's first convolution alone writes ~40 MB for a 20 s message), so scoring 388 s of voice messages faulted in
~1 GB of fresh, zeroed pages: on a 2-core AMD EPYC ~275,000 page faults and ~0.7 s of kernel time, ~8 % of the CPU
time of `detect score` (detect/MODEL_CARD.md, "Freed memory kept"). With big blocks taken from the heap and
the heap trimmed only past 256 MB free, the same work faults in almost nothing after its first file.

The setting is process-wide, so only a program's owner makes it: the `voxtwin` command (voxtwin/cli.py `main`,
inherited by the worker processes it forks), the service's spawned workers (`voxtwin serve --workers N`) and the
benchmarks that time what the command does. A program that imports voxtwin as a library may call
`keep_freed_memory()` itself. `VOXTWIN_KEEP_FREED_MEMORY=0` leaves malloc as it is (to measure the difference, or
where memory must go back to the system at once). Other C libraries: no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

ENV = "VOXTWIN_KEEP_FREED_MEMORY"
TRIM_THRESHOLD_BYTES = 256 * 1024**2  # free memory above this at the heap's top still goes back to the kernel
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)

_applied = False


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    # musl and others lack gnu_get_libc_version; their mallopt (if any) means something else
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt") else None


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed blocks for reuse (no mmap for big blocks; trim only past 256 MB free).
    True when it is in effect (now or from an earlier call); False on other C libraries or when ENV is 0."""
    global _applied
    if _applied:
        return True
    if os.environ.get(ENV, "").strip().lower() in ("0", "false", "no", "off"):
        return False
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    # the trim threshold first: setting it also stops glibc from moving both thresholds on its own
    _applied = bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)) and bool(libc.mallopt(_M_MMAP_MAX, 0))
    return _applied
