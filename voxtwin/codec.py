"""Lossy channels as voice messages meet them: Opus, MP3, AAC, 8 kHz telephone band; in memory, via PyAV.

Shared by detector training (codec augmentation), robustness benchmarks and watermark attack tests.
"""

from __future__ import annotations

import io

import numpy as np
from scipy.signal import butter, sosfiltfilt

from voxtwin.acoustic_conditions import CONDITIONS, through_condition
from voxtwin.audio import resample
from voxtwin.band_ceiling import SAMPLE_RATE as CEILING_RATE
from voxtwin.band_ceiling import ceiled

CODECS = {"opus": ("ogg", "libopus", 48_000), "mp3": ("mp3", "libmp3lame", None), "aac": ("adts", "aac", None)}
TELEPHONE_BAND_HZ = (300.0, 3400.0)
AAC_PRIMING_SAMPLES = 1024  # FFmpeg's AAC encoder delay; ADTS has no header that tells the decoder
# the named channels detectors are measured in (recipes/default_detector, recipes/detector_v2)
CHANNELS = {"clean": None, "opus_16k": ("opus", 16), "mp3_64k": ("mp3", 64), "telephone_8k": "telephone"}
# channels only studies use (fitted on or scored in recipes/detector_v2, never reported): (codec, kbps, the rate it
# codes at); MP3 at 32 kbps and 24 kHz is how Tortoise's page ships its speech (though its files are also band-limited
# near 5.5 kHz, which this channel is not); `band_limited`: low-passed at a cutoff drawn per file in BAND_LIMIT_HZ;
# `ceiling_7k`: every file under voxtwin/band_ceiling.py's 7 kHz ceiling (a front-end setting studied as a channel);
# `resampled`: a round trip through a rate drawn per file from RESAMPLED_RATES_HZ (detect/augment.py's `resampled` copy);
# `at_48k`: every file handed over at 48 kHz and brought back by the loader (compare.py's clean_at_48k, as a study channel)
AUGMENTATION_CHANNELS = {"mp3_32k": ("mp3", 32, 24_000), "band_limited": "band_limited", "ceiling_7k": ("ceiling", 7000.0),
                         "resampled": "resampled", "at_48k": ("rate", 48_000)}
BAND_LIMIT_HZ = (3500.0, 7500.0)  # the band limits of real chains: Opus narrow/medium/wide band, AMR-WB, low-bitrate MP3/AAC lowpass
RESAMPLED_RATES_HZ = (22_050, 24_000, 44_100, 48_000)  # the rates recordings and synthetic speech are commonly made at
# other settings voice messages come in (Telegram/WhatsApp Opus above 16 kbps, .m4a AAC): checks for anything that
# behaves differently by channel (a head chosen by codec must not take these for a recording as made), never reported
CHECK_CHANNELS = {"opus_32k": ("opus", 32), "aac_48k": ("aac", 48)}
LAUNDERING = ("deepfilternet3",)  # attacks rather than channels: an enhancer re-synthesises the spectrum


