"""What every training stage of the converter recipe shares: how long, how big, how often it validates, where it
runs. Each stage's settings (training.TrainSettings, adversarial.AdversarialSettings, content_probe.ProbeSettings,
vocoder_distillation.DistillSettings) extend it with their own fields and defaults; config.json fills them."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class StageSettings:
    steps: int = 1000
    batch_size: int = 16
    learning_rate: float = 1e-3
    validation_share: float = 0.05  # speakers held out by hash (training.is_validation_speaker)
    validate_every: int = 250
    seed: int = 0
    threads: int = 1
    device: str = "cpu"


def warmup_cosine(step: int, *, peak: float, warmup_steps: int, steps: int) -> float:
    """The learning rate at `step` of the stages that schedule theirs (the L1 stage, the refiner, the compact
    vocoder): a linear warm-up to `peak`, then a cosine down to 5 % of it at `steps`."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, steps - warmup_steps)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
