"""Audio I/O for every format voice messages arrive in: the only module that touches audio files.

soundfile (libsndfile) reads WAV, FLAC, Ogg Vorbis/Opus and MP3; PyAV (bundled FFmpeg) reads the rest
(M4A/AAC, WebM, AMR, ...). Decoding streams block by block so long files stay in bounded memory.
Loudness (BS.1770) and speech-activity detection live in `voxtwin.loudness` and `voxtwin.vad` and are
re-exported here so `voxtwin.audio` is the one front door.
"""

from __future__ import annotations

import abc
import io
import logging
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Union

import numpy as np
import soundfile as sf
import soxr

from voxtwin.errors import (
    AudioDecodeError,
    AudioError,
    AudioNotFoundError,
    AudioTooLongError,
    EmptyAudioError,
    InvalidSamplesError,
    SilentAudioError,
    UnsupportedFormatError,
)
from voxtwin.loudness import loudness_lufs, normalize_loudness
from voxtwin.measure import measure
from voxtwin.vad import detect_speech, speech_ratio, trim_silence

__all__ = [
    "AUDIO_EXTENSIONS",
    "AudioInfo",
    "detect_speech",
    "info",
    "iter_blocks",
    "load",
    "loudness_lufs",
    "normalize_loudness",
    "resample",
    "save",
    "speech_ratio",
    "trim_silence",
]

log = logging.getLogger(__name__)

Source = Union[str, os.PathLike, bytes]

AUDIO_EXTENSIONS = frozenset(
    ".wav .wave .flac .ogg .oga .opus .mp3 .m4a .mp4 .aac .webm .weba .mka .amr .3gp .aif .aiff .caf .w64".split()
)
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
MAX_FILE_BYTES = 2 * 1024**3  # untrusted input limit: larger files are refused before decoding
MAX_LOAD_DURATION_S = 3 * 3600.0  # `load` holds the whole signal; `iter_blocks` has no limit
SILENCE_PEAK = 10 ** (-90 / 20)  # a file whose peak is below -90 dBFS holds no signal
BLOCK_S = 10.0


@dataclass(frozen=True)
class AudioInfo:
    """What `voxtwin info` reports about one file."""

    path: str
    format: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float
    loudness_lufs: float | None
    speech_ratio: float
    peak_dbfs: float

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------------------------- decoding


class _Decoder(abc.ABC):
    """One opened input: format facts plus a block iterator of mono float32 at the native rate."""

    format: str
    codec: str
    sample_rate: int
    channels: int

    @abc.abstractmethod
    def blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        """Mono float32 blocks of about block_frames samples."""


class _SoundfileDecoder(_Decoder):
    def __init__(self, handle: sf.SoundFile) -> None:
        self._handle = handle
        self.format = handle.format.lower()
        self.codec = handle.subtype.lower()
        self.sample_rate = handle.samplerate
        self.channels = handle.channels

    def blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        with self._handle as handle:
            while True:
                block = handle.read(block_frames, dtype="float32", always_2d=True)
                if len(block) == 0:
                    return
                yield block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]


class _PyAVDecoder(_Decoder):
    def __init__(self, container, stream, label: str) -> None:
        self._container = container
        self._stream = stream
        self._label = label
        names = container.format.name.split(",")
        suffix = Path(label).suffix.lower().lstrip(".")
        self.format = suffix if suffix in names else names[0]
        self.codec = stream.codec_context.name
        self.sample_rate = int(stream.codec_context.sample_rate or 0)
        self.channels = int(stream.codec_context.channels or 0)

    def blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        """Frames are gathered raw and turned into mono floats a block at a time: per-frame conversion cost more
        than decoding itself for 20 ms Opus frames."""
        import av

        pending: list[np.ndarray] = []
        held, layout = 0, None
        try:
            for frame in self._container.decode(self._stream):
                frame_layout = (frame.format.name, frame.format.is_planar, len(frame.layout.channels))
                if pending and frame_layout != layout:  # a mid-stream format change: convert what came before
                    yield _frames_to_mono(pending, *layout)
                    pending, held = [], 0
                layout = frame_layout
                pending.append(_frame_samples(frame, *layout))
                held += frame.samples
                if held >= block_frames:
                    yield _frames_to_mono(pending, *layout)
                    pending, held = [], 0
        except av.FFmpegError as exc:
            where = "part-way" if layout is not None else "at its first frame"  # layout: set by the first decoded frame
            raise AudioDecodeError(f"{self._label}: decoding failed {where} ({_one_line(exc)}); the file is truncated or corrupt") from None
        finally:
            self._container.close()
        if pending:
            yield _frames_to_mono(pending, *layout)


