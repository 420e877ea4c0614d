"""Does fine-tuning DistillMOS's last convolution help on pages it never heard? Leave-one-source-out on ../shared/data.

`default` 2026.12-6 reads DistillMOS with its last convolution fine-tuned for detection (detect/last_block_tuning.py),
chosen on the recipe's calibration set. This study asks the issue's question of it: for every source held out, the
layer is tuned on the other sources only (those the head may fit on: real-bearing, as shipped), the head (one hidden
layer on the tuned frames' statistics beside the spectrum's, fusion_loso.py's `distillmos+spectral --head mlp`) is
fitted on the same sources, and the held-out files are scored, as recorded and through the 8 kHz telephone band.
The published layer, through the same cached path, is the baseline on the same folds.

As the shipped tuning (TuningSettings: pull 1, layer lr 3e-4, 16 class-balanced 4 s crops a step, a cosine schedule
over 400 steps) but: crops are the study's 4 s windows, half of them taken through the telephone band instead of
one of the recipe's five channel augmentations; and every fold stops at step 100, the step both shipped tunings
chose on their validation crops (no choice per fold).

    python recipes/detector_v2/tuned_block_loso.py --threads 2 --json runs/detector_v2/tuned-block-loso.json
The input of the last convolution is cached per window and channel (fp16, ~8.5 GB each, ~6 min each on 2 cores) in
runs/detector_v2/below-CHANNEL.*; each fold's held-out scores in runs/detector_v2/tuned-block-folds-SETTINGS/ (rerun to resume).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from detect.last_block_tuning import BelowLastBlock, CropDetector, TuningSettings, frame_standardisation, tuning_optimiser, tuning_step
from detect.models.distillmos_linear import FRAME_DIM, DistillMOSLinearConfig, build_encoder
from detect.models.tuned_last_block import LAST_BLOCK_INDEX, last_block
from detect.paired_sources import training_sources

from frontends_loso import windows  # noqa: I001  (this folder is on sys.path when the script runs)
from fusion_loso import all_front_ends
from layers_loso import cnn_input, out_of_fold, printed_results, study_wave
from study_options import save_results, start, study_parser

CHANNELS = ("clean", "telephone_8k")
FULL_FRAMES = 400  # a 4 s window's STFT frames: only full windows make training crops
STOP_STEP = 100


class BelowCache:
    """The last convolution's input for every study window of one channel: fp16 rows in one flat file, with each
    window's offset and frame count, in the order of the study's other caches (owner)."""

    def __init__(self, cache: Path, channel: str) -> None:
        self.data_path, self.index_path = cache / f"below-{channel}.f16", cache / f"below-{channel}.npz"

    def build(self, rows: list[dict], root: Path, channel: str, encoder: torch.nn.Module) -> None:
        below, gain = BelowLastBlock(encoder), DistillMOSLinearConfig().input_gain
        offsets, frames, owner, at, started = [], [], [], 0, time.time()
        with open(self.data_path, "wb") as out, torch.inference_mode():
            for i, row in enumerate(rows):
                for w in windows(study_wave(root, row, channel)):
                    h = below(cnn_input(w)[None] * gain)[0].numpy().astype(np.float16)
                    out.write(h.tobytes())
                    offsets.append(at), frames.append(h.shape[-1]), owner.append(i)
                    at += h.size
                if (i + 1) % 200 == 0:
                    print(f"  below {channel}: {i + 1}/{len(rows)} files ({time.time() - started:.0f} s)", flush=True)
        np.savez(self.index_path, offsets=np.asarray(offsets), frames=np.asarray(frames), owner=np.asarray(owner), shape=np.asarray(h.shape[:2]))

    def open(self) -> "BelowCache":
        with np.load(self.index_path) as z:
            self.offsets, self.frames, self.owner, self.shape = z["offsets"], z["frames"], z["owner"], tuple(z["shape"])
        self.data = np.memmap(self.data_path, dtype=np.float16, mode="r")
        return self

    def ready(self, n_files: int) -> bool:
        if not (self.index_path.is_file() and self.data_path.is_file()):
            return False
        with np.load(self.index_path) as z:
            return len(z["owner"]) > 0 and int(z["owner"].max()) == n_files - 1

    def window(self, k: int) -> torch.Tensor:
        size = self.shape[0] * self.shape[1] * int(self.frames[k])
        return torch.from_numpy(np.asarray(self.data[self.offsets[k] : self.offsets[k] + size], dtype=np.float32).reshape(*self.shape, -1))

    def batch(self, ks) -> torch.Tensor:
        return torch.stack([self.window(k) for k in ks])


@torch.no_grad()
def frame_stats(model: CropDetector, below: BelowCache, *, batch: int = 16) -> np.ndarray:
    """The tuned layer's frame mean and std (2,048 numbers, as the shipped heads read) of every window, in bfloat16
    as `default` scores on a host that has it."""
    out = np.zeros((len(below.owner), 2 * FRAME_DIM), np.float32)
    for frames in np.unique(below.frames):
        ks = np.flatnonzero(below.frames == frames)
        for part in np.array_split(ks, max(1, math.ceil(len(ks) / batch))):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out[part] = model.stats(below.batch(part)).float().numpy()
    return out


def tuned_layer(encoder: torch.nn.Module, below: dict[str, BelowCache], pools: dict[str, tuple[np.ndarray, np.ndarray]], settings: TuningSettings, *,
                seed: int) -> CropDetector:
    """The shipped tuning's loop on cached inputs: pools[channel] = (real, synthetic) full windows it may train on."""
    rng = np.random.default_rng(seed)
    block = copy.deepcopy(last_block(encoder)).requires_grad_(True)
    published = {n: p.detach().clone() for n, p in block.named_parameters()}
    activation = copy.deepcopy(encoder.cnn[LAST_BLOCK_INDEX + 1])
    activation.inplace = False
    pool = np.concatenate(pools["clean"])  # standardised by the published layer's statistics on training windows
    model = CropDetector(block, activation, *frame_standardisation(block, activation, below["clean"].batch(rng.choice(pool, min(128, len(pool)), replace=False))))
    optimiser, schedule = tuning_optimiser(model, settings)
    half = settings.batch_size // 2
    labels = torch.cat([torch.ones(half), torch.zeros(half)])
    for _ in range(STOP_STEP):
        channels = np.where(rng.random(2 * half) < settings.augment_prob, "telephone_8k", "clean")
        crops = torch.stack([below[ch].window(rng.choice(pools[ch][0 if i < half else 1])) for i, ch in enumerate(channels)])
        tuning_step(model, crops, labels, published, settings, optimiser, schedule)
    return model.eval()


