"""Which DistillMOS layers catch unseen generators, in which channel? Leave-one-source-out on ../shared/data.

The shipped `default` detector reads only the last of the six convolutions of DistillMOS's CNN. Earlier layers
see finer time-frequency detail (where vocoders leave their traces) and cost less: convolutions 0-3 are two thirds
of the CNN's multiply-adds and 0-2 one third (counted with forward hooks, 2026-12-03; this said "a third" for 0-3
until then), so a detector that stops after conv 2 would score up to ~3x faster. For every file, in four
channels (as recorded, Opus 16 kbps, MP3 64 kbps, the 8 kHz telephone band), 4 s windows (2 s hop, at most 6 per
file) are described per layer by the mean and standard deviation over time of each channel in four frequency bands
(the last layer: its own 4 rows, i.e. exactly the shipped detector's statistics).

Protocol, as the shipped recipe trains: every fold holds out one `source` (a demo page or a real corpus); the head
(standardisation + logistic regression, class-balanced) is fitted on the windows of every other source in all
four channels (the as-recorded audio plus its three channel copies), and the held-out files are scored in each
channel separately (mean window log-odds). Reported per layer set and channel: the EER of each held-out spoof
source against all real files, their mean and worst, and the pooled EER.

    python recipes/detector_v2/layers_loso.py [--data ../shared/data] [--json runs/detector_v2/layers-loso.json]
Features are cached per channel in runs/detector_v2/layers-CHANNEL.npz (~15 CPU minutes each on one core).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from detect.one_class_head import RealSpeechGaussian
from detect.models.distillmos_linear import SAMPLES_PER_FRAME, DistillMOSLinearConfig, build_encoder
from detect.preprocess import SAMPLE_RATE, load_standardized, standardize
from detect.paired_sources import paired_emphasis_weights
from detect.source_weights import source_balanced_weights
from detect.stable_statistics import stable_columns
from detect.window_mlp_head import MLPHeadSettings, WindowMLPHead
from voxtwin.codec import CHANNELS, through_channel

from frontends_loso import report, windows  # noqa: I001  (this folder is on sys.path when the script runs: the same windows and report)
from recording_nuisance import ProjectedScaler, corpus_directions, project_out

from study_options import save_results, start, study_parser

HEADS = ("logistic", "mlp", "boosted")  # out_of_fold's heads: the recipe's, one hidden layer (detect/window_mlp_head.py),
# and gradient-boosted trees (scikit-learn's histogram boosting; BOOSTED_SETTINGS)
BOOSTED_SETTINGS = {"max_iter": 200, "learning_rate": 0.05, "max_leaf_nodes": 15, "l2_regularization": 1.0, "class_weight": "balanced",
                    "early_stopping": False, "random_state": 0}
LAYERS = (1, 2, 3, 4, 5)  # outputs of the CNN's convolutions 0-5 (0 is a 2->64 projection of the spectrum, skipped)
BANDS = 4
LAYER_SETS = {
    "last (shipped)": (5,),
    "conv 1-3 (2/3 of the cost)": (1, 2, 3),
    "conv 1-4": (1, 2, 3, 4),
    "all": (1, 2, 3, 4, 5),
}


def apply_channel(wav: np.ndarray, name: str) -> np.ndarray:
    """A standardised 16 kHz file through a channel, standardised again as detectors would see it."""
    return wav if name == "clean" else standardize(through_channel(wav, SAMPLE_RATE, name), SAMPLE_RATE)


def study_wave(root: Path, row: dict, channel: str) -> np.ndarray:
    """A manifest row's file as every study here reads it: standardised, through `channel`, and files shorter than
    half a second repeated to a second (empty ones: a second of silence)."""
    wav = apply_channel(load_standardized(root / row["path"]), channel)
    if len(wav) < SAMPLE_RATE // 2:
        wav = np.tile(wav, int(np.ceil(SAMPLE_RATE / max(1, len(wav))))) if len(wav) else np.zeros(SAMPLE_RATE, np.float32)
    return wav


def read_cache(path: Path, n_files: int) -> dict[str, np.ndarray] | None:
    """A study's cached arrays when `path` holds windows of all `n_files` files, else None (to be computed)."""
    if path.is_file():
        with np.load(path) as z:
            if len(z["owner"]) and int(z["owner"].max()) == n_files - 1:
                return {k: z[k] for k in z.files}
    return None


