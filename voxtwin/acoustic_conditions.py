"""Where real voice messages are recorded: a noisy street, a reverberant room. CONDITIONS are deterministic checks
(does a real message recorded there come out `synthetic`?): the same file always gets the same noise and the same
room. detect/augment.py's `room` augmentation draws random rooms from the same model.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve

# name -> (kind, setting): pink noise at an SNR in dB, or a room with a reverberation time (RT60) in seconds
CONDITIONS = {"pink_noise_15db": ("pink_noise", 15.0), "room_rt60_500ms": ("room", 0.5)}


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of noise whose power falls 3 dB per octave (1/f), as most background noise does."""
    return pinkened(rng.standard_normal(n))


def pinkened(white: np.ndarray) -> np.ndarray:
    """White noise shaped to fall 3 dB per octave (1/f power)."""
    spectrum = np.fft.rfft(white)
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    return np.fft.irfft(spectrum, n=len(white))


def add_at_snr(wav: np.ndarray, noise: np.ndarray, *, snr_db: float) -> np.ndarray:
    """wav plus `noise` scaled to lie snr_db below it (float32)."""
    signal_power = np.mean(wav.astype(np.float64) ** 2) + 1e-12
    noise_power = np.mean(noise**2) + 1e-12
    return (wav + noise * np.sqrt(signal_power / noise_power / 10 ** (snr_db / 10))).astype(np.float32)


def room_impulse_response(sample_rate: int, rt60_s: float, rng: np.random.Generator, *, tail_energy: float = 1.0) -> np.ndarray:
    """A direct path then a diffuse tail of exponentially decaying noise that falls 60 dB in rt60_s (Sabine's
    picture of a room); the tail holds `tail_energy` times the direct sound's energy."""
    n = int(1.2 * rt60_s * sample_rate)
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-3 * np.log(10) * t / rt60_s)  # amplitude: -60 dB at rt60_s
    tail[: int(0.003 * sample_rate)] = 0.0  # the first reflections arrive a few milliseconds after the direct path
    tail *= np.sqrt(tail_energy) / (np.sqrt(np.sum(tail**2)) + 1e-12)
    tail[0] = 1.0  # the direct path
    return tail


def through_condition(wav: np.ndarray, sample_rate: int, name: str) -> np.ndarray:
    """wav recorded in condition `name` of CONDITIONS, at the same rate, length and RMS level."""
    kind, setting = CONDITIONS[name]
    x = np.asarray(wav, dtype=np.float64)
    rng = np.random.default_rng([len(x), 1 if kind == "pink_noise" else 2])  # the same file, the same noise or room
    if kind == "pink_noise":
        y = add_at_snr(x, pink_noise(len(x), rng), snr_db=setting)
    else:
        y = in_room(x, room_impulse_response(sample_rate, setting, rng))
    return np.clip(at_level(y, x), -1, 1).astype(np.float32)


def at_level(y: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """y scaled to the RMS level of `reference`."""
    return y * np.sqrt(np.mean(np.square(reference, dtype=np.float64)) / (np.mean(np.square(y, dtype=np.float64)) + 1e-24))


def in_room(wav: np.ndarray, response: np.ndarray) -> np.ndarray:
    """wav convolved with a room's impulse response, cut to its own length (the tail past the end is dropped)."""
    return fftconvolve(np.asarray(wav, dtype=np.float64), response)[: len(wav)]
