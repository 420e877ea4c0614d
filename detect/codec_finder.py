"""Which lossy codec, if any, a 16 kHz signal went through, read from its long-term spectrum's shape.

A detector whose calibration differs per channel (detect/calibration.py) learns the codec from the container (an
.opus or .mp3 message names it), but a voice message a user decoded and saved as WAV declares none, and `default`
without its codec copy scores real Opus messages like fakes under the clean map. Opus and MP3 leave a trace in
the shape of the spectrum (each cuts or thins the top of the band at its own frequency); a multinomial logistic
regression on the mean level-normalised log power of every STFT bin finds them. AAC at 24-64 kbps leaves almost
none at 16 kHz (measured: recipes/default_detector/codec_finder.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxtwin.audio_band import FRAME, FramePower  # 32 ms frames, Hann-windowed, no overlap
from voxtwin.errors import VoxtwinError

N_BINS = FRAME // 2 + 1
ACTIVE_FRAME_POWER = FRAME * 1e-5  # a frame's summed power above this (about -50 dBFS) counts; silence has no codec shape
MIN_ACTIVE_FRAMES = 8  # fewer: no decision (the container's codec or the clean map)
LOG_FLOOR = 1e-12
FINDER_C = 0.01  # the regression's inverse L2 strength, chosen by 5-fold cross-validation on the training split (stop 62)


class SpectrumShape:
    """Accumulates the mean level-normalised log10 power per STFT bin over the active frames of 16 kHz blocks."""

    def __init__(self) -> None:
        self._frames = FramePower()
        self._sum = np.zeros(N_BINS)
        self.n_frames = 0

    def update(self, block: np.ndarray) -> None:
        """Add a block of 16 kHz mono samples."""
        power = self._frames.update(block)
        power = power[power.sum(axis=1) > ACTIVE_FRAME_POWER]
        if len(power):
            log_power = np.log10(power + LOG_FLOOR)
            self._sum += (log_power - log_power.mean(axis=1, keepdims=True)).sum(axis=0)
            self.n_frames += len(power)

    @property
    def features(self) -> np.ndarray | None:
        """(N_BINS,) the mean shape, or None with fewer than MIN_ACTIVE_FRAMES active frames."""
        return self._sum / self.n_frames if self.n_frames >= MIN_ACTIVE_FRAMES else None


def spectrum_shape(wav: np.ndarray) -> np.ndarray | None:
    """SpectrumShape's features of one whole 16 kHz signal."""
    shape = SpectrumShape()
    shape.update(wav)
    return shape.features


@dataclass(frozen=True)
class CodecFinder:
    """Standardisation and a multinomial logistic regression over SpectrumShape's features; `classes` are codec names
    ("clean" for none) as voxtwin/codec.py's CODECS spells them."""

    classes: tuple[str, ...]
    mean: np.ndarray  # (N_BINS,)
    scale: np.ndarray  # (N_BINS,)
    coef: np.ndarray  # (len(classes), N_BINS)
    intercept: np.ndarray  # (len(classes),)

    def probabilities(self, features: np.ndarray) -> dict[str, float]:
        """Each class's probability for one file's features."""
        logits = self.coef @ ((features - self.mean) / self.scale) + self.intercept
        p = np.exp(logits - logits.max())
        return dict(zip(self.classes, (p / p.sum()).tolist()))

    def find(self, features: np.ndarray | None) -> str | None:
        """The likeliest codec, or None for "clean" or no features (too little active audio)."""
        if features is None:
            return None
        probabilities = self.probabilities(features)
        best = max(probabilities, key=probabilities.get)
        return None if best == "clean" else best

    def to_dict(self) -> dict:
        return {"classes": list(self.classes), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept.tolist()}

    @classmethod
    def from_scoring(cls, scoring: dict) -> "CodecFinder | None":
        """A checkpoint's finder (its `scoring.codec_finder`), None without one; VoxtwinError when malformed."""
        if "codec_finder" not in scoring:
            return None
        try:
            return cls.from_dict(scoring["codec_finder"])
        except (TypeError, KeyError, ValueError) as exc:
            raise VoxtwinError(f"the checkpoint's codec_finder is malformed: {exc}") from None

    @classmethod
    def from_dict(cls, data: dict) -> "CodecFinder":
        """Read a checkpoint's finder, checked (a checkpoint is untrusted input): ValueError when malformed."""
        classes = tuple(str(c) for c in data["classes"])
        arrays = {k: np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef", "intercept")}
        shapes = {"mean": (N_BINS,), "scale": (N_BINS,), "coef": (len(classes), N_BINS), "intercept": (len(classes),)}
        if "clean" not in classes or len(set(classes)) != len(classes):
            raise ValueError("classes must be distinct and include 'clean'")
        for key, shape in shapes.items():
            if arrays[key].shape != shape or not np.isfinite(arrays[key]).all():
                raise ValueError(f"{key} must be {shape} finite numbers")
        if (arrays["scale"] <= 0).any():
            raise ValueError("scale must be positive")
        return cls(classes=classes, **arrays)


def fit_codec_finder(features: np.ndarray, labels: list[str], *, c: float = FINDER_C) -> CodecFinder:
    """Fit a finder on (N, N_BINS) features with one codec name (or "clean") per row."""
    from sklearn.linear_model import LogisticRegression

    features = np.asarray(features, dtype=np.float64)
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    model = LogisticRegression(C=c, max_iter=5000).fit((features - mean) / scale, np.asarray(labels))
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2:  # sklearn keeps one row for two classes: the second class's logit against the first's 0
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return CodecFinder(classes=tuple(str(c) for c in model.classes_), mean=mean, scale=scale, coef=coef, intercept=intercept)

