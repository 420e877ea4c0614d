"""A linear countermeasure on the pretrained convolutional front-end of DistillMOS (Stahl & Gamper, 2025).

DistillMOS is a speech-naturalness model distilled from the XLS-R SSL-MOS predictor; its weights ship inside the
`distillmos` PyPI package, so they are available offline. Its complex-spectrogram CNN turns 16 kHz speech into
1024-d frames (50 per second) that describe what makes speech sound natural. The mean and standard deviation of
those frames over a window, standardised, feed one logistic-regression unit. On generators never seen in training
this beat LFCC-LCNN by a wide margin (detect/MODEL_CARD.md), because the frames were learned from far more
speech than our training set holds.

Only the head (standardisation + one linear unit, 2 x 2048 + 2049 numbers) is ours and lives in the checkpoint;
the CNN weights are read from the installed `distillmos` package and checked against the SHA-256 recorded at
training time, so a checkpoint can never run with a front-end it was not fitted on.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor, nn

from detect.models.registry import MODELS
from detect.models.student_cnn_int8 import encoder_precision, int8_twin
from detect.models.window_stats_linear import WindowStatsLinear, mean_std_of_windows
from voxtwin.errors import CheckpointError
from voxtwin.features import FeatureSpec, WaveformSpec
from voxtwin.precision import inference_precision, resolve_precision

SAMPLES_PER_FRAME = 320  # 50 frames per second: 10 ms STFT hop, halved by the last convolution's time stride
FRAME_DIM = 1024  # 256 channels x 4 frequency rows
ENCODER_PREFIX = "encoder."


@dataclass(frozen=True)
class DistillMOSLinearConfig:
    pretrained: bool = True  # False builds the CNN with random weights (tests; nothing to load)
    encoder_sha256: str = ""  # SHA-256 of the DistillMOS weights the head was fitted on ("" = not checked)
    input_gain: float = 1.8  # -23 LUFS speech peaks near 0.55 (median): bring it near full scale, as DistillMOS saw it
    # heads are fitted on float32 statistics (detect/frozen_head.py); bfloat16 frames shift the log-odds by a nearly
    # constant amount, measured on training files by recipes/default_detector/precision_offset.py and added back here
    bf16_logit_offset: float = 0.0
    int8_logit_offset: float = 0.0  # the same for the student's int8 twin (detect/models/student_cnn_int8.py)

    @classmethod
    def tiny(cls) -> "DistillMOSLinearConfig":
        return cls(pretrained=False)


def distillmos_weights() -> Path:
    """The DistillMOS checkpoint inside the installed package."""
    try:
        from distillmos import sqa
    except ImportError:
        raise CheckpointError("the distillmos-linear detector needs the distillmos package: pip install distillmos") from None
    return Path(sqa.DEFAULT_WEIGHTS_CHKPT)


def weights_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_encoder(*, pretrained: bool) -> nn.Module:
    """DistillMOS's CNN, with its published weights (loaded by the package with weights_only=True) or random ones."""
    distillmos_weights()  # clear error when the package is missing
    from distillmos import ConvTransformerSQAModel

    with contextlib.redirect_stdout(io.StringIO()):  # the package prints a line when it loads weights
        full = ConvTransformerSQAModel(load_weights=pretrained)
    for layer in full.cnn.modules():
        if isinstance(layer, nn.LeakyReLU):
            layer.inplace = True  # frozen and never back-propagated: one large buffer fewer per layer (~8 % faster)
    return full.cnn


@MODELS.register("distillmos-linear")
class DistillMOSLinear(WindowStatsLinear):
    Config = DistillMOSLinearConfig
    default_spec = WaveformSpec()
    samples_per_frame = frame_span = SAMPLES_PER_FRAME
    stats_dim = 2 * FRAME_DIM

    def __init__(self, config: DistillMOSLinearConfig, spec: FeatureSpec) -> None:
        super().__init__(config, spec)
        attach_frozen_encoder(self, config)

    def frames(self, wav: Tensor) -> Tensor:
        return cnn_frames(self.encoder, wav, input_gain=self.config.input_gain, precision=self.precision)

    def stats_of_windows(self, frames: Tensor, first: list[int], length: int) -> Tensor:
        return mean_std_of_windows(frames, first, length)

    def head(self, stats: Tensor) -> Tensor:
        return with_precision_offset(super().head(stats), self.config, self.precision)


def attach_frozen_encoder(model: nn.Module, config) -> None:
    """Give `model` DistillMOS's CNN as `model.encoder` (checked against config.encoder_sha256), frozen, its
    precision switch, and state-dict hooks so that the CNN's weights, which come from the package, never enter or
    are expected in our checkpoints."""
    if config.pretrained and config.encoder_sha256:
        found = weights_sha256(distillmos_weights())
        if found != config.encoder_sha256:
            raise CheckpointError(
                f"this detector was fitted on DistillMOS weights {config.encoder_sha256[:12]}, the installed distillmos package has {found[:12]}; "
                "install the distillmos version named in pyproject.toml"
            )
    freeze_as_encoder(model, build_encoder(pretrained=config.pretrained))


def freeze_as_encoder(model: nn.Module, encoder: nn.Module) -> None:
    """`encoder` becomes `model.encoder`, frozen, with the precision switch and the hooks that keep its weights
    (which come from elsewhere: a package, a shipped file) out of our checkpoints."""
    model.encoder = encoder.requires_grad_(False)
    # the CNN's precision (voxtwin/precision.py): None = $VOXTWIN_PRECISION, else auto (bf16 where native)
    model.precision = None
    model.register_state_dict_post_hook(_drop_encoder_keys)
    model.register_load_state_dict_post_hook(_ignore_missing_encoder_keys)


def with_precision_offset(z: Tensor, config, precision: str | None) -> Tensor:
    """Log-odds from statistics of CNN frames made in `precision`, with bfloat16's or int8's measured shift
    (config.bf16_logit_offset, config.int8_logit_offset) added back. int8 is only ever a resolved name here: the
    detector resolves it knowing the encoder (detect/detector.py)."""
    if precision == "int8":
        return z + config.int8_logit_offset
    offset = config.bf16_logit_offset
    return z + offset if offset and resolve_precision(precision, z.device) == "bf16" else z


def cnn_frames(encoder: nn.Module, wav: Tensor, *, input_gain: float, precision: str | None) -> Tensor:
    """(B, T) 16 kHz -> (B, L, 1024) DistillMOS CNN frames with L = T // 320 frames (20 ms each)."""
    n = wav.shape[-1] // SAMPLES_PER_FRAME
    if n == 0:
        raise ValueError(f"the DistillMOS front-end needs at least {SAMPLES_PER_FRAME} samples, got {wav.shape[-1]}")
    resolved = encoder_precision(encoder, precision, wav.device)
    if resolved == "int8":
        h = int8_twin(encoder)(wav[:, : n * SAMPLES_PER_FRAME] * input_gain)
    else:
        with inference_precision(resolved, wav.device):
            h = encoder(wav[:, : n * SAMPLES_PER_FRAME] * input_gain)  # (B, 1024, L')
    return h[:, :, :n].transpose(1, 2).float()


def _drop_encoder_keys(module, state_dict, prefix, local_metadata) -> None:
    for key in [k for k in state_dict if k.startswith(prefix + ENCODER_PREFIX)]:
        del state_dict[key]


def _ignore_missing_encoder_keys(module, incompatible_keys) -> None:
    missing = incompatible_keys.missing_keys
    missing[:] = [k for k in missing if ENCODER_PREFIX not in k]
