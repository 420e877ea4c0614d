"""Train the converter's mel generator on cached features (voice/converter/corpus.py). Resumable.

Each step takes fixed crops from random utterances; half the time the content comes from the speaker-perturbed
copy, so the voice must come from the d-vector. Loss: L1 on the log-mel. Speakers are split by hash: the
validation speakers are never trained on. `last.pt` (weights_only-loadable state) is written every
`checkpoint_every` steps and training resumes from it; `best.safetensors` keeps the lowest validation loss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from voice.converter.analysis import on_mel_grid, pitch_input
from voice.converter.network import GeneratorConfig, MelGenerator
from voice.converter.stage_settings import StageSettings, warmup_cosine
from voice.converter.weights import load_weights, save_weights

log = logging.getLogger(__name__)


@dataclass
class TrainSettings(StageSettings):
    steps: int = 6000
    learning_rate: float = 2e-3
    validate_every: int = 500
    crop_frames: int = 128
    warmup_steps: int = 200
    perturbed_share: float = 0.5
    checkpoint_every: int = 200
    generator: dict = field(default_factory=dict)
    init: str = ""  # converter weights to start from (fine-tuning, e.g. under another content_norm); "" = random


def is_validation_speaker(speaker: str, share: float) -> bool:
    return int(hashlib.sha1(speaker.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def split_files(cache: Path, validation_share: float) -> tuple[list[Path], list[Path]]:
    """(training, validation) feature files of the cache, split by speaker."""
    files = [f for f in sorted(cache.glob("*.npz")) if not f.name.endswith(".part.npz")]
    speakers = {f: str(np.load(f)["speaker"]) for f in files}
    validation = [f for f in files if is_validation_speaker(speakers[f], validation_share)]
    return [f for f in files if f not in set(validation)], validation


def save_state(path: Path, state: dict) -> None:
    """Write a resumable training state (weights_only-loadable) so that a crash never leaves half a file."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


class CachedCorpus:
    def __init__(self, files: list[Path], *, utterance_norm: bool = False) -> None:
        """utterance_norm: normalise each recording's content over the whole recording here, so that crops carry the
        statistics inference uses (the generator is then called with normalized=True)."""
        self.utterance_norm = utterance_norm
        prepare = (lambda c: MelGenerator.normalize_content(torch.from_numpy(c.astype(np.float32))).numpy()) if utterance_norm else (lambda c: c)  # noqa: E731
        self.items = []
        trackers = set()
        for path in files:
            with np.load(path) as z:
                trackers.add(str(z["pitch_tracker"]) if "pitch_tracker" in z.files else "world")  # caches before FCPE: WORLD's
                n = z["mel"].shape[1]
                self.items.append({
                    "content": prepare(on_mel_grid(z["content"], n)).astype(np.float16),
                    "content_perturbed": prepare(on_mel_grid(z["content_perturbed"], n)).astype(np.float16),
                    "pitch": pitch_input(z["log_f0"], z["voiced"]),
                    "mel": z["mel"],
                    "d_vector": z["d_vector"],
                    "speaker": str(z["speaker"]),
                })
        if len(trackers) > 1:
            raise ValueError(f"the cache mixes pitch trackers ({', '.join(sorted(trackers))}): one tracker per cache")
        self.pitch_tracker = trackers.pop() if trackers else "world"  # the weights record it; inference uses the same

    def batch(self, rng: np.random.Generator, size: int, crop: int, perturbed_share: float):
        content, pitch, mel, speaker = [], [], [], []
        for index in rng.integers(len(self.items), size=size):
            item = self.items[index]
            n = item["mel"].shape[1]
            start = int(rng.integers(0, max(1, n - crop + 1)))
            pad = max(0, crop - n)
            source = item["content_perturbed"] if rng.random() < perturbed_share else item["content"]
            cut = lambda a, fill: np.pad(a[:, start : start + crop], ((0, 0), (0, pad)), constant_values=fill)  # noqa: E731
            content.append(cut(source, 0.0).astype(np.float32))
            pitch.append(cut(item["pitch"], 0.0))
            mel.append(cut(item["mel"], float(np.log(1e-5))))
            speaker.append(item["d_vector"])
        as_tensor = lambda xs: torch.from_numpy(np.stack(xs))  # noqa: E731
        return as_tensor(content), as_tensor(pitch), as_tensor(mel), as_tensor(speaker)

    @staticmethod
    def whole(item: dict, device: torch.device) -> tuple[torch.Tensor, ...]:
        """(content, pitch, mel, d-vector) of one whole recording, as a batch of one on `device` (validation)."""
        return tuple(torch.from_numpy(np.asarray(item[k], dtype=np.float32))[None].to(device) for k in ("content", "pitch", "mel", "d_vector"))


