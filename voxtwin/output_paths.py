"""Output locations checked before the work starts, and write failures turned into one-line errors.

Every command that writes (audio, profiles, plots, score files, training runs) goes through here, so a missing
folder is created, and a read-only folder, a path under a regular file or a full disk is reported by name
instead of ending in a traceback after minutes of work.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Iterator

from voxtwin.errors import VoxtwinError


class OutputPathError(VoxtwinError):
    """An output file or folder that cannot be created or written."""


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno == errno.ENOTDIR:
        return "a file is in the way of the folder"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    return exc.strerror or exc.__class__.__name__


def _blocking_file(path: Path) -> Path | None:
    """The regular file, if any, that sits where one of `path`'s folders should be."""
    for parent in [path, *path.parents]:
        if parent.exists():
            return parent if not parent.is_dir() else None
    return None


def writable_folder(folder: str | os.PathLike, *, what: str = "output folder") -> Path:
    """Create `folder` (and its parents) if needed and prove a file can be written in it.

    Raises:
        OutputPathError: naming the folder and why (a file in the way, permission denied, read-only, ...).
    """
    folder = Path(folder)
    blocker = _blocking_file(folder)
    if blocker is not None:
        raise OutputPathError(f"{folder}: cannot create the {what}: {blocker} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".voxtwin-write-test-"):
            pass
    except OSError as exc:
        raise OutputPathError(f"{folder}: cannot write the {what} there ({_reason(exc)})") from None
    return folder


def writable_file(path: str | os.PathLike, *, what: str = "output file") -> Path:
    """Check, before any work, that `path` can be written: its folder is created and probed; a folder is refused."""
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{path}: is a folder; give a file name for the {what}")
    writable_folder(path.parent, what=f"folder of the {what}")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"{path}: cannot overwrite the {what} (permission denied)")
    return path


@contextlib.contextmanager
def writing(path: str | os.PathLike, *, what: str = "output file") -> Iterator[Path]:
    """Run a write; an OSError inside becomes an OutputPathError naming `path` (disk full, removed folder, ...)."""
    try:
        yield Path(path)
    except OutputPathError:
        raise
    except OSError as exc:
        raise OutputPathError(f"{path}: cannot write the {what} ({_reason(exc)})") from None
