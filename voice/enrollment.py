"""Enrolment: check the reference recordings, then build a voice profile from them.

Checks (each a clear error or a logged warning): speech after VAD (refuse under 1 s, warn under 10 s), SNR
estimate (speech frames against the quietest frames; warn under 15 dB), clipping, a reference without its band above
4 kHz (telephone band, voxtwin/audio_band.py; warn), and that one speaker speaks throughout (the d-vectors of 2 s
chunks agree with the whole).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from voice import judges
from voice.consent import verify_consent
from voice.matching import ANALYSIS_RATE, frame_set
from voice.profile import VoiceProfile
from voxtwin import audio
from voxtwin.audio_band import NARROW_BAND_DB, high_band_db
from voxtwin.errors import VoxtwinError
from voxtwin.vad import FRAME_S, speech_mask

log = logging.getLogger(__name__)
MIN_SPEECH_S = 1.0
WARN_SPEECH_S = 10.0
WARN_SNR_DB = 15.0
CLIPPED_SHARE = 1e-3
CHUNK_S = 2.0
# One speaker throughout: the speech is cut at every point that leaves >= 4 s on each side, and the d-vectors of
# the two sides must agree (cosine >= MIN_SPLIT_SIMILARITY). Chosen on one draw of 12 s references from
# ../shared/data (30 one-speaker, 60 two- or three-speaker: one speaker 0.79 at the least, mixtures 0.72 at the
# most), then checked on a second draw (benchmarks/speaker_mixtures.py, seed 0): one speaker refused 1 of 30,
# mixtures refused 58 of 60; the old check (a 2 s chunk against the rest >= 0.5) refused none of 50 mixtures in a
# first run. Under 8 s of speech there is no such cut, and a 2 s chunk must still agree with the rest
# (>= MIN_CHUNK_SIMILARITY).
MIN_SPLIT_SIMILARITY = 0.75
MIN_SPLIT_SIDE_CHUNKS = 2
MIN_CHUNK_SIMILARITY = 0.5


class EnrollmentError(VoxtwinError):
    """References that cannot make a voice profile."""


def _snr_db(wav: np.ndarray, mask: np.ndarray) -> float:
    frame = int(FRAME_S * ANALYSIS_RATE)
    n = min(len(mask), len(wav) // frame)
    if n == 0:
        return 0.0  # shorter than one frame: no speech to measure (the speech check refuses it next)
    energy = np.mean(wav[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12
    speech, rest = energy[mask[:n]], energy[~mask[:n]]
    noise = np.percentile(rest, 50) if len(rest) >= 5 else np.percentile(energy, 5)
    return float(10 * np.log10(np.mean(speech) / noise)) if len(speech) else 0.0


def check_references(wavs: list[np.ndarray], labels: list[str]) -> tuple[np.ndarray, dict]:
    """16 kHz references -> (their speech, concatenated; the check results). Raises EnrollmentError."""
    speech_parts, clipped, snrs = [], 0, []
    for wav, label in zip(wavs, labels):
        mask = speech_mask(wav, ANALYSIS_RATE)
        frame = int(FRAME_S * ANALYSIS_RATE)
        keep = np.repeat(mask, frame)[: len(wav)]
        speech_parts.append(wav[: len(keep)][keep])
        clipped += int(np.count_nonzero(np.abs(wav) >= 0.999))
        snrs.append(_snr_db(wav, mask))
    speech = np.concatenate(speech_parts) if speech_parts else np.zeros(0, dtype=np.float32)
    speech_s = len(speech) / ANALYSIS_RATE
    if speech_s < MIN_SPEECH_S:
        raise EnrollmentError(f"{', '.join(labels)}: only {speech_s:.1f} s of speech found; enrolment needs at least {MIN_SPEECH_S:.0f} s (10 s or more is best)")
    if speech_s < WARN_SPEECH_S:
        log.warning("only %.1f s of speech in the references; 10 s or more gives a closer voice", speech_s)
    snr_db = float(np.min(snrs))
    if snr_db < WARN_SNR_DB:
        log.warning("the references are noisy (SNR about %.0f dB); noise will colour the cloned voice", snr_db)
    clipped_share = clipped / max(1, sum(len(w) for w in wavs))
    if clipped_share > CLIPPED_SHARE:
        log.warning("%.2f %% of reference samples are clipped", 100 * clipped_share)
    narrow = [label for wav, label in zip(wavs, labels) if (db := high_band_db(wav)) is not None and db < NARROW_BAND_DB]
    if narrow:
        log.warning("%s: nothing above 4 kHz (a phone call or an 8 kHz recording); the cloned voice will sound muffled, a wide-band recording gives a closer one", ", ".join(narrow))
    embedding, consistency, threshold = speaker_consistency(speech)
    if consistency < threshold:
        raise EnrollmentError(f"{', '.join(labels)}: the references do not sound like one speaker throughout (similarity of its parts {consistency:.2f} < {threshold}); give recordings of one voice only")
    checks = {"speech_s": round(speech_s, 2), "snr_db": round(snr_db, 1), "clipped_share": round(clipped_share, 5), "speaker_consistency": round(consistency, 3)}
    return speech, {"checks": checks, "embedding": embedding}


def speaker_consistency(speech: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(d-vector of all the speech, consistency, the threshold it must reach).

    With 8 s of speech or more, consistency is the lowest cosine between the d-vectors of the two sides of any cut
    (each side >= 4 s): a second voice makes one cut disagree. Shorter speech: the lowest cosine of a 2 s chunk to
    the rest of the speech.
    """
    embedding = judges.speaker_embedding(speech, ANALYSIS_RATE)
    chunk = int(CHUNK_S * ANALYSIS_RATE)
    n_chunks = len(speech) // chunk
    if n_chunks < 2:
        return embedding, 1.0, MIN_CHUNK_SIMILARITY
    chunk_embeddings = np.array([judges.speaker_embedding(speech[i * chunk : (i + 1) * chunk], ANALYSIS_RATE) for i in range(n_chunks)])
    if n_chunks >= 2 * MIN_SPLIT_SIDE_CHUNKS:
        cuts = range(MIN_SPLIT_SIDE_CHUNKS, n_chunks - MIN_SPLIT_SIDE_CHUNKS + 1)
        worst = min(judges.cosine(chunk_embeddings[:k].sum(axis=0), chunk_embeddings[k:].sum(axis=0)) for k in cuts)
        return embedding, worst, MIN_SPLIT_SIMILARITY
    total = chunk_embeddings.sum(axis=0)
    worst = min(judges.cosine(e, total - e) for e in chunk_embeddings)
    return embedding, worst, MIN_CHUNK_SIMILARITY


