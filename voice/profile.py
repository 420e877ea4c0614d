"""Voice profiles: one `NAME.voice` file per enrolled speaker.

Format (version 1): a safetensors file. Tensors: `embedding` (256, Resemblyzer d-vector of the references),
`coded_envelope` (frames, 60), `match` (frames, 32), `voiced` (frames,), `mean_shape` (32,) - the reference's
WORLD frames that conversion matches against (voice/matching.py) - and `reference_speech` (int16, 16 kHz, the
references' speech after VAD, at most 30 s) for neural backends that condition on audio (voice/backends.py). The safetensors header metadata holds
`format` = "voxtwin-voice", `format_version` and `profile`: JSON with the F0 statistics, the enrolment checks
(speech seconds, SNR, clipping, speaker consistency), the references' names and SHA-256, the creation time, and
the consent record or the reason given with `--no-consent`. No pickle: loading a profile yields tensors and JSON.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from voice.matching import FrameSet
from voxtwin.errors import CheckpointError
from voxtwin.weights_file import open_versioned

FORMAT = "voxtwin-voice"
FORMAT_VERSION = 1
MAX_PROFILE_BYTES = 64 * 1024**2


@dataclass
class VoiceProfile:
    embedding: np.ndarray
    frames: FrameSet
    info: dict = field(default_factory=dict)  # enrolment checks, references, created, consent / no_consent_reason
    reference_speech: np.ndarray | None = None  # float32, 16 kHz

    REFERENCE_RATE = 16_000
    MAX_REFERENCE_S = 30.0

    @property
    def consented(self) -> bool:
        return bool(self.info.get("consent"))

    def save(self, path: str | os.PathLike) -> Path:
        from safetensors import SafetensorError
        from safetensors.torch import save_file

        from voxtwin.output_paths import OutputPathError, writable_file, writing

        path = Path(path)
        tensors = {
            "embedding": torch.from_numpy(np.asarray(self.embedding, dtype=np.float32)),
            "coded_envelope": torch.from_numpy(self.frames.coded_envelope.astype(np.float32)),
            "match": torch.from_numpy(self.frames.match.astype(np.float32)),
            "voiced": torch.from_numpy(self.frames.voiced.astype(np.uint8)),
            "mean_shape": torch.from_numpy(self.frames.mean_shape.astype(np.float32)),
        }
        if self.reference_speech is not None:
            speech = self.reference_speech[: int(self.MAX_REFERENCE_S * self.REFERENCE_RATE)]
            tensors["reference_speech"] = torch.from_numpy(np.round(np.clip(speech, -1, 1) * 32767).astype(np.int16))
        profile = {**self.info, "log_f0_mean": self.frames.log_f0_mean, "log_f0_std": self.frames.log_f0_std}
        writable_file(path, what="voice profile")
        tmp = path.with_name(f".{path.name}.part")
        try:
            with writing(path, what="voice profile"):
                save_file(tensors, str(tmp), metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION), "profile": json.dumps(profile)})
                os.replace(tmp, path)
        except SafetensorError as exc:
            raise OutputPathError(f"{path}: cannot write the voice profile ({' '.join(str(exc).split())})") from None
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> VoiceProfile:
        with open_versioned(path, fmt=FORMAT, format_version=FORMAT_VERSION, what="voice profile", max_bytes=MAX_PROFILE_BYTES,
                            not_ours="not a voxtwin voice profile") as (meta, stored):
            tensors = {name: t.numpy() for name, t in stored.items()}
            profile = json.loads(meta["profile"])
            frames = FrameSet(
                coded_envelope=tensors["coded_envelope"],
                match=tensors["match"],
                voiced=tensors["voiced"].astype(bool),
                mean_shape=tensors["mean_shape"],
                log_f0_mean=float(profile.pop("log_f0_mean")),
                log_f0_std=float(profile.pop("log_f0_std")),
            )
            embedding = tensors["embedding"]
            reference = tensors.get("reference_speech")
            reference_speech = None if reference is None else (reference.astype(np.float32) / 32767.0)
        path = Path(path)
        if len(frames.coded_envelope) == 0 or len(frames.match) != len(frames.coded_envelope) or embedding.shape != (256,):
            raise CheckpointError(f"{path}: voice profile is inconsistent (frame or embedding shapes)")
        return cls(embedding=embedding, frames=frames, info=profile, reference_speech=reference_speech)
