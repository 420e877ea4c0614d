"""Score voice messages: a countermeasure, its calibration and a sliding window, for files of any length.

Each file is decoded in blocks and resampled to 16 kHz; loudness and speech are measured on that 16 kHz stream
(as in training), which is then scaled to -23 LUFS, cut into windows (default: the model's training crop, 1 s
hop), and every window with enough speech is scored. Messages up to IN_MEMORY_S are decoded once; longer files
are decoded twice (measure, then score) so memory stays bounded. The file's p_synthetic averages the calibrated
window log-odds; the windows are reported as `segments` so a partly synthetic message shows where.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Union

import numpy as np
import soxr
import torch

from detect.calibration import CALIBRATION_CHANNELS, Calibration, calibration_channel
from detect.checkpoints import load_detector
from detect.codec_finder import CodecFinder, SpectrumShape
from detect.models.student_cnn_int8 import encoder_precision
from detect.parallel_scoring import score_in_parallel
from detect.preprocess import SAMPLE_RATE, TARGET_LUFS, crop
from voxtwin import audio
from voxtwin.audio_band import BandEnergy
from voxtwin.band_ceiling import CeilingStream
from voxtwin.device import resolve_device
from voxtwin.errors import AudioTooLongError, VoxtwinError
from voxtwin.measure import FULL_SCALE, measure
from voxtwin.vad import FRAME_S
from voxtwin.watermark import SEARCH_S as WATERMARK_SEARCH_S
from voxtwin.watermark import detect_watermark_stream

log = logging.getLogger(__name__)
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "default"
# detectors shipped inside the package, by the name `--model` accepts (detect/MODEL_CARD.md)
SHIPPED = {"default": DEFAULT_WEIGHTS, "fast": WEIGHTS_DIR / "fast"}
SYNTHETIC_THRESHOLD = 0.8  # p_synthetic at or above: verdict "synthetic"
REAL_THRESHOLD = 0.2  # at or below: "real"; in between: "uncertain"
MIN_SPEECH_S = 1.0  # less speech than this: flag too_short, verdict uncertain
NO_SPEECH_S = 0.3  # less than this: flag no_speech, nothing scored
MIN_WINDOW_SPEECH_SHARE = 0.3  # windows with less speech are not scored
CLIPPED_SHARE = 1e-3  # flag `clipped` when more than this share of samples sits at full scale
PARTLY_MIN_WINDOWS = 2  # `partly_synthetic` needs at least this many windows at the synthetic threshold
DEFAULT_HOP_S = 1.0
MIN_HOP_S, MAX_HOP_S = 0.1, 60.0  # a hop of 0 would never advance
BATCH_WINDOWS = 32  # larger CPU batches run faster per window but hold ~3 MB of activations per window
IN_MEMORY_S = 600.0  # keep up to this much 16 kHz audio (38 MB) from the first pass instead of decoding again

Source = Union[str, os.PathLike, bytes]


@dataclass
class Segment:
    start_s: float
    end_s: float
    p_synthetic: float


@dataclass
class Result:
    path: str
    p_synthetic: float | None
    verdict: str  # "synthetic", "real", "uncertain" or "error"
    speech_s: float
    duration_s: float
    segments: list[Segment] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    model: str = ""
    error: str | None = None
    watermark: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Result":
        """The inverse of to_dict (results that crossed a process or machine boundary as JSON)."""
        return cls(**{**data, "segments": [Segment(**s) for s in data.get("segments", [])]})


def unreadable_result(label: str, error: object, *, model: str = "") -> Result:
    """The Result of an input that could not be read: verdict `error`, its one-line message in `error`."""
    return Result(path=label, p_synthetic=None, verdict="error", speech_s=0.0, duration_s=0.0, model=model, error=" ".join(str(error).split()))


def verdict_for(p_synthetic: float | None, flags: list[str]) -> str:
    if p_synthetic is None or "too_short" in flags or "no_speech" in flags:
        return "uncertain"
    if p_synthetic >= SYNTHETIC_THRESHOLD:
        return "synthetic"
    if p_synthetic <= REAL_THRESHOLD:
        return "real"
    return "uncertain"


MALLOC_MMAP_THRESHOLD = 32 * 1024 * 1024


def _fix_malloc_mmap_threshold() -> None:
    """Fix glibc's mmap threshold so that it does not drift as large buffers come and go: left dynamic, the heap
    fragments and a long file's scoring grows RSS by hundreds of MB (measured: 845 -> 1240 MB from 10 to 60 minutes
    of audio). Fixed at 32 MiB, the CNN's activations are reused from the heap instead of being mapped and
    page-faulted afresh on every window run: `default` scores ~1.4x faster than with the earlier 128 KiB, for a peak
    RSS of ~1.07 GB instead of ~0.87 GB, still flat from 10 to 60 minutes (detect/MODEL_CARD.md, Speed)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, MALLOC_MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass  # not glibc


