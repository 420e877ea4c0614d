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
  student        the distilled student CNN's frame statistics (front_ends.StudentStats), DistillMOS's layout
  whisper-lK     Whisper tiny.en's encoder at layer K (0: the convolutional stem, 4: the output; mean + spread, 768 numbers)
  phase          the phase's coherence at spectral peaks: instantaneous frequency across a peak's lobe and over time,
                 group delay across bins, per band (48 numbers; what the magnitude front-ends cannot read)
  fine           the spectrum's fine structure at 7.8 Hz: fixed tones, steadiness and harmonic sharpness against a running
                 median, per 1 kHz band, frequency-free summaries only (96 numbers)
  fine-mean      the same with each frame's sharpness against a running mean (~9x cheaper)
  excitation     the linear-prediction residual: prediction gain, peakiness, periodicity, band levels, flatness, and how
                 closely its envelope above 3 kHz follows the one below 1.5 kHz (37 numbers)
  asr            Whisper tiny.en's confidence in the words it hears, per file (log-probabilities, no-speech probability,
                 compression ratio, speaking rate, word probabilities; 9 numbers, each window carries its file's)
  background     the background's consistency, per file: the quiet frames' colour, the floor under the words against
                 it, digital silence (40 numbers, each window carries its file's)
  modulation     how fast the bands' envelopes rise and fall: modulation depth in 5 acoustic x 9 modulation bands
                 (0.5-50 Hz) and adjacent bands' comodulation (64 numbers)
  A+B            front-ends side by side into one logistic unit (feature fusion)
  score-mean     the mean of single-front-end models' out-of-fold log-odds (score fusion; no weight is tuned)

Protocol as layers_loso.py: one fold per `source` of ../shared/data (a page is never in both training and test);
each fold trains on the other sources in every channel given (as recorded and through the 8 kHz telephone band
by default), scores the held-out files in each channel (mean window log-odds), and verdicts come from Platt scaling
fitted on the other sources' out-of-fold scores, at the shipped thresholds.

    python recipes/detector_v2/fusion_loso.py --features-only --channels clean   # one channel's caches (those --models read)
    python recipes/detector_v2/fusion_loso.py --channels clean telephone_8k opus_16k --json runs/detector_v2/fusion.json
    python recipes/detector_v2/fusion_loso.py --scored-only-channels opus_16k mp3_64k ...   # also scored there, never fitted there
    python recipes/detector_v2/fusion_loso.py --codec-copy opus_16k mp3_64k ...   # also fitted on one codec copy of each file
    python recipes/detector_v2/fusion_loso.py --per-channel-maps ...   # verdicts under a calibration map per channel too
    python recipes/detector_v2/fusion_loso.py --mlp-epochs 10 --scores-out runs/detector_v2/s.npz ...   # fewer passes; keep every file's scores (vote_weight.py reads them)
The front-ends live in front_ends.py. DistillMOS statistics are shared with layers_loso.py
(runs/detector_v2/layers-CHANNEL.npz); the others are cached in runs/detector_v2/NAME-CHANNEL.npz, each computed
only when a chosen model reads it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from detect.fine_structure import PER_BAND
from detect.models.distillmos_linear import FRAME_DIM
from detect.models.spectral_linear import BINS
from detect.paired_sources import TRAIN_SOURCE_CHOICES, training_sources
from detect.source_weights import WEIGHTINGS
from detect.window_mlp_head import MLPHeadSettings

from front_ends import FRONT_ENDS, WhisperLayerStats  # noqa: I001  (this folder is on sys.path when the script runs)
from frontends_loso import windows
from layers_loso import HEADS, cached_features as cached_distillmos, out_of_fold, printed_results, read_cache, study_wave
from study_options import CHANNEL_CHOICES, add_seeds_option, save_results, start, study_parser

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
    "distillmos+dynamics+spectral": ("layer5", "dynamics", "spectral"),
    "phase": ("phase",),
    "distillmos+spectral+phase": ("layer5", "spectral", "phase"),
    "fine": ("fine",),
    "distillmos+spectral+fine": ("layer5", "spectral", "fine"),
    "distillmos+spectral+fine-mean": ("layer5", "spectral", "fine-mean"),  # each frame's sharpness against a running mean
    "fine-mean": ("fine-mean",),
    # the linear-prediction residual (front_ends.ExcitationStats; stop 67): alone, and beside the fine structure in the second head
    "excitation": ("excitation",),
    "fine-mean+excitation": ("fine-mean", "excitation"),
    # the second head reading the spectrum beside the fine structure (stop 67): both alone catch Tortoise's missing band
    "spectral+fine-mean": ("spectral", "fine-mean"),
    # Whisper's confidence in the words (front_ends.AsrConfidenceStats, per file; stop 68): alone, and beside the fine structure
    "asr": ("asr",),
    "fine-mean+asr": ("fine-mean", "asr"),
    # the background's consistency (front_ends.BackgroundStats, per file; stop 69): alone, and beside the fine structure
    "background": ("background",),
    "fine-mean+background": ("fine-mean", "background"),
    "distillmos+spectral+background": ("layer5", "spectral", "background"),  # and inside the main head (stop 69)
    # the bands' envelopes' modulation spectrum (front_ends.ModulationStats; stop 70): alone, and beside the fine structure
    "modulation": ("modulation",),
    "fine-mean+modulation": ("fine-mean", "modulation"),
    # its four bands below 4 kHz only (48 of 96 numbers): what survives the telephone band (stop 60)
    "fine-mean-low": ("fine-mean-low",),
    # a cheaper `default`: the CNN stopped early (layers_loso.py's per-layer statistics), beside the spectrum; convolutions
    # 0-2 are a third of the CNN's multiply-adds, 0-3 two thirds, 0-4 93 %
    "conv1-2+spectral": ("layer1", "layer2", "spectral"),
    "conv1-3+spectral": ("layer1", "layer2", "layer3", "spectral"),
    "conv1-4+spectral": ("layer1", "layer2", "layer3", "layer4", "spectral"),
    # the spectrum without its per-bin mean log power (recording_norm_loso.py; the option spectral_mean = false)
    "distillmos+spectral-no-mean": ("layer5", "spectral-no-mean"),
    # the distilled student CNN in place of DistillMOS's (front_ends.StudentStats; ~2.7x faster `default` on AVX2 CPUs)
    "student+spectral": ("student", "spectral"),
    "wide-student+spectral": ("wide-student", "spectral"),
    "distillmos-spread+spectral-no-mean": ("cnn-spread", "spectral-no-mean"),  # and without the CNN frames' means
    # Whisper tiny.en's encoder layer by layer (front_ends.WhisperLayerStats: 0 the convolutional stem, 4 the output), alone and
    # beside `default`'s features
    **{f"whisper-l{k}": (f"whisper-l{k}",) for k in range(WhisperLayerStats.LAYERS)},
    **{f"wide-student+spectral+whisper-l{k}": ("wide-student", "spectral", f"whisper-l{k}") for k in range(WhisperLayerStats.LAYERS)},
}
# features read as columns of another front-end's statistics
DERIVED = {"spectral-no-mean": ("spectral", slice(BINS, None)), "cnn-spread": ("layer5", slice(FRAME_DIM, None)),
           **{f"whisper-l{k}": ("whisper-layers", slice(k * WhisperLayerStats.WIDTH, (k + 1) * WhisperLayerStats.WIDTH)) for k in range(WhisperLayerStats.LAYERS)},
           "fine-mean-low": ("fine-mean", slice(0, 4 * PER_BAND))}  # band-major: 12 numbers a band
