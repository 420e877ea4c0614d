"""Countermeasure models: `build_model(name, **overrides)` for the neural ones (distillmos-linear: a pretrained frozen
front-end under a linear head), `GMMCountermeasure` for LFCC-GMM."""

from detect.models import aasist, distillmos_linear, lcnn, rawnet2, spectral_linear, ssl  # noqa: F401  (registers)
from detect.models.registry import BONAFIDE, MODELS, SPOOF, Countermeasure, build_model, count_parameters

__all__ = ["BONAFIDE", "MODELS", "SPOOF", "Countermeasure", "build_model", "count_parameters"]
