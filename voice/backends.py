"""Cloning backends, chosen with `--backend NAME [--model-dir DIR]`. Registered in CONVERT_BACKENDS and SPEAK_BACKENDS.

`auto` (the default) resolves to the best pulled backend, else the built-in one (voice/pretrained/choice.py).

Built in (offline, CPU, nothing to download):
- convert `vox-vc`: the trained converter (voice/converter/): Whisper content + F0 + d-vector -> mel -> HiFi-GAN.
- speak `vox-vc`: hibari's voice (or `--engine`) reads the sentence, then `vox-vc` converts it.
- convert `knn-world`: kNN matching of WORLD envelopes against the profile's frames (voice/matching.py).
- speak `piper-knn`: the bundled Piper voice (or `--engine kokoro` / `espeak`) reads the text, then `knn-world`
  converts it. With Kokoro the reader is the bundled voice of the target's pitch range (jf_alpha or jm_kumo).

Pulled (`voxtwin voice models pull`) or from a local checkpoint folder, through coqui-tts (the `coqui` extra),
loaded with coqui's own loaders:
- speak `xtts`: XTTS-v2. DIR holds config.json, model.pth and vocab.json as published; conditioning comes from the
  profile's reference speech. Set COQUI_TOS_AGREED=1 to accept the Coqui model licence (CPML) non-interactively.
- convert `openvoice`: OpenVoice (v1/v2 tone-colour converter). DIR holds config.json (OpenVoice's own format, with
  `data` and `model` sections) and checkpoint.pth.
FreeVC is not offered: coqui-tts builds it around WavLM-Large, which it downloads from the hub in the constructor.
"""

from __future__ import annotations

import abc
import json
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from voice.matching import ANALYSIS_RATE, DEFAULT_TIMBRE
from voice.matching import convert as convert_frames
from voice.profile import VoiceProfile
from voice.tts import load_tts
from voxtwin import audio
from voxtwin.device import resolve_device
from voxtwin.errors import CheckpointError, VoxtwinError
from voxtwin.registry import Registry

CONVERT_BACKENDS: Registry = Registry("convert backend")
SPEAK_BACKENDS: Registry = Registry("speak backend")
THE_SHIPPED_REFINER = "shipped"  # vox-vc's refiner option: the refiner shipped with the shipped weights

# what a damaged or foreign checkpoint raises inside coqui's loaders (torch.load runs with weights_only=True there)
_LOAD_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError, EOFError, pickle.UnpicklingError)


class BackendError(VoxtwinError):
    """A backend that cannot be loaded or used as asked."""


class ConvertBackend(abc.ABC):
    sample_rate: int

    @abc.abstractmethod
    def convert(self, wav_16k: np.ndarray, profile: VoiceProfile) -> np.ndarray:
        """16 kHz source speech -> speech in the profile's voice at `self.sample_rate`."""


class SpeakBackend(abc.ABC):
    sample_rate: int
    languages: tuple[str, ...]

    @abc.abstractmethod
    def say(self, sentence: str, profile: VoiceProfile, language: str) -> np.ndarray:
        """One sentence -> speech in the profile's voice at `self.sample_rate`."""


@CONVERT_BACKENDS.register("knn-world")
class KnnWorld(ConvertBackend):
    sample_rate = ANALYSIS_RATE

    def __init__(self, *, timbre: float = DEFAULT_TIMBRE, **_) -> None:
        self.timbre = timbre

    def convert(self, wav_16k: np.ndarray, profile: VoiceProfile) -> np.ndarray:
        return convert_frames(wav_16k, profile.frames, timbre=self.timbre)


@SPEAK_BACKENDS.register("piper-knn")
class PiperKnn(SpeakBackend):
    sample_rate = ANALYSIS_RATE
    languages = ("en",)

    KOKORO_FEMALE_F0_HZ = 165.0  # targets whose mean F0 is above this get Kokoro's female reader

    def __init__(self, *, engine: str = "piper", timbre: float = DEFAULT_TIMBRE, **_) -> None:
        self.engine = engine
        self.readers = {} if engine == "kokoro" else {None: load_tts(engine)}
        self.timbre = timbre

    def reader(self, profile: VoiceProfile):
        if self.engine != "kokoro":
            return self.readers[None]
        voice = "jf_alpha" if np.exp(profile.frames.log_f0_mean) >= self.KOKORO_FEMALE_F0_HZ else "jm_kumo"
        if voice not in self.readers:
            self.readers[voice] = load_tts("kokoro", voice=voice)
        return self.readers[voice]

    def say(self, sentence: str, profile: VoiceProfile, language: str) -> np.ndarray:
        tts = self.reader(profile)
        wav = audio.resample(tts.synthesize(sentence), tts.sample_rate, ANALYSIS_RATE)
        return convert_frames(wav, profile.frames, timbre=self.timbre) if len(wav) else wav