SCORE_MEANS = {"score-mean distillmos, spectral": ("distillmos", "spectral"), "score-mean of all three": ("distillmos", "spectral", "speaker"),
               # `fine` alone catches the Tortoise page that every fused head misses (S31): its own head's vote beside them
               "score-mean distillmos+spectral, fine": ("distillmos+spectral", "fine"),
               "score-mean distillmos+spectral, fine-mean": ("distillmos+spectral", "fine-mean"),
               # a third vote (stop 60): the spectrum alone (outvoted by the CNN inside the fused head), or the pitch and energy
               # contours (weak, but nearly the same through the telephone band)
               "score-mean distillmos+spectral, fine-mean, spectral": ("distillmos+spectral", "fine-mean", "spectral"),
               "score-mean distillmos+spectral, fine-mean, prosody": ("distillmos+spectral", "fine-mean", "prosody"),
               "score-mean distillmos+spectral, fine-mean-low": ("distillmos+spectral", "fine-mean-low"),
               # the excitation (stop 67): inside the second head, or as a third vote
               "score-mean distillmos+spectral, fine-mean+excitation": ("distillmos+spectral", "fine-mean+excitation"),
               "score-mean distillmos+spectral, fine-mean, excitation": ("distillmos+spectral", "fine-mean", "excitation"),
               "score-mean distillmos+spectral, spectral+fine-mean": ("distillmos+spectral", "spectral+fine-mean"),
               # Whisper's confidence (stop 68): inside the second head, or as a third vote
               "score-mean distillmos+spectral, fine-mean+asr": ("distillmos+spectral", "fine-mean+asr"),
               "score-mean distillmos+spectral, fine-mean, asr": ("distillmos+spectral", "fine-mean", "asr"),
               # the background's consistency (stop 69): inside the second head, or as a third vote
               "score-mean distillmos+spectral, fine-mean+background": ("distillmos+spectral", "fine-mean+background"),
               "score-mean distillmos+spectral, fine-mean, background": ("distillmos+spectral", "fine-mean", "background"),
               "score-mean distillmos+spectral+background, fine-mean": ("distillmos+spectral+background", "fine-mean"),
               # the modulation spectrum (stop 70): inside the second head, or as a third vote
               "score-mean distillmos+spectral, fine-mean+modulation": ("distillmos+spectral", "fine-mean+modulation"),
               "score-mean distillmos+spectral, fine-mean, modulation": ("distillmos+spectral", "fine-mean", "modulation")}
