"""A differentiable stand-in for Whisper's encoder: log-mel -> the converter's normalised content frames.

The converter's mistakes that cost words happen when it converts (another speaker's d-vector, pitch moved into
another range), where no target mel exists to regress on. What must survive conversion is the content, and the
content is defined by Whisper's frames, which cannot be back-propagated through (CTranslate2, int8). So a small
network is fitted to predict them (per-utterance normalised, as the generator reads them) from real mels; frozen,
it scores a converted mel by how far its predicted content lies from the source's (adversarial.py,
`content_weight`). It is trained on the same cached features and speaker split as the converter.
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

from voice.converter.network import MelGenerator
from voice.converter.stage_settings import StageSettings
from voice.converter.training import CachedCorpus, save_state, split_files

log = logging.getLogger(__name__)
FORMAT = "voxtwin-content-probe"


@dataclass
class ProbeSettings(StageSettings):
    steps: int = 1500
    seed: int = 2
    crop_frames: int = 128
    channels: int = 192


class ContentProbe(nn.Module):
    """(B, 80, L) log-mel -> (B, 384, L) normalised content; dilated convolutions see ~0.5 s around each frame."""

    def __init__(self, channels: int = 192, n_mels: int = 80, content_dim: int = 384) -> None:
        super().__init__()
        self.channels = channels
        self.inp = nn.Conv1d(n_mels, channels, 5, padding=2)
        self.blocks = nn.ModuleList(nn.Conv1d(channels, channels, 5, dilation=d, padding=2 * d) for d in (1, 2, 4, 8))
        self.norms = nn.ModuleList(nn.GroupNorm(1, channels) for _ in self.blocks)
        self.out = nn.Conv1d(channels, content_dim, 1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.inp(mel)
        for conv, norm in zip(self.blocks, self.norms):
            x = x + F.gelu(norm(conv(x)))
        return self.out(x)


def probe_loss(probe: ContentProbe, mel: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """L1 between the probe's content for `mel` and the normalised content frames (B, 384, L)."""
    return F.l1_loss(probe(mel), MelGenerator.normalize_content(content))


@torch.no_grad()
def _validation(probe: ContentProbe, corpus: CachedCorpus, device: torch.device) -> float:
    probe.eval()
    losses = [probe_loss(probe, torch.from_numpy(item["mel"])[None].to(device), torch.from_numpy(item["content"].astype(np.float32))[None].to(device)).item()
              for item in corpus.items]
    probe.train()
    return float(np.mean(losses))


def train_probe(cache: Path, out: Path, settings: ProbeSettings) -> Path:
    """Fit the probe on the training speakers' real mels and clean content; writes `out` (a torch state file,
    weights_only-loadable) with the lowest validation L1 on the held-out speakers."""
    torch.set_num_threads(settings.threads)
    device = torch.device(settings.device)
    train_files, val_files = split_files(cache, settings.validation_share)
    train_set, val_set = CachedCorpus(train_files), CachedCorpus(val_files)
    probe = ContentProbe(settings.channels).to(device).train()
    optimizer = torch.optim.AdamW(probe.parameters(), lr=settings.learning_rate)
    rng = np.random.default_rng(settings.seed)
    best, history, started, running = float("inf"), [], time.time(), []
    for step in range(1, settings.steps + 1):
        for group in optimizer.param_groups:
            group["lr"] = settings.learning_rate * 0.5 * (1 + np.cos(np.pi * step / settings.steps))
        content, _, mel, _ = (t.to(device) for t in train_set.batch(rng, settings.batch_size, settings.crop_frames, perturbed_share=0.0))
        loss = probe_loss(probe, mel, content)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running.append(loss.item())
        if step % settings.validate_every == 0 or step == settings.steps:
            val = _validation(probe, val_set, device) if val_set.items else float("nan")
            history.append({"step": step, "train_l1": round(float(np.mean(running)), 4), "validation_l1": round(val, 4), "seconds": round(time.time() - started, 1)})
            log.info("probe step %d: %s", step, history[-1])
            running = []
            if not val >= best:
                best = val
                save_state(out, {"format": FORMAT, "settings": asdict(settings), "probe": probe.state_dict(), "step": step, "validation_l1": val})
    out.with_suffix(".json").write_text(json.dumps(history, indent=1))
    return out


def load_probe(path: Path, device: torch.device | str = "cpu") -> ContentProbe:
    """The frozen probe from `train_probe`'s file."""
    state = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a content probe")
    probe = ContentProbe(state["settings"]["channels"]).to(device)
    probe.load_state_dict(state["probe"])
    for p in probe.parameters():
        p.requires_grad_(False)
    return probe.eval()
