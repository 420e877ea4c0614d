"""Countermeasures: flag synthetic or converted speech, and benchmark detectors on spoof datasets.

    import detect
    result = detect.score("message.opus")            # the shipped default detector
    result.p_synthetic, result.verdict, result.segments

Heavy modules (torch, models) load on first use, so importing `detect` stays cheap.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    import numpy as np

    from detect.detector import Detector, Result


@lru_cache(maxsize=4)
def load_default_detector(device: str = "auto") -> "Detector":
    from detect.detector import Detector

    return Detector.load(None, device=device)


def score(path_or_array: Union[str, "np.ndarray", bytes], sr: int | None = None) -> "Result":
    """Score one voice message (a path, its bytes, or a mono array with `sr`) with the default detector."""
    import numpy as np

    detector = load_default_detector()
    if isinstance(path_or_array, np.ndarray):
        if sr is None:
            raise ValueError("sr (the sample rate) is required when scoring an array")
        return detector.score(path_or_array, sr)
    return detector.score_file(path_or_array)


__all__ = ["load_default_detector", "score"]