# one model's scores as recorded and another's through the telephone band, as a detector that finds the band in the signal
# (voxtwin/audio_band.py) and switches heads would give (here the channel is known, not detected): {name: (other channels, telephone)}
CHANNEL_SWITCHED = {"vote, its fine head below 4 kHz through the telephone band": ("score-mean distillmos+spectral, fine-mean", "score-mean distillmos+spectral, fine-mean-low")}


CODEC_COPY = "codec copy"  # the pseudo-channel --codec-copy fits on


def codec_copy(through: dict[str, dict[str, np.ndarray]], n_files: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Every file's windows through one of the channels in `through` (their cached features), the channel drawn per file:
    the recipe's codec copy (detect/augment.py `codec`: one random codec per file) made from cached channels."""
    names = sorted(through)
    chosen = np.asarray(names)[np.random.default_rng(seed).integers(len(names), size=n_files)]
    parts = [(through[name], chosen[through[name]["owner"]] == name) for name in names]
    keys = set.intersection(*(set(f) for f, _ in parts))
    return {key: np.concatenate([f[key][keep] for f, keep in parts]) for key in keys}


@torch.inference_mode()
def cached_stats(name: str, rows: list[dict], root: Path, cache: Path, channel: str) -> dict[str, np.ndarray]:
    """A front-end's statistics of every file's windows (the same windows, in the same order, as layers_loso)."""
    path = cache / f"{name}-{channel}.npz"
    if (cached := read_cache(path, len(rows))) is not None:
        return cached
    describe, out, owner, started = FRONT_ENDS[name](), [], [], time.time()
    per_file = getattr(describe, "PER_FILE", False)  # described whole, its numbers carried by each of its windows
    for i, row in enumerate(rows):
        wav = study_wave(root, row, channel)
        pieces = windows(wav)
        out += [describe(wav).astype(np.float16)] * len(pieces) if per_file else [describe(w).astype(np.float16) for w in pieces]
        owner += [i] * len(pieces)
        if (i + 1) % 400 == 0:
            print(f"  {name} {channel}: {i + 1}/{len(rows)} files ({time.time() - started:.0f} s)", flush=True)
    arrays = {name: np.asarray(out), "owner": np.asarray(owner)}
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def all_front_ends(rows: list[dict], root: Path, cache: Path, channel: str, models: list[str]) -> dict[str, np.ndarray]:
    """The statistics the chosen models read (DistillMOS's always: it defines the windows), cached per channel."""
    distillmos = cached_distillmos(rows, root, cache, channel)
    features = {k: distillmos[k] for k in {"layer5", "owner"} | {part for model in models for part in MODELS[model] if part.startswith("layer")}}
    parts = {part for model in models for part in MODELS[model]}
    parts |= {DERIVED[part][0] for part in parts & set(DERIVED)}
    for name in sorted(parts & set(FRONT_ENDS)):
        stats = cached_stats(name, rows, root, cache, channel)
        if not np.array_equal(distillmos["owner"], stats["owner"]):
            raise SystemExit(f"error: the {channel} caches describe different windows; delete {cache}/*-{channel}.npz and rerun")
        features[name] = stats[name]
    for name in parts & set(DERIVED):
        source, columns = DERIVED[name]
        features[name] = features[source][:, columns]
    return features


def write_scores(path: Path, scores: dict[str, dict[str, np.ndarray]], labels: np.ndarray, sources: np.ndarray, paths: list[str]) -> None:
    """--scores-out (read back by read_scores below): one .npz of labels (1 = spoof), sources, paths, and
    "MODEL|CHANNEL" -> each file's out-of-fold bona fide log-odds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"{name}|{ch}": np.asarray(values, dtype=np.float64) for name, by_channel in scores.items() for ch, values in by_channel.items()}
    np.savez_compressed(path, labels=np.asarray(labels), sources=np.asarray(sources, dtype=str), paths=np.asarray(paths, dtype=str), **arrays)


def read_scores(path: Path) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray, np.ndarray]:
    """({model: {channel: out-of-fold bona fide log-odds per file}}, labels with 1 = spoof, sources) of a --scores-out file."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            scores: dict[str, dict[str, np.ndarray]] = {}
            for key in saved.files:
                if "|" in key:
                    model, channel = key.split("|", 1)
                    scores.setdefault(model, {})[channel] = saved[key]
            return scores, saved["labels"], saved["sources"]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"error: {path}: not a fusion_loso.py --scores-out file ({exc})") from None