def transcode(wav: np.ndarray, sample_rate: int, *, codec: str, bitrate_kbps: int, coding_rate: int | None = None) -> np.ndarray:
    """Encode and decode a mono signal; returns the decoded signal at `sample_rate`, same length. `coding_rate`:
    the rate the codec runs at (default: the codec's own, else `sample_rate`)."""
    import av

    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; expected one of {', '.join(CODECS)}")
    container_format, encoder, fixed_rate = CODECS[codec]
    rate = fixed_rate or coding_rate or sample_rate
    x = resample(wav, sample_rate, rate) if rate != sample_rate else np.asarray(wav, dtype=np.float32)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format) as container:
        stream = container.add_stream(encoder, rate=rate, layout="mono")
        stream.bit_rate = bitrate_kbps * 1000
        frame_size = stream.codec_context.frame_size or 1152
        for start in range(0, len(x), frame_size):
            frame = av.AudioFrame.from_ndarray(np.clip(x[None, start : start + frame_size], -1, 1), format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    buffer.seek(0)
    decoded = []
    with av.open(buffer, mode="r") as container:
        for frame in container.decode(audio=0):
            decoded.append(frame.to_ndarray().astype(np.float32).mean(axis=0))
    y = np.concatenate(decoded) if decoded else np.zeros(0, dtype=np.float32)
    if codec == "aac":
        y = y[AAC_PRIMING_SAMPLES:]
    if rate != sample_rate:
        y = resample(y, rate, sample_rate)
    return fit_length(y, len(wav))


def telephone(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """Narrow-band telephone channel: 300-3400 Hz band-pass, down to 8 kHz and back."""
    low, high = TELEPHONE_BAND_HZ
    sos = butter(4, [low, high], btype="bandpass", fs=sample_rate, output="sos")
    narrow = resample(sosfiltfilt(sos, wav).astype(np.float32), sample_rate, 8000)
    return fit_length(resample(narrow, 8000, sample_rate), len(wav))


def band_limited(wav: np.ndarray, sample_rate: int, cutoff_hz: float | None = None) -> np.ndarray:
    """wav low-passed (zero-phase Butterworth, order 8) at cutoff_hz, by default drawn uniformly in BAND_LIMIT_HZ from
    the file's length (the same file, the same cutoff): a chain that kept only part of the band."""
    if cutoff_hz is None:
        cutoff_hz = float(np.random.default_rng([len(wav), 3]).uniform(*BAND_LIMIT_HZ))
    sos = butter(8, min(cutoff_hz, 0.45 * sample_rate), btype="lowpass", fs=sample_rate, output="sos")
    return sosfiltfilt(sos, np.asarray(wav, dtype=np.float64)).astype(np.float32)


def rate_round_trip(wav: np.ndarray, sample_rate: int, rate: int) -> np.ndarray:
    """wav as a file made at `rate` looks once the loader (voxtwin/audio.py, soxr HQ) has brought it back: above
    ~0.475 x the lower rate nothing is left (detect/MODEL_CARD.md, "The sample rate a file arrives at")."""
    return fit_length(resample(resample(wav, sample_rate, rate), rate, sample_rate), len(wav))


def through_channel(wav: np.ndarray, sample_rate: int, name: str) -> np.ndarray:
    """wav through a named channel of CHANNELS, AUGMENTATION_CHANNELS or CHECK_CHANNELS, attack of LAUNDERING or
    recording condition of voxtwin/acoustic_conditions.py CONDITIONS, at the same rate and length."""
    if name == "deepfilternet3":
        from voxtwin.speech_enhancement import enhance

        return enhance(wav, sample_rate)
    if name in CONDITIONS:  # a noisy street or a room rather than a channel
        return through_condition(wav, sample_rate, name)
    spec = {**CHANNELS, **AUGMENTATION_CHANNELS, **CHECK_CHANNELS}[name]
    if spec is None:
        return wav
    if spec == "telephone":
        return telephone(wav, sample_rate)
    if spec == "band_limited":
        return band_limited(wav, sample_rate)
    if spec == "resampled":  # the rate drawn from the file's length: the same file, the same rate
        rate = RESAMPLED_RATES_HZ[np.random.default_rng([len(wav), 5]).integers(len(RESAMPLED_RATES_HZ))]
        return rate_round_trip(wav, sample_rate, rate)
    if spec[0] == "rate":
        return rate_round_trip(wav, sample_rate, spec[1])
    if spec[0] == "ceiling":
        if sample_rate != CEILING_RATE:
            raise ValueError(f"the band ceiling is defined at {CEILING_RATE} Hz, not {sample_rate} Hz")
        return ceiled(wav, spec[1])
    return transcode(wav, sample_rate, codec=spec[0], bitrate_kbps=spec[1], coding_rate=spec[2] if len(spec) > 2 else None)


def fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """Codecs and resampling round trips add or lose samples; keep the input's length (cut, or pad with zeros)."""
    if len(y) >= n:
        return y[:n].astype(np.float32)
    return np.pad(y, (0, n - len(y))).astype(np.float32)
