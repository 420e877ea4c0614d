"""`--backend auto`: the best pulled backend that can do the job, else the best built-in one.

convert: OpenVoice v2 when pulled (and coqui-tts is installed), else the trained built-in converter `vox-vc`.
speak: XTTS-v2 when pulled, coqui-tts is installed and it speaks the language, else `vox-vc` (English: hibari's
voice read, then converted). The built-in `knn-world` / `piper-knn` stay available by name.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from voice.pretrained.catalog import CATALOG
from voice.pretrained.store import is_pulled, pulled_model_dir
from voxtwin.errors import VoxtwinError

BUILT_IN = {"convert": "vox-vc", "speak": "vox-vc"}
FALLBACK = {"convert": "knn-world", "speak": "piper-knn"}  # when the trained converter's weights are missing


@dataclass(frozen=True)
class BackendChoice:
    name: str
    model_dir: Path | None
    reason: str


def _coqui_installed() -> bool:
    return importlib.util.find_spec("TTS") is not None


def _built_in(task: str) -> BackendChoice:
    from voice.converter.weights import SHIPPED

    if SHIPPED.is_file():
        return BackendChoice(BUILT_IN[task], None, "built in")
    return BackendChoice(FALLBACK[task], None, "built in; the trained converter's weights are not installed")


def choose(task: str, *, language: str = "en") -> BackendChoice:
    """The backend `auto` means for `task` ("convert" or "speak") and the language."""
    candidates = sorted((e for e in CATALOG.values() if e.task == task), key=lambda e: e.rank)
    skipped = []
    for item in candidates:
        if not is_pulled(item.name):
            continue
        if "*" not in item.languages and language not in item.languages:
            skipped.append(f"{item.name} does not speak {language}")
            continue
        if not _coqui_installed():
            skipped.append(f"{item.name} needs coqui-tts (pip install -e '.[coqui]')")
            continue
        return BackendChoice(item.backend, pulled_model_dir(item.name), f"pulled {item.name}")
    fallback = _built_in(task)
    if skipped:
        return BackendChoice(fallback.name, None, f"{fallback.reason}; {'; '.join(skipped)}")
    return fallback


def resolve(task: str, backend: str, *, model_dir: str | os.PathLike | None, language: str = "en") -> BackendChoice:
    """A backend name as given on the command line -> what will run. Named neural backends without --model-dir
    use their pulled copy."""
    if backend == "auto":
        if model_dir is not None:
            raise VoxtwinError("--model-dir needs a named backend (e.g. --backend xtts or openvoice), not auto")
        return choose(task, language=language)
    if model_dir is None:
        pulled = [e for e in CATALOG.values() if e.backend == backend and e.task == task and is_pulled(e.name)]
        if pulled:
            return BackendChoice(backend, pulled_model_dir(pulled[0].name), f"pulled {pulled[0].name}")
    return BackendChoice(backend, Path(model_dir) if model_dir is not None else None, "as asked")
