"""Do vocoded copies of the real training speech teach the detector to catch unseen generators?

Copy-synthesis (analyse a real recording, resynthesise it with a vocoder) gives a synthetic twin of every real
file: same words, speaker, room and corpus, only the vocoder differs, so a head trained on the pairs can only
separate them by what the vocoder leaves. Wang & Yamagishi (ICASSP 2023) found such copies a cheap source of spoof
training data that generalises. The shipped recipe has 80 copies per vocoder (make_data.py); this study copies
every real file of ../shared/data (its first 6 s, as make_data.py) with HiFi-GAN V1 universal and/or WORLD and adds
the copies to the training side of every fold of fusion_loso.py's leave-one-source-out protocol, as spoof:
  - a copy trains a fold only when its original's source is not the held-out one (a held-out real corpus's
    copies would be that corpus's own speech);
  - nothing else changes: the same windows, features (DistillMOS + spectral statistics, `default`'s), channels
    (as recorded and through the 8 kHz telephone band, for training and test), C and class weighting.

    python recipes/detector_v2/vocoded_copies_loso.py --vocoders world hifigan --json runs/detector_v2/vocoded-copies.json
    python recipes/detector_v2/vocoded_copies_loso.py --vocoders world --head mlp --train-on real-bearing   # with `default`'s kind of head
The copies' statistics are cached in runs/detector_v2/vocoded-VOCODER-CHANNEL.npz (HiFi-GAN V1 costs ~0.45 RTF on
2 threads: ~35 min for the 1,081 real files; WORLD ~5 min).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from detect.paired_sources import TRAIN_SOURCE_CHOICES, training_sources
from detect.preprocess import SAMPLE_RATE, load_standardized, standardize
from voice.vocoders import load_vocoder

from front_ends import FRONT_ENDS  # noqa: I001  (this folder is on sys.path when the script runs)
from frontends_loso import windows
from fusion_loso import all_front_ends
from layers_loso import LayerStats, apply_channel, out_of_fold, printed_results
from study_options import save_results, start, study_parser

MAX_SOURCE_S = 6.0  # as make_data.py
COLUMNS = ("layer5", "spectral")  # `default` 2026.12-3's features
VOCODERS = ("hifigan", "world")


def copies_features(rows: list[dict], labels: np.ndarray, root: Path, cache: Path, vocoder_name: str, channels: list[str]) -> dict[str, dict]:
    """{channel: {"layer5", "spectral", "owner"}} of the vocoded copies of every real file (owner = the original's row)."""
    paths = {ch: cache / f"vocoded-{vocoder_name}-{ch}.npz" for ch in channels}
    real = np.flatnonzero(labels == 0)
    out: dict[str, dict] = {}
    for ch, path in paths.items():
        if path.is_file():
            with np.load(path) as z:
                if len(z["owner"]) and int(z["owner"].max()) == int(real.max()):
                    out[ch] = {k: z[k] for k in z.files}
    missing = [ch for ch in channels if ch not in out]
    if not missing:
        return out
    vocoder, distillmos, spectral = load_vocoder(vocoder_name), LayerStats(), FRONT_ENDS["spectral"]()
    found = {ch: {"layer5": [], "spectral": [], "owner": []} for ch in missing}
    started = time.time()
    for n, i in enumerate(real):
        wav = load_standardized(root / rows[i]["path"])[: int(MAX_SOURCE_S * SAMPLE_RATE)]
        copy = standardize(vocoder.resynthesize(wav, SAMPLE_RATE), vocoder.sample_rate)  # as every file the detectors read
        for ch in missing:
            heard = apply_channel(copy, ch)
            if len(heard) < SAMPLE_RATE // 2:  # as the studies pad short files
                heard = np.tile(heard, int(np.ceil(SAMPLE_RATE / max(1, len(heard))))) if len(heard) else np.zeros(SAMPLE_RATE, np.float32)
            for w in windows(heard):
                found[ch]["layer5"].append(distillmos(w)[5])
                found[ch]["spectral"].append(spectral(w).astype(np.float16))
                found[ch]["owner"].append(i)
        if (n + 1) % 100 == 0:
            print(f"  {vocoder_name}: {n + 1}/{len(real)} copies ({time.time() - started:.0f} s)", flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    for ch in missing:
        out[ch] = {k: np.asarray(v) for k, v in found[ch].items()}
        np.savez(paths[ch], **out[ch])
    return out


def main() -> None:
    parser = study_parser(__doc__, channels=["clean", "telephone_8k"])
    parser.add_argument("--vocoders", nargs="+", choices=VOCODERS, default=list(VOCODERS), help="copy-synthesis vocoders; each is a study row alone, and all together")
    parser.add_argument("--head", choices=("logistic", "mlp"), default="logistic", help="the windows' head: logistic regression (the first study's) or `default`'s hidden layer")
    parser.add_argument("--train-on", choices=TRAIN_SOURCE_CHOICES, default="all",
                        help="the sources each fold fits on (the copies of every real file outside the held-out source are added either way)")
    args = parser.parse_args()
    rows, labels, sources = start(args)
    train_sources = training_sources(args.train_on, labels == 1, sources)
    features = {ch: all_front_ends(rows, args.data, args.cache, ch, ["distillmos+spectral"]) for ch in args.channels}
    copies = {name: copies_features(rows, labels, args.data, args.cache, name, args.channels) for name in args.vocoders}
    if args.features_only:
        return
    trials = {"no copies": []} | {f"+ {name} copies": [name] for name in args.vocoders}
    if len(args.vocoders) > 1:
        trials["+ " + " and ".join(args.vocoders) + " copies"] = list(args.vocoders)
    fit = lambda chosen: out_of_fold(features, COLUMNS, labels, sources, c=args.c, copies=tuple(copies[v] for v in chosen), head=args.head,  # noqa: E731
                                     train_sources=train_sources)
    results = {name: printed_results(name, fit(chosen), labels, sources, prior=args.prior) for name, chosen in trials.items()}
    save_results(args, results, files=len(rows), vocoders=args.vocoders, head=args.head, train_on=args.train_on)


if __name__ == "__main__":
    main()
