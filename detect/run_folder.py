"""One training run per folder: resume only a checkpoint of the same model and settings, never overwrite another.

A run is identified by its model, its recipe and held-out source, and every TrainConfig field except the ones
that only schedule or place the work (epochs, patience, where files go, device, workers). A folder that holds a
run of another identity is refused before any data is loaded, so a second model trained with the same recipe can
neither crash by resuming the first one's weights nor overwrite its `best.safetensors`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voxtwin.errors import VoxtwinError

# TrainConfig fields that may change between a run and its resumption
SCHEDULE_KEYS = frozenset({"epochs", "patience", "out_dir", "cache_dir", "num_workers", "device", "resume"})


class RunFolderError(VoxtwinError):
    """An out_dir that holds another run."""


def run_identity(model: str, config: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": model,
        "recipe": record.get("recipe"),
        "holdout": record.get("holdout") or "",
        "config": {k: v for k, v in config.items() if k not in SCHEDULE_KEYS},
    }


def _stored_identity(meta_path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(meta_path.read_text())
        training = meta.get("training", {})
        return run_identity(meta.get("name"), training.get("config", {}), training)
    except (OSError, ValueError, AttributeError):
        return None


def _differences(stored: dict[str, Any] | None, wanted: dict[str, Any]) -> list[str]:
    if stored is None:
        return ["unreadable checkpoint metadata"]
    out = [key for key in ("model", "recipe", "holdout") if stored[key] != wanted[key]]
    keys = set(stored["config"]) | set(wanted["config"])
    return out + sorted(f"train.{k}" for k in keys if stored["config"].get(k) != wanted["config"].get(k))


def check_run_folder(out_dir: str | Path, *, model: str, config: dict[str, Any], record: dict[str, Any]) -> bool:
    """Refuse `out_dir` if it holds another run; True when a checkpoint of this run can be resumed from it.

    Raises:
        RunFolderError: the folder holds a run of another model or other settings, or (with resume off) a finished
            run whose best checkpoint would be overwritten.
    """
    out_dir = Path(out_dir)
    wanted = run_identity(model, config, record)
    hint = "choose another folder with --set train.out_dir=DIR (the default is runs/RECIPE/MODEL), or delete it"
    for name in ("last", "best"):
        meta_path = out_dir / f"{name}.json"
        if not meta_path.is_file():
            continue
        stored = _stored_identity(meta_path)
        differences = _differences(stored, wanted)
        if differences:
            what = f"a {stored['model']!r} run" if stored else "a run"
            raise RunFolderError(f"{out_dir}: holds {what} that differs in {', '.join(differences)}; refusing to resume or overwrite it: {hint}")
    if (out_dir / "best.json").is_file() and not config.get("resume", True):
        raise RunFolderError(f"{out_dir}: holds a finished run and train.resume is false, so its best.safetensors would be overwritten: {hint}")
    return bool(config.get("resume", True)) and (out_dir / "last.json").is_file()
