"""The file name of a copy that make_data.py generates from one real recording, shared with copy_distance.py, which
finds each copy's original by it."""

from __future__ import annotations

from pathlib import Path


def copy_stem(trial, root: str | Path) -> str:
    """The recording's path under ROOT, folders joined by "_". Source and utterance alone repeat (one LibriTTS utterance
    at two rates in a demo page; `gtexample` in 35 folders), and until 2026-12-04 a repeated name made the second
    copy reuse the first's file, listed twice."""
    relative = Path(trial.path).resolve().relative_to(Path(root).resolve())
    return "_".join(relative.with_suffix("").parts)
