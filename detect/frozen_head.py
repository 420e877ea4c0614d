"""Fit the head of a detector whose front-end is fixed: pretrained and frozen (distillmos-linear) or plain spectra
(spectral-linear); both are WindowStatsLinear models.

The front-end never changes, so each training file's window statistics are computed once (with augmented copies,
so codecs and telephone bands are seen) and logistic regression is fitted on them in seconds; the regularisation
strength is chosen on a speaker-disjoint validation set, scored as `voxtwin detect score` scores a file, or by
folds that hold out whole sources (`source_folds`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from detect import metrics
from detect.data import INT16_SCALE
from detect.parallel_scoring import score_in_parallel
from detect.preprocess import SAMPLE_RATE, crop
from detect.source_weights import WEIGHTINGS, source_balanced_weights
from voxtwin.band_ceiling import ceiled
from voxtwin.console import progress


@dataclass
class WindowStats:
    """Window statistics of many files: `stats` (N, D), and `owner` (N,) the index of each row's file."""

    stats: np.ndarray
    owner: np.ndarray

    def save(self, path) -> None:
        np.savez(path, stats=self.stats, owner=self.owner)

    @classmethod
    def load(cls, path) -> "WindowStats":
        with np.load(path, allow_pickle=False) as data:
            return cls(data["stats"], data["owner"])

    def subset(self, files: np.ndarray, *, max_windows: int | None = None) -> "WindowStats":
        """The rows of `files` (file indices), renumbered 0..len(files)-1 in that order; at most `max_windows`
        evenly spaced rows per file."""
        position = np.full(int(self.owner.max(initial=-1)) + 1, -1)
        position[np.asarray(files)] = np.arange(len(files))
        rows = np.flatnonzero(position[self.owner] >= 0)
        if max_windows:
            rows = np.concatenate([r[np.linspace(0, len(r) - 1, min(len(r), max_windows)).round().astype(int)] for r in np.split(rows, np.flatnonzero(np.diff(self.owner[rows])) + 1) if len(r)])
        return WindowStats(self.stats[rows], position[self.owner[rows]])

    @staticmethod
    def concat(parts: list["WindowStats"]) -> "WindowStats":
        return WindowStats(np.concatenate([p.stats for p in parts]), np.concatenate([p.owner for p in parts]))

    @classmethod
    def cached(cls, directory: Path, name: str, waves: list[np.ndarray], settings: dict, compute) -> "WindowStats":
        """Statistics saved in `directory` under `name` and a digest of the waveforms and settings, or `compute()`
        saved there first: the front-end never changes, but a changed file list or window must not reuse a cache."""
        path = Path(directory) / f"{name}-{stats_key(waves, settings)}.npz"
        if not path.is_file():
            compute().save(path)
        return cls.load(path)


def stats_key(waves: list[np.ndarray], settings: dict) -> str:
    """A short digest of the waveforms (samples and lengths, in order) and the settings that shape their statistics."""
    digest = hashlib.sha1(repr(sorted(settings.items())).encode())
    for wave in waves:
        digest.update(np.int64(len(wave)).tobytes())
        digest.update(np.ascontiguousarray(wave).tobytes())
    return digest.hexdigest()[:12]


def augmented_copy(copy: dict, *, seed_offset: int = 0) -> tuple[str, object]:
    """(label, `collect_stats` transform) for one `augmented_copies` entry {"augment": [names], "seed": n}: each file
    gets one augmentation picked from the names, reproducibly per file."""
    from detect.augment import AUGMENTATIONS

    def transform(wav: np.ndarray, index: int) -> np.ndarray:
        name, rng = picked_augmentation(copy, index, seed_offset=seed_offset)
        return np.clip(AUGMENTATIONS.get(name)(wav, SAMPLE_RATE, rng), -1, 1).astype(np.float32)

    return f"{'-'.join(copy['augment'])}_seed{copy['seed']}", transform


def picked_augmentation(copy: dict, index: int, *, seed_offset: int = 0) -> tuple[str, np.random.Generator]:
    """(the augmentation `augmented_copy` gives file `index`, the generator it then draws its settings from): which
    one a file got is known without redoing the copy."""
    rng = np.random.default_rng([seed_offset + copy["seed"], index])
    return copy["augment"][int(rng.integers(len(copy["augment"])))], rng


