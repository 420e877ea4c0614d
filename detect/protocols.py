"""ASVspoof protocol lines -> (utterance, speaker, system, key, metadata), for every edition.

- 2019 LA: `SPEAKER UTT - SYSTEM KEY`
- 2021 LA/DF trial_metadata: `SPEAKER UTT CODEC TRANSMISSION SYSTEM KEY TRIM SUBSET [...]`
- ASVspoof 5: `SPEAKER UTT GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY TMP`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from voxtwin.errors import VoxtwinError

KEYS = ("bonafide", "spoof")


class ProtocolError(VoxtwinError):
    """A protocol file whose lines match no known ASVspoof layout."""


@dataclass(frozen=True)
class ProtocolEntry:
    utterance: str
    speaker: str
    system: str  # attack id, "-" for bona fide
    key: str  # bonafide / spoof
    metadata: dict = field(default_factory=dict)


def parse_line(row: list[str]) -> ProtocolEntry:
    """One split protocol line; the layout is told apart by its column count."""
    n = len(row)
    if n == 5 and row[4] in KEYS:
        return ProtocolEntry(row[1], row[0], row[3], row[4])
    if n == 10 and row[8] in KEYS:
        meta = {"gender": row[2], "codec": row[3], "codec_q": row[4], "codec_seed": row[5], "attack_tag": row[6]}
        return ProtocolEntry(row[1], row[0], row[7], row[8], meta)
    if n >= 6 and row[5] in KEYS:
        meta = {"codec": row[2], "transmission": row[3]}
        meta.update({name: value for name, value in zip(("trim", "subset", "vocoder"), row[6:9])})
        return ProtocolEntry(row[1], row[0], row[4], row[5], meta)
    raise ProtocolError(f"unrecognised protocol line {' '.join(row)!r}: expected an ASVspoof 2019, 2021 or 5 layout")


def read_protocol(path: Path) -> list[ProtocolEntry]:
    if not path.is_file():
        raise ProtocolError(f"{path}: protocol file not found")
    entries = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"{path}: not a text file (a protocol is lines of text)") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append(parse_line(line.split()))
        except ProtocolError as exc:
            raise ProtocolError(f"{path}:{n}: {exc}") from None
    if not entries:
        raise ProtocolError(f"{path}: empty protocol")
    return entries
