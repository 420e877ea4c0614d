"""Adversarial fine-tuning of the mel generator, after the L1 stage (voice/converter/training.py). Resumable.

L1 regression predicts the average of the mels a content/pitch/speaker input could have, so harmonics and
transitions come out blurred, and HiFi-GAN renders blurred mels buzzy (DistillMOS 2.1 for converted speech against
3.8 for true mels through the same vocoder). A small discriminator on mel patches pushes the generator towards
mels with the fine structure of real ones, while L1 (weighted well above the adversarial terms) and feature
matching keep it on the content: the recipe of GAN-trained vocoders and acoustic models, applied to the mel.

With `content_weight` > 0 (the third stage, `content`), every step also converts each crop into the next crop's
speaker (its d-vector, and the pitch moved to that crop's mean): the discriminator sees these conversions too, and a
frozen content judge keeps their content on the source's: Whisper's own encoder reading the mel (whisper_judge.py,
`content_judge="whisper"`) or the earlier, weaker small probe (content_probe.py, "probe"). Conversion is what users
run, and reconstruction alone never trains it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from voice.converter.stage_settings import StageSettings
from voice.converter.training import CachedCorpus, save_state, split_files, validation_loss
from voice.converter.weights import load_weights, save_weights

log = logging.getLogger(__name__)
CONTENT_JUDGES = ("whisper", "probe")


@dataclass
class AdversarialSettings(StageSettings):
    steps: int = 2000
    learning_rate: float = 1e-4
    seed: int = 1
    crop_frames: int = 128
    l1_weight: float = 20.0
    feature_weight: float = 2.0
    content_weight: float = 0.0
    content_judge: str = "probe"  # what `probe` in finetune() is: "whisper" (whisper_judge.py) or "probe" (content_probe.py)
    content_on_reconstructions: bool = False  # the content term also judges reconstructions (blur costs words there too)
    perturbed_share: float = 0.5
    checkpoint_every: int = 200

    def __post_init__(self) -> None:
        if self.content_judge not in CONTENT_JUDGES:
            raise ValueError(f"content_judge must be one of {', '.join(CONTENT_JUDGES)}, not {self.content_judge!r}")


class MelDiscriminator(nn.Module):
    """Scores (B, 80, L) log-mels patch by patch; returns the patch scores and every layer's activations."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        c = channels
        # strided from the first layer: ~22 M multiply-adds per 128-frame crop, a fraction of the generator's cost
        # (a full-resolution first stage cost 16x more and made a CPU step ~5 s)
        shapes = [(1, c, (3, 9), (2, 2)), (c, 2 * c, (3, 9), (2, 2)), (2 * c, 4 * c, (3, 9), (2, 2)), (4 * c, 4 * c, (3, 3), (2, 1))]
        self.layers = nn.ModuleList(spectral_norm(nn.Conv2d(i, o, k, s, padding=(k[0] // 2, k[1] // 2))) for i, o, k, s in shapes)
        self.out = spectral_norm(nn.Conv2d(4 * c, 1, (3, 3), padding=1))

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x, features = mel.unsqueeze(1), []
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2)
            features.append(x)
        return self.out(x), features


def converted_inputs(pitch: torch.Tensor, speaker: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each crop's conversion target within a batch: the next crop's d-vector, and the crop's normalised log-F0
    shifted by the difference of the two crops' voiced means (intonation kept, range moved)."""
    log_f0, voiced = pitch[:, 0], pitch[:, 1]
    mean = (log_f0 * voiced).sum(-1) / voiced.sum(-1).clamp_min(1.0)
    shifted = (log_f0 + (mean.roll(-1, 0) - mean)[:, None]) * voiced
    return torch.stack([shifted, voiced], dim=1), speaker.roll(-1, 0)


def finetune(cache: Path, init: Path, out_dir: Path, settings: AdversarialSettings, *, stage: str = "adversarial", probe: nn.Module | None = None) -> Path:
    """Fine-tune the generator in `init` (converter weights) adversarially; writes OUT/STAGE-STEP.safetensors
    every `validate_every` steps and returns the last one's path (validation L1 is not what this stage improves, so
    there is no best-of selection). `probe` (frozen: mel -> content frames, settings.content_judge names it) is
    required when settings.content_weight > 0."""
    if settings.content_weight > 0 and probe is None:
        raise ValueError("content_weight > 0 needs a content probe")
    torch.set_num_threads(settings.threads)
    device = torch.device(settings.device)
    train_files, val_files = split_files(cache, settings.validation_share)
    generator, info = load_weights(init)
    generator = generator.to(device).train()
    by_utterance = generator.config.content_norm == "utterance"  # as the init weights were trained
    train_set, val_set = CachedCorpus(train_files, utterance_norm=by_utterance), CachedCorpus(val_files, utterance_norm=by_utterance)
    discriminator = MelDiscriminator().to(device)
    opt_g = torch.optim.AdamW(generator.parameters(), lr=settings.learning_rate, betas=(0.8, 0.99))
    opt_d = torch.optim.AdamW(discriminator.parameters(), lr=settings.learning_rate, betas=(0.8, 0.99))
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path, history_path = out_dir / f"{stage}_last.pt", out_dir / f"{stage}_history.json"
    step, history = 0, []
    if state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        generator.load_state_dict(state["generator"])
        discriminator.load_state_dict(state["discriminator"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        step = int(state["step"])
        history = json.loads(history_path.read_text()) if history_path.exists() else []
        log.info("resumed %s fine-tuning at step %d", stage, step)
    rng = np.random.default_rng(settings.seed + step)
    started, running = time.time(), {"l1": [], "adv": [], "fm": [], "d": [], "content": []}
    converting = settings.content_weight > 0
    content_record = {k: getattr(settings, k) for k in ("content_judge", "content_weight", "content_on_reconstructions")}
    while step < settings.steps:
        content, pitch, mel, speaker = (t.to(device) for t in train_set.batch(rng, settings.batch_size, settings.crop_frames, settings.perturbed_share))
        fake = generator(content, pitch, speaker, normalized=by_utterance)
        converted = generator(content, *converted_inputs(pitch, speaker), normalized=by_utterance) if converting else None
        # discriminator: least squares, real mels -> 1, generated (and converted) -> 0
        real_score, _ = discriminator(mel)
        fakes = torch.cat([fake, converted]) if converting else fake
        fake_score, _ = discriminator(fakes.detach())
        loss_d = F.mse_loss(real_score, torch.ones_like(real_score)) + F.mse_loss(fake_score, torch.zeros_like(fake_score))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # generator: L1 + fool the discriminator + match its activations on the real mels
        fake_score, fake_features = discriminator(fakes)
        with torch.no_grad():
            _, real_features = discriminator(mel)
        l1 = F.l1_loss(fake, mel)
        adv = F.mse_loss(fake_score, torch.ones_like(fake_score))
        # feature matching pairs each reconstruction with its own real crop (conversions have no real counterpart)
        fm = sum(F.l1_loss(f[: len(mel)], r) for f, r in zip(fake_features, real_features)) / len(fake_features)
        loss_g = settings.l1_weight * l1 + adv + settings.feature_weight * fm
        content_l1 = torch.zeros(())
        if converting:
            with torch.no_grad():
                target = probe(mel)
            judged = fakes if settings.content_on_reconstructions else converted
            content_l1 = F.l1_loss(probe(judged), target.repeat(len(judged) // len(target), 1, 1))
            loss_g = loss_g + settings.content_weight * content_l1
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        torch.nn.utils.clip_grad_norm_(generator.parameters(), 1.0)
        opt_g.step()
        for key, value in (("l1", l1), ("adv", adv), ("fm", fm), ("d", loss_d), ("content", content_l1)):
            running[key].append(value.item())
        step += 1
        if step % settings.validate_every == 0 or step == settings.steps:
            val = validation_loss(generator, val_set, device) if val_set.items else float("nan")
            history.append({"step": step, **{k: round(float(np.mean(v)), 4) for k, v in running.items()}, "validation_l1": round(val, 4), "seconds": round(time.time() - started, 1)})
            log.info("%s step %d: %s", stage, step, history[-1])
            running = {k: [] for k in running}
            history_path.write_text(json.dumps(history, indent=1))
            save_weights(generator, out_dir / f"{stage}-{step}.safetensors", extra={**info, f"{stage}_steps": step, "validation_l1": round(val, 4), "pitch_tracker": train_set.pitch_tracker,
                                                                                         **(content_record if converting else {})})
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            save_state(state_path, {"generator": generator.state_dict(), "discriminator": discriminator.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "step": step})
            (out_dir / f"{stage}_settings.json").write_text(json.dumps(asdict(settings), indent=1))
    return out_dir / f"{stage}-{settings.steps}.safetensors"