_SAMPLE_DTYPES = {"u8": np.uint8, "s16": np.int16, "s32": np.int32, "s64": np.int64, "flt": np.float32, "dbl": np.float64}


def _frame_samples(frame, sample_format: str, planar: bool, channels: int) -> np.ndarray:
    """A decoded frame's samples as a view of its buffer (`to_ndarray` costs a third of Opus decoding time):
    one plane (mono, or packed channels) -> (n * channels,), several planes -> (channels, n)."""
    dtype = _SAMPLE_DTYPES.get(sample_format.rstrip("p"))
    if dtype is None:
        samples = frame.to_ndarray()
        return samples[0] if len(samples) == 1 else samples
    if not planar or channels == 1:
        return np.frombuffer(frame.planes[0], dtype=dtype, count=frame.samples * channels)
    return np.stack([np.frombuffer(plane, dtype=dtype, count=frame.samples) for plane in frame.planes[:channels]])


def _frames_to_mono(frames: list[np.ndarray], sample_format: str, planar: bool, channels: int) -> np.ndarray:
    """Decoded frames' arrays (see _frame_samples) as one mono float32 signal."""
    samples = np.concatenate(frames, axis=-1)
    if planar:
        mono = samples if channels == 1 else samples.mean(axis=0, dtype=np.float64)
    else:
        mono = samples.reshape(-1) if channels == 1 else samples.reshape(-1, channels).mean(axis=1, dtype=np.float64)
    return _to_unit_range(mono.astype(np.float32), sample_format).astype(np.float32, copy=False)


def _to_unit_range(samples: np.ndarray, sample_format: str) -> np.ndarray:
    """Integer PCM from FFmpeg to float in [-1, 1]."""
    scale = {"s16": 2**15, "s16p": 2**15, "s32": 2**31, "s32p": 2**31, "s64": 2**63, "s64p": 2**63, "u8": 2**7, "u8p": 2**7}.get(sample_format)
    if scale is None:
        return samples
    if sample_format.startswith("u8"):
        return (samples - 128.0) / scale
    return samples / scale


def _one_line(exc: BaseException) -> str:
    """A decoder's message on one line, without the in-memory buffer's repr that libsndfile puts in it."""
    text = re.sub(r"Error opening <_io\.BytesIO object at 0x[0-9a-f]+>: ", "", str(exc))
    return " ".join(text.replace("'<none>'", "").split()) or type(exc).__name__


def _label(source: Source) -> str:
    return "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)