def kept_audio(transform, directory: Path):
    """`transform` with each file's output kept in `directory` (one .npy per file index, written atomically): a
    copy that is costly to make (a speech enhancer, codecs) is made once and read back by the next detector fitted
    on the same files and copy. The caller names the directory after the waveforms and the copy."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    def kept(wav: np.ndarray, index: int) -> np.ndarray:
        path = directory / f"{index}.npy"
        if path.is_file():
            return np.load(path, allow_pickle=False)
        out = np.ascontiguousarray(transform(wav, index), dtype=np.float32)
        partial = path.with_suffix(".partial.npy")
        np.save(partial, out)
        os.replace(partial, path)
        return out

    return kept


def window_starts(n_samples: int, window: int, hop: int) -> list[int]:
    """Window starts every `hop`; a tail that no window covers gets one more window, ending at the file's end."""
    if n_samples <= window:
        return [0]
    starts = list(range(0, n_samples - window + 1, hop))
    if starts[-1] + window < n_samples - hop // 2:
        starts.append(n_samples - window)
    return starts


@torch.inference_mode()
def file_stats(model, wav: np.ndarray, *, window: int, hop: int, max_windows: int | None = None) -> np.ndarray:
    """(n_windows, D) statistics of one standardised 16 kHz file (see file_windows), under the model's band ceiling
    if it has one, as `voxtwin detect score` windows it."""
    if getattr(model, "band_ceiling_hz", 0.0):
        wav = ceiled(wav, model.band_ceiling_hz)
    span, starts = file_windows(wav, window=window, hop=hop, max_windows=max_windows)
    return model.span_stats(span, starts, window).numpy()


def file_windows(wav: np.ndarray, *, window: int, hop: int, max_windows: int | None = None) -> tuple[torch.Tensor, list[int]]:
    """(signal, window starts) as `voxtwin detect score` windows a file: shorter files are repeat-padded to one
    window; at most `max_windows` evenly spaced windows when given."""
    wav = crop(wav, window) if len(wav) < window else wav
    starts = window_starts(len(wav), window, hop)
    if max_windows and len(starts) > max_windows:
        starts = [starts[i] for i in np.linspace(0, len(starts) - 1, max_windows).round().astype(int)]
    return torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)), starts


@contextlib.contextmanager
def float32_front_end(model):
    """Heads are fitted on float32 statistics on every machine, so a checkpoint means the same thing everywhere;
    scoring in bfloat16 corrects for the difference (DistillMOSLinearConfig.bf16_logit_offset)."""
    before = getattr(model, "precision", None)
    if hasattr(model, "precision"):
        model.precision = "fp32"
    try:
        yield
    finally:
        if hasattr(model, "precision"):
            model.precision = before


def collect_stats(
    model, waves: list[np.ndarray], *, window: int, hop: int, max_windows: int | None = None, transform=None, jobs: int = 2, description: str = "Window statistics"
) -> WindowStats:
    """Statistics of every file (int16 standardised waveforms), `transform(float_wave, index)` applied first;
    `jobs` threads share the CPU (the convolutions release the GIL)."""

    def one(i: int) -> np.ndarray:
        wav = waves[i].astype(np.float32) / INT16_SCALE
        if transform is not None:
            wav = transform(wav, i)
        return file_stats(model, wav, window=window, hop=hop, max_windows=max_windows)

    with float32_front_end(model):
        parts = list(progress(score_in_parallel(one, list(range(len(waves))), max(1, jobs), processes=False), description, total=len(waves)))
    owner = np.concatenate([np.full(len(p), i) for i, p in enumerate(parts)])
    return WindowStats(np.concatenate(parts).astype(np.float32), owner)


def file_scores(window_scores: np.ndarray, owner: np.ndarray, n_files: int) -> np.ndarray:
    """A file's score is the mean of its windows' log-odds, as in `voxtwin detect score`."""
    return np.bincount(owner, weights=window_scores, minlength=n_files) / np.maximum(np.bincount(owner, minlength=n_files), 1)


