"""Do fused front-ends catch unseen generators better? Leave-one-source-out of three front-ends, alone and fused.

The two shipped detectors read the same 4 s windows through very different front-ends: `default` the statistics
of DistillMOS's CNN frames (2,048 numbers; a naturalness model's view), `fast` the statistics of the log power
spectrum (771 numbers: per-bin mean, spread and frame-to-frame change; the signal's own fine texture). In the
shared-corpus study they fail on different pages (Tortoise's MP3s: 63 % vs 27 %), so fusing them may catch what
either misses, at ~10 % more scoring time than `default` alone; the issue also names the speaker encoders' frame
features. Compared on the same windows and folds:
  distillmos     `default`'s statistics (the last convolution, as shipped)
  spectral       `fast`'s statistics
  speaker        the statistics of the Resemblyzer speaker encoder's frames (its last LSTM layer; 512 numbers)
  dnsmos         DNSMOS P.835's last convolution, pooling, hidden layer and scores (speechmos wheel; 1,475 numbers)
  prosody        the F0 and energy contours' statistics (WORLD; 47 numbers)
  A+B            front-ends side by side into one logistic unit (feature fusion)
  score-mean     the mean of single-front-end models' out-of-fold log-odds (score fusion; no weight is tuned)

Protocol as layers_loso.py: one fold per `source` of ../shared/data (a page is never in both training and test);
each fold trains on the other sources in every channel given (as recorded and through the 8 kHz telephone band
by default), scores the held-out files in each channel (mean window log-odds), and verdicts come from Platt scaling
fitted on the other sources' out-of-fold scores, at the shipped thresholds.

    python recipes/detector_v2/fusion_loso.py --features-only --channels clean   # one channel's caches (those --models read)
    python recipes/detector_v2/fusion_loso.py --channels clean telephone_8k opus_16k --json runs/detector_v2/fusion.json
DistillMOS statistics are shared with layers_loso.py (runs/detector_v2/layers-CHANNEL.npz); the others are cached
in runs/detector_v2/NAME-CHANNEL.npz, each computed only when a chosen model reads it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from detect.models.spectral_linear import SpectralLinear, SpectralLinearConfig
from detect.preprocess import SAMPLE_RATE, load_standardized
from detect.source_weights import WEIGHTINGS
from voxtwin.features import WaveformSpec

from frontends_loso import windows  # noqa: I001  (this folder is on sys.path when the script runs)
from layers_loso import apply_channel, cached_features as cached_distillmos, channel_results, out_of_fold
from study_options import save_results, start, study_parser

MODELS = {
    "distillmos": ("layer5",),
    "spectral": ("spectral",),
    "speaker": ("speaker",),
    "distillmos+spectral": ("layer5", "spectral"),
    "distillmos+speaker": ("layer5", "speaker"),
    "all three": ("layer5", "spectral", "speaker"),
    "dnsmos": ("dnsmos",),
    "distillmos+dnsmos": ("layer5", "dnsmos"),
    "distillmos+spectral+dnsmos": ("layer5", "spectral", "dnsmos"),
    "prosody": ("prosody",),
    "distillmos+spectral+prosody": ("layer5", "spectral", "prosody"),
}
SCORE_MEANS = {"score-mean distillmos, spectral": ("distillmos", "spectral"), "score-mean of all three": ("distillmos", "spectral", "speaker")}


class SpectralStats:
    """`fast`'s statistics of a window: per-bin mean, spread and frame-to-frame change of the log power spectrum."""

    def __init__(self) -> None:
        self.model = SpectralLinear(SpectralLinearConfig(), WaveformSpec()).eval()

    def __call__(self, w: np.ndarray) -> np.ndarray:
        frames = self.model.frames(torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))[None])
        return self.model.window_stats(frames)[0].numpy()


class SpeakerStats:
    """Mean and spread over time of the Resemblyzer speaker encoder's last LSTM layer (256-d, 100 frames a
    second): the speaker encoders' frame features the issue names. Its weights ship in the resemblyzer wheel."""

    def __init__(self) -> None:
        from resemblyzer import VoiceEncoder

        self.encoder = VoiceEncoder("cpu", verbose=False).eval()

    def __call__(self, w: np.ndarray) -> np.ndarray:
        from resemblyzer.audio import wav_to_mel_spectrogram

        mel = torch.from_numpy(wav_to_mel_spectrogram(np.ascontiguousarray(w, dtype=np.float32)))[None]
        frames = self.encoder.lstm(mel)[0][0]  # (L, 256)
        return torch.cat([frames.mean(0), frames.std(0, unbiased=False)]).numpy()