@CONVERT_BACKENDS.register("vox-vc")
class VoxVc(ConvertBackend):
    """The trained converter (voice/converter/): Whisper content + F0 + the profile's d-vector -> mel -> (mel refiner)
    -> HiFi-GAN."""

    def __init__(self, *, device: str = "auto", weights: str | os.PathLike | None = None, vocoder: str | os.PathLike = "hifigan-v1", precision: str | None = None,
                 postfilter_gain: float | None = None, refiner: str | os.PathLike | None = THE_SHIPPED_REFINER, refiner_temperature: float | None = None,
                 pitch_spread_prior_frames: float = 0.0, **_) -> None:
        """refiner: `shipped` (the default: the refiner shipped with the shipped weights, at the temperature its file
        records; none with other weights, as a refiner is tied to its generator), a refiner weights file, or None.
        refiner_temperature: None = the one the refiner file records, else 1 (as trained).
        pitch_spread_prior_frames: 0 as shipped; > 0 the pitch-spread shrinkage study (TrainedConverter)."""
        from voice.converter.backend import TrainedConverter
        from voice.converter.postfilter import VARIANCE_GAIN
        from voice.converter.weights import SHIPPED, SHIPPED_REFINER

        if refiner == THE_SHIPPED_REFINER:
            refiner = SHIPPED_REFINER if weights is None else None
        self.converter = TrainedConverter(weights or SHIPPED, device=resolve_device(device), vocoder=vocoder, precision=precision,
                                          postfilter_gain=VARIANCE_GAIN if postfilter_gain is None else postfilter_gain, refiner=refiner,
                                          refiner_temperature=refiner_temperature, pitch_spread_prior_frames=pitch_spread_prior_frames)
        self.sample_rate = self.converter.sample_rate

    def convert(self, wav_16k: np.ndarray, profile: VoiceProfile) -> np.ndarray:
        return self.converter.convert(wav_16k, profile)


@SPEAK_BACKENDS.register("vox-vc")
class ReaderVoxVc(SpeakBackend):
    """An offline reader (default: hibari's voice) says the sentence, then the trained converter moves it into the
    profile's voice, with speak's own postfilter gain (voice/converter/postfilter.py)."""

    languages = ("en",)

    def __init__(self, *, engine: str = "hibari", device: str = "auto", weights: str | os.PathLike | None = None, vocoder: str | os.PathLike = "hifigan-v1", precision: str | None = None,
                 postfilter_gain: float | None = None, refiner: str | os.PathLike | None = None, refiner_temperature: float | None = None,
                 pitch_spread_prior_frames: float = 0.0, **_) -> None:
        """refiner: none by default (the shipped refiner was judged on `convert` only); `shipped` or a file to try one."""
        from voice.converter.postfilter import SPEAK_VARIANCE_GAIN

        self.reader = load_tts(engine)
        self.converter = VoxVc(device=device, weights=weights, vocoder=vocoder, precision=precision,
                               postfilter_gain=SPEAK_VARIANCE_GAIN if postfilter_gain is None else postfilter_gain, refiner=refiner,
                               refiner_temperature=refiner_temperature, pitch_spread_prior_frames=pitch_spread_prior_frames)
        self.sample_rate = self.converter.sample_rate

    def say(self, sentence: str, profile: VoiceProfile, language: str) -> np.ndarray:
        wav = audio.resample(self.reader.synthesize(sentence), self.reader.sample_rate, ANALYSIS_RATE)
        return self.converter.convert(wav, profile) if len(wav) else wav


def _model_dir(model_dir: str | os.PathLike | None, backend: str, needed: tuple[str, ...]) -> Path:
    if model_dir is None:
        raise BackendError(f"the {backend} backend needs --model-dir DIR (a local checkpoint folder; nothing is downloaded)")
    path = Path(model_dir)
    missing = [name for name in needed if not (path / name).is_file()]
    if missing:
        raise CheckpointError(f"{path}: not a checkpoint folder of the {backend} backend (missing {', '.join(missing)})")
    return path


def _import_coqui(backend: str):
    try:
        import TTS  # noqa: F401
    except ImportError:
        raise BackendError(f"the {backend} backend needs coqui-tts: pip install -e '.[coqui]'") from None


