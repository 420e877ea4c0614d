"""Make the project's own synthetic speech for training the default detector, offline:

- vocoded copies of real speech from ../shared/data: HiFi-GAN V1 (bundled), WORLD, Griffin-Lim from an 80-band mel
  (until 2026-12-04 Griffin-Lim from each file's exact magnitude, a near-transparent copy: voice/vocoders.py);
- text-to-speech: Piper (en_US-joe-medium, bundled) at several speaking rates, eSpeak NG in several voices, and
  Kokoro-82M (its 5 bundled voices reading English through hibari-tts's G2P), hibari-tts's own voice (3 seeds), and
  the CMU flite voices when Debian's `flite` is installed (skipped with a message otherwise);
- voxtwin's own clones: real utterances converted into other real speakers' voices by `voxtwin voice convert`'s
  built-in backends (kNN-WORLD at timbre 0.5 and 1.0, and the trained converter vox-vc), and sentences spoken by
  `voxtwin voice speak` in those voices (piper-knn, and hibari read + vox-vc).
  Written without the watermark, so the detector learns the clones' sound, not the mark (which is read separately).

Writes OUT/manifest.csv in the ../shared/data format (paths relative to OUT), one source per generator. `--sources` makes
only some pages (the rows of pages already in OUT/manifest.csv are kept): the calibration set needs only
voxtwin_mel-griffin-lim, which takes a minute, while everything takes ~40.

    python recipes/default_detector/make_data.py --shared ../shared/data --out runs/default_detector/generated
    python recipes/default_detector/make_data.py --sources voxtwin_mel-griffin-lim   # what compare.py --sets calibration needs
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from rich.progress import track

from detect.datasets import read_dataset
from voice.tts import load_tts
from voice.vocoders import load_vocoder
from voxtwin import audio

from copy_names import copy_stem  # noqa: I001  (this folder's)

HERE = Path(__file__).resolve().parent
MAX_SOURCE_S = 6.0  # vocode at most this much of each real utterance
ESPEAK_VOICES = [("en-us", 150, 50), ("en-gb-x-rp", 170, 40), ("en-us+f2", 130, 70), ("en-gb-scotland", 160, 55), ("en+klatt2", 150, 45)]
KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
HIBARI_SEEDS = (0, 1, 2)
FLITE_VOICES = ("awb", "rms", "slt", "kal16")
PIPER_SETTINGS = [(1.0, 0.667, 0.8), (0.85, 0.5, 0.6), (1.2, 0.8, 1.0)]
SOURCES = ["voxtwin_hifigan", "voxtwin_world", "voxtwin_mel-griffin-lim", "voxtwin_griffin-lim", "voxtwin_piper", "voxtwin_espeak",
           "voxtwin_kokoro", "voxtwin_hibari", "voxtwin_flite", "voxtwin_clone"]  # every page this script makes (--sources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--out", default="runs/default_detector/generated")
    parser.add_argument("--n-vocoded", type=int, default=80, help="real utterances vocoded by each vocoder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sources", nargs="+", choices=SOURCES, default=SOURCES,
                        help="make only these pages (the manifest then lists only them; e.g. the calibration set's voxtwin_mel-griffin-lim alone)")
    args = parser.parse_args()
    wanted = set(args.sources)
    out = Path(args.out)
    rng = random.Random(args.seed)
    rows: list[dict] = []

    real = [t for t in read_dataset("manifest", args.shared, "all") if not t.is_spoof and t.source != "fsdd"]
    rng.shuffle(real)
    for name in ("hifigan", "world", "mel-griffin-lim"):
        if f"voxtwin_{name}" in wanted:
            rows += _vocoded(out, name, real[: args.n_vocoded], args.shared)
    # Griffin-Lim's phase alone (each file's exact magnitude: near-transparent copies) of other utterances than the mel page's, a
    # training page that the recipe leaves out unless asked (config.toml exclude_sources; detect/MODEL_CARD.md)
    if "voxtwin_griffin-lim" in wanted:
        rows += _vocoded(out, "griffin-lim", real[2 * args.n_vocoded : 3 * args.n_vocoded], args.shared)

    sentences = [s for s in (HERE / "sentences.txt").read_text().splitlines() if s.strip()]
    for i, (length, noise, noise_w) in enumerate(PIPER_SETTINGS if "voxtwin_piper" in wanted else []):
        engine = load_tts("piper", length_scale=length, noise_scale=noise, noise_w_scale=noise_w)
        for j, text in enumerate(track(sentences, description=f"Piper {i + 1}/{len(PIPER_SETTINGS)}")):
            rel = f"voxtwin_piper/piper{i}_{j:03d}.flac"
            y = _existing(out / rel) if (out / rel).is_file() else _save(out, rel, engine.synthesize(text), engine.sample_rate)
            rows.append(_row(rel, "piper-vits", "tts", "joe", engine.sample_rate, len(y), "voxtwin_piper", f"length_scale={length}"))
    for i, (voice, wpm, pitch) in enumerate(ESPEAK_VOICES if "voxtwin_espeak" in wanted else []):
        engine = load_tts("espeak", voice=voice, rate_wpm=wpm, pitch=pitch)
        for j, text in enumerate(sentences):
            rel = f"voxtwin_espeak/espeak{i}_{j:03d}.flac"
            y = _existing(out / rel) if (out / rel).is_file() else _save(out, rel, engine.synthesize(text), engine.sample_rate)
            rows.append(_row(rel, "espeak-ng", "tts", voice, engine.sample_rate, len(y), "voxtwin_espeak", f"{voice} {wpm} wpm"))

    for voice_name in KOKORO_VOICES if "voxtwin_kokoro" in wanted else ():
        engine = load_tts("kokoro", voice=voice_name)
        for j, text in enumerate(track(sentences, description=f"Kokoro {voice_name}")):
            rel = f"voxtwin_kokoro/{voice_name}_{j:03d}.flac"
            y = _existing(out / rel) if (out / rel).is_file() else _save(out, rel, engine.synthesize(text), engine.sample_rate)
            rows.append(_row(rel, "kokoro-82m", "tts", voice_name, engine.sample_rate, len(y), "voxtwin_kokoro", f"Kokoro v1.0 int8, {voice_name}"))

    if "voxtwin_hibari" in wanted:
        hibari = load_tts("hibari")
        for seed in HIBARI_SEEDS:
            hibari.seed = seed
            for j, text in enumerate(track(sentences, description=f"hibari seed {seed}")):
                rel = f"voxtwin_hibari/heart_seed{seed}_{j:03d}.flac"
                y = _existing(out / rel) if (out / rel).is_file() else _save(out, rel, hibari.synthesize(text), hibari.sample_rate)
                rows.append(_row(rel, "hibari-tts", "tts", "heart", hibari.sample_rate, len(y), "voxtwin_hibari", f"hibari heart, seed {seed}"))
    if "voxtwin_flite" in wanted:
        rows += _flite(out, sentences)

    if "voxtwin_clone" in wanted:
        rows += _clones(out, real[args.n_vocoded : 2 * args.n_vocoded], sentences, rng, args.shared)
    repeated = sorted(path for path, n in Counter(r["path"] for r in rows).items() if n > 1)
    if repeated:
        raise SystemExit(f"error: {len(repeated)} generated files would be listed twice, e.g. {repeated[0]}")

    if not rows:
        raise SystemExit("error: nothing was made (flite is not installed?)")
    manifest = out / "manifest.csv"
    if manifest.is_file():  # pages not asked for this time keep their rows
        with manifest.open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["source"] not in wanted] + rows
    with manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} files and {out / 'manifest.csv'}")


def _vocoded(out: Path, name: str, real: list, root: str) -> list[dict]:
    """Copies of real utterances (their first MAX_SOURCE_S seconds) through one vocoder, source voxtwin_NAME."""
    vocoder, rows = load_vocoder(name), []
    for trial in track(real, description=f"Vocoding with {name}"):
        wav, rate = audio.load(trial.path)
        wav = wav[: int(MAX_SOURCE_S * rate)]
        rel = f"voxtwin_{name}/{copy_stem(trial, root)}.flac"
        y = _existing(out / rel) if (out / rel).is_file() else _save(out, rel, vocoder.resynthesize(wav, rate), vocoder.sample_rate)
        rows.append(_row(rel, name, "vocoder", trial.speaker, vocoder.sample_rate, len(y), f"voxtwin_{name}", f"{name} resynthesis of {trial.source}"))
    return rows


def _clones(out: Path, real: list, sentences: list[str], rng: random.Random, root: str) -> list[dict]:
    """voxtwin clones: each utterance converted into the voice of another speaker's utterance (its reference)."""
    import voice
    from voice.backends import load_speak_backend
    from voice.enrollment import EnrollmentError

    from voice.backends import load_convert_backend

    rows = []
    speak_backends = {timbre: load_speak_backend("piper-knn", timbre=timbre) for timbre in (0.5, 1.0)}
    trained_convert, trained_speak = load_convert_backend("vox-vc", device="cpu"), load_speak_backend("vox-vc", device="cpu")
    for i, trial in enumerate(track(real, description="voxtwin clones")):
        reference = next((t for t in real[i + 1 :] + real[:i] if t.speaker != trial.speaker), None)
        if reference is None:
            continue
        try:
            profile = voice.enroll([reference.path], no_consent_reason="detector training data")
        except EnrollmentError:
            continue
        timbre = (0.5, 1.0)[i % 2]
        rel = f"voxtwin_clone/convert_{copy_stem(trial, root)}.flac"
        if (out / rel).is_file():
            y = _existing(out / rel)
        else:
            wav, rate = audio.load(trial.path)
            y, rate = voice.convert(wav[: int(MAX_SOURCE_S * rate)], profile, sample_rate=rate, timbre=timbre, backend="knn-world")
            _save(out, rel, y, rate)
        rows.append(_row(rel, "voxtwin-knn-world", "vc", reference.speaker, 16_000, len(y), "voxtwin_clone", f"convert timbre={timbre}"))
        rel = f"voxtwin_clone/convert_voxvc_{copy_stem(trial, root)}.flac"
        if (out / rel).is_file():
            y = _existing(out / rel)
        else:
            wav, rate = audio.load(trial.path)
            y, rate = voice.convert(wav[: int(MAX_SOURCE_S * rate)], profile, sample_rate=rate, backend=trained_convert)
            _save(out, rel, y, rate)
        rows.append(_row(rel, "voxtwin-vox-vc", "vc", reference.speaker, 16_000, len(y), "voxtwin_clone", "convert vox-vc"))
        rel = f"voxtwin_clone/speak_{copy_stem(trial, root)}.flac"
        if (out / rel).is_file():
            y = _existing(out / rel)
        else:
            y, rate = voice.speak(rng.choice(sentences), profile, backend=speak_backends[timbre])
            _save(out, rel, y, rate)
        rows.append(_row(rel, "voxtwin-piper-knn", "tts", reference.speaker, 16_000, len(y), "voxtwin_clone", f"speak timbre={timbre}"))
        rel = f"voxtwin_clone/speak_voxvc_{copy_stem(trial, root)}.flac"
        if (out / rel).is_file():
            y = _existing(out / rel)
        else:
            y, rate = voice.speak(rng.choice(sentences), profile, backend=trained_speak)
            _save(out, rel, y, rate)
        rows.append(_row(rel, "voxtwin-vox-vc", "tts", reference.speaker, 16_000, len(y), "voxtwin_clone", "speak hibari + vox-vc"))
    return rows