def _check_source(source: Source) -> None:
    """Fail fast, with one line, on inputs no decoder should see."""
    if isinstance(source, (bytes, bytearray)):
        if len(source) == 0:
            raise EmptyAudioError("<bytes>: input is empty (0 bytes)")
        if len(source) > MAX_FILE_BYTES:
            raise AudioTooLongError(f"<bytes>: {len(source)} bytes exceeds the {MAX_FILE_BYTES} byte limit")
        return
    path = Path(source)
    if not path.exists():
        raise AudioNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise AudioNotFoundError(f"{path}: not a regular file")
    suffix = path.suffix.lower()
    if suffix not in AUDIO_EXTENSIONS:
        raise UnsupportedFormatError(
            f"{path}: extension {suffix or '(none)'!r} is not an audio format voxtwin reads; "
            f"expected one of {' '.join(sorted(AUDIO_EXTENSIONS))}"
        )
    size = path.stat().st_size
    if size == 0:
        raise EmptyAudioError(f"{path}: file is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise AudioTooLongError(f"{path}: {size} bytes exceeds the {MAX_FILE_BYTES} byte limit")


def _open(source: Source) -> _Decoder:
    """Open with soundfile, falling back to PyAV; raise AudioDecodeError when neither reads it. Opus and MP3 go to PyAV
    first: FFmpeg's Opus decoder runs about 2x faster than libsndfile's libopus (60 s at 48 kHz: 0.12 s vs 0.25 s), and
    libsndfile's MP3 decoder (libmpg123) prints warnings such as "Illegal Audio-MPEG-Header" onto stderr."""
    _check_source(source)
    label = _label(source)
    if _looks_like_mpeg(source):  # libmpg123 (inside libsndfile) prints its own warnings straight onto stderr
        try:
            return _open_pyav(source, label, soundfile_error="not tried (MPEG audio goes to FFmpeg)")
        except AudioDecodeError:
            pass
    elif _named_mpeg(source):  # named .mp3 without an MPEG start: libsndfile would hand it to libmpg123, which prints
        return _open_pyav(source, label, soundfile_error="not tried (named MPEG audio without an MPEG header)")
    try:
        handle = sf.SoundFile(_readable(source))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        return _open_pyav(source, label, soundfile_error=_one_line(exc))
    if handle.subtype not in ("OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III"):
        return _SoundfileDecoder(handle)
    try:
        decoder = _open_pyav(source, label, soundfile_error="")
    except AudioDecodeError:
        return _SoundfileDecoder(handle)
    handle.close()
    return decoder


def _looks_like_mpeg(source: Source) -> bool:
    """An ID3 tag or an MPEG audio frame sync at the start: MP3 (or MP2), whatever the extension."""
    try:
        if isinstance(source, (bytes, bytearray)):
            head = bytes(source[:3])
        else:
            with open(source, "rb") as f:
                head = f.read(3)
    except OSError:
        return False
    return head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0)


def _named_mpeg(source: Source) -> bool:
    """A file whose name says MPEG audio; libsndfile picks its decoder by that name, even for bytes that are not MPEG."""
    return not isinstance(source, (bytes, bytearray)) and Path(source).suffix.lower() == ".mp3"  # the one MPEG name AUDIO_EXTENSIONS admits


def _readable(source: Source):
    return io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray)) else os.fspath(source)


def _open_pyav(source: Source, label: str, *, soundfile_error: str) -> _Decoder:
    import av

    try:
        container = av.open(_readable(source), mode="r")
    except (av.FFmpegError, ValueError, UnicodeDecodeError) as exc:
        raise AudioDecodeError(
            f"{label}: cannot decode: not audio, or truncated/corrupt (soundfile: {soundfile_error}; ffmpeg: {_one_line(exc)})"
        ) from None
    if not container.streams.audio:
        container.close()
        raise AudioDecodeError(f"{label}: the file has no audio stream")
    return _PyAVDecoder(container, container.streams.audio[0], label)


def _check_rate(label: str, sample_rate: int) -> None:
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise UnsupportedFormatError(
            f"{label}: sample rate {sample_rate} Hz is outside the supported {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
        )


def iter_blocks(source: Source, *, block_s: float = BLOCK_S, on_open: Callable[[str, str], None] | None = None) -> Iterator[tuple[np.ndarray, int]]:
    """Decode in blocks of about `block_s` seconds: yields (mono float32 block, native sample rate).

    Blocks are checked for NaN/inf as they arrive; memory stays bounded whatever the file's length. `on_open(format,
    codec)` is called once the file is opened (the detector calibrates Opus and MP3 messages by their codec).
    """
    decoder = _open(source)
    _check_rate(_label(source), decoder.sample_rate)
    if on_open is not None:
        on_open(decoder.format, decoder.codec)
    yield from _checked_blocks(decoder, _label(source), block_s)


