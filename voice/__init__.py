"""voxtwin's cloning half: enrol a consenting speaker, convert speech and speak text in that voice, offline.

    import voice
    profile = voice.enroll(["ref.wav"], consent="consent.wav")   # or no_consent_reason="..."
    wav, rate = voice.convert("source.wav", profile)
    wav, rate = voice.speak("Hello there.", profile)

The API loads on first use (PEP 562), so `voxtwin detect ...`, which registers this package's commands, does not
pay for librosa, WORLD and the TTS engines (about 0.4 s of every run).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voice.conversion import convert
    from voice.enrollment import enroll
    from voice.profile import VoiceProfile
    from voice.speech import speak

_API = {"convert": "voice.conversion", "enroll": "voice.enrollment", "VoiceProfile": "voice.profile", "speak": "voice.speech"}
__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'voice' has no attribute {name!r}")
