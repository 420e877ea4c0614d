"""Recipes: a TOML config per benchmark (recipes/<name>/config.toml) -> train, then score and evaluate.

    [train]              # TrainConfig fields: model, epochs, batch_size, lr, augment, ...
    [data.train]         # dataset, root, split, max_files, include_sources, exclude_sources
    [data.valid]         # optional; default: speakers held out of data.train
    [data.eval.NAME]     # datasets scored after training (official score files + metrics)

Checkpoints, score files and summary.json go to `train.out_dir`, by default runs/<recipe>/<model> (with
`_holdout-SOURCE` for a leave-one-source-out fold); a folder holding another model's or config's run is refused.
`root = "..."` at the top fills the train/valid sections without their own root, `eval_root` the eval
sections (falling back to `root`); `holdout = "SOURCE"` makes the run one
leave-one-source-out fold of a manifest dataset. `--set key=value` overrides any dotted key.
"""

from __future__ import annotations

import copy
import json
import logging
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from detect.datasets import DatasetLayoutError, Trial, read_dataset
from detect.evaluation import evaluate_trials
from detect.splits import leave_one_source_out, validation_split
from detect.train import TrainConfig, train
from voxtwin.device import resolve_device
from voxtwin.errors import VoxtwinError
from voxtwin.output_paths import writable_folder, writing

log = logging.getLogger(__name__)
RECIPES_DIR = Path(__file__).resolve().parents[1] / "recipes"


class RecipeError(VoxtwinError):
    """A recipe that cannot be found or whose config is invalid."""


@dataclass
class DataSection:
    dataset: str
    root: str = ""
    split: str = "eval"
    max_files: int = 0
    include_sources: list[str] = field(default_factory=list)
    exclude_sources: list[str] = field(default_factory=list)

    def trials(self) -> list[Trial]:
        if not self.root:
            raise RecipeError(f"no root folder for dataset {self.dataset!r}; pass --set root=DIR")
        trials = read_dataset(self.dataset, self.root, self.split)
        if self.include_sources:
            trials = [t for t in trials if t.source in self.include_sources]
        trials = [t for t in trials if t.source not in self.exclude_sources]
        return subsample(trials, self.max_files)


def subsample(trials: list[Trial], max_files: int) -> list[Trial]:
    """Every k-th trial of each class so that at most max_files remain (0 = all), keeping both classes."""
    if not max_files or len(trials) <= max_files:
        return trials
    out = []
    for label in ("bonafide", "spoof"):
        group = [t for t in trials if t.label == label]
        keep = max(1, round(max_files * len(group) / len(trials)))
        step = max(1, len(group) // keep)
        out += group[::step][:keep]
    return out


def recipe_path(name: str) -> Path:
    """A recipe by name (recipes/<name>/config.toml) or by the path of its TOML file."""
    candidate = Path(name)
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate
    path = RECIPES_DIR / name / "config.toml"
    if not path.is_file():
        available = sorted(p.parent.name for p in RECIPES_DIR.glob("*/config.toml"))
        raise RecipeError(f"unknown recipe {name!r}; available: {', '.join(available)}")
    return path


def parse_override(item: str) -> tuple[str, Any]:
    """'a.b=value' -> ('a.b', value), the value read as TOML (numbers, booleans, lists) or else a string."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise RecipeError(f"--set expects key=value, got {item!r}")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip(), value


def load_recipe(name: str, overrides: list[str] | None = None) -> dict[str, Any]:
    path = recipe_path(name)
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path}: invalid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: not a text file (a recipe is UTF-8 TOML)") from None
    config = copy.deepcopy(config)
    config.setdefault("name", path.parent.name)
    for item in overrides or []:
        key, value = parse_override(item)
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise RecipeError(f"--set {key}: {part!r} is not a section")
        node[leaf] = value
    return config


def _section(raw: dict[str, Any], root: str, what: str) -> DataSection:
    known = {f.name for f in fields(DataSection)}
    unknown = set(raw) - known
    if unknown or "dataset" not in raw:
        raise RecipeError(f"[{what}]: needs 'dataset'; unknown keys: {', '.join(sorted(unknown)) or 'none'}")
    section = DataSection(**raw)
    if isinstance(section.max_files, bool) or not isinstance(section.max_files, int) or section.max_files < 0:
        raise RecipeError(f"[{what}]: max_files must be a whole number >= 0 (0 = all), got {section.max_files!r}")
    section.root = section.root or root
    return section


def train_config(config: dict[str, Any]) -> TrainConfig:
    raw = dict(config.get("train", {}))
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(raw) - known
    if unknown:
        raise RecipeError(f"[train]: unknown keys {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    model = str(raw.get("model", TrainConfig.model))
    holdout = str(config.get("holdout", "") or "")
    # one folder per model (and held-out source), so two models of one recipe never share checkpoints
    raw.setdefault("out_dir", str(Path("runs") / config["name"] / (f"{model}_holdout-{holdout}" if holdout else model)))
    try:
        return TrainConfig(**raw)
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"[train]: {exc}") from None


def run_recipe(name: str, overrides: list[str] | None = None, *, evaluate: bool = True) -> dict[str, Any]:
    """Train a recipe's model and evaluate it on the recipe's eval datasets; returns a JSON-ready summary."""
    config = load_recipe(name, overrides)
    root = str(config.get("root", ""))
    data = config.get("data", {})
    if "train" not in data:
        raise RecipeError(f"recipe {name!r} has no [data.train] section")
    cfg = train_config(config)
    writable_folder(cfg.out_dir, what="training output folder")
    resolve_device(cfg.device)  # a typo or a missing GPU is refused before any data is read
    train_section = _section(data["train"], root, "data.train")
    trials = train_section.trials()
    eval_sets: list[tuple[str, list[Trial]]] = []
    holdout = config.get("holdout", "")
    if holdout:
        trials, held_out = leave_one_source_out(trials, holdout)
        eval_sets.append((f"holdout_{holdout}", held_out))
    if "valid" in data:
        valid = _section(data["valid"], root, "data.valid").trials()
    else:
        trials, valid = validation_split(trials)
    if evaluate:
        for key, raw in data.get("eval", {}).items():
            section = _section(raw, str(config.get("eval_root", "")) or root, f"data.eval.{key}")
            eval_sets.append((f"{section.dataset}_{section.split}", section.trials()))
    result = train(cfg, trials, valid, record={"recipe": config["name"], "holdout": holdout})
    summary: dict[str, Any] = {"recipe": config["name"], "model": cfg.model, "checkpoint": str(result.checkpoint),
                               "best_valid_eer_percent": result.best_valid_eer, "epochs_run": result.epochs_run, "eval": {}}
    for label, eval_trials in eval_sets:
        out = Path(cfg.out_dir) / f"scores_{label}.txt"
        summary["eval"][label] = evaluate_trials(result.checkpoint, eval_trials, scores_out=out)
    with writing(Path(cfg.out_dir) / "summary.json", what="run summary") as path:
        path.write_text(json.dumps(summary, indent=2))
    return summary


__all__ = ["DataSection", "DatasetLayoutError", "RecipeError", "load_recipe", "recipe_path", "run_recipe"]