def enroll(
    references: list[str | os.PathLike | np.ndarray],
    *,
    sample_rate: int | None = None,
    consent: str | os.PathLike | np.ndarray | None = None,
    consent_sample_rate: int | None = None,
    no_consent_reason: str | None = None,
) -> VoiceProfile:
    """Build a voice profile from reference recordings (files, or arrays at `sample_rate`).

    Args:
        references: 1 or more recordings of one speaker; 2 s of speech is enough to start, 10-30 s is better.
        sample_rate: Rate of array references.
        consent: The speaker reading `voxtwin voice consent-phrase`'s phrase (path, or array at
            `consent_sample_rate`); verified for words, code and voice (voice/consent.py).
        no_consent_reason: Required when `consent` is None: why the speaker's consent was not recorded.
    Returns:
        The VoiceProfile (save it with `.save(path)`).
    """
    if consent is None and not (no_consent_reason or "").strip():
        raise EnrollmentError("enrolment needs the speaker's consent: --consent CONSENT.wav (see `voxtwin voice consent-phrase`) or --no-consent \"REASON\"")
    if consent is not None and no_consent_reason:
        raise EnrollmentError("give either a consent recording or a no-consent reason, not both")
    wavs, labels, sources = [], [], []
    for i, ref in enumerate(references):
        if isinstance(ref, np.ndarray):
            if sample_rate is None:
                raise EnrollmentError("array references need sample_rate")
            wav, label = audio.resample(np.asarray(ref, dtype=np.float32), sample_rate, ANALYSIS_RATE), f"<array {i}>"
        else:
            wav, _ = audio.load(ref, ANALYSIS_RATE, allow_silence=True)
            label = str(ref)
        wavs.append(wav)
        labels.append(label)
        sources.append({"name": Path(label).name, "sha256": hashlib.sha256(wav.tobytes()).hexdigest()})
    if not wavs:
        raise EnrollmentError("no reference recordings given")
    speech, checked = check_references(wavs, labels)
    record = None
    if consent is not None:
        if isinstance(consent, np.ndarray):
            if consent_sample_rate is None:
                raise EnrollmentError("an array consent recording needs consent_sample_rate")
            consent_wav, consent_rate = np.asarray(consent, dtype=np.float32), consent_sample_rate
        else:
            consent_wav, consent_rate = audio.load(consent)
        record = verify_consent(consent_wav, consent_rate, checked["embedding"])
    info = {
        **checked["checks"],
        "references": sources,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "consent": record,
        "no_consent_reason": None if record else no_consent_reason.strip(),
    }
    return VoiceProfile(embedding=checked["embedding"], frames=frame_set(speech), info=info, reference_speech=speech)