class Detector:
    """A detector checkpoint with its calibration and scoring window."""

    def __init__(
        self,
        model,
        meta: dict,
        *,
        device: torch.device,
        hop_s: float = DEFAULT_HOP_S,
        window_s: float | None = None,
        watermark_key: bytes | None = None,
        precision: str | None = None,
        synthetic_prior: float | None = None,
    ) -> None:
        """precision: the front-end's (voxtwin/precision.py): auto (bf16 where native; else int8 where the model's
        student CNN has a checked int8 form), fp32, bf16 or int8; None = $VOXTWIN_PRECISION, else auto. Only models
        with a `precision` attribute (distillmos-linear and its kin) use it.
        synthetic_prior: the share of synthetic speech expected among the files scored (None: the checkpoint's, 0.5
        for the shipped detectors); a lower one lets more real files, and more fakes, come out `real`."""
        _fix_malloc_mmap_threshold()
        self.precision = encoder_precision(getattr(model, "encoder", None), precision, device) if hasattr(model, "precision") else "fp32"
        if hasattr(model, "precision"):
            model.precision = self.precision
        self.watermark_key = watermark_key
        # channels-last convolutions are ~25 % faster on CPU for the 2-D conv models
        self.model = model.eval().to(device, memory_format=torch.channels_last) if device.type == "cpu" else model.eval().to(device)
        self.meta = meta
        self.device = device
        scoring = meta.get("scoring", {})
        self.calibration = Calibration(**scoring.get("calibration", {}))
        if synthetic_prior is not None:
            try:  # Calibration checks the range
                self.calibration = dataclasses.replace(self.calibration, synthetic_prior=synthetic_prior)
            except ValueError as exc:
                raise VoxtwinError(str(exc)) from None
        # maps fitted on the calibration set through a channel (detect/calibration.py CHANNELS), under the same prior;
        # a channel without one (and every file of a checkpoint without them) takes `calibration`
        self.channel_calibrations = _channel_calibrations(scoring.get("calibration_by_channel", {}), self.calibration.synthetic_prior)
        # finds Opus or MP3 in the signal when the container declares no codec (a decoded message saved as WAV)
        self.codec_finder = CodecFinder.from_scoring(scoring)
        crop_samples = meta.get("training", {}).get("config", {}).get("crop_samples", 64_600)
        self.window = int((window_s or scoring.get("window_s") or crop_samples / SAMPLE_RATE) * SAMPLE_RATE)
        if not MIN_HOP_S <= hop_s <= MAX_HOP_S:
            raise VoxtwinError(f"hop_s must be between {MIN_HOP_S} and {MAX_HOP_S} seconds, got {hop_s}")
        self.hop = int(hop_s * SAMPLE_RATE)
        self.name = f"{meta.get('name', '?')}@{meta.get('scoring', {}).get('version', 'custom')}"

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, *, device: str = "auto", **kwargs) -> "Detector":
        """A shipped detector by name (`default`, `fast`; None = `default`), or a checkpoint from `voxtwin detect train`."""
        torch_device = resolve_device(device)
        model, meta, _ = load_detector(shipped_or_path(path), map_location=torch_device)
        return cls(model, meta, device=torch_device, **kwargs)

    # ------------------------------------------------------------------------------------------ scoring

    def score(self, wav: np.ndarray, sample_rate: int, *, path: str = "<array>", codec: str | None = None) -> Result:
        """Score an in-memory mono signal; `codec`: the one it was decoded from, if any (e.g. "opus", "mp3", "aac"),
        which picks that channel's calibration as `score_file` does from the container."""
        wav = np.asarray(wav, dtype=np.float32).reshape(-1)
        if wav.size == 0 or not np.all(np.isfinite(wav)):
            raise VoxtwinError(f"{path}: empty signal or NaN/inf samples")
        return self._score_blocks(path, lambda: iter([(wav, sample_rate)]), {"codec": codec})

    def score_file(self, source: Source, *, label: str | None = None, max_duration_s: float | None = None, raise_errors: bool = False) -> Result:
        """Score a file or its bytes; a bad file gives a Result with `error` set instead of raising.

        Args:
            label: The `path` to report (default: the path, or "<stdin>" for bytes).
            max_duration_s: Refuse (AudioTooLongError) a signal longer than this, found while decoding.
            raise_errors: Raise the VoxtwinError instead of returning it in the Result (the web API maps it to a
                status code).
        """
        label = label or ("<stdin>" if isinstance(source, (bytes, bytearray)) else str(source))
        opened: dict = {}  # the container's codec, known once the decoder has opened the file
        try:
            return self._score_blocks(
                label, lambda: _limited(audio.iter_blocks(source, on_open=lambda _, codec: opened.update(codec=codec)), label, max_duration_s), opened
            )
        except VoxtwinError as exc:
            if raise_errors:
                raise
            return unreadable_result(label, exc, model=self.name)

    def score_files(self, sources: Iterable[Source], *, jobs: int = 0) -> Iterator[Result]:
        """Score many files, `jobs` at a time (0: one per CPU core, at most 4; always 1 on a GPU); results come
        back in input order. On Linux each job is a forked worker process (detect/parallel_scoring.py), elsewhere
        a thread; torch gets cores // jobs threads per job."""
        sources = list(sources)
        cores = os.cpu_count() or 1
        jobs = 1 if self.device.type != "cpu" else min(jobs or min(cores, 4), len(sources))
        if jobs <= 1:
            return map(self.score_file, sources)
        return score_in_parallel(self.score_file, sources, jobs)

    def _score_blocks(self, label: str, blocks, opened: dict) -> Result:
        # pass 1: decode, resample to 16 kHz, measure loudness, speech and bandwidth; keep the 16 kHz stream if it is short
        native = _NativeStats()
        band = BandEnergy()
        shape = SpectrumShape() if self.codec_finder is not None and self.channel_calibrations else None
        kept: list[np.ndarray] | None = []

        def first_pass() -> Iterator[tuple[np.ndarray, int]]:
            nonlocal kept
            for chunk in _to_16k(native.update(blocks())):
                band.update(chunk)
                if shape is not None:
                    shape.update(chunk)
                if kept is not None:
                    kept.append(chunk)
                    if native.n_samples > IN_MEMORY_S * native.sample_rate:
                        kept = None  # too long to hold: pass 2 decodes again
                yield chunk, SAMPLE_RATE

        stats = measure(first_pass())
        if native.n_samples == 0:
            raise VoxtwinError(f"{label}: the file holds no audio samples")
        duration_s, mask = native.n_samples / native.sample_rate, stats.speech_mask
        speech_s = round(float(mask.sum()) * FRAME_S, 2)
        flags = []
        if stats.peak < audio.SILENCE_PEAK or speech_s < NO_SPEECH_S:
            flags.append("no_speech")
            return Result(label, None, "uncertain", speech_s, round(duration_s, 3), flags=flags, model=self.name)
        if speech_s < MIN_SPEECH_S:
            flags.append("too_short")
        if native.n_full_scale > CLIPPED_SHARE * native.n_samples:  # on the file's own samples: resampling blurs clipping
            flags.append("clipped")
        if band.narrow_band:
            flags.append("narrow_band")
        channel = calibration_channel(opened.get("codec"), narrow_band=band.narrow_band)
        # PCM, FLAC and other codecs without a map of their own take the clean map, unless the signal shows a codec
        if channel == "clean" and shape is not None and (found := self.codec_finder.find(shape.features)):
            channel = calibration_channel(found, narrow_band=False)
            flags.append("codec_traces")
        calibration = self.channel_calibrations.get(channel, self.calibration)
        gain = 10 ** ((TARGET_LUFS - stats.loudness_lufs) / 20) if stats.loudness_lufs is not None else 1.0
        # pass 2: windows of the standardised signal
        chunks = iter(kept) if kept is not None else _to_16k(blocks())
        starts, scores = [], []
        pending: list[tuple[int, np.ndarray]] = []
        best: tuple[float, int, np.ndarray] | None = None  # the speechiest window, used if none qualifies
        head: list[np.ndarray] = []  # the first minute at 16 kHz, kept for the watermark (no second decode)
        for start, window in self._windows(chunks, gain, head=head):
            share = _speech_share(mask, start / SAMPLE_RATE, (start + self.window) / SAMPLE_RATE)
            if share < MIN_WINDOW_SPEECH_SHARE:
                if best is None or share > best[0]:
                    best = (share, start, window.copy())
                continue
            pending.append((start, window))
            if len(pending) == BATCH_WINDOWS:
                self._flush(pending, starts, scores)
                pending = []
        self._flush(pending, starts, scores)
        if not scores and best is not None:
            self._flush([best[1:]], starts, scores)
        p = calibration.p_synthetic(np.asarray(scores))
        logits = np.log(np.clip(p, 1e-9, 1 - 1e-9) / np.clip(1 - p, 1e-9, 1))
        overall = float(1 / (1 + np.exp(-logits.mean())))
        segments = [Segment(round(s / SAMPLE_RATE, 2), round(min(s + self.window, stats.n_samples) / SAMPLE_RATE, 2), round(float(q), 4)) for s, q in zip(starts, p)]
        if np.count_nonzero(p >= SYNTHETIC_THRESHOLD) >= PARTLY_MIN_WINDOWS and overall < SYNTHETIC_THRESHOLD:
            flags.append("partly_synthetic")
        watermark = detect_watermark_stream(((chunk, SAMPLE_RATE) for chunk in head), key=self.watermark_key).to_dict()
        if watermark["found"]:
            flags.append("voxtwin_watermark")
        verdict = "synthetic" if watermark["found"] else verdict_for(overall, flags)
        return Result(label, round(overall, 4), verdict, speech_s, round(duration_s, 3), segments, flags, self.name, watermark=watermark)

    def _windows(self, chunks: Iterator[np.ndarray], gain: float, *, head: list[np.ndarray]) -> Iterator[tuple[int, np.ndarray]]:
        """(start sample, window) pairs over the whole 16 kHz signal, scaled by `gain`, placed as training places them
        (detect/frozen_head.py window_starts): every hop, plus one window ending at the file's end when more than half
        a hop is left uncovered; a file shorter than a window is repeat-padded to one. The first WATERMARK_SEARCH_S
        seconds of the scaled signal are appended to `head`; the windows then pass under the model's band ceiling, if
        it has one (voxtwin/band_ceiling.py), as its training windows did."""
        ceiling_hz = getattr(self.model, "band_ceiling_hz", 0.0)
        ceiling = CeilingStream(ceiling_hz) if ceiling_hz else None

        def standardised() -> Iterator[np.ndarray]:
            head_n = 0
            for chunk in chunks:
                chunk = np.clip(chunk * gain, -1, 1)
                if head_n < WATERMARK_SEARCH_S * SAMPLE_RATE:
                    head.append(chunk)  # the watermark is looked for in the whole band
                    head_n += len(chunk)
                yield chunk if ceiling is None else ceiling.push(chunk)
            if ceiling is not None:
                yield ceiling.finish()

        buffer = np.zeros(0, dtype=np.float32)
        offset = 0  # sample index of buffer[0]
        next_start = 0
        for chunk in standardised():
            buffer = np.concatenate([buffer, chunk])
            while next_start + self.window <= offset + len(buffer):
                yield next_start, buffer[next_start - offset : next_start - offset + self.window]
                next_start += self.hop
            drop = next_start - self.hop - offset  # keep the last full window: the tail window may overlap it
            if drop > 0:
                buffer, offset = buffer[drop:], offset + drop
        end = offset + len(buffer)
        if next_start == 0:
            if len(buffer):
                yield 0, crop(buffer, self.window)
        elif end - (next_start - self.hop + self.window) > self.hop // 2:
            yield end - self.window, buffer[end - self.window - offset :]

    @torch.inference_mode()
    def _flush(self, pending: list[tuple[int, np.ndarray]], starts: list[int], scores: list[float]) -> None:
        """Score a batch of (start, window) pairs, appending to `starts` and `scores`."""
        if not pending:
            return
        if hasattr(self.model, "score_span"):  # front-end run once over overlapping windows (linear heads, GMM)
            for run in _contiguous_runs(pending):
                first = run[0][0]
                span = np.concatenate([run[0][1]] + [w[-(s - before) :] for (before, _), (s, w) in zip(run, run[1:])])
                out = self.model.score_span(torch.from_numpy(span).to(self.device), [s - first for s, _ in run], self.window)
                scores.extend(out.float().cpu().tolist())
                starts.extend(s for s, _ in run)
            return
        batch = torch.from_numpy(np.stack([w for _, w in pending])).to(self.device)
        scores.extend(self.model.score(batch).float().cpu().tolist())
        starts.extend(s for s, _ in pending)


