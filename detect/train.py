"""The one trainer for every countermeasure: fixed-length crops, class balance, augmentation on both classes,
validation EER every epoch, early stopping, checkpoints with resume, seeds, CPU/GPU, and
DistributedDataParallel when launched with `torchrun`.

    result = train(TrainConfig(model="lcnn"), train_trials, valid_trials)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, WeightedRandomSampler

from detect import metrics
from detect.augment import Augmenter
from detect.checkpoints import GMM_NAME, load_detector, save_detector
from detect.data import INT16_SCALE, CropDataset, WaveformCache, load_trials
from detect.datasets import Trial
from detect.models import MODELS, build_model
from detect.models.gmm import GMMConfig, GMMCountermeasure
from detect.preprocess import crop
from detect.run_folder import check_run_folder
from voxtwin.device import resolve_device
from voxtwin.errors import VoxtwinError
from voxtwin.features import FeatureSpec
from voxtwin.output_paths import writable_folder

log = logging.getLogger(__name__)
DEFAULT_CROP_SAMPLES = 64_600  # ~4 s at 16 kHz, as in the AASIST and RawNet2 recipes
BALANCE_MODES = ("weighted_loss", "sampler")


@dataclass
class TrainConfig:
    model: str = "lcnn"
    model_config: dict[str, Any] = field(default_factory=dict)
    features: dict[str, Any] = field(default_factory=dict)  # override the model's default feature spec
    crop_samples: int = DEFAULT_CROP_SAMPLES
    batch_size: int = 32
    epochs: int = 20
    max_steps_per_epoch: int = 0  # 0 = full epochs
    lr: float = 1e-4
    weight_decay: float = 1e-4
    balance: str = "weighted_loss"
    augment: list[str] = field(default_factory=lambda: ["rawboost", "codec", "telephone", "noise", "gain"])
    augment_prob: float = 0.3
    patience: int = 5
    seed: int = 0
    out_dir: str = "runs/default"
    cache_dir: str = ""  # "" = ~/.cache/voxtwin/waveforms
    num_workers: int = 0
    device: str = "auto"
    resume: bool = True

    def __post_init__(self) -> None:
        if self.model != GMM_NAME and self.model not in MODELS:
            raise VoxtwinError(f"unknown model {self.model!r}; available: {', '.join(sorted([*MODELS.names(), GMM_NAME]))}")
        ranges = {"epochs": (1, None), "batch_size": (1, None), "crop_samples": (1_600, None), "patience": (1, None), "max_steps_per_epoch": (0, None),
                  "num_workers": (0, 64), "augment_prob": (0.0, 1.0), "lr": (0.0, 10.0), "weight_decay": (0.0, 10.0)}
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low or (high is not None and value > high):
                raise ValueError(f"train.{name} must be a number {'>= ' + str(low) if high is None else f'in [{low}, {high}]'}, got {value!r}")
        if self.balance not in BALANCE_MODES:
            raise ValueError(f"balance must be one of {BALANCE_MODES}, got {self.balance!r}")


@dataclass
class TrainResult:
    checkpoint: Path
    best_valid_eer: float
    epochs_run: int
    history: list[dict[str, float]]


def default_cache_dir(cache_dir: str = "") -> Path:
    """Where standardised waveforms are cached: `cache_dir`, or ~/.cache/voxtwin/waveforms when empty."""
    return Path(cache_dir) if cache_dir else Path.home() / ".cache" / "voxtwin" / "waveforms"


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


# ---------------------------------------------------------------------------------------------- scoring


@torch.inference_mode()
def score_waves(model, waves: list[np.ndarray], *, crop_samples: int, batch_size: int = 32, device: torch.device | None = None) -> np.ndarray:
    """Bona fide log-odds of the first crop of each waveform (repeat-padded when shorter); the GMM, which
    averages over frames, scores whole utterances."""
    device = device or next(iter(model.buffers()), torch.zeros(0)).device
    if isinstance(model, GMMCountermeasure):
        return np.array([float(model.score(torch.from_numpy(w.astype(np.float32) / INT16_SCALE)[None].to(device))[0]) for w in waves])
    out = []
    for start in range(0, len(waves), batch_size):
        batch = np.stack([crop(w.astype(np.float32) / INT16_SCALE, crop_samples) for w in waves[start : start + batch_size]])
        out.append(model.score(torch.from_numpy(batch).to(device)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def validation_eer(labels: np.ndarray, scores: np.ndarray) -> float:
    if labels.min() == labels.max():
        raise VoxtwinError("the validation set needs both bona fide and spoof trials")
    return metrics.eer(scores[labels == 1], scores[labels == 0])[0]


# -------------------------------------------------------------------------------------------- training


def train(config: TrainConfig, train_trials: list[Trial], valid_trials: list[Trial], *, record: dict[str, Any] | None = None) -> TrainResult:
    """Train, validate every epoch, keep the best checkpoint (`out_dir/best`), resume from `out_dir/last`.

    The folder is checked first (detect/run_folder.py): a checkpoint of another model or other settings there is
    neither resumed nor overwritten. Each epoch is logged on `detect.train` (loss, validation EER, seconds).
    """
    config_record = dataclasses.asdict(config)
    check_run_folder(config.out_dir, model=config.model, config=config_record, record=record or {})
    writable_folder(config.out_dir, what="training output folder")
    resolve_device(config.device)
    seed_everything(config.seed)
    cache = WaveformCache(default_cache_dir(config.cache_dir))
    train_trials, train_waves = load_trials(train_trials, cache, description="Loading training audio")
    valid_trials, valid_waves = load_trials(valid_trials, cache, description="Loading validation audio")
    record = {**(record or {}), "config": config_record, "n_train": len(train_trials), "n_valid": len(valid_trials),
              "train_sources": sorted({t.source for t in train_trials})}
    if config.model == GMM_NAME:
        return _train_gmm(config, train_trials, train_waves, valid_trials, valid_waves, record)
    return _train_neural(config, train_trials, train_waves, valid_trials, valid_waves, record)


def _spec_for(config: TrainConfig) -> FeatureSpec | None:
    return FeatureSpec.from_dict(config.features) if config.features else None


def _distributed() -> tuple[int, int]:
    """(rank, world size) under torchrun, else (0, 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    return (torch.distributed.get_rank(), world) if world > 1 else (0, 1)


def _train_neural(config, train_trials, train_waves, valid_trials, valid_waves, record) -> TrainResult:
    rank, world = _distributed()
    device = resolve_device(config.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    model = build_model(config.model, spec=_spec_for(config), **config.model_config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    dataset = CropDataset(train_trials, train_waves, crop_samples=config.crop_samples, train=True,
                          augmenter=Augmenter(tuple(config.augment), config.augment_prob) if config.augment else None, seed=config.seed)
    labels = dataset.labels
    counts = np.bincount(labels, minlength=2).astype(np.float64)
    if counts.min() == 0:
        raise VoxtwinError("the training set needs both bona fide and spoof trials")
    class_weights = torch.tensor(counts.sum() / (2 * counts), dtype=torch.float32, device=device)
    out_dir = Path(config.out_dir)
    state = {"epoch": 0, "best_eer": float("inf"), "stale": 0, "history": []}
    if config.resume and (out_dir / "last.json").is_file():
        state = _resume(out_dir / "last", model, optimizer, device)
        log.info("resumed from %s at epoch %d", out_dir / "last", state["epoch"])
    ddp_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) if world > 1 else model
    valid_labels = np.array([0 if t.is_spoof else 1 for t in valid_trials])
    while state["epoch"] < config.epochs and state["stale"] < config.patience:
        epoch = state["epoch"]
        dataset.epoch = epoch
        loader = _loader(config, dataset, labels, counts, epoch, world, rank)
        model.train()
        losses, started = [], time.perf_counter()
        for step, (wav, target) in enumerate(loader):
            if config.max_steps_per_epoch and step >= config.max_steps_per_epoch:
                break
            wav, target = wav.to(device, non_blocking=True), target.to(device)
            logits = ddp_model(wav)
            weight = class_weights if config.balance == "weighted_loss" else None
            loss = F.cross_entropy(logits, target, weight=weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        state["epoch"] = epoch + 1
        if rank == 0:
            model.eval()
            eer = validation_eer(valid_labels, score_waves(model, valid_waves, crop_samples=config.crop_samples, device=device))
            entry = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)) if losses else float("nan"), "valid_eer_percent": 100 * eer, "seconds": time.perf_counter() - started}
            state["history"].append(entry)
            log.info("epoch %d/%d: loss %.4f, validation EER %.2f %%, %.1f s", entry["epoch"], config.epochs, entry["train_loss"], entry["valid_eer_percent"], entry["seconds"])
            if eer < state["best_eer"]:
                state["best_eer"], state["stale"] = eer, 0
                save_detector(out_dir / "best", model, name=config.model, record={**record, "valid_eer_percent": 100 * eer, "epoch": epoch + 1, "history": state["history"]})
            else:
                state["stale"] += 1
            _save_last(out_dir / "last", model, optimizer, state, config, record)
        if world > 1:
            torch.distributed.barrier()
            shared = torch.tensor([state["stale"]], device=device)
            torch.distributed.broadcast(shared, 0)
            state["stale"] = int(shared)
    return TrainResult(out_dir / "best.safetensors", 100 * state["best_eer"], state["epoch"], state["history"])


