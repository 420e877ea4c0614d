"""Front-end throughput: decode + resample to 16 kHz + LFCC, in seconds of audio per second of wall time,
for voxtwin (soundfile/PyAV + soxr + batched torch LFCC) and a plain librosa pipeline on the same files.

    python benchmarks/frontend.py [--files 16] [--seconds 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from voxtwin import audio
from voxtwin.features import LFCCSpec, build_features
from voxtwin.testing import speechlike


def make_files(root: Path, n_files: int, seconds: float) -> list[Path]:
    """Mixed voice-message formats at mixed rates, as a scoring service receives them."""
    formats = [(".wav", 44_100), (".flac", 22_050), (".opus", 48_000), (".mp3", 24_000), (".m4a", 44_100), (".ogg", 16_000)]
    paths = []
    for i in range(n_files):
        ext, rate = formats[i % len(formats)]
        paths.append(audio.save(root / f"msg{i}{ext}", speechlike(duration_s=seconds, sample_rate=rate, seed=i), rate))
    return paths


def voxtwin_pipeline(paths: list[Path]) -> float:
    frontend = build_features(LFCCSpec())
    total = 0.0
    with torch.inference_mode():
        for path in paths:
            wav, rate = audio.load(path, sr=16_000)
            frontend(torch.from_numpy(wav)[None])
            total += len(wav) / rate
    return total


def librosa_pipeline(paths: list[Path]) -> float:
    """The same LFCC recipe written the plain way: librosa.load (audioread/soundfile + soxr_hq) and NumPy."""
    import librosa
    import scipy.fft

    bank = None
    total = 0.0
    for path in paths:
        wav, rate = librosa.load(path, sr=16_000, mono=True)
        x = np.append(wav[0], wav[1:] - 0.97 * wav[:-1])
        frames = librosa.util.frame(x, frame_length=320, hop_length=160, axis=0) * np.hamming(320)
        power = np.abs(np.fft.rfft(frames, 512)) ** 2
        if bank is None:
            f = np.linspace(0, 8000, 257)
            edges = np.linspace(0, 8000, 22)
            bank = np.stack([np.clip(np.minimum((f - edges[i]) / (edges[i + 1] - edges[i]), (edges[i + 2] - f) / (edges[i + 2] - edges[i + 1])), 0, None) for i in range(20)], axis=1)
        static = scipy.fft.dct(np.log(power @ bank + 1e-7), type=2, axis=1, norm="ortho")
        d = librosa.feature.delta(static, axis=0, width=3)
        np.concatenate([static, d, librosa.feature.delta(d, axis=0, width=3)], axis=1)
        total += len(wav) / rate
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_files(Path(tmp), args.files, args.seconds)
        # librosa (soundfile, then audioread) has no decoder for M4A/AAC here: compare on what both read,
        # and say how many files only voxtwin could read.
        readable = [p for p in paths if p.suffix != ".m4a"]
        print(f"{len(paths) - len(readable)} of {len(paths)} files (.m4a) are unreadable by librosa.load; timing the other {len(readable)}")
        paths = readable
        results = {}
        for name, pipeline in (("voxtwin", voxtwin_pipeline), ("librosa", librosa_pipeline)):
            pipeline(paths[:2])  # warm-up: imports, filter design
            start = time.perf_counter()
            seconds = pipeline(paths)
            results[name] = seconds / (time.perf_counter() - start)
    for name, speed in results.items():
        print(f"{name:8s} {speed:10.0f} s of audio per s")
    print(f"ratio voxtwin/librosa: {results['voxtwin'] / results['librosa']:.2f}x")


if __name__ == "__main__":
    main()