def shipped_or_path(path: str | os.PathLike | None) -> Path:
    """A shipped detector's weights for its name (a file of that name wins), else the path as given."""
    if path is None:
        return DEFAULT_WEIGHTS
    if str(path) in SHIPPED and not Path(path).exists():
        return SHIPPED[str(path)]
    return Path(path)


class _NativeStats:
    """Length, rate and full-scale samples of the decoded blocks as they pass through: the duration stays exact and
    clipping is judged at the file's own rate."""

    def __init__(self) -> None:
        self.n_samples, self.sample_rate, self.n_full_scale = 0, 0, 0

    def update(self, blocks) -> Iterator[tuple[np.ndarray, int]]:
        for block, rate in blocks:
            self.n_samples += len(block)
            self.sample_rate = rate
            self.n_full_scale += int(np.count_nonzero(np.abs(block) >= FULL_SCALE))
            yield block, rate


def _channel_calibrations(maps: dict, synthetic_prior: float) -> dict[str, Calibration]:
    """A checkpoint's maps per channel, checked (a checkpoint is untrusted input), under the detector's prior."""
    try:
        unknown = sorted(set(maps) - set(CALIBRATION_CHANNELS[1:]))
        if unknown:
            raise ValueError(f"unknown channel {', '.join(map(str, unknown))} (known: {', '.join(CALIBRATION_CHANNELS[1:])})")
        return {channel: Calibration(slope=float(m["slope"]), intercept=float(m["intercept"]), synthetic_prior=synthetic_prior) for channel, m in maps.items()}
    except (TypeError, KeyError, ValueError) as exc:
        raise VoxtwinError(f"the checkpoint's calibration_by_channel is malformed: {exc}") from None


