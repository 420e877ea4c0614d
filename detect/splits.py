"""Splits that keep sources apart: leave-one-source-out folds and a validation hold-out grouped by speaker."""

from __future__ import annotations

import hashlib

from voxtwin.errors import VoxtwinError
from detect.datasets import Trial

BONAFIDE_TEST_SHARE = 0.3  # share of bona fide-only sources' speakers kept for testing in every fold
VALID_SHARE = 0.15


def stable_fraction(key: str, salt: str) -> float:
    """Deterministic pseudo-random number in [0, 1) from a key (stable across runs and machines)."""
    return int(hashlib.sha1(f"{salt}|{key}".encode()).hexdigest()[:8], 16) / 16**8


def spoof_sources(trials: list[Trial]) -> list[str]:
    """Sources that hold spoofed speech: the folds of a leave-one-source-out evaluation."""
    return sorted({t.source for t in trials if t.is_spoof})


class UnknownSourceError(VoxtwinError, ValueError):
    """A held-out source that the data does not have."""


def leave_one_source_out(trials: list[Trial], held_out: str) -> tuple[list[Trial], list[Trial]]:
    """(train, test) for one fold.

    Test = every trial of the held-out source plus a fixed pool of bona fide speakers from sources that hold
    no spoofs (the same pool in every fold, never trained on), so each fold's EER has bona fide trials even
    when the held-out source is spoof-only. Train = everything else.
    """
    sources = {t.source for t in trials}
    if held_out not in sources:
        raise UnknownSourceError(f"holdout: unknown source {held_out!r}; sources: {', '.join(sorted(sources))}")
    spoofing = set(spoof_sources(trials))
    train, test = [], []
    for t in trials:
        in_pool = t.source not in spoofing and stable_fraction(f"{t.source}/{t.speaker}", "bonafide-pool") < BONAFIDE_TEST_SHARE
        (test if t.source == held_out or in_pool else train).append(t)
    return train, test


def validation_split(trials: list[Trial], *, share: float = VALID_SHARE) -> tuple[list[Trial], list[Trial]]:
    """(train, valid) with whole speakers of each source on one side, for early stopping.

    Each class gets at least one validation speaker group (the one that hashes lowest) so the EER is defined.
    """

    def key(t: Trial) -> str:
        return f"{t.label}/{t.source}/{t.speaker}" if t.speaker not in ("", "-") else f"{t.label}/{t.source}/{t.utterance}"

    valid_keys = set()
    for label in ("bonafide", "spoof"):
        keys = sorted({key(t) for t in trials if t.label == label}, key=lambda k: stable_fraction(k, "valid"))
        chosen = [k for k in keys if stable_fraction(k, "valid") < share]
        if not chosen and len(keys) > 1:
            chosen = keys[:1]
        valid_keys.update(chosen)
    train = [t for t in trials if key(t) not in valid_keys]
    valid = [t for t in trials if key(t) in valid_keys]
    return train, valid