def _loader(config, dataset, labels, counts, epoch, world, rank) -> DataLoader:
    generator = torch.Generator().manual_seed(config.seed + epoch)
    if world > 1:
        sampler = torch.utils.data.distributed.DistributedSampler(dataset, num_replicas=world, rank=rank, seed=config.seed)
        sampler.set_epoch(epoch)
    elif config.balance == "sampler":
        weights = (1.0 / counts)[labels]
        sampler = WeightedRandomSampler(torch.tensor(weights), num_samples=len(labels), replacement=True, generator=generator)
    else:
        sampler = torch.utils.data.RandomSampler(dataset, generator=generator)
    return DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, num_workers=config.num_workers, drop_last=len(dataset) > config.batch_size,
                      persistent_workers=False, pin_memory=torch.cuda.is_available())


def _save_last(path: Path, model, optimizer, state, config, record) -> None:
    """Model + optimizer state for resuming; tensors in safetensors, the rest in JSON."""
    opt = optimizer.state_dict()
    extra = {f"optimizer.state.{idx}.{name}": value for idx, entries in opt["state"].items() for name, value in entries.items() if torch.is_tensor(value)}
    resume = {"epoch": state["epoch"], "best_eer": state["best_eer"], "stale": state["stale"], "history": state["history"], "param_groups": opt["param_groups"]}
    save_detector(path, model, name=config.model, record={**record, "resume": resume}, extra_tensors=extra)


