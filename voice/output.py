"""Every file `voxtwin voice` writes goes through here: watermark first (unless explicitly refused), then save."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from voice.profile import VoiceProfile
from voxtwin import audio
from voxtwin.watermark import embed
from voxtwin.watermark.keys import installation_key
from voxtwin.watermark.payload import Payload

log = logging.getLogger(__name__)


def write_clone(
    path: str | os.PathLike, wav: np.ndarray, sample_rate: int, profile: VoiceProfile, *, watermark: bool = True, key_file: str | os.PathLike | None = None
) -> Path:
    """Watermark (payload: this installation's key id, today, and whether the profile holds verified consent) and save."""
    if watermark:
        key = installation_key(key_file)
        wav = embed(wav, sample_rate, Payload.now(key, consent=profile.consented), key)
    else:
        log.warning("writing %s without a watermark (--no-watermark)", path)
    return audio.save(path, wav, sample_rate)
