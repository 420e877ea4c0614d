"""Train, calibrate and evaluate the default detector, then write detect/weights/default.{safetensors,json}.

    python recipes/default_detector/run.py [--set train.epochs=10] [--no-install]
    python recipes/default_detector/run.py --set train.model=spectral-linear --set 'head.train_sources="all"' --install-as fast  # the shipped `fast` detector

1. Trials: ../shared/data plus the project's own synthetic speech (made first by make_data.py when missing).
2. Held out of training: the spoof sources in `calibration_sources` and `report_sources`, each with a disjoint
   pool of real speakers. The rest trains the model (early stopping on a speaker-disjoint validation split).
3. Platt calibration is fitted on the calibration set; EER, expected calibration error, per-source EER and
   robustness (Opus 16 kbps, MP3 64 kbps, 8 kHz telephone band) are measured on the report set.
4. Results go to runs/default_detector/report_MODEL.json (the numbers in detect/MODEL_CARD.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from detect import metrics
from detect.calibration import Calibration, expected_calibration_error, fit_platt
from detect.checkpoints import detector_tensors, load_detector, save_detector
from detect.data import INT16_SCALE, WaveformCache, load_trials
from detect.datasets import read_dataset
from detect.detector import SHIPPED
from detect.models.student_cnn_int8 import encoder_precision
from detect.recipes import load_recipe, train_config
from detect.splits import stable_fraction, validation_split
from detect.train import default_cache_dir, score_waves, train
from voxtwin.codec import CHANNELS, through_channel

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE.parents[1] / "detect" / "weights"
FLOAT32_LIMIT_BYTES = 3 * 1024 * 1024  # the repository's limit for a file; larger heads ship their matrices in float16 (<= 10 MiB)
VERSION = "2026.12-8"  # of the detector this run installs; default: distillmos-student-fine-vote@2026.12-8 (2026.12-7's command with train.model=distillmos-student-fine-vote and head.mlp_seeds 18-26: a second head on the spectrum's fine structure votes beside the first, nine seeds each; matrices in float16); default: distillmos-student-spectral-mlp@2026.12-7 (2026.12-6's command on the wide StudentCNN distilled from 2026.12-6's tuned CNN, distill_frontend.py --teacher tuned --widths 32 32 64 128 128 256: ~3x the throughput on CPUs without native bfloat16); default: distillmos-tuned-spectral-mlp@2026.12-6 (2026.12-5's command on DistillMOS with its last convolution fine-tuned by tune_last_block.py --pull 1 --block-lr 3e-4); fast: spectral-linear@2026.12-5 (2026.12-2's recipe on regenerated speech: vox-vc 2026.12-5's clones, each copy named by its original); default: distillmos-spectral-mlp@2026.12-5 (2026.12-4's command plus head.keep_generated=["voxtwin_clone"]); distillmos-spectral-mlp@2026.12-4 (2026.12-3's statistics under a hidden layer fitted without the fake-only pages, calibrated on the mel Griffin-Lim page); distillmos-spectral-linear@2026.12-3 (DistillMOS and spectral statistics side by side, made with the first three augmented copies); fast: spectral-linear@2026.12-2 (a DeepFilterNet3-enhanced copy added to training), default: distillmos-linear@2026.12-1 (made without that copy; its candidate with it was not shipped, detect/MODEL_CARD.md) (2026.12-1: 68-system ../shared/data, hibari, flite and vox-vc clones in training; 2026.11-4: 38 systems, Kokoro and voxtwin clones; 2026.11-2 / 2026.11-3 without them; 2026.11-1: the LFCC-LCNN, fast until 2026.11-3)


def recipe_trials(config: dict) -> list:
    """Every file the recipe uses: ../shared/data plus the generated speech when make_data.py has run, without the
    sources in `exclude_sources`."""
    trials = read_dataset("manifest", config["root"], "all")
    generated = Path(config["generated"])
    if (generated / "manifest.csv").is_file():
        trials += read_dataset("manifest", generated, "all")
    excluded = set(config.get("exclude_sources", []))
    return [t for t in trials if t.source not in excluded]


def split_trials(trials, calibration_sources, report_sources):
    """(train, calibration, report): held-out spoof sources plus disjoint pools of real speakers."""
    train, calib, report = [], [], []
    held = set(calibration_sources) | set(report_sources)
    for t in trials:
        if t.source in calibration_sources:
            calib.append(t)
        elif t.source in report_sources:
            report.append(t)
        elif not t.is_spoof and t.source not in held:
            u = stable_fraction(f"{t.source}/{t.speaker}", "default-detector")
            (calib if u < 0.12 else report if u < 0.24 else train).append(t)
        else:
            train.append(t)
    return train, calib, report


def front_end_run_arguments(parser: argparse.ArgumentParser, export, *, exported: str) -> argparse.Namespace | None:
    """For the scripts that train a part of a front-end on this recipe's training split (distill_frontend.py,
    tune_last_block.py): adds --device, --export and --set, parses, and with --export calls `export(out, target)` and
    returns None (the run's result written, nothing to train)."""
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--export", type=Path, help=f"write the run's {exported} as fp16 safetensors here and stop")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe config override (as run.py)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.export:
        export(args.out, args.export)
        return None
    return args


def channel(wav: np.ndarray, name: str) -> np.ndarray:
    return through_channel(wav, 16_000, name)


FROZEN_HEAD_MODELS = ("distillmos-linear", "spectral-linear", "distillmos-spectral-linear", "distillmos-spectral-mlp", "distillmos-student-spectral-linear",
                      "distillmos-student-spectral-mlp", "distillmos-student-codec-routed", "distillmos-student-fine-vote",
                      "distillmos-tuned-spectral-mlp", "whisper-linear", "fused-linear")


def kept_own_sources(keep, own_sources: frozenset) -> set:
    """[head] keep_generated: false (none of make_data.py's sources), true (all) or a list of their names, e.g.
    ["voxtwin_clone"] for the project's clones alone, whose real halves come from the pool's own recordings."""
    if isinstance(keep, bool):
        return set(own_sources) if keep else set()
    unknown = sorted(set(keep) - set(own_sources))
    if unknown:
        raise SystemExit(f"error: head.keep_generated names {', '.join(unknown)}, not among the generated sources ({', '.join(sorted(own_sources)) or 'none'})")
    return set(keep)


def head_sources(head: dict, is_spoof, sources, own_sources: frozenset) -> set | None:
    """The sources a head is fitted on (None: all): head.train_sources, plus the project's own speech (no foreign
    recording chain) that head.keep_generated names: all of it (true) or those sources."""
    from detect.paired_sources import training_sources

    try:
        chosen = training_sources(head.get("train_sources", "all"), is_spoof, sources)
    except ValueError as exc:  # a name outside paired_sources.TRAIN_SOURCE_CHOICES
        raise SystemExit(f"error: head.{exc}") from None
    if chosen is not None:
        chosen |= kept_own_sources(head.get("keep_generated", False), own_sources) & set(np.asarray(sources).astype(str))
    return chosen


def own_generated_sources(trials, config: dict) -> frozenset:
    """The sources make_data.py wrote (under config["generated"])."""
    return frozenset(t.source for t in trials if Path(t.path).is_relative_to(Path(config["generated"])))


def head_mlp_seeds(head: dict) -> list[int] | None:
    """[head] mlp_seeds (None: the hidden-layer head's own seeds), checked before any audio is loaded."""
    seeds = head.get("mlp_seeds")
    if seeds is not None and (not isinstance(seeds, list) or not all(isinstance(seed, int) and not isinstance(seed, bool) for seed in seeds)):
        raise SystemExit(f"error: head.mlp_seeds must be a list of integers, e.g. [3, 4, 5], not {seeds!r}")
    return seeds


def head_mlp_epochs(head: dict) -> int | None:
    """[head] mlp_epochs (None: the hidden-layer head's own 20), checked before any audio is loaded."""
    epochs = head.get("mlp_epochs")
    if epochs is not None and (not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1):
        raise SystemExit(f"error: head.mlp_epochs must be a whole number of passes >= 1, e.g. 10, not {epochs!r}")
    return epochs


def config_fields(model_name: str) -> set[str]:
    """The names of a registered model's config fields (none for a name outside the registry, e.g. lfcc-gmm)."""
    from detect.models import MODELS

    return {field.name for field in dataclasses.fields(MODELS.get(model_name).Config)} if model_name in MODELS else set()


def model_options(cfg, head: dict) -> dict:
    """train.model_config, with a hidden layer as wide as head.mlp_seeds asks (64 units per seed, side by side:
    nine seeds -> 576) unless the config names `hidden` itself, which must then agree; checked before any audio is loaded."""
    from detect.window_mlp_head import MLPHeadSettings

    options, seeds = dict(cfg.model_config), head_mlp_seeds(head)
    if not seeds or "hidden" not in config_fields(cfg.model):
        return options
    wanted = MLPHeadSettings.hidden * len(seeds)
    if options.setdefault("hidden", wanted) != wanted:
        raise SystemExit(f"error: train.model_config.hidden is {options['hidden']}, but head.mlp_seeds' {len(seeds)} seeds need {wanted} "
                         f"({MLPHeadSettings.hidden} each); leave hidden out to follow the seeds")
    return options


def is_codec_routed(model) -> bool:
    """distillmos-student-codec-routed: two heads, a router and per-head calibration to fit (detect/codec_router.py)."""
    from detect.models.codec_routed_mlp import CodecRoutedMLP

    return isinstance(model, CodecRoutedMLP)


def fit_frozen(cfg, head: dict, fit, valid, cache, own_sources: frozenset = frozenset()):
    """Fit a frozen-front-end detector's head on cached window statistics: the training files as recorded plus one
    augmented copy per entry of head["augmented_copies"]; returns (model, record, score_sets) where
    score_sets(name, waves) scores held-out files window by window as `voxtwin detect score` does (1 s hop).
    own_sources: the project's generated sources, kept in the fit by head["keep_generated"]."""
    from detect.frozen_head import WindowStats, augmented_copy, collect_stats, fit_head, kept_audio, score_stats, stats_key
    from detect.models import build_model
    from detect.models.distillmos_linear import distillmos_weights, weights_sha256
    from detect.models.student_spectral_linear import student_weights
    from detect.models.tuned_last_block import last_block_sha256
    from detect.models.whisper_linear import whisper_weights
    from detect.source_weights import WEIGHTINGS

    weighting = head.get("weighting", "class")
    if weighting not in WEIGHTINGS:
        raise SystemExit(f"error: head.weighting must be one of {', '.join(WEIGHTINGS)}, not {weighting!r}")
    pinned = {}  # the frozen front-ends' weights the head is fitted on; a checkpoint refuses any other
    options = config_fields(cfg.model)
    if cfg.model in ("distillmos-linear", "distillmos-spectral-linear", "distillmos-spectral-mlp", "distillmos-tuned-spectral-mlp", "fused-linear"):
        pinned["encoder_sha256"] = weights_sha256(distillmos_weights())
    if "last_block_sha256" in options:  # a tuned last convolution (distillmos-tuned-spectral-mlp)
        pinned["last_block_sha256"] = last_block_sha256()
    if "student_sha256" in options:  # every model on the shipped student CNN
        pinned["student_sha256"] = weights_sha256(student_weights())
    if cfg.model == "whisper-linear":
        pinned["encoder_sha256"] = weights_sha256(whisper_weights())
    if cfg.model == "fused-linear":
        pinned["whisper_sha256"] = weights_sha256(whisper_weights())
    try:  # e.g. --set 'train.model_config={spectral_mean=false}'
        model = build_model(cfg.model, **model_options(cfg, head), **pinned).eval()
    except ValueError as exc:  # a key the model's config does not have
        raise SystemExit(f"error: train.model_config: {exc}") from None
    if hasattr(model, "precision"):
        model.precision = "fp32"  # fitted, calibrated and reported in float32; precision_offset.py adds bfloat16's offset
    window, train_hop, hop = (int(head[k] * 16_000) for k in ("window_s", "train_hop_s", "hop_s"))
    # models that read another's statistics (a different head on the same front-end) share its cache
    stats_dir = Path(cfg.out_dir) / f"stats_{getattr(model, 'statistics_of', cfg.model)}_{head['window_s']}s"
    stats_dir.mkdir(parents=True, exist_ok=True)

    def cached(name: str, waves, *, train_hop_windows: bool, transform=None, augment_label: str = "") -> WindowStats:
        settings = {"window": window, "hop": train_hop if train_hop_windows else hop, "max_windows": head["max_windows"] if train_hop_windows else None,
                    "augment": augment_label, "seed": cfg.seed}
        if getattr(model, "band_ceiling_hz", 0.0):  # other statistics than the whole band's (absent otherwise: old caches stay valid)
            settings["band_ceiling_hz"] = model.band_ceiling_hz
        return WindowStats.cached(stats_dir, name, waves, settings, lambda: collect_stats(
            model, waves, window=window, hop=settings["hop"], max_windows=settings["max_windows"], transform=transform, description=name))

    fit_kept, fit_waves = load_trials(fit, cache, description="Training audio")
    valid_kept, valid_waves = load_trials(valid, cache, description="Validation audio")
    parts = [cached("fit_clean", fit_waves, train_hop_windows=True)]
    for copy in head["augmented_copies"]:
        label, transform = augmented_copy(copy, seed_offset=cfg.seed)
        if copy.get("keep_audio"):  # made once, shared by the next model fitted on the same files
            transform = kept_audio(transform, Path(cfg.out_dir) / "augmented_audio" / f"{label}-{stats_key(fit_waves, {'seed': cfg.seed})}")
        parts.append(cached(f"fit_aug_{label}", fit_waves, train_hop_windows=True, transform=transform, augment_label=label))
    train_stats = WindowStats.concat(parts)
    valid_stats = cached("valid", valid_waves, train_hop_windows=False)
    fit_bonafide = np.array([not t.is_spoof for t in fit_kept])
    valid_bonafide = np.array([not t.is_spoof for t in valid_kept])
    train_sources = np.array([t.source for t in fit_kept])
    chosen = head_sources(head, ~fit_bonafide, train_sources, own_sources)
    if chosen is not None:  # statistics of every file stay cached; the head sees these
        kept = np.flatnonzero(np.isin(train_sources, sorted(chosen)))
        train_stats, fit_bonafide, train_sources = train_stats.subset(kept), fit_bonafide[kept], train_sources[kept]
        fit_kept = [fit_kept[i] for i in kept]
        logging.info("head fitted on the %d %s sources (%d files)", len(set(train_sources)), head["train_sources"], len(kept))
    try:
        result = fit_head(model, train_stats, fit_bonafide, valid_stats, valid_bonafide, train_sources=train_sources, weighting=weighting,
                          source_folds=head.get("source_folds", 0), mix_pages=head.get("mix_pages", 0.0), mlp_seeds=head_mlp_seeds(head),
                          mlp_epochs=head_mlp_epochs(head))
    except ValueError as exc:  # settings the model's head cannot be fitted with (e.g. a hidden layer with source weighting)
        raise SystemExit(f"error: {cfg.model}: {exc}") from None
    logging.info("head: %s", result)
    if is_codec_routed(model):  # a second head without the codec copies, and the router
        from detect.codec_router import fit_clean_head, fit_router

        files = None if chosen is None else kept
        result["clean_head"] = fit_clean_head(model, parts, head["augmented_copies"], files, fit_bonafide, valid_stats, valid_bonafide)
        result["router"] = fit_router(model, parts, head["augmented_copies"], seed_offset=cfg.seed, lossy_recall=head.get("router_lossy_recall"))
        logging.info("clean head: %s; router: %s", result["clean_head"], result["router"])
    record = {"recipe": "default_detector", "config": {"model": cfg.model, "seed": cfg.seed, "head": head}, "n_train": len(fit_kept), "n_valid": len(valid_kept),
              "train_sources": sorted({t.source for t in fit_kept}), "head_fit": result, "best_valid_eer_percent": result["valid_eer_percent"]}

    def score_sets(name: str, waves, head=None) -> np.ndarray:
        """head: one of the model's parts (a codec-routed model's lossy_head, clean_head) instead of model.head."""
        return score_stats(model, cached(name, waves, train_hop_windows=False), len(waves), head=head)

    return model, record, score_sets


def fit_gmm(cfg, head: dict, gmm_settings: dict, fit, valid, cache):
    """Fit the LFCC-GMM on frames of the training files as recorded plus the same augmented copies as the frozen
    head ([head] augmented_copies), `frames_per_file` random frames per file and copy; the number of components is
    chosen by validation EER from `n_components`. Held-out files are scored window by window (features once per
    file, GMM.score_span), as `voxtwin detect score` does."""
    from detect.frozen_head import augmented_copy, file_scores, file_windows
    from detect.models.gmm import GMMConfig, GMMCountermeasure
    from voxtwin.console import progress

    window, hop = (int(head[k] * 16_000) for k in ("window_s", "hop_s"))
    fit_kept, fit_waves = load_trials(fit, cache, description="Training audio")
    valid_kept, valid_waves = load_trials(valid, cache, description="Validation audio")
    copies = [("clean", None)] + [augmented_copy(copy, seed_offset=cfg.seed) for copy in head["augmented_copies"]]
    frontend = GMMCountermeasure(GMMConfig()).eval()
    rng = np.random.default_rng(cfg.seed)
    frames: dict[bool, list[np.ndarray]] = {True: [], False: []}
    with torch.inference_mode():
        for label, transform in copies:
            for i, (trial, wave) in enumerate(progress(list(zip(fit_kept, fit_waves)), f"LFCC frames ({label})")):
                wav = wave.astype(np.float32) / INT16_SCALE
                x = frontend.frames(torch.from_numpy(transform(wav, i) if transform else wav)[None]).numpy()
                keep = rng.choice(len(x), min(len(x), gmm_settings["frames_per_file"]), replace=False)
                frames[trial.is_spoof].append(x[keep])
    bonafide, spoof = np.concatenate(frames[False]), np.concatenate(frames[True])
    logging.info("GMM training frames: %d bona fide, %d spoof", len(bonafide), len(spoof))

    def score_sets_with(model):
        def score_sets(name: str, waves) -> np.ndarray:
            scores, owner = [], []
            with torch.inference_mode():
                for i, wave in enumerate(waves):
                    span, starts = file_windows(wave.astype(np.float32) / INT16_SCALE, window=window, hop=hop)
                    scores.append(model.score_span(span, starts, window).numpy())
                    owner.append(np.full(len(starts), i))
            return file_scores(np.concatenate(scores), np.concatenate(owner), len(waves))
        return score_sets

    valid_fake = np.array([t.is_spoof for t in valid_kept])
    grid, best = {}, None
    for k in gmm_settings["n_components"]:
        config = GMMConfig(n_components=k, max_iter=gmm_settings["max_iter"], max_frames_per_class=gmm_settings["max_frames_per_class"], seed=cfg.seed)
        model = GMMCountermeasure(config).fit(bonafide, spoof).eval()
        scores = score_sets_with(model)("valid", valid_waves)
        grid[k] = 100 * metrics.eer(scores[~valid_fake], scores[valid_fake])[0]
        logging.info("GMM %d components: validation EER %.2f %%", k, grid[k])
        if best is None or grid[k] < grid[best[0]]:
            best = (k, model)
    k, model = best
    record = {"recipe": "default_detector", "config": {"model": cfg.model, "seed": cfg.seed, "head": head, "gmm": gmm_settings}, "n_train": len(fit_kept), "n_valid": len(valid_kept),
              "train_sources": sorted({t.source for t in fit_kept}), "n_components_grid": grid, "best_valid_eer_percent": grid[k],
              "n_frames": {"bonafide": len(bonafide), "spoof": len(spoof)}}
    return model, record, score_sets_with(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--no-install", action="store_true", help="do not overwrite the shipped weights")
    parser.add_argument("--install-as", choices=tuple(SHIPPED), default="default", help="which shipped detector to replace (detect/weights/NAME.*)")
    parser.add_argument("--no-generate", action="store_true", help="train without the project's own synthetic speech")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = load_recipe(str(HERE / "config.toml"), args.overrides)
    cfg = train_config(config)
    model_options(cfg, config["head"])  # mlp_seeds and the hidden layer's width, before any audio is loaded
    head_mlp_epochs(config["head"])
    generated = Path(config["generated"])
    if not (generated / "manifest.csv").is_file() and not args.no_generate:
        import subprocess
        import sys

        subprocess.run([sys.executable, str(HERE / "make_data.py"), "--shared", config["root"], "--out", str(generated)], check=True)
    train_trials, calib_trials, report_trials = split_trials(recipe_trials(config), config["calibration_sources"], config["report_sources"])
    fit, valid = validation_split(train_trials)
    cache = WaveformCache(default_cache_dir(cfg.cache_dir))
    calib_kept, calib_waves = load_trials(calib_trials, cache, description="Calibration audio")
    report_kept, report_waves = load_trials(report_trials, cache, description="Report audio")
    started = time.perf_counter()
    if cfg.model in FROZEN_HEAD_MODELS:
        own_sources = own_generated_sources(train_trials, config)
        model, record, score_sets = fit_frozen(cfg, config["head"], fit, valid, cache, own_sources)
        window_s = config["head"]["window_s"]
    elif cfg.model == "lfcc-gmm":
        model, record, score_sets = fit_gmm(cfg, config["head"], config["gmm"], fit, valid, cache)
        window_s = config["head"]["window_s"]
    else:
        result = train(cfg, fit, valid, record={"recipe": "default_detector", "held_out_sources": config["calibration_sources"] + config["report_sources"]})
        model, meta, _ = load_detector(result.checkpoint)
        record = {k: v for k, v in meta["training"].items() if k != "resume"} | {"best_valid_eer_percent": result.best_valid_eer}
        score_sets = lambda name, waves: score_waves(model, waves, crop_samples=cfg.crop_samples)  # noqa: E731
        window_s = cfg.crop_samples / 16_000
    train_minutes = (time.perf_counter() - started) / 60

    calib_fake = np.array([t.is_spoof for t in calib_kept])
    routed = is_codec_routed(model)  # each head calibrated on its own and baked in; the checkpoint's map is the identity
    for part in ("lossy", "clean") if routed else ():
        platt = fit_platt(score_sets("calibration", calib_waves, head=getattr(model, f"{part}_head")), calib_fake)
        model.set_platt(part, platt.slope, platt.intercept)
        record.setdefault("head_platt", {})[part] = platt.to_dict()
    calib_scores = score_sets("calibration", calib_waves)
    calibration = Calibration() if routed else fit_platt(calib_scores, calib_fake)
    calibration_eer = 100 * metrics.eer(calib_scores[~calib_fake], calib_scores[calib_fake])[0]

    report: dict = {"version": VERSION, "model": cfg.model, "train_minutes": train_minutes, "n_train": len(fit), "n_valid": len(valid),
                    "n_calibration": len(calib_kept), "n_report": len(report_kept), "best_valid_eer_percent": record["best_valid_eer_percent"],
                    "calibration": calibration.to_dict(), "calibration_eer_percent": calibration_eer, "calibration_sources": config["calibration_sources"], "report_sources": config["report_sources"],
                    "channels": {}}
    fake = np.array([t.is_spoof for t in report_kept])
    sources = np.array([t.source for t in report_kept])
    for name in CHANNELS:
        waves = [np.round(np.clip(channel(w.astype(np.float32) / INT16_SCALE, name), -1, 1) * INT16_SCALE).astype(np.int16) for w in report_waves]
        scores = score_sets(f"report_{name}", waves)
        p = calibration.p_synthetic(scores)
        entry = {"eer_percent": 100 * metrics.eer(scores[~fake], scores[fake])[0], "ece": expected_calibration_error(p, fake),
                 "accuracy_at_0.5": float(np.mean((p >= 0.5) == fake))}
        if name == "clean":
            entry["per_source_eer_percent"] = {s: 100 * metrics.eer(scores[~fake], scores[fake & (sources == s)])[0] for s in config["report_sources"] if (fake & (sources == s)).any()}
        report["channels"][name] = entry
        logging.info("%s: %s", name, entry)
    out = Path(cfg.out_dir).parent / f"report_{cfg.model}.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    scoring = {"calibration": calibration.to_dict(), "window_s": window_s, "version": VERSION}
    # always kept with the run, so that compare.py can score a candidate (--models PATH) before it is installed
    half = ships_half(model)  # the candidate is judged as it would ship
    candidate = save_detector(Path(cfg.out_dir).parent / f"candidate_{cfg.model}", model, name=cfg.model, record=record | {"report": report}, scoring=scoring, half_matrices=half)
    print(f"wrote {candidate}")
    if not args.no_install:
        target = WEIGHTS / args.install_as
        save_detector(target, model, name=cfg.model, record=record | {"report": report}, scoring=scoring, half_matrices=half)
        print(f"installed {target}.safetensors")
        if hasattr(model, "precision"):  # its CNN may run in bfloat16 at scoring time: measure and store the offset
            import subprocess
            import sys

            subprocess.run([sys.executable, str(HERE / "precision_offset.py"), "--model", str(target), "--write"], check=True)
            if encoder_precision(getattr(model, "encoder", None), "int8", "cpu") == "int8":  # and its student in int8 (--precision int8)
                subprocess.run([sys.executable, str(HERE / "precision_offset.py"), "--model", str(target), "--precision", "int8", "--write"], check=True)


def ships_half(model) -> bool:
    """Whether the model's checkpoint tensors exceed FLOAT32_LIMIT_BYTES in float32, so that its matrices are written in float16."""
    return sum(4 * t.numel() for t in detector_tensors(model).values() if t.is_floating_point()) > FLOAT32_LIMIT_BYTES


if __name__ == "__main__":
    torch.set_num_threads(max(1, torch.get_num_threads()))
    main()
