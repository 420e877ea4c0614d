"""What every training stage of the converter recipe shares: how long, how big, how often it validates, where it
runs. Each stage's settings (training.TrainSettings, adversarial.AdversarialSettings, content_probe.ProbeSettings,
vocoder_distillation.DistillSettings) extend it with their own fields and defaults; config.json fills them."""

from __future__ import annotations

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
