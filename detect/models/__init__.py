"""Countermeasure models: `build_model(name, **overrides)` for the neural ones, `GMMCountermeasure` for LFCC-GMM."""

from detect.models import aasist, lcnn, rawnet2, ssl  # noqa: F401  (registers)
from detect.models.registry import BONAFIDE, MODELS, SPOOF, Countermeasure, build_model, count_parameters

__all__ = ["BONAFIDE", "MODELS", "SPOOF", "Countermeasure", "build_model", "count_parameters"]
