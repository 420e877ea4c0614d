"""Trials -> standardised waveforms cached once -> fixed-length crops for training and validation."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from detect.augment import Augmenter
from detect.datasets import Trial
from detect.preprocess import crop, load_standardized
from voxtwin.errors import VoxtwinError

log = logging.getLogger(__name__)
INT16_SCALE = 32767.0
CACHE_VERSION = 2  # bump when `standardize` changes, so stale cached waveforms are not reused


class WaveformCache:
    """Standardised 16 kHz waveforms as int16 arrays, in memory and (optionally) on disk by path hash."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        if cache_dir:
            cache_dir.mkdir(parents=True, exist_ok=True)

    def _file(self, path: Path) -> Path | None:
        if self.cache_dir is None:
            return None
        stat = path.stat()
        key = hashlib.sha1(f"{CACHE_VERSION}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
        return self.cache_dir / f"{key}.npy"

    def load(self, path: Path) -> np.ndarray | None:
        """int16 waveform, or None when the file is unusable (logged, then skipped)."""
        cached = self._file(path)
        if cached is not None and cached.is_file():
            return np.load(cached, allow_pickle=False)
        try:
            wav = load_standardized(path)
        except VoxtwinError as exc:
            log.warning("skipping %s", exc)
            return None
        if len(wav) == 0:
            log.warning("skipping %s: no speech found", path)
            return None
        data = np.round(np.clip(wav, -1, 1) * INT16_SCALE).astype(np.int16)
        if cached is not None:
            np.save(cached, data, allow_pickle=False)
        return data


def load_trials(trials: list[Trial], cache: WaveformCache, *, description: str = "Loading audio") -> tuple[list[Trial], list[np.ndarray]]:
    """Load every trial (with a progress bar); unusable files are dropped with a warning."""
    from rich.progress import track

    kept, waves = [], []
    for trial in track(trials, description=description, transient=True, disable=len(trials) < 20):
        wav = cache.load(trial.path)
        if wav is not None:
            kept.append(trial)
            waves.append(wav)
    if not kept:
        raise VoxtwinError("no usable audio among the trials")
    return kept, waves


class CropDataset(Dataset):
    """Random crops with augmentation (training) or the first crop (evaluation), labels 1 = bona fide."""

    def __init__(self, trials: list[Trial], waves: list[np.ndarray], *, crop_samples: int, train: bool, augmenter: Augmenter | None = None, seed: int = 0) -> None:
        self.trials = trials
        self.waves = waves
        self.crop_samples = crop_samples
        self.train = train
        self.augmenter = augmenter
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.trials)

    @property
    def labels(self) -> np.ndarray:
        return np.array([0 if t.is_spoof else 1 for t in self.trials])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        wav = self.waves[index].astype(np.float32) / INT16_SCALE
        label = 0 if self.trials[index].is_spoof else 1
        if not self.train:
            return torch.from_numpy(crop(wav, self.crop_samples)), label
        rng = np.random.default_rng([self.seed, self.epoch, index])
        start = int(rng.integers(0, max(1, len(wav) - self.crop_samples + 1)))
        segment = crop(wav, self.crop_samples, start=start)
        if self.augmenter is not None:
            segment = self.augmenter(segment, 16_000, rng)
        return torch.from_numpy(np.ascontiguousarray(segment, dtype=np.float32)), label
