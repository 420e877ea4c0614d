"""Metrics of score files: the function behind `voxtwin detect metrics`."""

from __future__ import annotations

from pathlib import Path

from detect import metrics
from detect.scorefile import read_asv_scores, read_cm_scores
from voxtwin.errors import VoxtwinError


def score_file_metrics(
    scores: Path, *, asv_scores: Path | None = None, protocol: Path | None = None, metric_format: str = "asvspoof2019", per_system: bool = False
) -> dict:
    """All metrics of `metric_format` for a CM score file (plus t-DCF etc. when ASV scores are given)."""
    cm = read_cm_scores(scores, protocol=protocol)
    asv = read_asv_scores(asv_scores) if asv_scores else None
    result = {"scores": str(scores), "format": metric_format, **metrics.summarize(cm.bonafide, cm.spoof, metric_format=metric_format, asv=asv)}
    if per_system:
        result["per_system_eer_percent"] = {
            system: 100 * metrics.eer(cm.bonafide, spoof)[0] for system, spoof in cm.by_system().items()
        }
    return result


def evaluate_trials(checkpoint_path: Path, trials, *, scores_out: Path, batch_size: int = 32, device: str = "auto", crop_samples: int | None = None,
                    ray: dict | None = None) -> dict:
    """Score trials with a detector checkpoint, write the official 4-column score file, return its metrics.

    `ray`: run on Ray instead (detect/ray_engine.py), with these keyword arguments of score_trials_on_ray
    (address, jobs, shard_size, resume, num_gpus_per_worker); the scores are the same.
    """
    import numpy as np

    from detect.scorefile import write_cm_scores

    trials = list(trials)
    if ray is not None:
        from detect.ray_engine import score_trials_on_ray

        scored = score_trials_on_ray(checkpoint_path, trials, device="cpu" if device == "auto" else device, **ray)
        kept = [t for t, score in zip(trials, scored) if score is not None]
        scores = np.array([score for score in scored if score is not None])
        if not kept:
            raise VoxtwinError("no usable audio among the trials")
    else:
        kept, scores = _score_trials_here(checkpoint_path, trials, batch_size=batch_size, device=device, crop_samples=crop_samples)
    write_cm_scores(scores_out, [t.utterance for t in kept], [t.system for t in kept], [t.label for t in kept], list(map(float, scores)))
    result = {"scores": str(scores_out), "n_skipped": len(trials) - len(kept)}
    keys = np.array([t.label for t in kept])
    if (keys == "bonafide").any() and (keys == "spoof").any():
        result.update(metrics.summarize(scores[keys == "bonafide"], scores[keys == "spoof"]))
        systems = np.array([t.system for t in kept])
        result["per_system_eer_percent"] = {
            s: 100 * metrics.eer(scores[keys == "bonafide"], scores[(systems == s) & (keys == "spoof")])[0] for s in sorted(set(systems[keys == "spoof"]))
        }
    return result


def _score_trials_here(checkpoint_path: Path, trials: list, *, batch_size: int, device: str, crop_samples: int | None):
    """(usable trials, their scores) on this machine: waveforms cached, then scored in batches."""
    from detect.checkpoints import load_detector
    from detect.data import WaveformCache, load_trials
    from detect.train import DEFAULT_CROP_SAMPLES, default_cache_dir, score_waves
    from voxtwin.device import resolve_device

    torch_device = resolve_device(device)
    model, meta, _ = load_detector(checkpoint_path, map_location=torch_device)
    crop = crop_samples or meta.get("training", {}).get("config", {}).get("crop_samples", DEFAULT_CROP_SAMPLES)
    kept, waves = load_trials(trials, WaveformCache(default_cache_dir()), description="Scoring")
    return kept, score_waves(model, waves, crop_samples=crop, batch_size=batch_size, device=torch_device)


def evaluate_dataset(checkpoint_path: Path, *, dataset: str, root: Path, split: str = "eval", scores_out: Path, device: str = "auto", ray: dict | None = None) -> dict:
    """The function behind `voxtwin detect eval` (`ray`: see evaluate_trials)."""
    from detect.datasets import read_dataset

    return {"dataset": dataset, "split": split, **evaluate_trials(checkpoint_path, read_dataset(dataset, root, split), scores_out=scores_out, device=device, ray=ray)}