def main() -> None:
    parser = study_parser(__doc__, channels=["clean", "telephone_8k"])
    parser.add_argument("--weighting", choices=WEIGHTINGS, default="class", help="training windows weighted per class (the recipe) or per source within each class")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--one-class-dims", type=int, default=0, metavar="K",
                        help="a one-class head fitted on real windows only, K PCA dimensions (detect/one_class_head.py); 0: the logistic head")
    parser.add_argument("--train-on", choices=TRAIN_SOURCE_CHOICES, default="all",
                        help="fit each fold on every other source (the recipe), only on sources that hold both real and synthetic files, "
                             "on every source that holds synthetic files (all but the real-only corpora) or real files (all but the fake-only pages)")
    parser.add_argument("--paired-weight", type=float, default=1.0, metavar="W",
                        help="with --train-on all: windows of sources that hold both classes weigh W times the others of their class (1: the recipe)")
    parser.add_argument("--head", choices=HEADS, default="logistic",
                        help="the windows' head: the recipe's logistic regression, one hidden layer of 64 units (detect/window_mlp_head.py) "
                             "or gradient-boosted trees (layers_loso.BOOSTED_SETTINGS)")
    parser.add_argument("--mlp-hidden", type=int, default=MLPHeadSettings.hidden, metavar="N",
                        help=f"with --head mlp: hidden units per seed ({MLPHeadSettings.hidden}: the shipped head's)")
    parser.add_argument("--input-dropout", type=float, default=MLPHeadSettings.input_dropout, metavar="P",
                        help=f"with --head mlp: the share of input statistics dropped per training step ({MLPHeadSettings.input_dropout}: the shipped head's)")
    parser.add_argument("--mlp-epochs", type=int, default=MLPHeadSettings.epochs, metavar="N",
                        help=f"with --head mlp: passes over the training windows per seed ({MLPHeadSettings.epochs}: the shipped head's)")
    add_seeds_option(parser, note="with --head mlp: ")
    parser.add_argument("--group-dro", type=float, default=0.0, metavar="ETA",
                        help="with --head mlp: train each fold's head for its worst (training source, class) group, online group DRO at step size ETA (0: off)")
    parser.add_argument("--group-dro-channels", action="store_true",
                        help="with --group-dro: a group per (training source, class, channel) instead of per (source, class)")
    parser.add_argument("--sam", type=float, default=0.0, metavar="RHO",
                        help="with --head mlp: sharpness-aware training steps of radius RHO (Foret et al. 2021; 0: plain AdamW steps)")
    parser.add_argument("--source-adversary", type=float, default=0.0, metavar="LAMBDA",
                        help="with --head mlp: the hidden layer trained against an adversary naming each window's training page within its class, "
                             "gradient reversed at weight LAMBDA (Ganin et al. 2016; 0: off)")
    parser.add_argument("--mix-pages", type=float, default=0.0, metavar="ALPHA",
                        help="with --head mlp: half of each batch's windows mixed with a window of their class from another training page, "
                             "weights ~ Beta(ALPHA, ALPHA) (MixStyle, Zhou et al. 2021; 0: off)")
    parser.add_argument("--page-bagging", type=float, default=0.0, metavar="SHARE",
                        help="with --head mlp: each seed's network fitted without a random SHARE of each class's training pages "
                             "(drawn from its seed; bagging over pages, Breiman 1996; 0: every seed on every page)")
    parser.add_argument("--page-intercepts", nargs="?", const="paired", choices=["paired", "every"],
                        help="with --head mlp: each training page holding both classes (paired; `every`: every training page) gets its own "
                             "free log-odds offset while the head is fitted, none when it scores (a fixed-effects head)")
    parser.add_argument("--adversary-real-only", action="store_true",
                        help="with --source-adversary: the adversary names the training source of real windows only (their recording chain); "
                             "spoof windows share one group")
    parser.add_argument("--stable-features", type=float, default=0.0, metavar="SHARE",
                        help="each fold's head reads only the statistics whose real-vs-synthetic direction agrees on at least SHARE of its "
                             "training pages that hold both classes (detect/stable_statistics.py; 0: all)")
    parser.add_argument("--nuisance-dims", type=int, default=0, metavar="K",
                        help="project out of every window the K directions along which the fold's real training sources differ "
                             "(recording_nuisance.py: nuisance attribute projection of the corpora; 0: off)")
    parser.add_argument("--per-channel-heads", action="store_true",
                        help="each channel's files scored by a head fitted on that channel's windows only (default: one head fitted on every channel's)")
    parser.add_argument("--scored-only-channels", nargs="+", default=[], choices=CHANNEL_CHOICES, metavar="CHANNEL",
                        help="channels every fold's heads also score but never fit on (e.g. opus_16k mp3_64k beside the two fitted ones); "
                             "their verdicts use the calibration fitted on the --channels scores")
    parser.add_argument("--per-channel-maps", action="store_true",
                        help="also report each channel's verdicts under a map fitted on that channel's out-of-fold scores of the other pages "
                             "(verdicts_per_channel_map), as a detector with a calibration per channel gives them")
    parser.add_argument("--codec-copy", nargs="+", default=[], choices=CHANNEL_CHOICES, metavar="CHANNEL",
                        help="fit on a codec copy of every file too, as the shipped recipe does: each file's windows through one of these "
                             "channels, drawn per file (seed 0); fitted on, never scored or reported as a channel")
    parser.add_argument("--scores-out", type=Path, metavar="NPZ",
                        help="also write every file's out-of-fold bona fide log-odds per model and channel, with the files' labels and "
                             "sources (read by vote_weight.py: questions about combining scores, answered without refitting)")
    args = parser.parse_args()
    if args.head != "logistic" and (args.weighting != "class" or args.one_class_dims or args.paired_weight != 1.0):
        parser.error(f"--head {args.head} is studied with class weighting only: without --weighting source, --one-class-dims or --paired-weight")
    if args.mlp_hidden != MLPHeadSettings.hidden and args.head != "mlp" or args.mlp_hidden < 1:
        parser.error("--mlp-hidden N (N >= 1) sets the width of --head mlp only")
    if args.input_dropout != MLPHeadSettings.input_dropout and args.head != "mlp" or not 0 <= args.input_dropout < 1:
        parser.error("--input-dropout P (0 <= P < 1) trains --head mlp only")
    if args.mlp_epochs != MLPHeadSettings.epochs and args.head != "mlp" or args.mlp_epochs < 1:
        parser.error("--mlp-epochs N (N >= 1) trains --head mlp only")
    if args.seeds != list(MLPHeadSettings.seeds) and args.head != "mlp":
        parser.error("--seeds sets the seeds of --head mlp only")
    training_ways = {"group_dro": "--group-dro ETA", "sam": "--sam RHO", "source_adversary": "--source-adversary LAMBDA", "mix_pages": "--mix-pages ALPHA",
                     "page_bagging": "--page-bagging SHARE", "page_intercepts_on": "--page-intercepts"}
    args.page_intercepts_on, args.single_class_offsets = float(args.page_intercepts is not None), args.page_intercepts == "every"
    for dest, flag in training_ways.items():
        value = getattr(args, dest)
        if value < 0 or value > 0 and args.head != "mlp":
            parser.error(f"{flag} ({flag.split()[1]} >= 0) trains --head mlp only" if " " in flag else f"{flag} trains --head mlp only")
    chosen = [flag for dest, flag in training_ways.items() if getattr(args, dest) > 0]
    if len(chosen) > 1:
        parser.error(f"{' and '.join(chosen)}: at most one way of training the head at a time")
    if args.page_bagging >= 1:
        parser.error("--page-bagging SHARE is the share of pages each seed leaves out: below 1")
    if args.adversary_real_only and not args.source_adversary:
        parser.error("--adversary-real-only needs --source-adversary LAMBDA")
    if args.group_dro_channels and not args.group_dro:
        parser.error("--group-dro-channels needs --group-dro ETA")
    if args.nuisance_dims < 0:
        parser.error("--nuisance-dims K is a number of directions, 0 or more")
    if args.stable_features and not 0.5 <= args.stable_features <= 1.0:
        parser.error("--stable-features SHARE is a share of pages between 0.5 and 1")
    if args.paired_weight != 1.0 and args.train_on != "all":
        parser.error("--paired-weight weighs the paired sources among all of them: use it with --train-on all")
    if overlap := set(args.scored_only_channels) & set(args.channels):
        parser.error(f"a channel is fitted on (--channels) or scored only (--scored-only-channels), not both: {', '.join(sorted(overlap))}")
    if args.scored_only_channels and args.per_channel_heads:
        parser.error("--scored-only-channels needs heads fitted across channels: not with --per-channel-heads")
    if args.codec_copy and args.per_channel_heads:
        parser.error("--codec-copy is fitted beside the other channels: not with --per-channel-heads")
    rows, labels, sources = start(args)
    features = {ch: all_front_ends(rows, args.data, args.cache, ch, args.models) for ch in args.channels}
    scored_only = {ch: all_front_ends(rows, args.data, args.cache, ch, args.models) for ch in args.scored_only_channels}
    if args.codec_copy:
        read = {**features, **scored_only}  # a codec channel also fitted on or scored is not read twice
        through = {ch: read[ch] if ch in read else all_front_ends(rows, args.data, args.cache, ch, args.models) for ch in args.codec_copy}
        features[CODEC_COPY] = codec_copy(through, len(rows))
    if args.features_only:
        return
    train_sources = training_sources(args.train_on, labels == 1, sources)
    if train_sources is not None:
        print(f"fitting on the {len(train_sources)} {args.train_on} sources: {', '.join(sorted(train_sources))}")
    mlp = MLPHeadSettings(hidden=args.mlp_hidden, input_dropout=args.input_dropout, epochs=args.mlp_epochs, seeds=tuple(args.seeds), group_dro_eta=args.group_dro, sam_rho=args.sam, source_adversary=args.source_adversary,
                         mix_pages=args.mix_pages, page_bagging=args.page_bagging, page_intercepts=bool(args.page_intercepts_on),
                         single_class_offsets=args.single_class_offsets)
    fit = lambda feats, name: out_of_fold(feats, MODELS[name], labels, sources, c=args.c, weighting=args.weighting, one_class_dims=args.one_class_dims,  # noqa: E731
                                          train_sources=train_sources, paired_weight=args.paired_weight, head=args.head, mlp=mlp,
                                          group_dro_channels=args.group_dro_channels, stable_features=args.stable_features,
                                          adversary_real_only=args.adversary_real_only, scored_only=scored_only, nuisance_dims=args.nuisance_dims)
    if args.per_channel_heads:
        scores = {name: {ch: fit({ch: features[ch]}, name)[ch] for ch in args.channels} for name in args.models}
    else:
        scores = {name: fit(features, name) for name in args.models}
    for by_channel in scores.values():
        by_channel.pop(CODEC_COPY, None)  # trained on, not a channel files arrive through
    channels = [*args.channels, *args.scored_only_channels]
    for name, parts in SCORE_MEANS.items():
        if all(part in scores for part in parts):
            scores[name] = {ch: sum(scores[part][ch] for part in parts) / len(parts) for ch in channels}
    for name, (recorded, telephone) in CHANNEL_SWITCHED.items():
        if recorded in scores and telephone in scores:  # every other channel reads the model as recorded
            scores[name] = {ch: scores[telephone if ch == "telephone_8k" else recorded][ch] for ch in channels}
    results = {name: printed_results(name, by_channel, labels, sources, prior=args.prior, calibrated_on=args.channels, per_channel_maps=args.per_channel_maps)
               for name, by_channel in scores.items()}
    if args.scores_out:
        write_scores(args.scores_out, scores, labels, sources, [row["path"] for row in rows])
    save_results(args, results, files=len(rows), weighting=args.weighting, one_class_dims=args.one_class_dims, train_on=args.train_on,
                 paired_weight=args.paired_weight, head=args.head, per_channel_heads=args.per_channel_heads,
                 group_dro=args.group_dro, group_dro_channels=args.group_dro_channels, stable_features=args.stable_features,
                 sam=args.sam, source_adversary=args.source_adversary, adversary_real_only=args.adversary_real_only,
                 mix_pages=args.mix_pages, page_bagging=args.page_bagging, seeds=args.seeds, input_dropout=args.input_dropout,
                 mlp_hidden=args.mlp_hidden, mlp_epochs=args.mlp_epochs, scored_only_channels=args.scored_only_channels, codec_copy=args.codec_copy, per_channel_maps=args.per_channel_maps,
                 nuisance_dims=args.nuisance_dims, page_intercepts=args.page_intercepts)


if __name__ == "__main__":
    main()