def cnn_input(w: np.ndarray) -> torch.Tensor:
    """A window cut (or, under one frame, repeated) to whole 20 ms CNN frames, as every study here feeds DistillMOS."""
    return torch.from_numpy(np.resize(w, max(SAMPLES_PER_FRAME, len(w) // SAMPLES_PER_FRAME * SAMPLES_PER_FRAME)))


class LayerStats:
    """One pass of DistillMOS's CNN; per layer, mean and std over time of (channel x frequency band)."""

    def __init__(self) -> None:
        self.encoder = build_encoder(pretrained=True).eval()
        self.gain = DistillMOSLinearConfig().input_gain
        self.outputs: dict[int, torch.Tensor] = {}
        # the activation after each of the 6 convolutions: layer k's output is self.outputs[k]
        activations = [self.encoder.cnn[i + 1] for i, m in enumerate(self.encoder.cnn) if isinstance(m, torch.nn.Conv2d)]
        assert len(activations) == 6
        for index, act in enumerate(activations):
            act.register_forward_hook(lambda module, args, out, index=index: self.outputs.__setitem__(index, out))

    @torch.inference_mode()
    def __call__(self, w: np.ndarray) -> dict[int, np.ndarray]:
        self.encoder(cnn_input(w)[None] * self.gain)
        out = {}
        for layer in LAYERS:
            h = self.outputs[layer][0]  # (C, F, T)
            bands = torch.stack([b.mean(1) for b in torch.tensor_split(h, BANDS, dim=1)], 1)  # (C, BANDS, T)
            flat = bands.reshape(-1, bands.shape[-1])
            out[layer] = torch.cat([flat.mean(1), flat.std(1, unbiased=False)]).numpy().astype(np.float16)
        return out


def cached_features(rows: list[dict], root: Path, cache: Path, channel: str) -> dict[str, np.ndarray]:
    path = cache / f"layers-{channel}.npz"
    if (cached := read_cache(path, len(rows))) is not None:
        return cached
    stats, out, owner = LayerStats(), {layer: [] for layer in LAYERS}, []
    started = time.time()
    for i, row in enumerate(rows):
        for w in windows(study_wave(root, row, channel)):
            for layer, v in stats(w).items():
                out[layer].append(v)
            owner.append(i)
        if (i + 1) % 200 == 0:
            print(f"  {channel}: {i + 1}/{len(rows)} files ({time.time() - started:.0f} s)", flush=True)
    arrays = {f"layer{layer}": np.asarray(v) for layer, v in out.items()} | {"owner": np.asarray(owner)}
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def out_of_fold(features: dict[str, dict], columns: tuple[str, ...], labels: np.ndarray, sources: np.ndarray, *, c: float, weighting: str = "class",
                copies: tuple[dict[str, dict], ...] = (), one_class_dims: int = 0, train_sources: set[str] | None = None,
                paired_weight: float = 1.0, head: str = "logistic", folds: list[str] | None = None, mlp: MLPHeadSettings = MLPHeadSettings(),
                group_dro_channels: bool = False, stable_features: float = 0.0, adversary_real_only: bool = False,
                scored_only: dict[str, dict] | None = None, nuisance_dims: int = 0) -> dict[str, np.ndarray]:
    """{channel: per-file bona fide log-odds}, each file scored by the fold that held its source out; the windows
    are described by the named arrays of each channel's features side by side (e.g. "layer5"). `weighting`:
    "class" (the two classes weigh the same) or "source" (detect/source_weights.py). `copies`: extra spoof windows
    made from the files (vocoded_copies_loso.py; each {channel: {name: array, "owner": original file}}), trained on
    in every fold that does not hold their original's source out (owner -1: made from none of the files, e.g. text-to-speech,
    trained on in every fold). `one_class_dims` > 0: instead of the logistic
    regression, a one-class head fitted on the training sources' real windows only (detect/one_class_head.py),
    after the same standardisation (which, as for the logistic head, uses every training window). `train_sources`:
    fit only on windows of these sources (every file is still scored by the fold that held its source out).
    `paired_weight` != 1 (class weighting only): windows of the fold's sources that hold both classes weigh that many
    times the others of their class (detect/paired_sources.py paired_emphasis_weights). `head`: "logistic" (the
    recipe's), "mlp" (detect/window_mlp_head.py with the settings `mlp`: by default one hidden layer of 64 units per seed,
    class-balanced, the same standardisation; their group DRO, sharpness-aware, source-adversary or page-mixing options change how it
    is trained, the windows' groups being (source, class), with `group_dro_channels` the channel too, with
    `adversary_real_only` one group for every spoof window) or "boosted"
    (gradient-boosted trees, BOOSTED_SETTINGS).
    `folds`: hold out only these sources (the other files' scores stay 0), for studies whose features differ per fold.
    `scored_only`: more channels' features ({channel: features}, as `features`) that every fold scores but never fits on,
    e.g. to ask what a head trained without a channel makes of it; their scores are returned beside the others.
    `nuisance_dims` > 0: the k directions along which the fold's real training sources differ (recording_nuisance.py)
    are projected out of every window after standardisation."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if copies and weighting != "class":
        raise ValueError("copies are only studied with class weighting")
    if paired_weight != 1.0 and (weighting != "class" or copies or one_class_dims):
        raise ValueError("paired_weight is only studied with class weighting, without copies or a one-class head")
    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, got {head!r}")
    if head in ("mlp", "boosted") and (weighting != "class" or one_class_dims or paired_weight != 1.0 or copies and (head == "boosted" or mlp.group_dro_eta or mlp.source_adversary)):
        raise ValueError(f"the {'MLP' if head == 'mlp' else head} head is only studied with class weighting, without a one-class head or paired weights"
                         " (and copies only with the MLP head, without group DRO or the source adversary)")
    if adversary_real_only and not mlp.source_adversary:
        raise ValueError("adversary_real_only shapes the source adversary's groups: it needs source_adversary > 0")
    stack = lambda f: np.hstack([f[name].astype(np.float32) for name in columns])  # noqa: E731
    scored_only = scored_only or {}
    if overlap := set(scored_only) & set(features):
        raise ValueError(f"a channel is either fitted on or scored only, not both: {', '.join(sorted(overlap))}")
    x = {ch: stack(f) for ch, f in {**features, **scored_only}.items()}
    owner = {ch: f["owner"] for ch, f in {**features, **scored_only}.items()}
    copy_x = [{ch: stack(copy[ch]) for ch in features} for copy in copies]
    scores = {ch: np.zeros(len(labels)) for ch in x}
    fittable = {ch: np.isin(sources[owner[ch]], sorted(train_sources)) if train_sources is not None else True for ch in features}  # the same every fold
    kept = []
    for source in np.unique(sources) if folds is None else folds:
        train = {ch: sources[owner[ch]] != source for ch in features}
        fit = {ch: train[ch] & fittable[ch] for ch in features}
        parts_x = [x[ch][fit[ch]] for ch in features]
        parts_y = [labels[owner[ch][fit[ch]]] for ch in features]
        parts_source = [sources[owner[ch][fit[ch]]] for ch in features]
        parts_channel = [np.full(int(np.sum(fit[ch])), ch) for ch in features]
        for copy, cx in zip(copies, copy_x):
            for ch in features:
                keep = (copy[ch]["owner"] < 0) | (sources[copy[ch]["owner"]] != source)  # owner -1: made from no file here, trains every fold
                parts_x.append(cx[ch][keep])
                parts_y.append(np.ones(int(keep.sum()), dtype=labels.dtype))
                parts_source.append(np.where(copy[ch]["owner"] < 0, "generated", sources[copy[ch]["owner"]])[keep])
                parts_channel.append(np.full(int(keep.sum()), ch))
        fit_x, fit_y, fit_sources = np.vstack(parts_x), np.concatenate(parts_y), np.concatenate(parts_source)
        scaler = StandardScaler().fit(fit_x)
        fit_z = scaler.transform(fit_x)  # what every head fits on, standardised once
        if stable_features:  # the head reads only the statistics whose direction agrees across the fold's paired pages
            scaler = _ColumnsOf(scaler, stable_columns(fit_z, fit_y == 1, fit_sources, stable_features))
            fit_z = fit_z[:, scaler.keep]
            kept.append(int(scaler.keep.sum()))
        if nuisance_dims:  # the corpus directions of the fold's real windows projected out (copies are spoof: never read)
            scaler = ProjectedScaler(scaler, corpus_directions(fit_z, fit_y == 0, fit_sources, np.concatenate(parts_channel), nuisance_dims))
            fit_z = project_out(fit_z, scaler.u)
        if one_class_dims:
            model = RealSpeechGaussian(one_class_dims).fit(fit_z[fit_y == 0])
        elif head == "mlp":
            groups = None
            if mlp.page_intercepts:  # a window's page: its source, whatever its class
                groups = fit_sources.astype(str)
            elif mlp.group_dro_eta > 0 or mlp.source_adversary > 0 or mlp.mix_pages > 0 or mlp.page_bagging > 0:  # a window's group: its source and class (a copy: its original's source, or "generated"), with group_dro_channels its channel
                groups = np.char.add(fit_sources.astype(str), fit_y.astype(str))
                if adversary_real_only:  # the adversary names real windows' sources (recording chains) only: one group for every spoof window
                    groups = np.where(fit_y == 1, "spoof", groups)
                if group_dro_channels:
                    groups = np.char.add(groups, np.concatenate([np.full(int(fit[ch].sum()), f"/{ch}") for ch in features]))
            model = WindowMLPHead(mlp).fit(fit_z, fit_y, groups)
        elif head == "boosted":
            from sklearn.ensemble import HistGradientBoostingClassifier

            model = HistGradientBoostingClassifier(**BOOSTED_SETTINGS).fit(fit_z, fit_y)
        elif weighting == "source" or paired_weight != 1.0:
            weights = source_balanced_weights(fit_sources, fit_y) if weighting == "source" else paired_emphasis_weights(fit_sources, fit_y, paired_weight)
            model = LogisticRegression(C=c, max_iter=300).fit(fit_z, fit_y, sample_weight=weights)
        else:
            model = LogisticRegression(C=c, max_iter=300, class_weight="balanced").fit(fit_z, fit_y)
        held = np.flatnonzero(sources == source)
        for ch in x:
            test = np.flatnonzero(sources[owner[ch]] == source)
            scores[ch][held] = file_means(-model.decision_function(scaler.transform(x[ch][test])), owner[ch][test], len(labels))[held]
    if kept:
        print(f"  statistics kept per fold (of {next(iter(x.values())).shape[1]}): {min(kept)}-{max(kept)}, median {int(np.median(kept))}", flush=True)
    return scores


class _ColumnsOf:
    """A fitted scaler whose output keeps only some columns (`keep`, a boolean mask)."""

    def __init__(self, scaler, keep: np.ndarray) -> None:
        self.scaler, self.keep = scaler, keep

    def transform(self, x: np.ndarray) -> np.ndarray:
        return self.scaler.transform(x)[:, self.keep]


def file_means(window_scores: np.ndarray, files: np.ndarray, n_files: int) -> np.ndarray:
    """Each file's mean window score (0 for files without windows here): how every study turns windows into a file's."""
    sums = np.bincount(files, weights=window_scores, minlength=n_files)
    return sums / np.maximum(np.bincount(files, minlength=n_files), 1)


def cross_fitted_p_synthetic(scores: dict[str, np.ndarray], sources: np.ndarray, labels: np.ndarray, *, prior: float,
                             calibrated_on: list[str] | None = None) -> dict[str, np.ndarray]:
    """p_synthetic of every file in every channel from Platt scaling fitted on the out-of-fold scores of the other
    sources only (the channels `calibrated_on` pooled, all by default), so no file's calibration has seen its source.
    `prior` is the share of synthetic speech the probabilities assume (0.5: the balanced fit; lower: an inbox where
    most speech is real)."""
    from detect.calibration import fit_platt

    out = {ch: np.zeros(len(labels)) for ch in scores}
    shift = float(np.log(prior / (1 - prior)))
    pooled = list(scores) if calibrated_on is None else calibrated_on
    for source in np.unique(sources):
        other = sources != source
        calibration = fit_platt(np.concatenate([scores[ch][other] for ch in pooled]), np.concatenate([labels[other]] * len(pooled)))
        for ch in scores:
            z = calibration.slope * -scores[ch][sources == source] + calibration.intercept + shift
            out[ch][sources == source] = 1 / (1 + np.exp(-z))
    return out


def verdict_shares(p: np.ndarray, labels: np.ndarray) -> dict:
    """Share (%) of real and of synthetic files per verdict at the shipped thresholds, and the median real p."""
    from detect.detector import REAL_THRESHOLD, SYNTHETIC_THRESHOLD

    verdict = np.where(p >= SYNTHETIC_THRESHOLD, "synthetic", np.where(p <= REAL_THRESHOLD, "real", "uncertain"))
    shares = {}
    for name, is_spoof in (("real_files", 0), ("synthetic_files", 1)):
        v = verdict[labels == is_spoof]
        shares[name] = {k: round(100 * float(np.mean(v == k)), 1) for k in ("real", "uncertain", "synthetic")}
    shares["median_real_p_synthetic"] = round(float(np.median(p[labels == 0])), 3)
    return shares


def channel_results(scores: dict[str, np.ndarray], labels: np.ndarray, sources: np.ndarray, *, prior: float,
                    calibrated_on: list[str] | None = None, per_channel_maps: bool = False) -> dict[str, dict]:
    """{channel: report (EERs per source, pooled) + verdict shares} of out-of-fold file scores per channel; the verdicts'
    calibration pools the channels `calibrated_on` (all by default). per_channel_maps: also `verdicts_per_channel_map`,
    each channel's files under a map fitted on that channel's scores alone (as a detector with a map per channel)."""
    results = {ch: report(s, labels, sources) for ch, s in scores.items()}
    p = cross_fitted_p_synthetic(scores, sources, labels, prior=prior, calibrated_on=calibrated_on)
    for ch in scores:
        results[ch]["verdicts"] = verdict_shares(p[ch], labels)
        if per_channel_maps:
            own = cross_fitted_p_synthetic({ch: scores[ch]}, sources, labels, prior=prior)[ch]
            results[ch]["verdicts_per_channel_map"] = verdict_shares(own, labels)
    return results


def printed_results(name: str, scores: dict[str, np.ndarray], labels: np.ndarray, sources: np.ndarray, *, prior: float,
                    calibrated_on: list[str] | None = None, per_channel_maps: bool = False) -> dict[str, dict]:
    """channel_results of one model, with its one-line summary printed (mean per-source / pooled EER per channel)."""
    results = channel_results(scores, labels, sources, prior=prior, calibrated_on=calibrated_on, per_channel_maps=per_channel_maps)
    line = "  ".join(f"{ch} {r['mean_source_eer']:5.1f} / {r['pooled_eer']:5.1f} ({r['sources_over_35']})" for ch, r in results.items())
    print(f"{name:32s} mean per source / pooled EER (sources > 35 %): {line}", flush=True)
    for key in ["verdicts", "verdicts_per_channel_map"] if per_channel_maps else ["verdicts"]:
        line = "  ".join(f"{ch} {r[key]['real_files']['synthetic']:4.1f} / {r[key]['synthetic_files']['real']:4.1f} / {r[key]['real_files']['real']:4.1f}"
                         for ch, r in results.items())
        print(f"{'':32s} {key}: real `synthetic` / fakes `real` / real `real` %: {line}", flush=True)
    return results


def main() -> None:
    args = study_parser(__doc__, channels=list(CHANNELS)).parse_args()
    rows, labels, sources = start(args)
    features = {ch: cached_features(rows, args.data, args.cache, ch) for ch in args.channels}
    if args.features_only:
        return
    results = {}
    for name, layers in LAYER_SETS.items():
        results[name] = channel_results(out_of_fold(features, tuple(f"layer{k}" for k in layers), labels, sources, c=args.c), labels, sources, prior=args.prior)
        line = "  ".join(f"{ch} {r['mean_source_eer']:5.1f} ({r['sources_over_35']})" for ch, r in results[name].items())
        print(f"{name:28s} mean/source EER (sources > 35 %): {line}", flush=True)
    save_results(args, results, files=len(rows))


if __name__ == "__main__":
    main()