class DnsmosStats:
    """DNSMOS P.835's frames (the speechmos wheel's sig_bak_ovr.onnx, a quality model trained on degraded speech, like
    DistillMOS but another network and data): per (channel, band) time means and per-channel spreads of its last
    convolution, its own max pooling, its last hidden layer and its three scores (1,475 numbers). The graph takes
    exactly 9.01 s; its framing is reopened to any length (frames of 320 samples, hop 160), so a 4 s window is
    read once, not padded. Shorter windows are tiled to 4 s."""

    OUTPUTS = ("mos_estimator_logpow/conv2d_6/Relu:0", "mos_estimator_logpow/global_max_pooling2d/Max:0", "mos_estimator_logpow/dense_1/Relu:0")

    def __init__(self) -> None:
        try:
            import onnx
            import onnxruntime
            import speechmos
        except ImportError:
            raise SystemExit("error: the dnsmos front-end needs: pip install speechmos onnx") from None
        from onnx import numpy_helper

        model = onnx.load(Path(speechmos.__file__).parent / "dnsmos_models" / "sig_bak_ovr.onnx")
        for tensor in model.graph.initializer:
            value = numpy_helper.to_array(tensor)
            if tensor.name == "input_1:01_cropping_end":  # [:, :144000] -> [:, :-160]
                tensor.CopyFrom(numpy_helper.from_array(np.array([value[0], -160], dtype=value.dtype), tensor.name))
            elif tensor.name in ("shape_tensor", "shape_tensor1"):  # (-1, 900, 160) -> (1, -1, 160)
                tensor.CopyFrom(numpy_helper.from_array(np.array([1, -1, 160], dtype=value.dtype), tensor.name))
        model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "samples"
        for name in self.OUTPUTS:
            model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        self.session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def __call__(self, w: np.ndarray) -> np.ndarray:
        n = 4 * SAMPLE_RATE
        if len(w) < n:
            w = np.tile(w, int(np.ceil(n / max(1, len(w)))))[:n]
        w = np.ascontiguousarray(w[: len(w) // 160 * 160], dtype=np.float32)[None]
        scores, frames, pooled, hidden = self.session.run(None, {"input_1": w})
        frames = frames[0]  # (64 channels, time, 20 bands)
        return np.concatenate([frames.mean(1).ravel(), frames.std(1).mean(1), pooled[0], hidden[0], scores[0]])


class ProsodyStats:
    """The pitch and loudness contours' statistics (WORLD DIO + StoneMask F0 and frame log-energy, 5 ms hop; 47
    numbers): how often and how long the voice is voiced, the spread and smoothness of log-F0 (frame-to-frame
    change, its second difference, the jitter-like residual after a 50 ms median) and of the energy. Synthetic
    pitch is said to be too smooth; unlike the spectrum, a contour survives codecs and the telephone band."""

    HOP = 80  # 5 ms at 16 kHz

    def __call__(self, w: np.ndarray) -> np.ndarray:
        import pyworld
        from scipy.ndimage import median_filter

        x = np.ascontiguousarray(w, dtype=np.float64)
        f0, times = pyworld.dio(x, SAMPLE_RATE, f0_floor=50.0, f0_ceil=600.0, frame_period=1000 * self.HOP / SAMPLE_RATE)
        f0 = pyworld.stonemask(x, f0, times, SAMPLE_RATE)
        frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, (0, 400)), 400)[:: self.HOP][: len(f0)]
        energy = np.log(np.mean(frames**2, axis=1) + 1e-8)
        voiced = f0 > 0
        # voiced runs: count per second and mean length
        edges = np.diff(np.concatenate([[0], voiced.astype(int), [0]]))
        runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        seconds = len(f0) * self.HOP / SAMPLE_RATE
        out = [voiced.mean(), len(runs) / seconds, runs.mean() * self.HOP / SAMPLE_RATE if len(runs) else 0.0]
        log_f0 = np.log(f0[voiced]) if voiced.sum() >= 8 else np.zeros(8)
        within = np.concatenate([np.diff(np.log(f0[a:b])) for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)) if b - a >= 3] or [np.zeros(2)])
        second = np.diff(within) if len(within) > 1 else np.zeros(1)
        residual = log_f0 - median_filter(log_f0, size=11, mode="nearest")
        out += _moments(log_f0 - log_f0.mean()) + _moments(within) + _moments(np.abs(within)) + _moments(second) + _moments(residual)
        out += list(np.histogram(np.abs(within), bins=[0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, np.inf])[0] / max(1, len(within)))
        d_energy = np.diff(energy)
        out += _moments(energy - energy.mean()) + _moments(d_energy) + [np.corrcoef(energy[voiced], np.log(f0[voiced]))[0, 1] if voiced.sum() > 8 else 0.0]
        return np.nan_to_num(np.asarray(out, dtype=np.float32))