@torch.no_grad()
def validation_loss(model: MelGenerator, corpus: CachedCorpus, device: torch.device) -> float:
    model.eval()
    losses = []
    for item in corpus.items:
        content, pitch, mel, speaker = corpus.whole(item, device)
        losses.append(F.l1_loss(model(content, pitch, speaker, normalized=corpus.utterance_norm), mel).item())
    model.train()
    return float(np.mean(losses))


def train(cache: Path, out_dir: Path, settings: TrainSettings) -> Path:
    torch.set_num_threads(settings.threads)
    device = torch.device(settings.device)
    train_files, val_files = split_files(cache, settings.validation_share)
    config = GeneratorConfig(**settings.generator)
    by_utterance = config.content_norm == "utterance"
    train_set, val_set = CachedCorpus(train_files, utterance_norm=by_utterance), CachedCorpus(val_files, utterance_norm=by_utterance)
    log.info("train: %d files, validation: %d files (%d speakers held out)", len(train_files), len(val_files), len({item["speaker"] for item in val_set.items}))
    model, provenance = MelGenerator(config), {}
    if settings.init:
        start, init_info = load_weights(settings.init)
        if start.config.shape() != config.shape():
            raise ValueError(f"{settings.init} has another network shape ({start.config}) than this run ({config})")
        model.load_state_dict(start.state_dict())
        provenance = {"init": Path(settings.init).name, "init_info": init_info}
    model = model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=1e-4)
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path, history_path = out_dir / "last.pt", out_dir / "history.json"
    step, best, history = 0, float("inf"), []
    if state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, best = int(state["step"]), float(state["best"])
        history = json.loads(history_path.read_text()) if history_path.exists() else []
        log.info("resumed at step %d (best validation L1 %.4f)", step, best)
    rng = np.random.default_rng(settings.seed + step)
    started, running = time.time(), []
    while step < settings.steps:
        for group in optimizer.param_groups:
            group["lr"] = warmup_cosine(step, peak=settings.learning_rate, warmup_steps=settings.warmup_steps, steps=settings.steps)
        content, pitch, mel, speaker = (t.to(device) for t in train_set.batch(rng, settings.batch_size, settings.crop_frames, settings.perturbed_share))
        loss = F.l1_loss(model(content, pitch, speaker, normalized=by_utterance), mel)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running.append(loss.item())
        step += 1
        if step % settings.validate_every == 0 or step == settings.steps:
            val = validation_loss(model, val_set, device) if val_set.items else float("nan")
            history.append({"step": step, "train_l1": float(np.mean(running)), "validation_l1": val, "seconds": round(time.time() - started, 1)})
            log.info("step %d: train L1 %.4f, validation L1 %.4f", step, np.mean(running), val)
            running = []
            if val < best:
                best = val
                save_weights(model, out_dir / "best.safetensors", extra={"step": step, "validation_l1": round(val, 4), "pitch_tracker": train_set.pitch_tracker, **provenance})
            history_path.write_text(json.dumps(history, indent=1))
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            save_state(state_path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "best": best})
            (out_dir / "settings.json").write_text(json.dumps(asdict(settings), indent=1))
    return out_dir / "best.safetensors"
