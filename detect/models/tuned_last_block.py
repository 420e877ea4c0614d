"""`distillmos-spectral-mlp` on DistillMOS's CNN with its last convolution fine-tuned for detection.

DistillMOS's frames were learned to predict naturalness, not to tell synthesis apart; issue 18 names fine-tuning the
last block as the cheapest way to let them move toward the task while the ten layers below (most of the CNN's
knowledge and ~93 % of its multiply-adds) stay as published. The tuned layer (256 -> 256 channels, 3 x 3, stride 2 x 2;
590 k numbers, 1.2 MB in fp16) is written by recipes/default_detector/tune_last_block.py to
detect/weights/distillmos_last_block.safetensors; it costs exactly what the original layer costs at scoring time.
The head is fitted on the tuned CNN's frames by run.py, and its checkpoint is pinned to the SHA-256 of the tuned layer's
tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from detect.models.distillmos_linear import attach_frozen_encoder
from detect.models.distillmos_spectral_mlp import DistillMOSSpectralMLP, DistillMOSSpectralMLPConfig, pinned_statistics_name
from detect.models.registry import MODELS
from voxtwin.errors import CheckpointError
from voxtwin.weights_file import open_versioned, read_fp16_weights, tensors_sha256, write_fp16_weights

LAST_BLOCK_FILE = Path(__file__).resolve().parents[1] / "weights" / "distillmos_last_block.safetensors"
LAST_BLOCK_INDEX = 10  # DistillMOS's CNN: 6 convolutions, each followed by a LeakyReLU; this is the sixth
LAST_BLOCK_FORMAT, LAST_BLOCK_FORMAT_VERSION = "voxtwin-distillmos-last-block", 1
MAX_LAST_BLOCK_BYTES = 4 * 1024**2


def last_block(encoder: nn.Module) -> nn.Conv2d:
    """The convolution that makes the frames (DistillMOS's `_ComplexSpecCNN.cnn[10]`)."""
    layer = encoder.cnn[LAST_BLOCK_INDEX]
    if not isinstance(layer, nn.Conv2d):
        raise CheckpointError(f"DistillMOS's CNN has no convolution at position {LAST_BLOCK_INDEX}; this distillmos version is not the one the detector knows")
    return layer


def save_last_block(layer: nn.Conv2d, path: Path, *, metadata: dict) -> Path:
    """fp16 safetensors (voxtwin/weights_file.py) with the layer's shape and `metadata` (DistillMOS's hash, the run)."""
    config = {"in_channels": layer.in_channels, "out_channels": layer.out_channels, "kernel_size": list(layer.kernel_size),
              "stride": list(layer.stride), "padding": list(layer.padding)}
    return write_fp16_weights(layer, Path(path), fmt=LAST_BLOCK_FORMAT, format_version=LAST_BLOCK_FORMAT_VERSION, config_key="config", config=config,
                              info=metadata)


def load_last_block(path: Path | None = None) -> nn.Conv2d:
    """The tuned layer in float32 (no pickle; size, format, version and shapes checked)."""
    def build(config: dict) -> nn.Conv2d:
        return nn.Conv2d(config["in_channels"], config["out_channels"], tuple(config["kernel_size"]), stride=tuple(config["stride"]),
                         padding=tuple(config["padding"]))

    layer, _ = read_fp16_weights(path or LAST_BLOCK_FILE, fmt=LAST_BLOCK_FORMAT, format_version=LAST_BLOCK_FORMAT_VERSION, config_key="config",
                                 what="tuned DistillMOS last-block weights", max_bytes=MAX_LAST_BLOCK_BYTES, build=build)
    return layer


def last_block_sha256(path: Path | None = None) -> str:
    """What a head is pinned to: the hash of the layer's tensors, so that exporting the same run again still fits."""
    with open_versioned(last_block_weights(path), fmt=LAST_BLOCK_FORMAT, format_version=LAST_BLOCK_FORMAT_VERSION, what="tuned DistillMOS last-block weights",
                        max_bytes=MAX_LAST_BLOCK_BYTES) as (_, tensors):
        return tensors_sha256(tensors)


def last_block_weights(path: Path | None = None) -> Path:
    path = path or LAST_BLOCK_FILE
    if not path.is_file():
        raise CheckpointError(f"no tuned DistillMOS last block at {path} (the default detector's; it ships with voxtwin: reinstall, or make it with "
                              "recipes/default_detector/tune_last_block.py --out RUN, then --export " + str(path) + ")")
    return path


def put_last_block(encoder: nn.Module, layer: nn.Conv2d) -> None:
    """Copy `layer`'s weights into the encoder's last convolution (shapes must agree)."""
    target = last_block(encoder)
    if target.weight.shape != layer.weight.shape or target.stride != layer.stride or target.padding != layer.padding:
        raise CheckpointError("the tuned last block does not fit DistillMOS's last convolution")
    target.weight.data.copy_(layer.weight.data)
    target.bias.data.copy_(layer.bias.data)


@dataclass(frozen=True)
class TunedLastBlockMLPConfig(DistillMOSSpectralMLPConfig):
    """distillmos-spectral-mlp's settings and the tuned layer's SHA-256 the head was fitted on ("" = not checked)."""

    last_block_sha256: str = ""

    @classmethod
    def tiny(cls) -> "TunedLastBlockMLPConfig":
        return cls(pretrained=False, hidden=8)


@MODELS.register("distillmos-tuned-spectral-mlp")
class TunedLastBlockMLP(DistillMOSSpectralMLP):
    Config = TunedLastBlockMLPConfig

    @property
    def statistics_of(self) -> str:
        """The recipe caches window statistics under this name: one cache per tuned layer, never another's."""
        return pinned_statistics_name("tuned", self.config.last_block_sha256)

    def attach_encoder(self, config: TunedLastBlockMLPConfig) -> None:
        attach_frozen_encoder(self, config)
        if not config.pretrained:
            return  # tests: a random CNN, nothing to load
        path = last_block_weights()
        if config.last_block_sha256 and (found := last_block_sha256(path)) != config.last_block_sha256:
            raise CheckpointError(f"this detector was fitted on a tuned last block {config.last_block_sha256[:12]}, {path} has {found[:12]}; "
                                  "export the block the detector was fitted on")
        put_last_block(self.encoder, load_last_block(path))