def _reference(profile: VoiceProfile) -> torch.Tensor:
    if profile.reference_speech is None or len(profile.reference_speech) < ANALYSIS_RATE // 2:
        raise BackendError("this voice profile holds no reference speech; enrol again with this voxtwin version")
    return torch.from_numpy(profile.reference_speech)[None]


@SPEAK_BACKENDS.register("xtts")
class XttsBackend(SpeakBackend):
    def __init__(self, *, model_dir: str | os.PathLike | None = None, device: str = "auto", **_) -> None:
        path = _model_dir(model_dir, "xtts", ("config.json", "model.pth", "vocab.json"))
        _import_coqui("xtts")
        from TTS.tts.configs.xtts_config import XttsConfig
        from TTS.tts.models.xtts import Xtts

        from voice.pretrained.store import Lock

        pulled = Lock.read(path)
        if not os.environ.get("COQUI_TOS_AGREED") and not (pulled and pulled.licence_accepted):
            raise BackendError("XTTS-v2 weights are under the Coqui Public Model License: set COQUI_TOS_AGREED=1 to accept it")
        config = XttsConfig()
        try:
            config.load_json(str(path / "config.json"))
            model = Xtts(config)
            model.load_checkpoint(config, checkpoint_dir=str(path), vocab_path=str(path / "vocab.json"), eval=True)
        except _LOAD_ERRORS as exc:
            raise CheckpointError(f"{path}: cannot load XTTS ({exc.__class__.__name__}: {' '.join(str(exc).split())[:160]})") from None
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.config = config
        self.sample_rate = int(config.model_args.output_sample_rate)
        self.languages = tuple(config.languages)
        self._conditioning: tuple[int, tuple] | None = None

    def say(self, sentence: str, profile: VoiceProfile, language: str) -> np.ndarray:
        key = id(profile)
        if self._conditioning is None or self._conditioning[0] != key:
            reference = _reference(profile).to(self.device)
            latents = self.model.get_gpt_cond_latents(reference, ANALYSIS_RATE)
            speaker = self.model.get_speaker_embedding(reference, ANALYSIS_RATE)
            self._conditioning = (key, (latents, speaker))
        latents, speaker = self._conditioning[1]
        with torch.inference_mode():
            out = self.model.inference(sentence, language, latents, speaker)
        return np.asarray(out["wav"], dtype=np.float32).reshape(-1)


@CONVERT_BACKENDS.register("openvoice")
class OpenVoiceBackend(ConvertBackend):
    def __init__(self, *, model_dir: str | os.PathLike | None = None, device: str = "auto", **_) -> None:
        path = _model_dir(model_dir, "openvoice", ("config.json", "checkpoint.pth"))
        _import_coqui("openvoice")
        from TTS.vc.configs.openvoice_config import OpenVoiceArgs, OpenVoiceConfig
        from TTS.vc.models.openvoice import OpenVoice

        try:
            original = json.loads((path / "config.json").read_text())
            known = set(OpenVoiceArgs.__dataclass_fields__)
            config = OpenVoiceConfig(model_args=OpenVoiceArgs(**{k: v for k, v in original.get("model", {}).items() if k in known}))
            model = OpenVoice(config)
            model.load_checkpoint(config, str(path / "checkpoint.pth"), eval=True)  # reads config.json's `data` section too
        except _LOAD_ERRORS as exc:
            raise CheckpointError(f"{path}: cannot load OpenVoice ({exc.__class__.__name__}: {' '.join(str(exc).split())[:160]})") from None
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.sample_rate = int(config.audio.output_sample_rate)
        self.input_rate = int(config.audio.input_sample_rate)

    def convert(self, wav_16k: np.ndarray, profile: VoiceProfile) -> np.ndarray:
        source = torch.from_numpy(audio.resample(wav_16k, ANALYSIS_RATE, self.input_rate))
        target = torch.from_numpy(audio.resample(_reference(profile)[0].numpy(), ANALYSIS_RATE, self.input_rate))
        return np.asarray(self.model.voice_conversion(source.to(self.device), [target.to(self.device)]), dtype=np.float32)


def load_convert_backend(name: str, **kwargs) -> ConvertBackend:
    if name == "freevc":
        raise BackendError("freevc is not offered: coqui-tts downloads WavLM-Large from the hub when it builds FreeVC")
    return CONVERT_BACKENDS.get(name)(**kwargs)


def load_speak_backend(name: str, **kwargs) -> SpeakBackend:
    return SPEAK_BACKENDS.get(name)(**kwargs)