def _checked_blocks(decoder: _Decoder, label: str, block_s: float) -> Iterator[tuple[np.ndarray, int]]:
    for block in decoder.blocks(max(1, int(block_s * decoder.sample_rate))):
        if not np.all(np.isfinite(block)):
            raise InvalidSamplesError(f"{label}: the audio holds NaN or infinite samples")
        yield block, decoder.sample_rate


def load(
    source: Source,
    sr: int | None = None,
    *,
    max_duration_s: float = MAX_LOAD_DURATION_S,
    allow_silence: bool = False,
) -> tuple[np.ndarray, int]:
    """Decode a file (or its bytes) to mono float32, resampled to `sr` when given.

    Args:
        source: Path or the file's bytes.
        sr: Target sample rate in Hz; None keeps the file's rate.
        max_duration_s: Longer inputs raise AudioTooLongError (use `iter_blocks` for unbounded files).
        allow_silence: If False (default) an all-silent signal raises SilentAudioError.
    Returns:
        (wav, sample_rate): wav has shape (T,), float32 in [-1, 1].
    """
    label = _label(source)
    blocks: list[np.ndarray] = []
    total = 0
    native_rate = 0
    for block, native_rate in iter_blocks(source):
        blocks.append(block)
        total += len(block)
        if total > max_duration_s * native_rate:
            raise AudioTooLongError(f"{label}: longer than the {max_duration_s:.0f} s limit for loading whole files")
    if total == 0:
        raise EmptyAudioError(f"{label}: the file holds no audio samples")
    wav = np.concatenate(blocks)
    if not allow_silence and float(np.max(np.abs(wav))) < SILENCE_PEAK:
        raise SilentAudioError(f"{label}: all samples are silent (peak below -90 dBFS)")
    if sr is not None and sr != native_rate:
        wav = resample(wav, native_rate, sr)
        native_rate = sr
    return wav, native_rate


def resample(wav: np.ndarray, orig_sample_rate: int, target_sample_rate: int) -> np.ndarray:
    """High-quality (soxr HQ) resampling of a mono signal."""
    if orig_sample_rate == target_sample_rate:
        return np.asarray(wav, dtype=np.float32)
    for rate in (orig_sample_rate, target_sample_rate):
        if not MIN_SAMPLE_RATE // 2 <= rate <= MAX_SAMPLE_RATE:
            raise ValueError(f"sample rate {rate} Hz outside {MIN_SAMPLE_RATE // 2}-{MAX_SAMPLE_RATE} Hz")
    return soxr.resample(np.asarray(wav, dtype=np.float32), orig_sample_rate, target_sample_rate, quality="HQ").astype(np.float32)


SOUNDFILE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG", ".opus": "OGG", ".mp3": "MP3"}
SOUNDFILE_SUBTYPES = {".wav": "PCM_16", ".flac": "PCM_16", ".ogg": "VORBIS", ".oga": "VORBIS", ".opus": "OPUS", ".mp3": "MPEG_LAYER_III"}
PYAV_CODECS = {
    ".m4a": ("mp4", "aac"),
    ".mp4": ("mp4", "aac"),
    ".aac": ("adts", "aac"),
    ".webm": ("webm", "libopus"),
    ".amr": ("amr", "libopencore_amrnb"),
}
PYAV_FIXED_RATES = {"libopus": 48000, "libopencore_amrnb": 8000}


def writable_audio_path(path: str | os.PathLike) -> Path:
    """Check, before the work that makes the audio, that `path` names a format voxtwin writes and a writable place
    (its folder is created). Raises UnsupportedFormatError or voxtwin.output_paths.OutputPathError."""
    from voxtwin.output_paths import writable_file

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SOUNDFILE_FORMATS and suffix not in PYAV_CODECS:
        raise UnsupportedFormatError(f"{path}: cannot write {suffix or 'files without an extension'}; use .wav, .flac, .ogg, .opus, .mp3, .m4a, .aac, .webm or .amr")
    return writable_file(path, what="audio file")


