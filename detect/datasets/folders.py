"""Folder-layout corpora: In-the-Wild, WaveFake, MLAAD, and the generic manifest CSV."""

from __future__ import annotations

from pathlib import Path

from detect.datasets.trial import DATASETS, DatasetLayoutError, Trial, inside, read_table, require, require_files
from voxtwin.audio import is_audio_path

ITW_LABELS = {"bona-fide": "bonafide", "bonafide": "bonafide", "spoof": "spoof"}
WAVEFAKE_REAL = {"ljspeech": ("LJSpeech-1.1", "wavs"), "jsut": ("jsut_ver1.1", "basic5000/wav")}


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_audio_path(p))


def _only_eval(name: str, split: str) -> None:
    if split not in ("eval", "all"):
        raise DatasetLayoutError(f"{name} has no official {split!r} split; use split 'eval' (all files)")


@DATASETS.register("in_the_wild")
def in_the_wild(root: Path, split: str = "eval") -> list[Trial]:
    """`root` holds meta.csv (file,speaker,label with bona-fide/spoof) and the audio files it names."""
    _only_eval("In-the-Wild", split)
    meta = require(root / "meta.csv", "meta.csv (columns file,speaker,label)")
    trials = []
    columns, rows = read_table(meta)
    if not {"file", "speaker", "label"} <= set(columns):
        raise DatasetLayoutError(f"{meta}: expected columns file,speaker,label; found {','.join(columns)}")
    for row in rows:
        label = ITW_LABELS.get(row["label"].strip())
        if label is None:
            raise DatasetLayoutError(f"{meta}: label {row['label']!r} for {row['file']}; expected bona-fide or spoof")
        path = inside(root, row["file"], meta)
        trials.append(Trial(path, label, "-" if label == "bonafide" else "in_the_wild", row["speaker"], Path(row["file"]).stem, "in_the_wild"))
    return require_files(trials, root, "meta.csv")


@DATASETS.register("wavefake")
def wavefake(root: Path, split: str = "eval") -> list[Trial]:
    """`root` holds generated_audio/<corpus>_<vocoder>/ and the real corpus (LJSpeech-1.1/wavs and/or
    jsut_ver1.1/basic5000/wav) for the corpora that appear there."""
    _only_eval("WaveFake", split)
    generated = require(root / "generated_audio", "generated_audio/ (the WaveFake vocoder folders)")
    trials, corpora = [], set()
    for folder in sorted(p for p in generated.iterdir() if p.is_dir()):
        corpus, _, vocoder = folder.name.partition("_")
        if not vocoder:
            raise DatasetLayoutError(f"{folder}: expected a folder named <corpus>_<vocoder>, e.g. ljspeech_melgan")
        corpora.add(corpus)
        trials += [Trial(p, "spoof", vocoder, corpus, p.stem, folder.name, {"corpus": corpus}) for p in _audio_files(folder)]
    if not trials:
        raise DatasetLayoutError(f"{generated}: no generated audio")
    for corpus in sorted(corpora):
        if corpus not in WAVEFAKE_REAL:
            raise DatasetLayoutError(f"{root}: unknown WaveFake corpus {corpus!r}; expected one of {', '.join(WAVEFAKE_REAL)}")
        top, sub = WAVEFAKE_REAL[corpus]
        real = require(root / top / sub, f"the real {corpus} speech ({top}/{sub})")
        trials += [Trial(p, "bonafide", "-", corpus, p.stem, corpus, {"corpus": corpus}) for p in _audio_files(real)]
    return trials


@DATASETS.register("mlaad")
def mlaad(root: Path, split: str = "eval") -> list[Trial]:
    """`root` holds fake/<lang>/<model>/ (MLAAD) and mailabs/<lang>/by_book/<gender>/<speaker>/<book>/wavs/
    (M-AILABS, the bona fide side)."""
    _only_eval("MLAAD", split)
    fake = require(root / "fake", "fake/<language>/<model>/ (MLAAD)")
    real = require(root / "mailabs", "mailabs/<language>/by_book/... (M-AILABS real speech)")
    trials = []
    for path in _audio_files(fake):
        lang, model = path.relative_to(fake).parts[:2]
        trials.append(Trial(path, "spoof", model, "-", path.stem, f"mlaad/{lang}/{model}", {"language": lang}))
    for path in _audio_files(real):
        parts = path.relative_to(real).parts
        lang = parts[0]
        speaker = parts[3] if len(parts) > 4 else "-"
        trials.append(Trial(path, "bonafide", "-", speaker, path.stem, f"mailabs/{lang}", {"language": lang}))
    if not any(t.is_spoof for t in trials) or all(t.is_spoof for t in trials):
        raise DatasetLayoutError(f"{root}: MLAAD needs both fake/ and mailabs/ audio")
    return trials


MANIFEST_COLUMNS = ("path", "label", "system", "speaker", "source")


@DATASETS.register("manifest")
def manifest(root: Path, split: str = "all", *, manifest_name: str = "manifest.csv") -> list[Trial]:
    """`root` holds manifest.csv (path,label,system,speaker,source,... with paths relative to root), like
    ../shared/data. Every column is kept in the metadata."""
    if split not in ("all", "eval", "train"):
        raise DatasetLayoutError(f"the manifest has no {split!r} split; splits are made by source (leave-one-source-out)")
    table = require(root / manifest_name, f"{manifest_name} (columns {','.join(MANIFEST_COLUMNS)},...)")
    trials = []
    columns, rows = read_table(table)
    missing_cols = set(MANIFEST_COLUMNS) - set(columns)
    if missing_cols:
        raise DatasetLayoutError(f"{table}: missing columns {', '.join(sorted(missing_cols))}")
    for row in rows:
        if row["label"] not in ("bonafide", "spoof"):
            raise DatasetLayoutError(f"{table}: label {row['label']!r} for {row['path']}; expected bonafide or spoof")
        path = inside(root, row["path"], table)
        trials.append(Trial(path, row["label"], row["system"], row["speaker"], path.stem, row["source"], dict(row)))
    return require_files(trials, root, manifest_name)
