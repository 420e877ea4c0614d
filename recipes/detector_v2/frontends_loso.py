"""Which frozen front-end catches unseen generators? Leave-one-source-out on ../shared/data (all 68 systems).

For every file (standardised as detectors see it: 16 kHz, -23 LUFS, trimmed), 4 s windows with a 2 s hop (at most
6 per file) are described by the mean and standard deviation of a front-end's frames:
  distillmos  DistillMOS's CNN (the shipped `default` detector's front-end), 1024-d frames
  whisper     Whisper tiny.en's encoder (CTranslate2 int8), 384-d frames
  fused       both, concatenated
Each fold holds out one `source` (a demo page, or a real corpus) entirely, fits standardisation + logistic
regression on the windows of all other sources, and scores the held-out files (mean window log-odds). Every file
thus gets a score from a model that never saw its page. Reported, per front-end: EER of each source's spoofs
against all real files (out-of-fold), their mean and worst, and the pooled EER; `--codec opus` round-trips every
file through Opus 16 kbps first (training and held-out files alike; no clean or codec-augmented copies are added).

    python recipes/detector_v2/frontends_loso.py [--data ../shared/data] [--codec opus] [--json out.json]
Features are cached in runs/detector_v2/ (resumes).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import torch

from detect.metrics import eer
from detect.models.distillmos_linear import SAMPLES_PER_FRAME, DistillMOSLinearConfig, build_encoder
from detect.preprocess import SAMPLE_RATE, load_standardized, standardize
from voxtwin.whisper_encoder import encoder_frames

from study_options import save_results, start, study_parser  # noqa: I001  (this folder is on sys.path when the script runs)

WINDOW_S, HOP_S, MAX_WINDOWS = 4.0, 2.0, 6


def windows(wav: np.ndarray) -> list[np.ndarray]:
    n, hop = int(WINDOW_S * SAMPLE_RATE), int(HOP_S * SAMPLE_RATE)
    if len(wav) <= n:
        return [wav]
    starts = list(range(0, len(wav) - n + 1, hop))
    picks = np.linspace(0, len(starts) - 1, min(len(starts), MAX_WINDOWS)).round().astype(int)
    return [wav[starts[i] : starts[i] + n] for i in sorted(set(picks))]


def stats(frames: np.ndarray) -> np.ndarray:
    return np.concatenate([frames.mean(0), frames.std(0)]).astype(np.float32)


class FrontEnds:
    def __init__(self) -> None:
        self.cnn = build_encoder(pretrained=True).eval()
        self.gain = DistillMOSLinearConfig().input_gain  # the shipped detector's input gain

    @torch.inference_mode()
    def distillmos(self, w: np.ndarray) -> np.ndarray:
        n = len(w) // SAMPLES_PER_FRAME * SAMPLES_PER_FRAME
        h = self.cnn(torch.from_numpy(w[:n])[None] * self.gain)[0]  # (1024, L)
        return stats(h.T.numpy())

    def whisper(self, w: np.ndarray) -> np.ndarray:
        return stats(encoder_frames(w))


def opus_round_trip(wav: np.ndarray) -> np.ndarray:
    from voxtwin.codec import transcode

    return transcode(wav, SAMPLE_RATE, codec="opus", bitrate_kbps=16)


def cached_features(rows: list[dict], root: Path, cache: Path, *, codec: str | None) -> dict[str, np.ndarray]:
    path = cache / f"features-{codec or 'clean'}.npz"
    if path.is_file():
        with np.load(path) as z:
            if len(z["owner"]) and int(z["owner"].max()) == len(rows) - 1:
                return {k: z[k] for k in z.files}
    fronts, out = FrontEnds(), {"distillmos": [], "whisper": [], "owner": []}
    started = time.time()
    for i, row in enumerate(rows):
        wav = load_standardized(root / row["path"])
        if codec:
            wav = standardize(opus_round_trip(wav), SAMPLE_RATE)
        if len(wav) < SAMPLE_RATE // 2:
            wav = np.tile(wav, int(np.ceil(SAMPLE_RATE / max(1, len(wav))))) if len(wav) else np.zeros(SAMPLE_RATE, np.float32)
        for w in windows(wav):
            out["distillmos"].append(fronts.distillmos(w))
            out["whisper"].append(fronts.whisper(w))
            out["owner"].append(i)
        if (i + 1) % 200 == 0:
            print(f"  features {i + 1}/{len(rows)} ({time.time() - started:.0f} s)", flush=True)
    arrays = {k: np.asarray(v) for k, v in out.items()}
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def out_of_fold_scores(x: np.ndarray, owner: np.ndarray, labels: np.ndarray, sources: np.ndarray, *, c: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scores = np.zeros(len(labels))
    window_source = sources[owner]
    for source in np.unique(sources):
        train = window_source != source
        scaler = StandardScaler().fit(x[train])
        model = LogisticRegression(C=c, max_iter=300, class_weight="balanced").fit(scaler.transform(x[train]), labels[owner[train]])
        test_windows = np.flatnonzero(~train)
        logits = -model.decision_function(scaler.transform(x[test_windows]))  # log-odds of bona fide (label 1 = spoof)
        files = owner[test_windows]
        sums = np.bincount(files, weights=logits, minlength=len(labels))
        counts = np.bincount(files, minlength=len(labels))
        held = np.flatnonzero(sources == source)
        scores[held] = sums[held] / np.maximum(counts[held], 1)
    return scores


def report(scores: np.ndarray, labels: np.ndarray, sources: np.ndarray) -> dict:
    real = scores[labels == 0]
    per_source = {}
    for source in np.unique(sources[labels == 1]):
        spoof = scores[(labels == 1) & (sources == source)]
        per_source[source] = round(100 * eer(real, spoof)[0], 1)
    values = list(per_source.values())
    return {
        "pooled_eer": round(100 * eer(real, scores[labels == 1])[0], 1),
        "mean_source_eer": round(float(np.mean(values)), 1),
        "worst_source": max(per_source, key=per_source.get),
        "worst_source_eer": max(values),
        "sources_over_35": sum(v > 35 for v in values),
        "per_source": per_source,
    }


def read_manifest(data: Path) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """(rows of data/manifest.csv, labels with 1 = spoof, sources); exits with a one-line error when it is missing."""
    manifest = data / "manifest.csv"
    if not manifest.is_file():
        raise SystemExit(f"error: {manifest} not found (--data DIR)")
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows, np.array([r["label"] == "spoof" for r in rows], dtype=int), np.array([r["source"] for r in rows])


def main() -> None:
    parser = study_parser(__doc__, channels=None, prior=False)
    parser.add_argument("--codec", choices=["opus"], default=None)
    args = parser.parse_args()
    rows, labels, sources = start(args)
    features = cached_features(rows, args.data, args.cache, codec=args.codec)
    if args.features_only:
        return
    owner = features["owner"]
    results = {}
    for name, x in {"distillmos": features["distillmos"], "whisper": features["whisper"], "fused": np.hstack([features["distillmos"], features["whisper"]])}.items():
        results[name] = report(out_of_fold_scores(x, owner, labels, sources, c=args.c), labels, sources)
        r = results[name]
        print(f"{name:10s} pooled {r['pooled_eer']:5.1f}  mean/source {r['mean_source_eer']:5.1f}  worst {r['worst_source']} {r['worst_source_eer']:.1f}  >35%: {r['sources_over_35']}", flush=True)
    save_results(args, results, files=len(rows), codec=args.codec)


if __name__ == "__main__":
    main()
