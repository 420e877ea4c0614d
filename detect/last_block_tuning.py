"""Fine-tune DistillMOS's last convolution for detection (detect/models/tuned_last_block.py uses the result).

The ten layers below stay frozen and run without gradients; the last convolution and a linear unit on each crop's
standardised frame mean and standard deviation (the statistics the shipped heads read) learn to separate real from
synthetic crops, class-balanced, half of them through one of the recipe's channel augmentations. An L2 pull toward
the published weights (relative to their norm) keeps the layer near what DistillMOS learned from far more speech
than ours: the point is to generalise to generators never heard, not to memorise the training pages. The step
with the lowest EER on crops of the speaker-disjoint validation files is kept; the run checkpoints and resumes.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from detect import metrics
from detect.frontend_distillation import CHANNEL_AUGMENTATIONS, random_crops
from detect.models.tuned_last_block import LAST_BLOCK_INDEX, last_block

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TuningSettings:
    steps: int = 400
    batch_size: int = 16  # half real, half synthetic
    crop_samples: int = 64_000  # 4 s: one scoring window
    block_lr: float = 3e-4  # default 2026.12-6's layer (1e-4 with pull 10 barely moved it: detect/MODEL_CARD.md)
    head_lr: float = 1e-3
    pull: float = 1.0  # weight of |W - W0|^2 / |W0|^2 (W0: DistillMOS's published layer)
    augment_prob: float = 0.5
    input_gain: float = 1.8  # as the detectors feed DistillMOS (detect/models/distillmos_linear.py)
    validate_every: int = 50
    valid_crops_per_class: int = 64
    seed: int = 0


class BelowLastBlock(nn.Module):
    """DistillMOS's CNN up to (not including) its last convolution: (B, T) -> (B, 256, F, L), frozen."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, wav: Tensor) -> Tensor:
        from distillmos.sqa import _complex_compressed

        x = _complex_compressed(wav, self.encoder.hop_length, self.encoder.win_length).permute(0, 3, 1, 2)
        return self.encoder.cnn[:LAST_BLOCK_INDEX](x)


class CropDetector(nn.Module):
    """The tuned last convolution (+ its LeakyReLU) and one logistic unit on the crop's standardised frame statistics."""

    def __init__(self, block: nn.Conv2d, activation: nn.Module, stats_mean: Tensor, stats_scale: Tensor) -> None:
        super().__init__()
        self.block, self.activation = block, activation
        self.register_buffer("stats_mean", stats_mean)
        self.register_buffer("stats_scale", stats_scale)
        self.out = nn.Linear(stats_mean.numel(), 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def stats(self, below: Tensor) -> Tensor:
        frames = torch.flatten(self.activation(self.block(below)), 1, -2)  # (B, 1024, L), as the CNN's forward
        return torch.cat([frames.mean(-1), frames.std(-1, unbiased=False)], dim=1)

    def forward(self, below: Tensor) -> Tensor:
        """Log-odds of bona fide, one per crop."""
        return self.out((self.stats(below) - self.stats_mean) / self.stats_scale).squeeze(-1)


def balanced_crops(real: list[np.ndarray], fake: list[np.ndarray], rng: np.random.Generator, settings: TuningSettings, *, augment_prob: float) -> tuple[Tensor, Tensor]:
    """(B, T) crops, half from real files and half from synthetic ones, and their labels (1 = bona fide)."""
    half = settings.batch_size // 2
    crops = torch.cat([random_crops(waves, rng, count=half, length=settings.crop_samples, augment_prob=augment_prob, augmentations=CHANNEL_AUGMENTATIONS)
                       for waves in (real, fake)])
    return crops * settings.input_gain, torch.cat([torch.ones(half), torch.zeros(half)])


def relative_pull(block: nn.Conv2d, published: dict[str, Tensor]) -> Tensor:
    return sum((p - published[n]).pow(2).sum() / published[n].pow(2).sum() for n, p in block.named_parameters())


@torch.no_grad()
def frame_standardisation(block: nn.Conv2d, activation: nn.Module, below: Tensor, *, batch: int = 16) -> tuple[Tensor, Tensor]:
    """Mean and scale of the layer's crop statistics over `below` (inputs of the layer; no labels used): what the
    logistic unit reads them standardised by."""
    s = torch.cat([CropDetector(block, activation, torch.zeros(1), torch.ones(1)).stats(part) for part in below.split(batch)])
    return s.mean(0), s.std(0).clamp_min(1e-4)


def tuning_optimiser(model: CropDetector, settings: TuningSettings):
    """AdamW (the layer without weight decay: the pull is its regulariser) and the cosine schedule over settings.steps."""
    optimiser = torch.optim.AdamW([{"params": model.block.parameters(), "lr": settings.block_lr, "weight_decay": 0.0},
                                   {"params": model.out.parameters(), "lr": settings.head_lr, "weight_decay": 1e-2}])
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, settings.steps) / settings.steps)))
    return optimiser, schedule


