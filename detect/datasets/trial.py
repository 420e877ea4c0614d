"""The one record every corpus reader yields; trainer, scorer and metrics see only Trials."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from voxtwin.errors import VoxtwinError
from voxtwin.registry import Registry

LABELS = ("bonafide", "spoof")


class DatasetLayoutError(VoxtwinError):
    """A corpus folder that lacks what its official layout has."""


@dataclass(frozen=True)
class Trial:
    path: Path
    label: str  # "bonafide" or "spoof"
    system: str  # attack / generating system; "-" or "ground_truth" for bona fide
    speaker: str
    utterance: str
    source: str = ""  # where it came from (for leave-one-source-out splits)
    metadata: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_spoof(self) -> bool:
        return self.label == "spoof"


DATASETS: Registry = Registry("dataset")


def require(path: Path, what: str) -> Path:
    """Raise DatasetLayoutError naming the missing piece of a layout."""
    if not path.exists():
        raise DatasetLayoutError(f"{path}: missing {what}")
    return path


def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A dataset's CSV table: (its columns, its rows); DatasetLayoutError when it is not UTF-8 CSV text."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            return list(reader.fieldnames or []), rows
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetLayoutError(f"{path}: not a CSV text file ({exc.__class__.__name__})") from None


def inside(root: Path, listed: str, table: Path) -> Path:
    """root / listed, refusing a listed path that is absolute or climbs out of the dataset folder."""
    rel = Path(listed)
    if rel.is_absolute() or ".." in rel.parts:
        raise DatasetLayoutError(f"{table}: path {listed!r} escapes the dataset folder")
    return root / rel


def require_files(trials: list[Trial], folder: Path, listed_in: str) -> list[Trial]:
    """Raise DatasetLayoutError when audio files a protocol or table lists are missing."""
    missing = [t.path for t in trials if not t.path.is_file()]
    if missing:
        raise DatasetLayoutError(f"{folder}: {len(missing)} of {len(trials)} audio files listed in {listed_in} are missing (first: {missing[0].name})")
    return trials
