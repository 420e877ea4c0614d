"""Countermeasure models: `build_model(name, **overrides)` for the neural ones and the linear heads on fixed
front-ends (distillmos-linear: a pretrained frozen CNN; spectral-linear: log-spectrum statistics; both side by side:
distillmos-spectral-linear; the same statistics under a hidden layer: distillmos-spectral-mlp; the same with a distilled student CNN: distillmos-student-spectral-linear
and distillmos-student-spectral-mlp (`default` 2026.12-7), two such heads weighed by a codec router: distillmos-student-codec-routed, that head beside a second one on the spectrum's fine structure: distillmos-student-fine-vote (`default` since 2026.12-8), or with the last convolution fine-tuned: distillmos-tuned-spectral-mlp (`default` 2026.12-6),
`GMMCountermeasure` for LFCC-GMM."""

from detect.models import aasist, codec_routed_mlp, distillmos_linear, distillmos_spectral_linear, distillmos_spectral_mlp, fine_structure_vote, lcnn, rawnet2, spectral_linear, ssl, student_spectral_linear, student_spectral_mlp, tuned_last_block, whisper_linear  # noqa: F401  (registers)
from detect.models.registry import BONAFIDE, MODELS, SPOOF, Countermeasure, build_model, count_parameters

__all__ = ["BONAFIDE", "MODELS", "SPOOF", "Countermeasure", "build_model", "count_parameters"]
