"""Train a StudentCNN to reproduce DistillMOS's CNN frames (detect/models/student_cnn.py).

The detectors read only per-window means and standard deviations of the frames, standardised by the head, so the
loss is the squared error of the frames and of each crop's frame statistics, each dimension divided by its
variance over the teacher's frames (measured once, before training, on the first batches): a dimension that
barely moves counts as much as a loud one, as it does after the head's standardisation. Crops are drawn from the
training files with the recipe's channel augmentations (codec, telephone band, noise, RawBoost, gain), so the
student also copies the teacher on degraded speech. The teacher runs on the fly (no frame cache to store); the
run checkpoints every `save_every` steps and resumes.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from detect.augment import Augmenter
from detect.data import INT16_SCALE
from detect.models.student_cnn import STUDENT_WIDTHS, StudentCNN, pruned_from
from detect.preprocess import crop

log = logging.getLogger(__name__)
CHANNEL_AUGMENTATIONS = ("codec", "telephone", "noise", "rawboost", "gain")  # the recipe's (detect/augment.py)


@dataclass(frozen=True)
class DistillationSettings:
    widths: tuple[int, ...] = STUDENT_WIDTHS
    steps: int = 1500
    batch_size: int = 16
    crop_samples: int = 40_960  # 2.56 s: 128 student frames
    learning_rate: float = 1e-3
    augment_prob: float = 0.5  # each crop gets one channel augmentation with this probability
    input_gain: float = 1.8  # as the detectors feed DistillMOS (detect/models/distillmos_linear.py)
    stats_weight: float = 1.0  # weight of the crop-statistics term beside the frame term
    save_every: int = 100
    seed: int = 0


def random_crops(waves: list[np.ndarray], rng: np.random.Generator, *, count: int, length: int, augment_prob: float,
                 augmentations: tuple[str, ...] = CHANNEL_AUGMENTATIONS) -> Tensor:
    """(count, length) float32 crops of random files at random offsets (short files tiled), each put through one
    of `augmentations` with probability `augment_prob`."""
    out = np.empty((count, length), dtype=np.float32)
    for i in range(count):
        wav = waves[int(rng.integers(len(waves)))].astype(np.float32) / INT16_SCALE
        tiled = max(len(wav), -(-length // len(wav)) * len(wav))
        segment = crop(wav, length, start=int(rng.integers(tiled - length + 1)))
        if augment_prob > 0 and rng.random() < augment_prob:
            name = augmentations[int(rng.integers(len(augmentations)))]
            segment = Augmenter(names=(name,), prob=1.0)(segment, 16_000, rng)[:length]
            segment = np.pad(segment, (0, length - len(segment)))
        out[i] = segment
    return torch.from_numpy(out)


def frame_loss(student: Tensor, teacher: Tensor, inverse_variance: Tensor, *, stats_weight: float) -> tuple[Tensor, dict]:
    """Variance-normalised squared error of (B, D, L) frames plus that of each crop's per-dimension mean and std."""
    frames = ((student - teacher).pow(2) * inverse_variance[None, :, None]).mean()
    means = ((student.mean(-1) - teacher.mean(-1)).pow(2) * inverse_variance).mean()
    stds = ((student.std(-1) - teacher.std(-1)).pow(2) * inverse_variance).mean()
    return frames + stats_weight * (means + stds), {"frames": float(frames.detach()), "means": float(means.detach()), "stds": float(stds.detach())}


def explained_variance(student: Tensor, teacher: Tensor, inverse_variance: Tensor) -> float:
    """1 - normalised frame error: 1 = a perfect copy, 0 = no better than each dimension's mean."""
    return 1.0 - float(((student - teacher).pow(2) * inverse_variance[None, :, None]).mean())


def distill(teacher: nn.Module, train_waves: list[np.ndarray], valid_waves: list[np.ndarray], out: Path, settings: DistillationSettings,
            *, device: str = "cpu") -> Path:
    """Run (or resume) the distillation into `out`; returns out / "student_last.pt" (torch, weights_only-loadable)."""
    out.mkdir(parents=True, exist_ok=True)
    last = out / "student_last.pt"
    teacher = teacher.to(device).eval().requires_grad_(False)
    gain = settings.input_gain
    valid = random_crops(valid_waves, np.random.default_rng(settings.seed + 1), count=32, length=settings.crop_samples, augment_prob=0).to(device) * gain
    with torch.inference_mode():
        valid_teacher = torch.cat([teacher(v) for v in valid.split(8)])
    if last.is_file():
        state = torch.load(last, map_location=device, weights_only=True)
        student = StudentCNN(tuple(state["widths"])).to(device)
        student.load_state_dict(state["student"])
        inverse_variance = state["inverse_variance"].to(device)
        step, history = int(state["step"]), list(state["history"])
        log.info("resuming at step %d", step)
    else:
        student = pruned_from(teacher.cpu(), settings.widths).to(device)
        teacher.to(device)
        inverse_variance = 1.0 / valid_teacher.var(dim=(0, 2)).clamp_min(1e-6)
        step, history = 0, []
    optimiser = torch.optim.AdamW(student.parameters(), lr=settings.learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, settings.steps) / settings.steps)))
    if last.is_file():
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
    rng = np.random.default_rng(settings.seed * 1000 + step)

    def validate() -> float:
        student.eval()
        with torch.inference_mode():
            copy = torch.cat([student(v) for v in valid.split(8)])
        student.train()
        return explained_variance(copy, valid_teacher, inverse_variance)

    if step == 0:
        history.append({"step": 0, "valid_explained_variance": validate()})
        log.info("step 0 (pruned teacher): valid explained variance %.4f", history[-1]["valid_explained_variance"])
    student.train()
    started, running = time.perf_counter(), []
    while step < settings.steps:
        crops = random_crops(train_waves, rng, count=settings.batch_size, length=settings.crop_samples, augment_prob=settings.augment_prob).to(device) * gain
        with torch.inference_mode():
            target = teacher(crops)
        loss, parts = frame_loss(student(crops), target.clone(), inverse_variance, stats_weight=settings.stats_weight)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        step += 1
        running.append(loss.item())
        if step % settings.save_every == 0 or step == settings.steps:
            entry = {"step": step, "train_loss": float(np.mean(running)), "valid_explained_variance": validate(),
                     "seconds_per_step": (time.perf_counter() - started) / len(running)}
            history.append(entry)
            log.info("step %d: train loss %.4f, valid explained variance %.4f (%.2f s/step)", step, entry["train_loss"], entry["valid_explained_variance"], entry["seconds_per_step"])
            started, running = time.perf_counter(), []
            torch.save({"student": student.state_dict(), "widths": list(student.widths), "inverse_variance": inverse_variance.cpu(),
                        "optimiser": optimiser.state_dict(), "schedule": schedule.state_dict(), "step": step, "history": history,
                        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()}}, last)
    return last
