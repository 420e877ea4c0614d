"""Does a head that looks at frames catch unseen generators better than window means? Leave-one-source-out.

The shipped detectors summarise a 4 s window of DistillMOS frames by their mean and standard deviation and score
that with one logistic unit. Heads compared here on the same frames, folds and channels:
  window-stats   the shipped head (mean + std, standardised, logistic regression, C = 0.01)
  delta-stats    adds the mean absolute frame-to-frame change and its std: how the frames move in time, where
                 vocoders and codecs smooth or jitter (still a linear head, so it would ship as today's does)
  attentive      attentive statistics pooling (Okabe et al., 2018): a small network weighs each frame before the
                 weighted mean and std feed a linear unit, trained end to end on the frames (Adam, weight decay)
  frame-logistic one logistic unit per frame, a window's score the mean of its frames' log-odds

Protocol as in layers_loso.py: one fold per `source` of ../shared/data (a page never in both training and test);
each fold trains on the other sources as recorded and through the 8 kHz telephone band together (and/or Opus 16
kbps with --channels), scores the held-out files per channel (mean window log-odds; 4 s windows, 2 s hop, at most
6 per file). Verdicts from Platt scaling fitted on the other sources' out-of-fold scores, at the shipped thresholds.

    python recipes/detector_v2/frame_heads_loso.py --features-only --channels clean   # frames cached, ~15 CPU min a channel
    python recipes/detector_v2/frame_heads_loso.py --channels clean telephone_8k --json runs/detector_v2/frame-heads.json
Frames (fp16, 1024-d, at most MAX_FRAMES per file) are cached in runs/detector_v2/frames-CHANNEL.npy + .index.npy.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from detect.models.distillmos_linear import SAMPLES_PER_FRAME, DistillMOSLinearConfig, build_encoder
from detect.preprocess import load_standardized

from layers_loso import apply_channel, channel_results  # noqa: I001  (this folder is on sys.path when the script runs)
from study_options import save_results, start, study_parser

WINDOW, HOP, MAX_WINDOWS = 200, 100, 6  # frames: 4 s windows, 2 s hop (50 frames a second)
MAX_FRAMES = 1400  # 28 s: room for six evenly spaced windows of any file in the corpus
HEADS = ("window-stats", "delta-stats", "attentive", "frame-logistic")


@torch.inference_mode()
def cache_frames(rows: list[dict], root: Path, cache: Path, channel: str) -> tuple[np.ndarray, np.ndarray]:
    """(frames (total, 1024) fp16 memory-mapped, index (files, 2) = start row and count of each file's frames)."""
    frames_path, index_path = cache / f"frames-{channel}.npy", cache / f"frames-{channel}.index.npy"
    if frames_path.is_file() and index_path.is_file():
        index = np.load(index_path)
        if len(index) == len(rows):
            return np.load(frames_path, mmap_mode="r"), index
    encoder, gain = build_encoder(pretrained=True).eval(), DistillMOSLinearConfig().input_gain
    parts, index, start, started = [], np.zeros((len(rows), 2), dtype=np.int64), 0, time.time()
    for i, row in enumerate(rows):
        wav = apply_channel(load_standardized(root / row["path"]), channel)[: MAX_FRAMES * SAMPLES_PER_FRAME]
        n = max(SAMPLES_PER_FRAME, len(wav) // SAMPLES_PER_FRAME * SAMPLES_PER_FRAME)
        wav = np.resize(wav, n) if len(wav) else np.zeros(n, np.float32)
        h = encoder(torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))[None] * gain)[0, :, : n // SAMPLES_PER_FRAME]
        parts.append(h.T.numpy().astype(np.float16))
        index[i] = (start, len(parts[-1]))
        start += len(parts[-1])
        if (i + 1) % 200 == 0:
            print(f"  {channel}: {i + 1}/{len(rows)} files ({time.time() - started:.0f} s)", flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(frames_path, np.concatenate(parts))
    np.save(index_path, index)
    return np.load(frames_path, mmap_mode="r"), index


def window_spans(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts (W,) frame rows, owner (W,) file) of every file's windows, as frontends_loso.windows picks them;
    a file shorter than a window gives one window that repeats its frames (see window_frames)."""
    starts, owner = [], []
    for i, (first, count) in enumerate(index):
        if count <= WINDOW:
            starts.append(first), owner.append(i)
            continue
        options = list(range(0, count - WINDOW + 1, HOP))
        for k in sorted(set(np.linspace(0, len(options) - 1, min(len(options), MAX_WINDOWS)).round().astype(int))):
            starts.append(first + options[k]), owner.append(i)
    return np.asarray(starts), np.asarray(owner)


def window_frames(frames: np.ndarray, index: np.ndarray, starts: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """(W, WINDOW, 1024) fp16: each window's frames; a short file's frames are repeated to fill a window (as
    `voxtwin detect score` repeat-pads a short file)."""
    out = np.empty((len(starts), WINDOW, frames.shape[1]), dtype=np.float16)
    for w, (s, i) in enumerate(zip(starts, owner)):
        first, count = index[i]
        take = np.asarray(frames[s : s + min(WINDOW, count)])
        out[w] = np.resize(take, (WINDOW, take.shape[1])) if len(take) < WINDOW else take
    return out


def stats_features(windows: np.ndarray, *, delta: bool) -> np.ndarray:
    """Per-window mean and std of the frames, plus (delta) the mean and std of |frame t+1 - frame t|."""
    out = []
    for chunk in np.array_split(np.arange(len(windows)), max(1, len(windows) // 512)):
        x = windows[chunk].astype(np.float32)
        parts = [x.mean(1), x.std(1)]
        if delta:
            d = np.abs(np.diff(x, axis=1))
            parts += [d.mean(1), d.std(1)]
        out.append(np.concatenate(parts, 1))
    return np.concatenate(out)


class AttentiveHead(nn.Module):
    """Standardise frames -> attention weights from a small bottleneck -> weighted mean and std -> one logit
    (log-odds of bona fide)."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, *, bottleneck: int = 64) -> None:
        super().__init__()
        dim = len(mean)
        self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
        self.register_buffer("scale", torch.from_numpy(scale.astype(np.float32)))
        self.attention = nn.Sequential(nn.Linear(dim, bottleneck), nn.Tanh(), nn.Linear(bottleneck, 1))
        self.dropout = nn.Dropout(0.3)
        self.out = nn.Linear(2 * dim, 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = (frames.float() - self.mean) / self.scale
        alpha = torch.softmax(self.attention(x), dim=1)  # (B, L, 1)
        mu = (alpha * x).sum(1)
        sigma = ((alpha * x * x).sum(1) - mu * mu).clamp_min(1e-5).sqrt()
        return self.out(self.dropout(torch.cat([mu, sigma], 1))).squeeze(-1)


class FrameLogistic(nn.Module):
    def __init__(self, mean: np.ndarray, scale: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
        self.register_buffer("scale", torch.from_numpy(scale.astype(np.float32)))
        self.out = nn.Linear(len(mean), 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.out((frames.float() - self.mean) / self.scale).squeeze(-1).mean(1)


def fit_network(model: nn.Module, windows: np.ndarray, is_bonafide: np.ndarray, *, epochs: int, seed: int, weight_decay: float, stride: int) -> nn.Module:
    """Adam on class-balanced binary cross-entropy, mini-batches of windows, fixed seed; training sees every
    `stride`-th frame of a window (pooling is a weighted average, so scoring can use every frame)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=weight_decay)
    y = torch.from_numpy(is_bonafide.astype(np.float32))
    positive = float(y.mean())
    weight = torch.where(y > 0, 0.5 / max(positive, 1e-3), 0.5 / max(1 - positive, 1e-3))
    model.train()
    for _ in range(epochs):
        for batch in np.array_split(rng.permutation(len(windows)), max(1, len(windows) // 64)):
            logits = model(torch.from_numpy(windows[batch, ::stride]))
            loss = nn.functional.binary_cross_entropy_with_logits(logits, y[batch], weight=weight[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return model.eval()


@torch.inference_mode()
def network_scores(model: nn.Module, windows: np.ndarray) -> np.ndarray:
    return np.concatenate([model(torch.from_numpy(windows[b])).numpy() for b in np.array_split(np.arange(len(windows)), max(1, len(windows) // 256))])


def frame_moments(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sample = windows[:: max(1, len(windows) // 2000)].astype(np.float32).reshape(-1, windows.shape[-1])
    return sample.mean(0), sample.std(0) + 1e-3


def out_of_fold(head: str, data: dict, labels: np.ndarray, sources: np.ndarray, *, c: float, epochs: int, seed: int, stride: int) -> dict[str, np.ndarray]:
    """{channel: per-file bona fide log-odds}, each file scored by the fold that held its source out."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scores = {ch: np.zeros(len(labels)) for ch in data}
    started = time.time()
    for number, source in enumerate(np.unique(sources)):
        train = {ch: sources[d["owner"]] != source for ch, d in data.items()}
        fit_y = np.concatenate([1 - labels[d["owner"][train[ch]]] for ch, d in data.items()])  # 1 = bona fide
        if head in ("window-stats", "delta-stats"):
            key = "stats" if head == "window-stats" else "delta"
            fit_x = np.vstack([d[key][train[ch]] for ch, d in data.items()])
            scaler = StandardScaler().fit(fit_x)
            clf = LogisticRegression(C=c, max_iter=300, class_weight="balanced").fit(scaler.transform(fit_x), fit_y)
            window_score = {ch: clf.decision_function(scaler.transform(d[key][~train[ch]])) for ch, d in data.items()}
        else:
            fit_w = np.concatenate([d["windows"][train[ch]] for ch, d in data.items()])
            mean, scale = frame_moments(fit_w)
            model = AttentiveHead(mean, scale) if head == "attentive" else FrameLogistic(mean, scale)
            fit_network(model, fit_w, fit_y, epochs=epochs, seed=seed, weight_decay=1e-2, stride=stride)
            del fit_w
            window_score = {ch: network_scores(model, d["windows"][~train[ch]]) for ch, d in data.items()}
        held = np.flatnonzero(sources == source)
        for ch, d in data.items():
            files = d["owner"][~train[ch]]
            sums = np.bincount(files, weights=window_score[ch], minlength=len(labels))
            scores[ch][held] = sums[held] / np.maximum(np.bincount(files, minlength=len(labels))[held], 1)
        print(f"    {head}: fold {number + 1}/{len(np.unique(sources))} ({source}, {time.time() - started:.0f} s)", flush=True)
    return scores


def main() -> None:
    parser = study_parser(__doc__, channels=["clean", "telephone_8k"], prior=False)
    parser.add_argument("--heads", nargs="+", default=list(HEADS), choices=HEADS)
    parser.add_argument("--epochs", type=int, default=4, help="epochs of the trained heads (attentive, frame-logistic)")
    parser.add_argument("--stride", type=int, default=2, help="the trained heads see every STRIDE-th frame in training")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows, labels, sources = start(args)
    cached = {ch: cache_frames(rows, args.data, args.cache, ch) for ch in args.channels}
    if args.features_only:
        return
    data = {}
    for ch, (frames, index) in cached.items():
        starts, owner = window_spans(index)
        windows = window_frames(frames, index, starts, owner)
        delta = stats_features(windows, delta=True)  # [mean, std, mean |change|, std |change|]: window-stats is its first half
        data[ch] = {"owner": owner, "windows": windows, "stats": delta[:, : 2 * windows.shape[-1]], "delta": delta}
    results = {}
    for head in args.heads:
        started = time.time()
        scores = out_of_fold(head, data, labels, sources, c=args.c, epochs=args.epochs, seed=args.seed, stride=args.stride)
        results[head] = channel_results(scores, labels, sources, prior=0.5)
        line = "  ".join(f"{ch} {r['mean_source_eer']:5.1f} ({r['sources_over_35']}; pooled {r['pooled_eer']:.1f})" for ch, r in results[head].items())
        print(f"{head:15s} mean/source EER (sources > 35 %): {line}  [{time.time() - started:.0f} s]", flush=True)
        save_results(args, results, files=len(rows), epochs=args.epochs)


if __name__ == "__main__":
    main()