def _resume(path: Path, model, optimizer, device) -> dict:
    loaded, meta, extra = load_detector(path, map_location=device)
    model.load_state_dict(loaded.state_dict())
    resume = meta["training"]["resume"]
    state: dict = {}
    for key, value in extra.items():
        _, _, idx, name = key.split(".", 3)
        state.setdefault(int(idx), {})[name] = value.to(device) if name != "step" else value
    optimizer.load_state_dict({"state": state, "param_groups": resume["param_groups"]})
    return {"epoch": resume["epoch"], "best_eer": resume["best_eer"], "stale": resume["stale"], "history": resume["history"]}


def _train_gmm(config, train_trials, train_waves, valid_trials, valid_waves, record) -> TrainResult:
    gmm = GMMCountermeasure(GMMConfig(**config.model_config), _spec_for(config))
    frames = {0: [], 1: []}
    with torch.inference_mode():
        for trial, wav in zip(train_trials, train_waves):
            x = torch.from_numpy(wav.astype(np.float32) / INT16_SCALE)[None]
            frames[0 if trial.is_spoof else 1].append(gmm.frames(x).numpy())
    gmm.fit(np.concatenate(frames[1]), np.concatenate(frames[0]))
    labels = np.array([0 if t.is_spoof else 1 for t in valid_trials])
    eer = validation_eer(labels, score_waves(gmm, valid_waves, crop_samples=config.crop_samples))
    history = [{"epoch": 1, "valid_eer_percent": 100 * eer}]
    log.info("GMM fitted: validation EER %.2f %%", 100 * eer)
    path = save_detector(Path(config.out_dir) / "best", gmm, name=GMM_NAME, record={**record, "valid_eer_percent": 100 * eer, "history": history})
    return TrainResult(path, 100 * eer, 1, history)


def write_history(result: TrainResult, path: Path) -> None:
    path.write_text(json.dumps({"best_valid_eer_percent": result.best_valid_eer, "history": result.history}, indent=2))