def _limited(blocks, label: str, max_duration_s: float | None) -> Iterator[tuple[np.ndarray, int]]:
    """The decoded blocks, stopping with AudioTooLongError once they pass `max_duration_s` (None: no limit)."""
    n = 0
    for block, rate in blocks:
        n += len(block)
        if max_duration_s is not None and n > max_duration_s * rate:
            raise AudioTooLongError(f"{label}: longer than the {max_duration_s:g} s limit")
        yield block, rate


def _to_16k(blocks) -> Iterator[np.ndarray]:
    """The decoded (block, rate) stream resampled to 16 kHz in one streaming pass (soxr HQ)."""
    stream = None
    for block, rate in blocks:
        if rate == SAMPLE_RATE:
            yield block
            continue
        stream = stream or soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        yield stream.resample_chunk(block)
    if stream is not None:
        tail = stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        if len(tail):
            yield tail


def _contiguous_runs(pending: list[tuple[int, np.ndarray]]) -> Iterator[list[tuple[int, np.ndarray]]]:
    """Split (start, window) pairs into runs in which each window starts after the one before and overlaps it (every
    hop, and the tail window that ends at the file's end), so that one front-end pass covers a run."""
    run: list[tuple[int, np.ndarray]] = []
    for start, window in pending:
        if run and not 0 < start - run[-1][0] <= len(run[-1][1]):
            yield run
            run = []
        run.append((start, window))
    if run:
        yield run


def _speech_share(mask: np.ndarray, start_s: float, end_s: float) -> float:
    a, b = int(start_s / FRAME_S), max(int(end_s / FRAME_S), int(start_s / FRAME_S) + 1)
    part = mask[a:b]
    return float(part.mean()) if len(part) else 0.0
