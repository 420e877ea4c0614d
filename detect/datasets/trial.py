"""The one record every corpus reader yields; trainer, scorer and metrics see only Trials."""

from __future__ import annotations

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


def require_files(trials: list[Trial], folder: Path, listed_in: str) -> list[Trial]:
    """Raise DatasetLayoutError when audio files a protocol or table lists are missing."""
    missing = [t.path for t in trials if not t.path.is_file()]
    if missing:
        raise DatasetLayoutError(f"{folder}: {len(missing)} of {len(trials)} audio files listed in {listed_in} are missing (first: {missing[0].name})")
    return trials
