"""Command-line inputs -> (label, source) pairs: files, folders (recursive), glob patterns and '-' (stdin)."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import BinaryIO

from voxtwin.audio import MAX_FILE_BYTES, is_audio_path
from voxtwin.errors import VoxtwinError

GLOB_CHARS = set("*?[")


def expand_inputs(items: list[str], *, stdin: BinaryIO | None = None) -> list[tuple[str, Path | bytes]]:
    """Folders give their audio files (sorted); a path that does not exist is kept, to be reported as an error."""
    out: list[tuple[str, Path | bytes]] = []
    for item in items:
        if item == "-":
            if stdin is None:
                raise VoxtwinError("'-' given but there is no standard input")
            data = stdin.read(MAX_FILE_BYTES + 1)
            out.append(("<stdin>", data))
        elif GLOB_CHARS & set(item) and not Path(item).exists():
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matches:
                raise VoxtwinError(f"{item}: the pattern matches no files")
            out += [(str(p), p) for p in matches]
        elif Path(item).is_dir():
            files = sorted(p for p in Path(item).rglob("*") if p.is_file() and is_audio_path(p))
            if not files:
                raise VoxtwinError(f"{item}: the folder holds no audio files")
            out += [(str(p), p) for p in files]
        else:
            out.append((item, Path(item)))
    return out
