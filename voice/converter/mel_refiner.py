"""A flow-matching mel refiner: turns the converter's averaged mel into one that could have been recorded.

The generator (network.py) is trained to predict the mean of the mels its input allows, so its output is smooth,
and the global-variance postfilter (postfilter.py) or a discriminator (adversarial.py) can only push every band
back by a rule. The refiner instead learns the spread around that mean: starting from the generator's mel plus
Gaussian noise, a small network conditioned on that mel and the d-vector integrates a learned velocity field to a
mel drawn from what real speech looks like there (conditional flow matching with straight paths, as in Matcha-TTS
or Voicebox, here as a post-net). A fixed seed keeps conversion deterministic. With `frame_dim` > 0 it also reads
the generator's own speaker-free frames (bottlenecked content and pitch, MelGenerator.frame_inputs), so the detail it
draws can follow the words and the pitch, not only the smooth mel.

The refiner is tied to the generator it was trained behind: its weights record that file's SHA-256 and loading
refuses a refiner for other generator weights.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from voice.converter.network import FiLMBlock
from voice.pretrained.store import sha256_of
from voxtwin.errors import CheckpointError
from voxtwin.weights_file import read_fp16_weights, write_fp16_weights

FORMAT = "voxtwin-mel-refiner"
FORMAT_VERSION = 1
MAX_BYTES = 32 * 1024**2


@dataclass(frozen=True)
class RefinerConfig:
    n_mels: int = 80
    channels: int = 192
    blocks: int = 8
    kernel_size: int = 5
    speaker_dim: int = 256
    time_dim: int = 64
    frame_dim: int = 0  # 0: conditioned on the generator's mel only; else the generator's frame_inputs width (bottleneck + 2)
    sigma: float = 1.0  # std of the noise added to the generator's mel at t = 0 (log-mel units)
    steps: int = 6  # Euler steps at inference

    def to_dict(self) -> dict:
        return asdict(self)


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(B,) times in [0, 1] -> (B, dim) sinusoids."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = 1000.0 * t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class MelRefiner(nn.Module):
    def __init__(self, config: RefinerConfig = RefinerConfig()) -> None:
        super().__init__()
        self.config = config
        self.time = nn.Sequential(nn.Linear(config.time_dim, config.time_dim), nn.GELU(), nn.Linear(config.time_dim, config.time_dim))
        self.inp = nn.Conv1d(2 * config.n_mels + config.frame_dim, config.channels, 3, padding=1)
        dilations = (1, 2, 4, 8)
        self.blocks = nn.ModuleList(
            FiLMBlock(config.channels, config.kernel_size, dilations[i % len(dilations)], config.speaker_dim + config.time_dim) for i in range(config.blocks)
        )
        self.out = nn.Conv1d(config.channels, config.n_mels, 3, padding=1)
        # the velocity has a large part linear in the input (at t = 0 it is the detail minus the noise, i.e. minus
        # x - coarse): a 1x1 linear path carries it, the convolution stack the rest
        self.linear = nn.Conv1d(2 * config.n_mels, config.n_mels, 1)
        for layer in (self.out, self.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    @property
    def reads_frames(self) -> bool:
        return self.config.frame_dim > 0

    def forward(self, x: torch.Tensor, t: torch.Tensor, coarse: torch.Tensor, speaker: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """Velocity at point x (B, 80, L) and time t (B,), given the generator's mel `coarse` (B, 80, L), the
        d-vector (B, 256) and, when the refiner reads them, the generator's frames (B, frame_dim, L)."""
        if self.reads_frames != (frames is not None):
            raise ValueError("this refiner reads the generator's frames" if self.reads_frames else "this refiner reads no frames")
        condition = torch.cat([F.normalize(speaker, dim=-1), self.time(time_embedding(t, self.config.time_dim))], dim=1)
        inputs = torch.cat([x - coarse, coarse], dim=1)
        h = self.inp(inputs if frames is None else torch.cat([inputs, frames], dim=1))
        for block in self.blocks:
            h = block(h, condition)
        return self.out(F.gelu(h)) + self.linear(inputs)

    def start(self, coarse: torch.Tensor, generator: torch.Generator | None = None, *, temperature: float = 1.0) -> torch.Tensor:
        noise = torch.randn(coarse.shape, generator=generator, device=coarse.device if generator is None else generator.device, dtype=coarse.dtype)
        return coarse + temperature * self.config.sigma * noise.to(coarse.device)

    @torch.no_grad()
    def refine(self, coarse: torch.Tensor, speaker: torch.Tensor, frames: torch.Tensor | None = None, *, steps: int | None = None, seed: int = 0,
               temperature: float = 1.0, from_band: int = 0) -> torch.Tensor:
        """The generator's mel (B, 80, L) -> a refined mel of the same shape, by `steps` Euler steps from t = 0 to 1.
        temperature < 1 starts closer to the generator's mel (less noise), trading variety for safety (Grad-TTS).
        from_band > 0 keeps the generator's mel below that band (the formant region) and takes the refined one from it
        up (measured: the words are lost above ~2 kHz as much as below; MODEL_CARD.md)."""
        x = self.integrate(self.start(coarse, torch.Generator().manual_seed(seed), temperature=temperature), coarse, speaker, frames, steps=steps)
        return torch.cat([coarse[:, :from_band], x[:, from_band:]], dim=1) if from_band else x

    def integrate(self, x: torch.Tensor, coarse: torch.Tensor, speaker: torch.Tensor, frames: torch.Tensor | None = None, *,
                  steps: int | None = None) -> torch.Tensor:
        """Euler steps from the start point x (t = 0) to t = 1; differentiable, so a loss on the refined mel itself
        (refiner_training.py's content term) trains the path inference takes."""
        steps = steps or self.config.steps
        for i in range(steps):
            t = torch.full((len(x),), i / steps, device=x.device)
            x = x + self(x, t, coarse, speaker, frames) / steps
        return x