def _moments(x: np.ndarray) -> list[float]:
    """Spread, 5 / 50 / 95th percentiles and excess kurtosis of a contour's values."""
    if len(x) < 2:
        return [0.0] * 5
    sd = x.std()
    kurtosis = float(np.mean((x - x.mean()) ** 4) / sd**4 - 3) if sd > 0 else 0.0
    return [sd, *np.percentile(x, [5, 50, 95]), kurtosis]


FRONT_ENDS = {"spectral": SpectralStats, "speaker": SpeakerStats, "dnsmos": DnsmosStats, "prosody": ProsodyStats}


@torch.inference_mode()
def cached_stats(name: str, rows: list[dict], root: Path, cache: Path, channel: str) -> dict[str, np.ndarray]:
    """A front-end's statistics of every file's windows (the same windows, in the same order, as layers_loso)."""
    path = cache / f"{name}-{channel}.npz"
    if path.is_file():
        with np.load(path) as z:
            if len(z["owner"]) and int(z["owner"].max()) == len(rows) - 1:
                return {k: z[k] for k in z.files}
    describe, out, owner, started = FRONT_ENDS[name](), [], [], time.time()
    for i, row in enumerate(rows):
        wav = apply_channel(load_standardized(root / row["path"]), channel)
        if len(wav) < SAMPLE_RATE // 2:  # as layers_loso pads short files
            wav = np.tile(wav, int(np.ceil(SAMPLE_RATE / max(1, len(wav))))) if len(wav) else np.zeros(SAMPLE_RATE, np.float32)
        for w in windows(wav):
            out.append(describe(w).astype(np.float16))
            owner.append(i)
        if (i + 1) % 400 == 0:
            print(f"  {name} {channel}: {i + 1}/{len(rows)} files ({time.time() - started:.0f} s)", flush=True)
    arrays = {name: np.asarray(out), "owner": np.asarray(owner)}
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def all_front_ends(rows: list[dict], root: Path, cache: Path, channel: str, models: list[str]) -> dict[str, np.ndarray]:
    """The statistics the chosen models read (DistillMOS's always: it defines the windows), cached per channel."""
    distillmos = cached_distillmos(rows, root, cache, channel)
    features = {"layer5": distillmos["layer5"], "owner": distillmos["owner"]}
    for name in sorted({part for model in models for part in MODELS[model]} & set(FRONT_ENDS)):
        stats = cached_stats(name, rows, root, cache, channel)
        if not np.array_equal(distillmos["owner"], stats["owner"]):
            raise SystemExit(f"error: the {channel} caches describe different windows; delete {cache}/*-{channel}.npz and rerun")
        features[name] = stats[name]
    return features


def main() -> None:
    parser = study_parser(__doc__, channels=["clean", "telephone_8k"])
    parser.add_argument("--weighting", choices=WEIGHTINGS, default="class", help="training windows weighted per class (the recipe) or per source within each class")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    args = parser.parse_args()
    rows, labels, sources = start(args)
    features = {ch: all_front_ends(rows, args.data, args.cache, ch, args.models) for ch in args.channels}
    if args.features_only:
        return
    scores = {name: out_of_fold(features, MODELS[name], labels, sources, c=args.c, weighting=args.weighting) for name in args.models}
    for name, parts in SCORE_MEANS.items():
        if all(part in scores for part in parts):
            scores[name] = {ch: sum(scores[part][ch] for part in parts) / len(parts) for ch in args.channels}
    results = {}
    for name, by_channel in scores.items():
        results[name] = channel_results(by_channel, labels, sources, prior=args.prior)
        line = "  ".join(f"{ch} {r['mean_source_eer']:5.1f} / {r['pooled_eer']:5.1f} ({r['sources_over_35']})" for ch, r in results[name].items())
        print(f"{name:32s} mean per source / pooled EER (sources > 35 %): {line}", flush=True)
    save_results(args, results, files=len(rows), weighting=args.weighting)


if __name__ == "__main__":
    main()
