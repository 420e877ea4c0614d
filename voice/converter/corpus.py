"""Training corpus for the converter: real speech from a manifest CSV -> one cached .npz of features per file.

Each cache file holds the content frames of the recording and of a speaker-perturbed copy (resampled by a
factor of 0.88-0.93 or 1.08-1.14, which moves pitch and formants together; its frames are stretched back onto
the original timeline), log-F0, voicing, the target mel and the Resemblyzer d-vector. Training on the perturbed
copy's content teaches the network to take the voice from the d-vector, not from the content frames.
Extraction resumes: files already cached are skipped.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice.converter.analysis import PITCH_TRACKERS, analyse, pitch, prepare, stretch_frames
from voxtwin.whisper_encoder import SAMPLE_RATE, encoder_frames
from voxtwin import audio

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recording:
    path: Path
    speaker: str
    source: str

    @property
    def key(self) -> str:
        return hashlib.sha1(str(self.path).encode()).hexdigest()[:16]


def real_recordings(manifest: Path, *, exclude_sources: tuple[str, ...] = ()) -> list[Recording]:
    """Bona fide rows of a manifest (path, label, speaker, source columns), minus the excluded sources."""
    root = manifest.parent
    with open(manifest, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] == "bonafide" and r["source"] not in exclude_sources]
    return [Recording(root / r["path"], f"{r['source']}/{r['speaker']}", r["source"]) for r in rows]


def perturbation_factor(key: str) -> float:
    """A fixed factor per file (reproducible), half below and half above 1."""
    u = int(key[:8], 16) / 0xFFFFFFFF
    return 0.88 + 0.05 * (2 * u) if u < 0.5 else 1.08 + 0.06 * (2 * u - 1)


def perturbed_content(wav: np.ndarray, factor: float, n_frames: int) -> np.ndarray:
    shifted = audio.resample(wav, int(round(SAMPLE_RATE * factor)), SAMPLE_RATE)  # played `factor` times faster
    return stretch_frames(encoder_frames(shifted), n_frames)


def _fill_cache(recordings: list[Recording], folder: Path, make, *, what: str, max_duration_s: float) -> list[Path]:
    """One .npz per recording in `folder`, `make(recording, prepared 16 kHz speech)` -> its arrays, written atomically
    (a stopped run never leaves half a file) and only where missing, so extraction resumes. Returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    done = []
    for i, rec in enumerate(recordings):
        out = folder / f"{rec.key}.npz"
        if not out.exists():
            wav, _ = audio.load(rec.path, SAMPLE_RATE)
            arrays = make(rec, prepare(wav[: int(max_duration_s * SAMPLE_RATE)]))
            tmp = out.with_suffix(".part.npz")
            np.savez(tmp, **arrays)
            tmp.rename(out)
        done.append(out)
        if (i + 1) % 50 == 0:
            log.info("%s: %d / %d", what, i + 1, len(recordings))
    return done


def cache_features(recordings: list[Recording], cache: Path, *, max_duration_s: float = 30.0) -> list[Path]:
    """Write (or find) one .npz per recording; returns the cached paths."""
    from voice.judges import speaker_embedding

    def features(rec: Recording, wav: np.ndarray) -> dict[str, np.ndarray]:
        utt = analyse(wav, with_mel=True)
        return {
            "content": utt.content.astype(np.float16),
            "content_perturbed": perturbed_content(wav, perturbation_factor(rec.key), len(utt.content)).astype(np.float16),
            "log_f0": utt.log_f0,
            "voiced": utt.voiced,
            "mel": utt.mel.astype(np.float32),
            "d_vector": speaker_embedding(wav, SAMPLE_RATE).astype(np.float32),
            "speaker": np.array(rec.speaker),
            "source": np.array(rec.source),
        }

    return _fill_cache(recordings, cache, features, what="features", max_duration_s=max_duration_s)


def repitch_cache(recordings: list[Recording], cache: Path, out: Path, *, tracker: str, max_duration_s: float = 30.0) -> list[Path]:
    """Copy a features cache with log-F0 and voicing from another pitch tracker (everything else as cached), so a
    converter can be trained on that tracker's contours without computing Whisper's frames again. Resumes."""
    if tracker not in PITCH_TRACKERS:
        raise ValueError(f"unknown pitch tracker {tracker!r} (known: {', '.join(PITCH_TRACKERS)})")
    missing = next((cache / f"{rec.key}.npz" for rec in recordings if not (cache / f"{rec.key}.npz").exists()), None)
    if missing is not None:
        raise FileNotFoundError(f"{missing} not cached: run recipes/voice_converter/prepare.py first")

    def repitched(rec: Recording, wav: np.ndarray) -> dict[str, np.ndarray]:
        with np.load(cache / f"{rec.key}.npz") as z:
            arrays = {k: z[k] for k in z.files}
        arrays["log_f0"], arrays["voiced"] = pitch(wav, arrays["mel"].shape[1], tracker=tracker)
        arrays["pitch_tracker"] = np.array(tracker)  # read by training.CachedCorpus, recorded in the weights
        return arrays

    return _fill_cache(recordings, out, repitched, what=f"pitch ({tracker})", max_duration_s=max_duration_s)