def _flite(out: Path, sentences: list[str]) -> list[dict]:
    """CMU flite's clustergen voices (Debian package `flite`), an older family of statistical TTS."""
    if shutil.which("flite") is None:
        print("flite is not installed (apt install flite): its voices are left out")
        return []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for voice_name in FLITE_VOICES:
            for j, text in enumerate(track(sentences, description=f"flite {voice_name}")):
                rel = f"voxtwin_flite/{voice_name}_{j:03d}.flac"
                if (out / rel).is_file():
                    y, rate = audio.load(out / rel, allow_silence=True)  # the rate as written, not assumed
                else:
                    wav_path = Path(tmp) / "out.wav"
                    subprocess.run(["flite", "-voice", voice_name, "-t", text, "-o", str(wav_path)], check=True, capture_output=True)
                    y, rate = audio.load(wav_path)
                    _save(out, rel, y, rate)
                rows.append(_row(rel, "flite", "tts", voice_name, rate, len(y), "voxtwin_flite", f"flite {voice_name}"))
    return rows


def _save(root: Path, rel: str, wav: np.ndarray, rate: int) -> np.ndarray:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    peak = float(np.max(np.abs(wav))) or 1.0
    audio.save(path, wav / max(peak, 1.0), rate)
    return wav


def _existing(path: Path) -> np.ndarray:
    """Reruns skip files already made (so a rerun that adds a generator leaves the others' files, and the detector's
    cached statistics of them, as they were)."""
    return audio.load(path, allow_silence=True)[0]


def _row(path, system, kind, speaker, rate, n, source, variant) -> dict:
    return {"path": path, "label": "spoof", "system": system, "kind": kind, "corpus": "voxtwin", "speaker": speaker, "sample_rate": rate,
            "duration_s": round(n / rate, 2), "source": source, "source_repo": "voxtwin", "license": "generated", "variant": variant}


if __name__ == "__main__":
    main()
