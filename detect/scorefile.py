"""Score files in the ASVspoof formats, read defensively and written in the official layout.

CM scores: 4 columns `UTT SYSTEM KEY SCORE` (KEY bonafide/spoof, higher = more bona fide), or 2 columns
`UTT SCORE` with the keys taken from a protocol file. ASV scores: lines ending `... TYPE SCORE` with TYPE in
target/nontarget/spoof (the ASVspoof 2019 `KEY TYPE SCORE` files, and 2021/5 variants with leading ids).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detect.protocols import read_protocol
from voxtwin.errors import VoxtwinError

MAX_SCORE_FILE_BYTES = 1024**3


class ScoreFileError(VoxtwinError):
    """A score or protocol file that cannot be parsed."""


@dataclass
class CMScores:
    utterances: list[str]
    systems: list[str]
    keys: np.ndarray  # "bonafide" / "spoof"
    scores: np.ndarray

    @property
    def bonafide(self) -> np.ndarray:
        return self.scores[self.keys == "bonafide"]

    @property
    def spoof(self) -> np.ndarray:
        return self.scores[self.keys == "spoof"]

    def by_system(self) -> dict[str, np.ndarray]:
        systems = np.asarray(self.systems)
        return {s: self.scores[(systems == s) & (self.keys == "spoof")] for s in sorted(set(systems[self.keys == "spoof"]))}


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    """(line number in the file, fields) of each line that is neither blank nor a # comment."""
    if not path.is_file():
        raise ScoreFileError(f"{path}: no such file")
    if path.stat().st_size > MAX_SCORE_FILE_BYTES:
        raise ScoreFileError(f"{path}: larger than {MAX_SCORE_FILE_BYTES} bytes")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ScoreFileError(f"{path}: not a text file") from None
    rows = [(n, line.split()) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise ScoreFileError(f"{path}: holds no scores")
    return rows


def _score(value: str, path: Path, line_no: int) -> float:
    try:
        score = float(value)
    except ValueError:
        raise ScoreFileError(f"{path}:{line_no}: score {value!r} is not a number") from None
    if not math.isfinite(score):
        raise ScoreFileError(f"{path}:{line_no}: score {value!r} is not finite")
    return score


def read_cm_scores(path: str | Path, *, protocol: str | Path | None = None) -> CMScores:
    """Read a 4-column score file, or a 2-column one together with its protocol."""
    path = Path(path)
    rows = _lines(path)
    width = len(rows[0][1])
    utts, systems, keys, scores = [], [], [], []
    first_line: dict[str, int] = {}  # utterance -> the line that scored it: a trial is scored once
    if width == 2:
        if protocol is None:
            raise ScoreFileError(f"{path}: 2-column scores (UTT SCORE) need --protocol to know which trials are bona fide")
        entries = {e.utterance: e for e in read_protocol(Path(protocol))}
        for n, row in rows:
            if len(row) != 2:
                raise ScoreFileError(f"{path}:{n}: {len(row)} columns where the file's first line has 2 (UTT SCORE)")
            entry = entries.get(row[0])
            if entry is None:
                raise ScoreFileError(f"{path}:{n}: utterance {row[0]!r} is not in the protocol {protocol}")
            _once(row[0], n, first_line, path)
            utts.append(row[0]), systems.append(entry.system), keys.append(entry.key), scores.append(_score(row[1], path, n))
    elif width == 4:
        for n, row in rows:
            if len(row) != 4 or row[2] not in ("bonafide", "spoof"):
                raise ScoreFileError(f"{path}:{n}: expected 'UTT SYSTEM KEY SCORE' with KEY bonafide or spoof")
            _once(row[0], n, first_line, path)
            utts.append(row[0]), systems.append(row[1]), keys.append(row[2]), scores.append(_score(row[3], path, n))
    else:
        raise ScoreFileError(f"{path}: {width} columns; expected 4 (UTT SYSTEM KEY SCORE) or 2 (UTT SCORE, with --protocol)")
    keys_arr = np.asarray(keys)
    for key in ("bonafide", "spoof"):
        if not np.any(keys_arr == key):
            raise ScoreFileError(f"{path}: no {key} trials; metrics need both classes")
    return CMScores(utts, systems, keys_arr, np.asarray(scores))


def _once(utterance: str, line_no: int, first_line: dict[str, int], path: Path) -> None:
    """A trial scored twice (e.g. two score files joined) would count twice in every metric: refuse it."""
    if utterance in first_line:
        raise ScoreFileError(f"{path}:{line_no}: utterance {utterance!r} is scored again (first on line {first_line[utterance]}); one score per trial")
    first_line[utterance] = line_no


def read_asv_scores(path: str | Path) -> dict[str, np.ndarray]:
    """ASV scores grouped by trial type: {"target", "nontarget", "spoof"}."""
    path = Path(path)
    groups: dict[str, list[float]] = {"target": [], "nontarget": [], "spoof": []}
    for n, row in _lines(path):
        if len(row) < 2 or row[-2] not in groups:
            raise ScoreFileError(f"{path}:{n}: expected '... TYPE SCORE' with TYPE target, nontarget or spoof")
        groups[row[-2]].append(_score(row[-1], path, n))
    for name, values in groups.items():
        if not values:
            raise ScoreFileError(f"{path}: no {name} ASV scores; the t-DCF needs target, nontarget and spoof trials")
    return {k: np.asarray(v) for k, v in groups.items()}


def write_cm_scores(path: str | Path, utterances: list[str], systems: list[str], keys: list[str], scores: list[float]) -> Path:
    """Write the official 4-column layout `UTT SYSTEM KEY SCORE`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    with tmp.open("w") as f:
        for u, s, k, v in zip(utterances, systems, keys, scores):
            f.write(f"{u} {s or '-'} {k} {v:.6f}\n")
    tmp.replace(path)
    return path