def fit_head(
    model, train: WindowStats, train_bonafide: np.ndarray, valid: WindowStats, valid_bonafide: np.ndarray, *, c_grid=(0.01, 0.03, 0.1, 0.3, 1.0),
    train_sources: np.ndarray | None = None, weighting: str = "class", source_folds: int = 0, mix_pages: float = 0.0,
    mlp_seeds: tuple[int, ...] | None = None, mlp_epochs: int | None = None,
) -> dict:
    """Fit standardisation + logistic regression (bona fide = 1) into `model`'s head; a model whose `head_kind` is
    "mlp" (detect/models/distillmos_spectral_mlp.py) gets fit_mlp_head's hidden layer instead (class weighting only).

    Args:
        train_sources: one source name per training file; needed by the two options below.
        weighting: "class" (the two classes weigh the same) or "source" (also every source within its class,
            detect/source_weights.py).
        source_folds: 0 chooses C by the validation EER of file scores (unseen speakers of the training sources);
            k > 1 by the pooled out-of-fold file EER of k folds that each hold out whole sources, i.e. by how well
            the head meets sources it has not seen.
        mix_pages: > 0 (hidden-layer heads only): windows mixed within their class across (source, class) groups
            (detect/window_mlp_head.py); needs train_sources.
        mlp_seeds: the hidden-layer head's seeds (None: MLPHeadSettings' own); as many as the model's hidden layer holds.
        mlp_epochs: the hidden-layer head's passes over the training windows (None: MLPHeadSettings' own, 20).

    Returns:
        {"C": ..., "valid_eer_percent": ..., "grid": {C: validation EER}} (+ "source_fold_grid" with source_folds).
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, not {weighting!r}")
    if getattr(model, "head_kind", "logistic") == "mlp":
        if weighting != "class" or source_folds:
            raise ValueError("a hidden-layer head is fitted with class weighting and without source folds only")
        return fit_mlp_head(model, train, train_bonafide, valid, valid_bonafide, mix_pages=mix_pages, train_sources=train_sources, seeds=mlp_seeds,
                            epochs=mlp_epochs)
    if mix_pages or mlp_seeds or mlp_epochs:
        raise ValueError("mix_pages, mlp_seeds and mlp_epochs train a hidden-layer head only")
    if (weighting == "source" or source_folds) and train_sources is None:
        raise ValueError("source weighting and source folds need train_sources")
    mean, scale = standardisation(train)
    x = standardised(model, train.stats, mean, scale)
    y = train_bonafide[train.owner].astype(int)
    window_sources = None if train_sources is None else np.asarray(train_sources)[train.owner]
    weights = source_balanced_weights(window_sources, y) if weighting == "source" else None
    xv = standardised(model, valid.stats, mean, scale)
    grid, fitted = {}, {}
    for c in c_grid:
        fitted[c] = _logistic(x, y, c, weights)
        scores = file_scores(fitted[c].decision_function(xv), valid.owner, len(valid_bonafide))
        grid[c] = 100 * metrics.eer(scores[valid_bonafide], scores[~valid_bonafide])[0]
    result = {}
    if source_folds:
        fold_grid = source_fold_eers(x, y, train.owner, np.asarray(train_sources), np.asarray(train_bonafide), c_grid, weighting=weighting, folds=source_folds)
        c = min(c_grid, key=lambda k: fold_grid[k])
        result["source_fold_grid"] = {str(k): v for k, v in fold_grid.items()}
    else:
        c = min(c_grid, key=lambda k: grid[k])
    clf = fitted[c]
    with torch.no_grad():
        set_standardisation(model, mean, scale)
        model.out.weight.copy_(torch.from_numpy(clf.coef_.astype(np.float32)))
        model.out.bias.copy_(torch.from_numpy(clf.intercept_.astype(np.float32)))
    return {"C": c, "valid_eer_percent": grid[c], "grid": {str(k): v for k, v in grid.items()}, **result}


def standardisation(train: WindowStats) -> tuple[np.ndarray, np.ndarray]:
    """The per-statistic mean and scale every head is fitted after (and stores in the model's buffers)."""
    return train.stats.mean(0), train.stats.std(0) + 1e-6


def standardised(model, stats: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """What the model's head will read (WindowStatsLinear.standardise): the statistics standardised, those the model
    ignores set to zero, so that the fit gives them no weight."""
    x = (stats - mean) / scale
    if getattr(model, "kept_stats", None) is not None:
        x = x * model.kept_stats.numpy()
    return x


def set_standardisation(model, mean: np.ndarray, scale: np.ndarray) -> None:
    model.mean.copy_(torch.from_numpy(mean))
    model.scale.copy_(torch.from_numpy(scale))


def fit_mlp_head(model, train: WindowStats, train_bonafide: np.ndarray, valid: WindowStats, valid_bonafide: np.ndarray, *,
                 mix_pages: float = 0.0, train_sources: np.ndarray | None = None, seeds: tuple[int, ...] | None = None,
                 epochs: int | None = None) -> dict:
    """Fit standardisation + detect/window_mlp_head.py's head (its fixed settings; nothing chosen on validation) into
    `model`'s hidden and output layers (detect/models/distillmos_spectral_mlp.py); a model with `vote_heads()` (its
    log-odds the mean of several heads', each reading a slice of the statistics: detect/models/fine_structure_vote.py)
    gets one such head per slice. mix_pages > 0 mixes windows within their class across groups (training source,
    class), read from train_sources (one per training file; an augmented copy is in its file's group). `seeds` replaces
    the settings' seeds (how much the fit's own randomness moves a result: recipes/default_detector, [head] mlp_seeds);
    `epochs` their number of passes over the windows ([head] mlp_epochs).
    Returns {"head": "mlp", "settings": ..., "valid_eer_percent": ...} (+ "vote_valid_eer_percent", one per head)."""
    import dataclasses

    from detect.window_mlp_head import MLPHeadSettings, WindowMLPHead

    chosen = {**({} if seeds is None else {"seeds": tuple(int(seed) for seed in seeds)}), **({} if epochs is None else {"epochs": int(epochs)})}
    settings = MLPHeadSettings(mix_pages=mix_pages, **chosen)
    if mix_pages and train_sources is None:
        raise ValueError("mix_pages needs the training files' sources")
    heads = model.vote_heads() if hasattr(model, "vote_heads") else [(slice(None), model.hidden, model.out)]
    for _, hidden, _ in heads:
        if hidden.out_features != settings.hidden * len(settings.seeds):
            raise ValueError(f"the model holds {hidden.out_features} hidden units, the head fits {settings.hidden} x {len(settings.seeds)} seeds")
    mean, scale = standardisation(train)
    spoof = (~train_bonafide[train.owner]).astype(int)
    groups = np.char.add(np.asarray(train_sources, dtype=str)[train.owner], spoof.astype(str)) if mix_pages else None
    x, xv = standardised(model, train.stats, mean, scale), standardised(model, valid.stats, mean, scale)
    votes = []
    for part, hidden, out in heads:
        fitted = WindowMLPHead(settings).fit(x[:, part], spoof, groups)
        with torch.no_grad():
            for tensor, value in zip((hidden.weight, hidden.bias, out.weight, out.bias), fitted.bonafide_layers()):
                tensor.copy_(value)
        votes.append(-fitted.decision_function(xv[:, part]))
    with torch.no_grad():
        set_standardisation(model, mean, scale)
    # judged by the fitted seeds themselves (each stored layer is exactly their mean), whatever else the model's head mixes in
    def valid_eer(window_scores: np.ndarray) -> float:
        scores = file_scores(window_scores, valid.owner, len(valid_bonafide))
        return 100 * metrics.eer(scores[valid_bonafide], scores[~valid_bonafide])[0]

    result = {"head": "mlp", "settings": dataclasses.asdict(settings), "valid_eer_percent": valid_eer(np.mean(votes, axis=0))}
    if len(votes) > 1:
        result["vote_valid_eer_percent"] = [valid_eer(v) for v in votes]
    return result


def _logistic(x: np.ndarray, y: np.ndarray, c: float, weights: np.ndarray | None):
    from sklearn.linear_model import LogisticRegression

    if weights is None:
        return LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(x, y)
    return LogisticRegression(C=c, max_iter=2000).fit(x, y, sample_weight=weights)


def source_folds_of(file_sources: np.ndarray, owner: np.ndarray, folds: int) -> dict[str, int]:
    """{source: fold}: sources dealt out largest first, each to the fold with the fewest windows so far, so the
    folds hold similar numbers of windows."""
    names, counts = np.unique(file_sources[owner], return_counts=True)
    sizes, out = [0] * folds, {}
    for name, count in sorted(zip(names, counts), key=lambda nc: (-nc[1], nc[0])):
        fold = sizes.index(min(sizes))
        out[str(name)] = fold
        sizes[fold] += int(count)
    return out


def source_fold_eers(
    x: np.ndarray, y: np.ndarray, owner: np.ndarray, file_sources: np.ndarray, file_bonafide: np.ndarray, c_grid, *, weighting: str, folds: int
) -> dict[float, float]:
    """{C: pooled EER (%) of out-of-fold file scores}, each file scored by the head fitted without its source."""
    fold_of = source_folds_of(file_sources, owner, folds)
    window_fold = np.array([fold_of[str(s)] for s in file_sources[owner]])
    window_sources = file_sources[owner]
    out = {}
    for c in c_grid:
        logits = np.zeros(len(y))
        for fold in range(folds):
            held = window_fold == fold
            weights = source_balanced_weights(window_sources[~held], y[~held]) if weighting == "source" else None
            logits[held] = _logistic(x[~held], y[~held], c, weights).decision_function(x[held])
        scores = file_scores(logits, owner, len(file_bonafide))
        seen = np.bincount(owner, minlength=len(file_bonafide)) > 0
        out[c] = 100 * metrics.eer(scores[seen & file_bonafide], scores[seen & ~file_bonafide])[0]
    return out


def score_stats(model, stats: WindowStats, n_files: int, *, head=None) -> np.ndarray:
    """File scores (bona fide log-odds) of precomputed statistics under `model`'s head (or `head`, one of its parts)."""
    with torch.inference_mode():
        window_scores = (head or model.head)(torch.from_numpy(stats.stats)).numpy().astype(np.float64)
    return file_scores(window_scores, stats.owner, n_files)