def training_windows(below: BelowCache, labels: np.ndarray, sources: np.ndarray, train_sources: set[str], held_out: str) -> tuple[np.ndarray, np.ndarray]:
    """(real, synthetic) full windows of the sources a fold may train on."""
    file_source = sources[below.owner]
    usable = (below.frames == FULL_FRAMES) & np.isin(file_source, sorted(train_sources)) & (file_source != held_out)
    return np.flatnonzero(usable & (labels[below.owner] == 0)), np.flatnonzero(usable & (labels[below.owner] == 1))


def main() -> None:
    parser = study_parser(__doc__, channels=None)
    parser.add_argument("--augment-prob", type=float, default=TuningSettings().augment_prob,
                        help="share of tuning crops taken through the telephone band (the shipped tuning's share goes through its channel augmentations)")
    parser.add_argument("--skip-baseline", action="store_true", help="score only the tuned folds (the published layer's row is the same every run)")
    args = parser.parse_args()
    rows, labels, sources = start(args)
    encoder = build_encoder(pretrained=True).eval()
    below = {}
    for ch in CHANNELS:
        below[ch] = BelowCache(args.cache, ch)
        if not below[ch].ready(len(rows)):
            below[ch].build(rows, args.data, ch, encoder)
        below[ch].open()
    if args.features_only:
        return
    spectral = {ch: all_front_ends(rows, args.data, args.cache, ch, ["distillmos+spectral"]) for ch in CHANNELS}
    for ch in CHANNELS:
        if not np.array_equal(spectral[ch]["owner"], below[ch].owner):
            raise SystemExit(f"error: the {ch} caches describe different windows")
    train_sources = training_sources("real-bearing", labels == 1, sources)
    features = lambda stats: {ch: {"layer5": stats[ch], "spectral": spectral[ch]["spectral"], "owner": below[ch].owner} for ch in CHANNELS}  # noqa: E731
    fit = dict(labels=labels, sources=sources, c=args.c, train_sources=train_sources, head="mlp")
    columns = ("layer5", "spectral")

    results = {}
    if not args.skip_baseline:
        activation = copy.deepcopy(encoder.cnn[LAST_BLOCK_INDEX + 1])
        published = CropDetector(last_block(encoder), activation, torch.zeros(1), torch.ones(1))
        baseline = out_of_fold(features({ch: frame_stats(published, below[ch]) for ch in CHANNELS}), columns, **fit)
        results["published layer"] = printed_results("published layer", baseline, labels, sources, prior=args.prior)

    settings = dataclasses.replace(TuningSettings(), augment_prob=args.augment_prob)
    folds_dir = args.cache / f"tuned-block-folds-step{STOP_STEP}-phone{settings.augment_prob:g}"  # one folder per setting: a rerun resumes only its own
    folds_dir.mkdir(parents=True, exist_ok=True)
    tuned = {ch: np.zeros(len(labels)) for ch in CHANNELS}
    for i, source in enumerate(np.unique(sources)):
        path = folds_dir / f"{source}.json"
        if path.is_file():
            held = json.loads(path.read_text())
        else:
            started = time.time()
            model = tuned_layer(encoder, below, {ch: training_windows(below[ch], labels, sources, train_sources, source) for ch in CHANNELS}, settings, seed=i)
            scores = out_of_fold(features({ch: frame_stats(model, below[ch]) for ch in CHANNELS}), columns, folds=[source], **fit)
            held = {ch: scores[ch][sources == source].tolist() for ch in CHANNELS}
            path.write_text(json.dumps(held))
            print(f"  fold {source}: {time.time() - started:.0f} s", flush=True)
        for ch in CHANNELS:
            tuned[ch][sources == source] = held[ch]
    results["tuned per fold"] = printed_results("tuned per fold", tuned, labels, sources, prior=args.prior)
    save_results(args, results, files=len(rows), head="mlp", train_on="real-bearing", stop_step=STOP_STEP, augment_prob=settings.augment_prob,
                 channels=list(CHANNELS))


if __name__ == "__main__":
    main()