def save(path: str | os.PathLike, wav: np.ndarray, sample_rate: int, *, bitrate_kbps: int | None = None) -> Path:
    """Write a mono signal; the format follows the extension (.wav .flac .ogg .opus .mp3 .m4a .aac .webm .amr).

    The file is written to a temporary name and renamed, so a crash never leaves half a file.
    Opus output must use 8, 12, 16, 24 or 48 kHz; other rates are resampled to 48 kHz.
    """
    from voxtwin.output_paths import OutputPathError, writing

    path = writable_audio_path(path)
    suffix = path.suffix.lower()
    wav = np.clip(np.asarray(wav, dtype=np.float32).reshape(-1), -1.0, 1.0)
    tmp = path.with_name(f".{path.name}.part")
    try:
        with writing(path, what="audio file"):
            _write_audio(tmp, suffix, wav, sample_rate, bitrate_kbps)
            os.replace(tmp, path)
    except sf.LibsndfileError as exc:  # libsndfile reports a failed open or write as its own error, not OSError
        raise OutputPathError(f"{path}: cannot write the audio file ({' '.join(str(exc).split())})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_audio(tmp: Path, suffix: str, wav: np.ndarray, sample_rate: int, bitrate_kbps: int | None) -> None:
    if suffix in SOUNDFILE_FORMATS:
        if suffix == ".opus" and sample_rate not in (8000, 12000, 16000, 24000, 48000):
            wav, sample_rate = resample(wav, sample_rate, 48000), 48000
        sf.write(tmp, wav, sample_rate, format=SOUNDFILE_FORMATS[suffix], subtype=SOUNDFILE_SUBTYPES[suffix])
    else:
        _save_pyav(tmp, wav, sample_rate, *PYAV_CODECS[suffix], bitrate_kbps=bitrate_kbps)


def _save_pyav(path: Path, wav: np.ndarray, sample_rate: int, container_format: str, codec: str, *, bitrate_kbps: int | None) -> None:
    import av

    fixed_rate = PYAV_FIXED_RATES.get(codec)
    if fixed_rate and sample_rate != fixed_rate:
        wav, sample_rate = resample(wav, sample_rate, fixed_rate), fixed_rate
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=sample_rate, layout="mono")
        if bitrate_kbps:
            stream.bit_rate = bitrate_kbps * 1000
        frame_size = stream.codec_context.frame_size or 1024
        for start in range(0, len(wav), frame_size):
            chunk = wav[start : start + frame_size]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
            frame.sample_rate = sample_rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def info(source: Source) -> AudioInfo:
    """Format, codec, rate, channels, decoded duration, loudness and speech ratio, in one streaming pass."""
    label = _label(source)
    decoder = _open(source)
    _check_rate(label, decoder.sample_rate)
    stats = measure(_checked_blocks(decoder, label, BLOCK_S))
    if stats.n_samples == 0:
        raise EmptyAudioError(f"{label}: the file holds no audio samples")
    if stats.peak < SILENCE_PEAK:
        raise SilentAudioError(f"{label}: all samples are silent (peak below -90 dBFS)")
    mask = stats.speech_mask
    return AudioInfo(
        path=label,
        format=decoder.format,
        codec=decoder.codec,
        sample_rate=decoder.sample_rate,
        channels=decoder.channels,
        duration_s=round(stats.duration_s, 3),
        loudness_lufs=None if stats.loudness_lufs is None else round(stats.loudness_lufs, 2),
        speech_ratio=round(float(mask.mean()) if len(mask) else 0.0, 3),
        peak_dbfs=round(20 * float(np.log10(stats.peak)), 2),
    )


def is_audio_path(path: Path) -> bool:
    """True when the extension names a format voxtwin reads (used to expand folders)."""
    return path.suffix.lower() in AUDIO_EXTENSIONS


__all__ += ["AudioError", "is_audio_path"]
