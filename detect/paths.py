"""Command-line inputs -> (label, source) pairs: files, folders (recursive), glob patterns and '-' (stdin).

An empty folder or a pattern that matches nothing does not abort the run: its source is the VoxtwinError that
says so, reported in the output like an unreadable file while the other inputs are scored.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import BinaryIO

from voxtwin.audio import MAX_FILE_BYTES, is_audio_path
from voxtwin.errors import VoxtwinError

GLOB_CHARS = set("*?[")


def usable(source: Path | bytes | VoxtwinError) -> bool:
    """False for the inputs expand_inputs could not turn into audio (an empty folder, a pattern with no match)."""
    return not isinstance(source, VoxtwinError)


def expand_inputs(items: list[str], *, stdin: BinaryIO | None = None) -> list[tuple[str, Path | bytes | VoxtwinError]]:
    """Folders give their audio files (sorted); a path that does not exist is kept, to be reported as an error;
    an empty folder or a pattern without matches gives one entry whose source is the error."""
    out: list[tuple[str, Path | bytes | VoxtwinError]] = []
    for item in items:
        if item == "-":
            if stdin is None:
                raise VoxtwinError("'-' given but there is no standard input")
            data = stdin.read(MAX_FILE_BYTES + 1)
            out.append(("<stdin>", data))
        elif GLOB_CHARS & set(item) and not Path(item).exists():
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matches:
                out.append((item, VoxtwinError(f"{item}: the pattern matches no files")))
            out += [(str(p), p) for p in matches]
        elif Path(item).is_dir():
            files = sorted(p for p in Path(item).rglob("*") if p.is_file() and is_audio_path(p))
            if not files:
                out.append((item, VoxtwinError(f"{item}: the folder holds no audio files")))
            out += [(str(p), p) for p in files]
        else:
            out.append((item, Path(item)))
    return out