def refiner_frames(refiner: MelRefiner, model, content: torch.Tensor, pitch: torch.Tensor, *, normalized: bool = False) -> torch.Tensor | None:
    """The generator's frames for a refiner that reads them (None for one that does not)."""
    return model.frame_inputs(content, pitch, normalized=normalized) if refiner.reads_frames else None


def flow_matching_loss(refiner: MelRefiner, coarse: torch.Tensor, mel: torch.Tensor, speaker: torch.Tensor, frames: torch.Tensor | None = None, *,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean squared error of the predicted velocity on straight paths from coarse + noise (t = 0) to the true mel (t = 1)."""
    x0 = refiner.start(coarse, generator)
    t = torch.rand(len(mel), generator=generator).to(mel.device)
    xt = (1 - t)[:, None, None] * x0 + t[:, None, None] * mel
    return F.mse_loss(refiner(xt, t, coarse, speaker, frames), mel - x0)


def save_refiner(refiner: MelRefiner, path: Path, *, generator_sha256: str, extra: dict | None = None) -> Path:
    return write_fp16_weights(refiner, path, fmt=FORMAT, format_version=FORMAT_VERSION, config_key="refiner", config=refiner.config.to_dict(),
                              info={"generator_sha256": generator_sha256, **(extra or {})})


def load_refiner(path: str | os.PathLike, *, generator: str | os.PathLike | None = None) -> tuple[MelRefiner, dict]:
    """(refiner in eval mode, fp32, info). With `generator` (converter weights), a refiner trained behind other
    weights is refused with a one-line CheckpointError."""
    build = lambda config: MelRefiner(RefinerConfig(**config))  # noqa: E731
    refiner, info = read_fp16_weights(path, fmt=FORMAT, format_version=FORMAT_VERSION, config_key="refiner", what="mel refiner weights", max_bytes=MAX_BYTES, build=build)
    if generator is not None and info.get("generator_sha256") != sha256_of(Path(generator)):
        raise CheckpointError(f"{path}: this mel refiner was trained behind other converter weights than {Path(generator).name}")
    return refiner, info
