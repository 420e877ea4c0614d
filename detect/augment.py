"""Training augmentation, applied with the same probabilities to bona fide and spoof so that no channel
effect can give the label away: RawBoost (Tak et al., ICASSP 2022), codecs (Opus, MP3, AAC via PyAV),
8 kHz telephone band, additive noise, and gain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import firwin, lfilter

from voxtwin.acoustic_conditions import add_at_snr, at_level, in_room, pinkened, room_impulse_response
from voxtwin.codec import RESAMPLED_RATES_HZ, rate_round_trip, telephone, transcode
from voxtwin.registry import Registry

AUGMENTATIONS: Registry = Registry("augmentation")


def _register(name):
    return AUGMENTATIONS.register(name)


@_register("rawboost")
def rawboost(wav: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One of RawBoost's three algorithms, chosen at random: (1) linear and non-linear convolutive noise,
    (2) impulsive signal-dependent noise, (3) stationary signal-independent coloured noise."""
    algorithm = rng.integers(3)
    if algorithm == 0:
        return _rawboost_convolutive(wav, sample_rate, rng)
    if algorithm == 1:
        return _rawboost_impulsive(wav, rng)
    return _rawboost_stationary(wav, sample_rate, rng)


def _random_band_filter(sample_rate: int, rng: np.random.Generator, *, n_bands: int) -> np.ndarray:
    """Sum of random band-pass FIR filters (RawBoost's multi-band filter)."""
    taps = np.zeros(101)
    nyquist = sample_rate / 2
    for _ in range(n_bands):
        center = rng.uniform(20, nyquist - 1000)
        width = rng.uniform(100, 1000)
        low, high = max(center - width / 2, 20), min(center + width / 2, nyquist - 20)
        n_taps = int(rng.integers(10, 50)) * 2 + 1
        band = firwin(n_taps, [low, high], pass_zero=False, fs=sample_rate)
        pad = (101 - n_taps) // 2
        taps += np.pad(band, (pad, 101 - n_taps - pad))
    return taps


def _normalize_peak(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    peak = np.max(np.abs(x)) + 1e-9
    return (x / peak * max(np.max(np.abs(reference)), 1e-3)).astype(np.float32)


def _rawboost_convolutive(wav, sample_rate, rng):
    out = np.zeros_like(wav, dtype=np.float64)
    for order in range(1, int(rng.integers(2, 4)) + 1):  # linear + non-linear (powers) components
        filtered = lfilter(_random_band_filter(sample_rate, rng, n_bands=int(rng.integers(1, 4))), [1.0], wav.astype(np.float64) ** order)
        out += filtered * rng.uniform(0.5, 1.0) ** order
    return _normalize_peak(out, wav)


def _rawboost_impulsive(wav, rng):
    out = wav.astype(np.float64).copy()
    share = rng.uniform(0.01, 0.10)
    idx = rng.choice(len(wav), size=max(1, int(share * len(wav))), replace=False)
    gain = rng.uniform(2, 10) * rng.choice([-1, 1], size=len(idx)) * rng.random(len(idx))
    out[idx] += gain * wav[idx]
    return _normalize_peak(out, wav)


def _rawboost_stationary(wav, sample_rate, rng):
    noise = lfilter(_random_band_filter(sample_rate, rng, n_bands=int(rng.integers(1, 4))), [1.0], rng.standard_normal(len(wav)))
    return add_at_snr(wav, noise, snr_db=rng.uniform(10, 40))


CODEC_BITRATES_KBPS = {"opus": (8, 32), "mp3": (32, 128), "aac": (24, 64)}  # the ranges `codec` draws from


def draw_codec(rng: np.random.Generator) -> tuple[str, int]:
    """(codec, bitrate in kbps) as `codec` draws them: one of CODEC_BITRATES_KBPS, a bitrate uniform in its range."""
    name = tuple(CODEC_BITRATES_KBPS)[rng.integers(len(CODEC_BITRATES_KBPS))]
    low, high = CODEC_BITRATES_KBPS[name]
    return name, int(rng.integers(low, high + 1))


@_register("codec")
def codec(wav: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Opus 8-32 kbps, MP3 32-128 kbps or AAC 24-64 kbps round trip."""
    name, bitrate_kbps = draw_codec(rng)
    return transcode(wav, sample_rate, codec=name, bitrate_kbps=bitrate_kbps)


@_register("resampled")
def resampled(wav: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A round trip through a rate drawn from RESAMPLED_RATES_HZ with the loader's resampler: what a recording made at
    that rate looks like at 16 kHz (the top of the band gone, as ../shared/data's fakes mostly had it, its real speech
    mostly not; detect/MODEL_CARD.md, "The sample rate a file arrives at"); not in the default list."""
    return rate_round_trip(wav, sample_rate, RESAMPLED_RATES_HZ[rng.integers(len(RESAMPLED_RATES_HZ))])


@_register("telephone")
def telephone_band(wav: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    return telephone(wav, sample_rate)


@_register("noise")
def noise(wav: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """White or pink noise at 5-30 dB SNR."""
    white = rng.standard_normal(len(wav))
    if rng.random() < 0.5:
        white = pinkened(white)
    return add_at_snr(wav, white, snr_db=rng.uniform(5, 30))


@_register("room")
def room(wav: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A simulated room (voxtwin/acoustic_conditions.py): RT60 0.2-0.9 s, the reverberant tail 0.3-3x the direct
    sound's energy, the level kept; not in the default list."""
    response = room_impulse_response(sample_rate, rng.uniform(0.2, 0.9), rng, tail_energy=float(np.exp(rng.uniform(np.log(0.3), np.log(3.0)))))
    return at_level(in_room(wav, response), wav).astype(np.float32)


@_register("gain")
def gain(wav: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """-6 to +6 dB, clipped to [-1, 1] as a recorder would."""
    return np.clip(wav * 10 ** (rng.uniform(-6, 6) / 20), -1, 1).astype(np.float32)


@_register("enhance")
def enhance(wav: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """DeepFilterNet3 speech enhancement, with or without noise added first: the laundering attack that can
    wash a generator's traces out (voxtwin/speech_enhancement.py); not in the default list."""
    from voxtwin.speech_enhancement import enhance as deepfilternet

    if rng.random() < 0.5:
        wav = noise(wav, sample_rate, rng)
    return deepfilternet(wav, sample_rate, attenuation_db=float(rng.choice([100.0, 24.0, 12.0])))


@dataclass(frozen=True)
class Augmenter:
    """Applies each named augmentation independently with probability `prob`, in the given order."""

    names: tuple[str, ...] = ("rawboost", "codec", "telephone", "noise", "gain")
    prob: float = 0.3

    def __post_init__(self) -> None:
        for name in self.names:
            AUGMENTATIONS.get(name)

    def __call__(self, wav: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        for name in self.names:
            if rng.random() < self.prob:
                wav = AUGMENTATIONS.get(name)(wav, sample_rate, rng)
        return wav
