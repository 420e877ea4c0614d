"""voxtwin's cloning half: enrol a consenting speaker, convert speech and speak text in that voice, offline.

    import voice
    profile = voice.enroll(["ref.wav"], consent="consent.wav")   # or no_consent_reason="..."
    wav, rate = voice.convert("source.wav", profile)
    wav, rate = voice.speak("Hello there.", profile)
"""

from voice.conversion import convert
from voice.enrollment import enroll
from voice.profile import VoiceProfile
from voice.speech import speak

__all__ = ["VoiceProfile", "convert", "enroll", "speak"]
