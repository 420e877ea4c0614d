"""ASVspoof 2019 LA, 2021 LA/DF and ASVspoof 5 layouts, as the organisers distribute them."""

from __future__ import annotations

from pathlib import Path

from detect.datasets.trial import DATASETS, DatasetLayoutError, Trial, require, require_files
from detect.protocols import read_protocol

SPLITS_2019 = {"train": "train.trn", "dev": "dev.trl", "eval": "eval.trl"}
SPLITS_5 = {"train": ("ASVspoof5.train.tsv", "flac_T"), "dev": ("ASVspoof5.dev.track_1.tsv", "flac_D"), "eval": ("ASVspoof5.eval.track_1.tsv", "flac_E_eval")}


def _trials(protocol: Path, audio_dir: Path, source: str) -> list[Trial]:
    trials = []
    for e in read_protocol(protocol):
        path = audio_dir / f"{e.utterance}.flac"
        trials.append(Trial(path, e.key, e.system, e.speaker, e.utterance, source, e.metadata))
    return require_files(trials, audio_dir, protocol.name)


@DATASETS.register("asvspoof2019_la")
def asvspoof2019_la(root: Path, split: str = "eval") -> list[Trial]:
    """`root` is the folder holding `LA/` (or `LA/` itself): LA/ASVspoof2019_LA_cm_protocols/ and
    LA/ASVspoof2019_LA_{train,dev,eval}/flac/."""
    if split not in SPLITS_2019:
        raise DatasetLayoutError(f"unknown split {split!r} for ASVspoof 2019 LA; expected train, dev or eval")
    la = root / "LA" if (root / "LA").is_dir() else root
    protocol = require(la / "ASVspoof2019_LA_cm_protocols" / f"ASVspoof2019.LA.cm.{SPLITS_2019[split]}.txt", "the CM protocol")
    audio_dir = require(la / f"ASVspoof2019_LA_{split}" / "flac", f"the {split} audio folder")
    return _trials(protocol, audio_dir, f"asvspoof2019_la_{split}")


def _asvspoof2021(root: Path, track: str) -> list[Trial]:
    protocol = require(root / "keys" / track / "CM" / "trial_metadata.txt", f"the {track} keys (keys/{track}/CM/trial_metadata.txt from the {track}-keys package)")
    audio_dir = require(root / f"ASVspoof2021_{track}_eval" / "flac", f"the {track} eval audio folder")
    return _trials(protocol, audio_dir, f"asvspoof2021_{track.lower()}")


@DATASETS.register("asvspoof2021_la")
def asvspoof2021_la(root: Path, split: str = "eval") -> list[Trial]:
    """`root` holds ASVspoof2021_LA_eval/flac/ and keys/LA/CM/trial_metadata.txt (eval only)."""
    if split != "eval":
        raise DatasetLayoutError("ASVspoof 2021 LA has only an eval split; train on asvspoof2019_la")
    return _asvspoof2021(root, "LA")


@DATASETS.register("asvspoof2021_df")
def asvspoof2021_df(root: Path, split: str = "eval") -> list[Trial]:
    """`root` holds ASVspoof2021_DF_eval/flac/ (all parts extracted) and keys/DF/CM/trial_metadata.txt."""
    if split != "eval":
        raise DatasetLayoutError("ASVspoof 2021 DF has only an eval split; train on asvspoof2019_la")
    return _asvspoof2021(root, "DF")


@DATASETS.register("asvspoof5")
def asvspoof5(root: Path, split: str = "eval") -> list[Trial]:
    """`root` holds the 10-column protocols ASVspoof5.{train,dev.track_1,eval.track_1}.tsv and
    flac_T/, flac_D/, flac_E_eval/."""
    if split not in SPLITS_5:
        raise DatasetLayoutError(f"unknown split {split!r} for ASVspoof 5; expected train, dev or eval")
    protocol_name, audio_name = SPLITS_5[split]
    protocol = require(root / protocol_name, f"the {split} protocol")
    audio_dir = require(root / audio_name, f"the {split} audio folder")
    return _trials(protocol, audio_dir, f"asvspoof5_{split}")
