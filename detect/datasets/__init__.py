"""Corpus readers: each official layout becomes a list of `Trial` records, validated on the way.

    trials = read_dataset("asvspoof2019_la", Path("/data/ASVspoof2019"), split="dev")
"""

from __future__ import annotations

from pathlib import Path

from detect.datasets import asvspoof, folders  # noqa: F401  (register the readers)
from detect.datasets.trial import DATASETS, LABELS, DatasetLayoutError, Trial


def read_dataset(name: str, root: str | Path, split: str = "eval") -> list[Trial]:
    root = Path(root)
    reader = DATASETS.get(name)
    if not root.is_dir():
        raise DatasetLayoutError(f"{root}: dataset folder not found")
    return reader(root, split)


__all__ = ["DATASETS", "LABELS", "DatasetLayoutError", "Trial", "read_dataset"]