def tuning_step(model: CropDetector, below: Tensor, labels: Tensor, published: dict[str, Tensor], settings: TuningSettings, optimiser, schedule) -> tuple[Tensor, Tensor]:
    """One update on a batch of the layer's inputs (labels: 1 = bona fide); returns (cross-entropy, pull)."""
    bce = F.binary_cross_entropy_with_logits(model(below), labels)
    pull = relative_pull(model.block, published)
    loss = bce + settings.pull * pull
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    schedule.step()
    return bce, pull


def tune_last_block(encoder: nn.Module, train: tuple[list[np.ndarray], list[np.ndarray]], valid: tuple[list[np.ndarray], list[np.ndarray]], out: Path,
                    settings: TuningSettings, *, device: str = "cpu") -> Path:
    """Run (or resume) the fine-tune into `out`; returns out / "tuning_last.pt" (torch, weights_only-loadable), whose
    ["best"]["block"] is the layer to export. train / valid: (real waves, synthetic waves) as int16."""
    out.mkdir(parents=True, exist_ok=True)
    last = out / "tuning_last.pt"
    encoder = encoder.to(device).eval().requires_grad_(False)
    below = BelowLastBlock(encoder)
    published = {n: p.detach().clone() for n, p in last_block(encoder).named_parameters()}
    block = copy.deepcopy(last_block(encoder)).requires_grad_(True)
    activation = copy.deepcopy(encoder.cnn[LAST_BLOCK_INDEX + 1])
    activation.inplace = False
    vrng = np.random.default_rng(settings.seed + 1)
    n_valid = settings.valid_crops_per_class
    valid_crops = torch.cat([random_crops(w, vrng, count=n_valid, length=settings.crop_samples, augment_prob=0) for w in valid]) * settings.input_gain
    valid_real = np.r_[np.ones(n_valid, bool), np.zeros(n_valid, bool)]
    with torch.no_grad():
        valid_below = torch.cat([below(c.to(device)) for c in valid_crops.split(16)])
    if last.is_file():
        state = torch.load(last, map_location=device, weights_only=True)
        stats_mean, stats_scale = state["stats_mean"], state["stats_scale"]
    else:  # standardise by the published layer's statistics on the validation crops
        stats_mean, stats_scale = frame_standardisation(block, activation, valid_below)
    model = CropDetector(block, activation, stats_mean, stats_scale).to(device)
    optimiser, schedule = tuning_optimiser(model, settings)
    step, history, best = 0, [], None
    if last.is_file():
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        step, history, best = int(state["step"]), list(state["history"]), state["best"]
        log.info("resuming at step %d", step)
    rng = np.random.default_rng(settings.seed * 1000 + step)

    def validate() -> float:
        model.eval()
        with torch.no_grad():
            z = torch.cat([model(v) for v in valid_below.split(16)]).cpu().numpy()
        model.train()
        return 100 * metrics.eer(z[valid_real], z[~valid_real])[0]  # bona fide scores higher

    def save() -> None:
        torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(), "schedule": schedule.state_dict(), "step": step,
                    "history": history, "best": best, "stats_mean": stats_mean.cpu(), "stats_scale": stats_scale.cpu(),
                    "settings": asdict(settings)}, last)

    model.train()
    started, running = time.perf_counter(), []
    while step < settings.steps:
        crops, labels = balanced_crops(*train, rng, settings, augment_prob=settings.augment_prob)
        with torch.no_grad():
            features = below(crops.to(device))
        bce, pull = tuning_step(model, features, labels.to(device), published, settings, optimiser, schedule)
        step += 1
        running.append((bce.item(), pull.item()))
        if step % settings.validate_every == 0 or step == settings.steps:
            eer = validate()
            bce_mean, pull_mean = np.mean(running, axis=0)
            entry = {"step": step, "train_bce": float(bce_mean), "relative_change": float(math.sqrt(pull_mean)), "valid_eer_percent": eer,
                     "seconds_per_step": (time.perf_counter() - started) / len(running)}
            history.append(entry)
            if best is None or eer < best["valid_eer_percent"]:
                best = {"step": step, "valid_eer_percent": eer, "block": {k: v.detach().cpu().clone() for k, v in model.block.state_dict().items()}}
            log.info("step %d: bce %.4f, |W-W0|/|W0| %.4f, valid EER %.2f %% (%.2f s/step)", step, bce_mean, entry["relative_change"], eer,
                     entry["seconds_per_step"])
            started, running = time.perf_counter(), []
            save()
    return last
