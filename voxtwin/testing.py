"""Seeded synthetic audio for tests, demos and benchmarks (no corpus needed).

Every generator takes its own `seed` and never touches global RNG state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.signal import lfilter

# Formant frequencies (Hz) of five vowels, for speech-like test signals.
VOWEL_FORMANTS_HZ = {"a": (730, 1090, 2440), "e": (530, 1840, 2480), "i": (270, 2290, 3010), "o": (570, 840, 2410), "u": (300, 870, 2240)}


def sine(freq_hz: float = 440.0, *, duration_s: float = 1.0, sample_rate: int = 16_000, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def noise(*, duration_s: float = 1.0, sample_rate: int = 16_000, amplitude: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (amplitude * rng.standard_normal(int(duration_s * sample_rate))).astype(np.float32)


def chirp(*, f0_hz: float = 100.0, f1_hz: float = 4000.0, duration_s: float = 1.0, sample_rate: int = 16_000, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    phase = 2 * np.pi * (f0_hz * t + (f1_hz - f0_hz) * t**2 / (2 * duration_s))
    return (amplitude * np.sin(phase)).astype(np.float32)


def harmonic(f0_hz: float = 120.0, *, duration_s: float = 1.0, sample_rate: int = 16_000, n_harmonics: int = 20, amplitude: float = 0.3, seed: int = 0) -> np.ndarray:
    """Harmonic tone with slight random vibrato: a stand-in for a sustained voiced sound."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    f0 = f0_hz * (1 + 0.02 * np.sin(2 * np.pi * rng.uniform(3, 6) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    out = sum(np.sin(k * phase) / k for k in range(1, n_harmonics + 1) if k * f0_hz < sample_rate / 2)
    return (amplitude * out / np.max(np.abs(out))).astype(np.float32)


def speechlike(
    *, duration_s: float = 2.0, sample_rate: int = 16_000, f0_hz: float = 120.0, seed: int = 0, amplitude: float = 0.5, pause_s: float = 0.12
) -> np.ndarray:
    """Syllables of vowels (glottal pulse train through formant resonators) separated by short pauses."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sample_rate)
    out = np.zeros(n, dtype=np.float64)
    pos = int(0.1 * sample_rate)
    while pos < n - int(0.15 * sample_rate):
        syllable_n = int(rng.uniform(0.15, 0.3) * sample_rate)
        syllable_n = min(syllable_n, n - pos)
        vowel = VOWEL_FORMANTS_HZ["aeiou"[rng.integers(5)]]
        f0 = f0_hz * rng.uniform(0.9, 1.1) * np.linspace(1.05, 0.95, syllable_n)
        phase = np.cumsum(f0) / sample_rate
        pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse per glottal period
        voiced = pulses + 0.02 * rng.standard_normal(syllable_n)
        for formant_hz, bandwidth_hz in zip(vowel, (80, 100, 120)):
            if formant_hz < sample_rate / 2:
                r = np.exp(-np.pi * bandwidth_hz / sample_rate)
                theta = 2 * np.pi * formant_hz / sample_rate
                voiced = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], voiced)
        envelope = np.hanning(syllable_n)
        out[pos : pos + syllable_n] += voiced * envelope
        pos += syllable_n + int(rng.uniform(0.5, 1.5) * pause_s * sample_rate)
    out /= np.max(np.abs(out)) + 1e-12
    out += 0.001 * rng.standard_normal(n)  # a faint noise floor, as in any recording
    return (amplitude * out).astype(np.float32)


def write_speakers(root: Path, *, n_speakers: int = 2, n_utts: int = 3, sample_rate: int = 16_000, duration_s: float = 2.0) -> dict[str, list[Path]]:
    """Write speech-like WAVs, one f0 per speaker: {speaker_id: [paths]}."""
    import soundfile as sf

    root.mkdir(parents=True, exist_ok=True)
    speakers: dict[str, list[Path]] = {}
    for s in range(n_speakers):
        speaker = f"spk{s}"
        for u in range(n_utts):
            path = root / f"{speaker}_{u}.wav"
            sf.write(path, speechlike(duration_s=duration_s, sample_rate=sample_rate, f0_hz=90 + 60 * s, seed=100 * s + u), sample_rate)
            speakers.setdefault(speaker, []).append(path)
    return speakers


def griffin_lim_copy(wav: np.ndarray, *, n_iter: int = 8, n_fft: int = 512, hop_length: int = 128) -> np.ndarray:
    """A 'spoofed' copy of a signal: its magnitude spectrogram re-synthesised with Griffin-Lim phase, the
    classic vocoder artefact that countermeasures learn to spot."""
    import librosa

    magnitude = np.abs(librosa.stft(wav, n_fft=n_fft, hop_length=hop_length))
    out = librosa.griffinlim(magnitude, n_iter=n_iter, hop_length=hop_length, n_fft=n_fft, length=len(wav), random_state=0)
    return out.astype(np.float32)


def world_copy(wav: np.ndarray, *, sample_rate: int = 16_000) -> np.ndarray:
    """A vocoded copy: WORLD analysis and resynthesis (5 ms frames), as the vocoder-based spoofs in ASVspoof do it."""
    import pyworld

    from voxtwin.features import world_analysis

    hop_length = sample_rate // 200
    f0, envelope, aperiodicity = world_analysis(wav, sample_rate=sample_rate, hop_length=hop_length, f0_min_hz=71.0, f0_max_hz=800.0)
    y = pyworld.synthesize(f0, envelope, aperiodicity, sample_rate, frame_period=1000.0 * hop_length / sample_rate)[: len(wav)]
    return np.pad(y, (0, len(wav) - len(y))).astype(np.float32)
