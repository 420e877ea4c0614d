"""How far is each vocoded copy that make_data.py writes from the real recording it was made from?

    python recipes/default_detector/copy_distance.py [--shared ../shared/data] [--generated runs/default_detector/generated] [--out runs/default_detector/copy_distance.json]

A held-out page of copies that differ from their originals by little more than rounding cannot be told apart by any
detector and makes Platt scaling call real speech `uncertain`; this measures the gap per vocoder (the project's
exact-magnitude Griffin-Lim copies: ~2.3 dB, why they were replaced by copies through a mel; detect/MODEL_CARD.md).
For every copy of a `vocoder` row in the generated manifest ("NAME resynthesis of SOURCE"), both files at 16 kHz:
the log-spectral distance (dB, RMS over frequency of the 512-point log-magnitude difference, mean over frames
within 30 dB of the loudest) and the spectral convergence (dB, ||X - Y|| / ||X|| of the magnitudes). Prints and
writes the median and quartiles per source.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import librosa
import numpy as np

from detect.datasets import read_dataset
from voxtwin import audio

from copy_names import copy_stem  # noqa: I001  (this folder's)

N_FFT, HOP = 512, 128  # the spectral resolution the detectors' front-ends see at 16 kHz


def copy_distance(original: np.ndarray, copy: np.ndarray) -> tuple[float, float]:
    """(log-spectral distance dB, spectral convergence dB) of two 16 kHz signals, over the shorter one's length."""
    n = min(len(original), len(copy))
    x, y = (np.abs(librosa.stft(np.asarray(w[:n], dtype=np.float32), n_fft=N_FFT, hop_length=HOP)) for w in (original, copy))
    energy = (x ** 2).sum(axis=0)
    active = energy >= energy.max() * 1e-3
    lx, ly = (20 * np.log10(m[:, active] + 1e-5) for m in (x, y))
    lsd = float(np.mean(np.sqrt(np.mean((lx - ly) ** 2, axis=0))))
    convergence = float(20 * np.log10(np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-12)))
    return lsd, convergence


def distances_by_source(shared: Path, generated: Path) -> dict[str, dict]:
    """Per generated vocoder source: the number of copies and the quartiles of both distances."""
    originals = {copy_stem(t, shared): t.path for t in read_dataset("manifest", shared, "all")}
    rows: dict[str, list[tuple[float, float]]] = {}
    for trial in read_dataset("manifest", generated, "all"):
        original = originals.get(trial.utterance)  # make_data.py names a copy by its original's path (copy_names.py)
        if trial.metadata.get("kind") != "vocoder" or original is None:
            continue
        x = audio.load(original, 16_000, allow_silence=True)[0]
        y = audio.load(trial.path, 16_000, allow_silence=True)[0]
        rows.setdefault(trial.source, []).append(copy_distance(x[: len(y)], y))
    return {source: {"n": len(values), **{name: dict(zip(("q25", "median", "q75"), np.percentile([v[i] for v in values], [25, 50, 75]).round(2).tolist()))
                                           for i, name in enumerate(("log_spectral_distance_db", "spectral_convergence_db"))}}
            for source, values in sorted(rows.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--generated", type=Path, default=Path("runs/default_detector/generated"))
    parser.add_argument("--out", type=Path, default=Path("runs/default_detector/copy_distance.json"))
    args = parser.parse_args()
    for folder in (args.shared, args.generated):
        if not (folder / "manifest.csv").is_file():
            raise SystemExit(f"error: {folder / 'manifest.csv'} not found (make_data.py writes the generated one)")
    result = distances_by_source(args.shared, args.generated)
    if not result:
        raise SystemExit(f"error: no copy in {args.generated} names an original in {args.shared}")
    for source, entry in result.items():
        print(f"{source:28s} n={entry['n']:3d}  log-spectral distance {entry['log_spectral_distance_db']['median']:5.2f} dB  "
              f"spectral convergence {entry['spectral_convergence_db']['median']:6.1f} dB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
