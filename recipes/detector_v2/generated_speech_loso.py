"""Does the project's own generated speech, in training, help the detector catch pages it never heard?

The issue calls the generators voxtwin runs itself (its clones, Kokoro, hibari, Piper, eSpeak, vocoder copies) cheap
diversity. `default`'s recipe keeps only the clones; no leave-one-source-out study has had any of it. This one adds
make_data.py's generated files (runs/default_detector/generated, made by `recipes/default_detector/make_data.py`) to
the training side of every fold of fusion_loso.py's protocol, as synthetic windows:
  - a copy or clone of a ../shared/data recording (its name says which: make_data.py's copy_stem) trains only the
    folds that do not hold that recording's source out; text-to-speech with no such original trains every fold;
  - nothing else changes: the same windows, features (`default`'s wide student + spectrum), channels (as recorded and
    through the 8 kHz telephone band, for training and test), the hidden-layer head, and only ../shared/data's files
    are scored.

    python recipes/detector_v2/generated_speech_loso.py --threads 2 --json runs/detector_v2/generated-speech.json
    python recipes/detector_v2/generated_speech_loso.py --threads 2 --made-from-recordings-only   # copies and clones only
    python recipes/detector_v2/generated_speech_loso.py --threads 2 --text-to-speech-only         # Kokoro, hibari, Piper, eSpeak, flite only
    python recipes/detector_v2/generated_speech_loso.py --threads 2 --generated-sources voxtwin_flite   # one generator's files only
The generated files' statistics are cached in runs/detector_v2/generated/ (~8 min a channel on 2 threads).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detect.paired_sources import TRAIN_SOURCE_CHOICES, training_sources
from detect.window_mlp_head import MLPHeadSettings

from frontends_loso import read_manifest  # noqa: I001  (this folder is on sys.path when the script runs)
from fusion_loso import MODELS, all_front_ends
from layers_loso import out_of_fold, printed_results
from study_options import add_seeds_option, save_results, start, study_parser

MODEL = "wide-student+spectral"  # `default`'s features
CLONE_PREFIXES = ("convert_voxvc_", "speak_voxvc_", "convert_", "speak_")  # make_data.py's clone names: PREFIX + copy_stem


def original_of(generated_path: str, stems: dict[str, int]) -> int:
    """The row of the ../shared/data recording a generated file was made from, by make_data.py's names (the file stem
    is the original's path with "_" for "/", after a clone's prefix); -1 when it was made from none (text-to-speech)."""
    stem = Path(generated_path).stem
    for prefix in ("", *CLONE_PREFIXES):
        if stem.startswith(prefix) and stem[len(prefix):] in stems:
            return stems[stem[len(prefix):]]
    return -1


KINDS = ("all", "made-from-recordings", "text-to-speech")


def generated_copies(rows: list[dict], generated: Path, cache: Path, channels: list[str], *,
                     kind: str = "all", only_sources: list[str] | None = None) -> tuple[dict[str, dict], dict[str, int]]:
    """({channel: {feature: windows, "owner": original row or -1}}, files per generated source trained on); `kind`:
    every generated file, only the copies and clones of a ../shared/data recording, or only the text-to-speech;
    `only_sources`: only the files of these generated sources (make_data.py's, e.g. voxtwin_flite)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    gen_rows, gen_labels, gen_sources = read_manifest(generated)
    if not gen_labels.all():
        raise SystemExit(f"error: {generated}/manifest.csv lists real files; only generated (spoof) speech belongs there")
    if only_sources and (unknown := sorted(set(only_sources) - set(gen_sources))):
        raise SystemExit(f"error: {generated}/manifest.csv has no source {', '.join(unknown)} (it has {', '.join(sorted(set(gen_sources)))})")
    stems = {"_".join(Path(r["path"]).with_suffix("").parts): i for i, r in enumerate(rows)}
    originals = np.array([original_of(r["path"], stems) for r in gen_rows])
    kept = _kept(originals, kind, gen_sources, only_sources)
    copies = {}
    for ch in channels:
        feats = all_front_ends(gen_rows, generated, cache / "generated", ch, [MODEL])
        keep = kept[feats["owner"]]
        copies[ch] = {name: feats[name][keep] for name in MODELS[MODEL]} | {"owner": originals[feats["owner"]][keep]}
    gen_sources = gen_sources[kept]
    counts = {str(s): int(n) for s, n in zip(*np.unique(gen_sources, return_counts=True))}
    made_from = int((originals >= 0).sum())
    print(f"generated speech: {len(gen_rows)} files ({made_from} made from a recording here); trained on: " + ", ".join(f"{s} {n}" for s, n in counts.items()))
    return copies, counts


def _kept(originals: np.ndarray, kind: str, sources: np.ndarray | None = None, only_sources: list[str] | None = None) -> np.ndarray:
    """Which generated files train: those of `kind` and, when `only_sources` is given, of those sources."""
    by_kind = {"all": np.ones(len(originals), bool), "made-from-recordings": originals >= 0, "text-to-speech": originals < 0}[kind]
    return by_kind & np.isin(sources, only_sources) if only_sources else by_kind


def main() -> None:
    parser = study_parser(__doc__, channels=["clean", "telephone_8k"])
    parser.add_argument("--generated", type=Path, default=Path("runs/default_detector/generated"),
                        help="make_data.py's output folder (its manifest.csv and audio)")
    parser.add_argument("--train-on", choices=TRAIN_SOURCE_CHOICES, default="real-bearing",
                        help="the ../shared/data sources each fold fits on (`default`'s: real-bearing); the generated speech is added either way")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--made-from-recordings-only", action="store_true",
                      help="only the copies and clones of a ../shared/data recording (which share its recording chain), no text-to-speech")
    only.add_argument("--text-to-speech-only", action="store_true", help="only the text-to-speech (Kokoro, hibari, Piper, eSpeak, flite), no copies or clones")
    parser.add_argument("--generated-sources", nargs="+", metavar="SOURCE", help="only the generated files of these sources (e.g. voxtwin_flite)")
    add_seeds_option(parser)
    args = parser.parse_args()
    if not (args.generated / "manifest.csv").is_file():
        parser.error(f"{args.generated}/manifest.csv not found: run recipes/default_detector/make_data.py first, or pass --generated DIR")
    rows, labels, sources = start(args)
    train_sources = training_sources(args.train_on, labels == 1, sources)
    features = {ch: all_front_ends(rows, args.data, args.cache, ch, [MODEL]) for ch in args.channels}
    kind = "made-from-recordings" if args.made_from_recordings_only else "text-to-speech" if args.text_to_speech_only else "all"
    copies, counts = generated_copies(rows, args.generated, args.cache, args.channels, kind=kind, only_sources=args.generated_sources)
    if args.features_only:
        return
    fit = lambda chosen: out_of_fold(features, MODELS[MODEL], labels, sources, c=args.c, copies=chosen, head="mlp",  # noqa: E731
                                     train_sources=train_sources, mlp=MLPHeadSettings(seeds=tuple(args.seeds)))
    results = {name: printed_results(name, fit(chosen), labels, sources, prior=args.prior)
               for name, chosen in {"without generated speech": (), "+ the project's generated speech": (copies,)}.items()}
    save_results(args, results, files=len(rows), generated=counts, head="mlp", train_on=args.train_on, kind=kind, seeds=args.seeds)


if __name__ == "__main__":
    main()
