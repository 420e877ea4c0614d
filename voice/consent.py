"""Consent at enrolment: the speaker reads a phrase with a one-time code, and voxtwin checks both the words
(Whisper tiny.en) and the voice (Resemblyzer d-vector against the references).

`consent_phrase()` issues a 6-digit code and remembers it in the config folder (`consent_codes.json`) for 24 h;
a code verifies one enrolment only. The speaker threshold is the equal-error-rate point of Resemblyzer on
../shared/data (benchmarks/speaker_threshold.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from pathlib import Path

import numpy as np

from voice import judges
from voxtwin.errors import VoxtwinError
from voxtwin.watermark.keys import config_dir

PHRASE_TEMPLATE = "I agree that this program may copy my voice. My code is {spoken}."
CODE_DIGITS = 6
CODE_VALID_S = 24 * 3600
MAX_PHRASE_WER = 0.35
# EER point of Resemblyzer on ../shared/data: 27 real speakers (VCC 2016, LibriSpeech test-other, VCTK), 211
# utterances, 731 same- and 731 different-speaker trials: EER 5.47 % (benchmarks/speaker_threshold.py).
CONSENT_SPEAKER_THRESHOLD = 0.6678
_DIGIT_WORDS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine".split())} | {"oh": "0"}


class ConsentError(VoxtwinError):
    """A consent recording that does not show the speaker's consent."""


def _codes_path() -> Path:
    return config_dir() / "consent_codes.json"


def _pending() -> dict[str, str]:
    """Issued codes that have not expired: {code: issue time}."""
    try:
        codes = json.loads(_codes_path().read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    now = dt.datetime.now(dt.timezone.utc)
    try:
        return {c: t for c, t in codes.items() if (now - dt.datetime.fromisoformat(t)).total_seconds() < CODE_VALID_S}
    except (AttributeError, TypeError, ValueError):  # not a file this code wrote
        return {}


def _store(codes: dict[str, str]) -> None:
    path = _codes_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".consent_codes.json.part")
    tmp.write_text(json.dumps(codes))
    os.replace(tmp, path)


def consent_phrase() -> tuple[str, str]:
    """Issue a one-time code; returns (the phrase to read aloud, the code)."""
    code = "".join(secrets.choice("123456789") for _ in range(CODE_DIGITS))  # no zero: "oh"/"zero" confuse ASR
    now = dt.datetime.now(dt.timezone.utc)
    codes = _pending()
    codes[code] = now.isoformat(timespec="seconds")
    _store(codes)
    return phrase_for(code), code


def phrase_for(code: str) -> str:
    words = [k for k, v in _DIGIT_WORDS.items() if k != "oh"]
    return PHRASE_TEMPLATE.format(spoken=" ".join(words[int(d)] for d in code))


def _digits(text: str) -> str:
    tokens = re.findall(r"[a-z]+|\d", text.lower().replace("-", " "))
    return "".join(_DIGIT_WORDS.get(t, t) for t in tokens if t.isdigit() or t in _DIGIT_WORDS)


def _heard(code: str, spoken_digits: str) -> bool:
    """The code was said, allowing one digit the recogniser dropped, added or misheard."""
    from rapidfuzz.distance import Levenshtein

    windows = {spoken_digits[i : i + n] for n in (len(code) - 1, len(code), len(code) + 1) for i in range(max(1, len(spoken_digits) - n + 1))}
    return any(Levenshtein.distance(code, w) <= 1 for w in windows if w)


def verify_consent(wav: np.ndarray, sample_rate: int, reference_embedding: np.ndarray) -> dict:
    """Check a consent recording; returns the consent record for the profile or raises ConsentError."""
    similarity = judges.cosine(judges.speaker_embedding(wav, sample_rate), reference_embedding)
    if similarity < CONSENT_SPEAKER_THRESHOLD:
        raise ConsentError(f"the consent recording is not the voice of the references (similarity {similarity:.2f} < {CONSENT_SPEAKER_THRESHOLD})")
    transcript = judges.transcribe(wav, sample_rate)
    spoken_digits = _digits(transcript)
    now = dt.datetime.now(dt.timezone.utc)
    codes = _pending()
    code = next((c for c in codes if _heard(c, spoken_digits)), None)
    if code is None:
        raise ConsentError(f"the consent recording does not contain a valid one-time code (heard: {transcript!r}); run `voxtwin voice consent-phrase` and record the phrase it prints")
    words = [w for w in judges.normalize_text(transcript).split() if not (w.isdigit() or w in _DIGIT_WORDS)]
    words_wer = judges.word_error_rate(" ".join(words), PHRASE_TEMPLATE.split("{")[0], normalizer="plain")  # what MAX_PHRASE_WER was set on
    if words_wer > MAX_PHRASE_WER:
        raise ConsentError(f"the consent recording does not say the consent phrase (heard: {transcript!r})")
    del codes[code]  # one use only
    _store(codes)
    return {
        "phrase": phrase_for(code),
        "code": code,
        "transcript": transcript,
        "phrase_wer": round(words_wer, 3),
        "speaker_similarity": round(similarity, 4),
        "speaker_threshold": CONSENT_SPEAKER_THRESHOLD,
        "verified_at": now.isoformat(timespec="seconds"),
    }
