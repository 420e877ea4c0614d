"""Fit the codec finder (detect/codec_finder.py) and measure how often it finds each channel's codec.

    python recipes/default_detector/codec_finder.py [--write MODEL] [--out runs/default_detector/codec_finder.json]

Fitted on the training split of run.py's recipe (a stable subset, at most --max-per-class real and as many synthetic
files): every file as recorded ("clean") and once through a codec drawn as the training augmentation draws it
(detect/augment.py: Opus 8-32, MP3 32-128, AAC 24-64 kbps), so the finder learns the codecs, not the classes.
Reported: 5-fold cross-validation on those files (a file and its copy in the same fold), then the share of files
found as some codec on the calibration and report sets as recorded and through Opus 16 / 32 kbps, MP3 64 kbps and AAC
48 kbps (voxtwin/codec.py's channels). `--write MODEL` stores the finder in the model's JSON file
(scoring.codec_finder), which `voxtwin detect score` then uses for files whose container declares no codec.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from detect.augment import draw_codec
from detect.codec_finder import fit_codec_finder, spectrum_shape
from detect.data import INT16_SCALE, WaveformCache, load_trials
from detect.detector import shipped_or_path
from detect.recipes import load_recipe
from detect.train import default_cache_dir
from voxtwin.codec import transcode
from voxtwin.errors import VoxtwinError
from compare import subset  # noqa: I001  (this folder's scripts)
from run import HERE, channel, recipe_trials, split_trials

SEED = 0
SCORED_CHANNELS = ("clean", "opus_16k", "mp3_64k", "opus_32k", "aac_48k")


def training_examples(waves: list[np.ndarray]) -> tuple[list[np.ndarray], list[str], list[int]]:
    """(features, labels, file index) of every file as recorded and through one drawn codec; files too quiet for a
    shape are left out."""
    features, labels, owner = [], [], []
    for i, wave in enumerate(tqdm(waves, desc="training files", unit="file")):
        wav = wave.astype(np.float32) / INT16_SCALE
        name, bitrate_kbps = draw_codec(np.random.default_rng([SEED, i]))
        for label, signal in (("clean", wav), (name, np.clip(transcode(wav, 16_000, codec=name, bitrate_kbps=bitrate_kbps), -1, 1))):
            shape = spectrum_shape(signal)
            if shape is not None:
                features.append(shape), labels.append(label), owner.append(i)
    return features, labels, owner


def cross_validated(features: np.ndarray, labels: np.ndarray, owner: np.ndarray, folds: int = 5) -> dict:
    """Per true class, the percent of examples a finder fitted on the other folds takes for some codec."""
    found = np.zeros(len(labels), dtype=bool)
    fold_of = np.random.default_rng(SEED).permutation(owner.max() + 1) % folds
    for k in range(folds):
        test = fold_of[owner] == k
        finder = fit_codec_finder(features[~test], list(labels[~test]))
        found[test] = [finder.find(f) is not None for f in features[test]]
    return {str(c): round(100 * float(found[labels == c].mean()), 1) for c in sorted(set(labels))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-per-class", type=int, default=800, help="training files per class (0: all)")
    parser.add_argument("--sets", nargs="*", default=["calibration", "report"], choices=["calibration", "report"])
    parser.add_argument("--write", metavar="MODEL", help="store the finder in this detector's JSON file (a shipped name or a path)")
    parser.add_argument("--out", default="runs/default_detector/codec_finder.json")
    args = parser.parse_args()
    config = load_recipe(str(HERE / "config.toml"), [])
    try:
        trials = recipe_trials(config)
    except VoxtwinError as exc:  # no ../shared/data: a fresh clone
        raise SystemExit(f"error: {exc}") from None
    train, calibration, report = split_trials(trials, config["calibration_sources"], config["report_sources"])
    cache = WaveformCache(default_cache_dir(""))
    _, waves = load_trials(subset(train, args.max_per_class), cache, description="training audio")
    features, labels, owner = training_examples(waves)
    features, labels, owner = np.array(features), np.array(labels), np.array(owner)
    out: dict = {"n_training_files": len(waves), "training_examples": dict(Counter(labels.tolist())),
                 "cross_validated_found_percent": cross_validated(features, labels, owner)}
    print("training examples:", out["training_examples"], "\n5-fold cross-validation, % taken for a codec:", out["cross_validated_found_percent"], flush=True)
    finder = fit_codec_finder(features, list(labels))
    out["found_percent"] = {}
    for set_name, trials in (("calibration", calibration), ("report", report)):
        if set_name not in args.sets:
            continue
        _, set_waves = load_trials(trials, cache, description=f"{set_name} audio")
        for ch in SCORED_CHANNELS:
            found = [finder.find(spectrum_shape(np.clip(channel(w.astype(np.float32) / INT16_SCALE, ch), -1, 1))) for w in set_waves]
            counts = Counter(f or "clean" for f in found)
            out["found_percent"][f"{set_name} {ch}"] = entry = {
                "some_codec": round(100 * sum(f is not None for f in found) / len(found), 1),
                "by_class": {c: round(100 * n / len(found), 1) for c, n in sorted(counts.items())}}
            print(f"{set_name} {ch}: taken for some codec {entry['some_codec']:.1f} % {entry['by_class']}", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {args.out}")
    if args.write:
        path = shipped_or_path(args.write).with_suffix(".json")
        meta = json.loads(path.read_text())
        meta["scoring"]["codec_finder"] = finder.to_dict()
        meta["scoring"]["codec_finder_fitted_on"] = (f"{len(waves)} files of the training split as recorded and through a drawn codec "
                                                     "(recipes/default_detector/codec_finder.py)")
        path.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote the codec finder into {path}")


if __name__ == "__main__":
    main()
