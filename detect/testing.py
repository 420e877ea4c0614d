"""Miniature copies of every official corpus layout, filled with generated audio (bona fide = speech-like
synthesis, spoof = its WORLD-vocoded copy), for tests, demos and recipe smoke runs. No real data needed."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf

from detect.data import INT16_SCALE
from voxtwin.testing import speechlike, world_copy

SAMPLE_RATE = 16_000


def _pair(seed: int, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    real = speechlike(duration_s=duration_s, sample_rate=SAMPLE_RATE, f0_hz=90 + 15 * (seed % 8), seed=seed)
    return real, world_copy(speechlike(duration_s=duration_s, sample_rate=SAMPLE_RATE, f0_hz=95 + 13 * (seed % 7), seed=seed + 1000))


def vocoded_pairs(seeds) -> tuple[list[np.ndarray], np.ndarray]:
    """(int16 waveforms, bona fide flags): 5 s of speech-like audio per seed and its WORLD-vocoded copy, the way
    the recipes hold audio; for fitting and checking window-statistics heads."""
    waves, bonafide = [], []
    for seed in seeds:
        real = speechlike(duration_s=5.0, sample_rate=SAMPLE_RATE, seed=seed, f0_hz=100 + 7 * seed)
        for label, wav in ((True, real), (False, world_copy(real))):
            waves.append(np.round(np.clip(wav, -1, 1) * INT16_SCALE).astype(np.int16))
            bonafide.append(label)
    return waves, np.array(bonafide)


def tiny_gmm_detector(path: Path, *, scoring: dict, n_pairs: int = 6) -> Path:
    """A real detector small enough for tests: an LFCC-GMM (4 components) fitted on speech-like audio (bona fide)
    against its WORLD-vocoded copies, saved at `path` with `scoring` (calibration, window_s, version, ...)."""
    import torch

    from detect.checkpoints import save_detector
    from detect.models.gmm import GMMConfig, GMMCountermeasure

    gmm = GMMCountermeasure(GMMConfig(n_components=4, max_iter=30))
    frames: dict[int, list[np.ndarray]] = {0: [], 1: []}
    for seed in range(n_pairs):
        real = speechlike(duration_s=2.0, seed=seed, f0_hz=100 + 10 * seed)
        for label, wav in ((1, real), (0, world_copy(real))):
            frames[label].append(gmm.frames(torch.from_numpy(wav)[None]).numpy())
    gmm.fit(np.concatenate(frames[1]), np.concatenate(frames[0]))
    return save_detector(path, gmm, name="lfcc-gmm", record={"config": {"crop_samples": 32_000}}, scoring=scoring)


def _write(path: Path, wav: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wav, SAMPLE_RATE)
    return path


def make_asvspoof2019_la(root: Path, *, n_per_class: int = 4, duration_s: float = 1.0) -> Path:
    la = root / "LA"
    protocols = la / "ASVspoof2019_LA_cm_protocols"
    protocols.mkdir(parents=True, exist_ok=True)
    for split, letter, suffix, attacks in (("train", "T", "train.trn", ["A01", "A02"]), ("dev", "D", "dev.trl", ["A03", "A04"]), ("eval", "E", "eval.trl", ["A07", "A17"])):
        lines = []
        for i in range(n_per_class):
            real, fake = _pair(hash((split, i)) % 10_000, duration_s)
            for key, wav, system in (("bonafide", real, "-"), ("spoof", fake, attacks[i % 2])):
                utt = f"LA_{letter}_{len(lines):07d}"
                _write(la / f"ASVspoof2019_LA_{split}" / "flac" / f"{utt}.flac", wav)
                lines.append(f"LA_{i % 3:04d} {utt} - {system} {key}")
        (protocols / f"ASVspoof2019.LA.cm.{suffix}.txt").write_text("\n".join(lines) + "\n")
    return root


def make_asvspoof2021(root: Path, track: str = "LA", *, n_per_class: int = 4, duration_s: float = 1.0) -> Path:
    lines = []
    for i in range(n_per_class):
        real, fake = _pair(500 + i, duration_s)
        for key, wav, system in (("bonafide", real, "bonafide"), ("spoof", fake, ("A07", "A19")[i % 2])):
            utt = f"{track}_E_{len(lines):07d}"
            _write(root / f"ASVspoof2021_{track}_eval" / "flac" / f"{utt}.flac", wav)
            if track == "LA":
                lines.append(f"LA_{i:04d} {utt} alaw ita_tx {system} {key} notrim eval")
            else:
                lines.append(f"LA_{i:04d} {utt} mp3m4a vcc2020 {system} {key} notrim progress traditional_vocoder - - - -")
    keys = root / "keys" / track / "CM"
    keys.mkdir(parents=True, exist_ok=True)
    (keys / "trial_metadata.txt").write_text("\n".join(lines) + "\n")
    return root


def make_asvspoof5(root: Path, *, n_per_class: int = 4, duration_s: float = 1.0) -> Path:
    for split, letter, protocol, folder in (("train", "T", "ASVspoof5.train.tsv", "flac_T"), ("dev", "D", "ASVspoof5.dev.track_1.tsv", "flac_D"), ("eval", "E", "ASVspoof5.eval.track_1.tsv", "flac_E_eval")):
        lines = []
        for i in range(n_per_class):
            real, fake = _pair(hash(("5", split, i)) % 10_000, duration_s)
            for key, wav, attack in (("bonafide", real, "bonafide"), ("spoof", fake, ("A01", "A05")[i % 2])):
                utt = f"{letter}_{len(lines):010d}"
                _write(root / folder / f"{utt}.flac", wav)
                lines.append(f"{letter}_{i:04d} {utt} F - - - AC3 {attack} {key} -")
        (root / protocol).write_text("\n".join(lines) + "\n")
    return root


def make_in_the_wild(root: Path, *, n_per_class: int = 4, duration_s: float = 1.0) -> Path:
    rows = []
    for i in range(n_per_class):
        real, fake = _pair(700 + i, duration_s)
        for label, wav in (("bona-fide", real), ("spoof", fake)):
            name = f"{len(rows)}.wav"
            _write(root / name, wav)
            rows.append({"file": name, "speaker": f"Speaker {i % 2}", "label": label})
    with (root / "meta.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["file", "speaker", "label"])
        writer.writeheader()
        writer.writerows(rows)
    return root


def make_wavefake(root: Path, *, n_per_class: int = 4, duration_s: float = 1.0) -> Path:
    for i in range(n_per_class):
        real, fake = _pair(800 + i, duration_s)
        _write(root / "LJSpeech-1.1" / "wavs" / f"LJ001-{i:04d}.wav", real)
        vocoder = ("melgan", "hifiGAN")[i % 2]
        _write(root / "generated_audio" / f"ljspeech_{vocoder}" / f"LJ001-{i:04d}_gen.wav", fake)
    return root


def make_mlaad(root: Path, *, n_per_class: int = 4, duration_s: float = 1.0) -> Path:
    for i in range(n_per_class):
        real, fake = _pair(900 + i, duration_s)
        _write(root / "mailabs" / "en_US" / "by_book" / "female" / f"speaker{i % 2}" / "book" / "wavs" / f"utt{i}.wav", real)
        _write(root / "fake" / "en" / ("tts_models_en_vits", "griffin_lim")[i % 2] / f"fake{i}.wav", fake)
    return root


def make_manifest(root: Path, *, n_per_class: int = 4, duration_s: float = 1.0, sources: tuple[str, ...] = ("demo_a", "demo_b"),
                  fake_only_sources: tuple[str, ...] = ()) -> Path:
    """Like ../shared/data: two mixed sources plus a bona fide-only corpus (and any fake-only pages), listed in manifest.csv."""
    rows = []
    for s, source in enumerate(sources + ("real_corpus",) + fake_only_sources):
        for i in range(n_per_class):
            real, fake = _pair(1000 + 10 * s + i, duration_s)
            items = ([] if source in fake_only_sources else [("bonafide", real, "ground_truth", "real")]) + ([] if source == "real_corpus" else [("spoof", fake, f"system_{s}", "tts")])
            for label, wav, system, kind in items:
                rel = f"{source}/{label}_{i}.flac"
                _write(root / rel, wav)
                rows.append({"path": rel, "label": label, "system": system, "kind": kind, "corpus": "synthetic", "speaker": f"{source}_spk{i}",
                             "sample_rate": SAMPLE_RATE, "duration_s": duration_s, "source": source, "source_repo": "-", "license": "CC0", "variant": "-"})
    write_manifest(root, rows)
    return root


def write_manifest(root: Path, rows: list[dict]) -> None:
    """ROOT/manifest.csv in ../shared/data's format, one row per file (columns from the first row)."""
    with (root / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


LAYOUTS = {
    "asvspoof2019_la": make_asvspoof2019_la,
    "asvspoof2021_la": lambda root, **kw: make_asvspoof2021(root, "LA", **kw),
    "asvspoof2021_df": lambda root, **kw: make_asvspoof2021(root, "DF", **kw),
    "asvspoof5": make_asvspoof5,
    "in_the_wild": make_in_the_wild,
    "wavefake": make_wavefake,
    "mlaad": make_mlaad,
    "manifest": make_manifest,
}
