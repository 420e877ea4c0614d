"""recipes/default_detector/copy_distance.py: how close make_data.py's vocoded copies are to their originals."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from detect.testing import make_manifest, write_manifest
from voice.vocoders import load_vocoder
from voxtwin import audio

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "recipes" / "default_detector" / "copy_distance.py"


def _generated(shared: Path, out: Path) -> Path:
    """Copies named and listed as make_data.py writes them: the original's path with "_" for "/", kind "vocoder"."""
    rows = []
    real = [r for r in csv.DictReader((shared / "manifest.csv").open()) if r["label"] == "bonafide"][:3]
    for name in ("griffin-lim", "mel-griffin-lim"):
        vocoder = load_vocoder(name)
        for r in real:
            wav, rate = audio.load(shared / r["path"])
            rel = f"voxtwin_{name}/{'_'.join(Path(r['path']).with_suffix('').parts)}.flac"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            audio.save(out / rel, vocoder.resynthesize(wav, rate).clip(-1, 1), vocoder.sample_rate)
            rows.append({"path": rel, "label": "spoof", "system": name, "kind": "vocoder", "corpus": "voxtwin", "speaker": r["speaker"],
                         "sample_rate": vocoder.sample_rate, "duration_s": r["duration_s"], "source": f"voxtwin_{name}", "source_repo": "voxtwin",
                         "license": "generated", "variant": f"{name} resynthesis of {r['source']}"})
    write_manifest(out, rows)
    return out


def test_exact_magnitude_griffin_lim_copies_are_closer_than_mel_ones(tmp_path):
    shared = make_manifest(tmp_path / "shared", duration_s=1.5)
    generated = _generated(shared, tmp_path / "generated")
    done = subprocess.run([sys.executable, str(SCRIPT), "--shared", str(shared), "--generated", str(generated), "--out", str(tmp_path / "d.json")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "d.json").read_text())
    assert {k: v["n"] for k, v in result.items()} == {"voxtwin_griffin-lim": 3, "voxtwin_mel-griffin-lim": 3}
    exact, mel = (result[f"voxtwin_{n}"]["log_spectral_distance_db"]["median"] for n in ("griffin-lim", "mel-griffin-lim"))
    assert exact < mel
    assert result["voxtwin_griffin-lim"]["spectral_convergence_db"]["median"] < result["voxtwin_mel-griffin-lim"]["spectral_convergence_db"]["median"]


def test_a_missing_manifest_is_a_one_line_error(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--shared", str(tmp_path), "--generated", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode != 0 and done.stderr.strip().startswith("error:") and len(done.stderr.strip().splitlines()) == 1


def test_copies_of_recordings_that_share_a_source_and_file_name_get_names_of_their_own(tmp_path):
    """Two folders of one demo page both hold gtexample.flac: each copy is named by its original's whole path, so
    neither reuses the other's file (the old SOURCE_UTTERANCE names repeated), and copy_distance.py pairs each copy
    with its own original."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from copy_names import copy_stem
    finally:
        sys.path.remove(str(SCRIPT.parent))
    from detect.datasets import read_dataset

    shared, generated = tmp_path / "shared", tmp_path / "generated"
    rng = np.random.default_rng(0)
    common = {"system": "-", "kind": "real", "corpus": "demo", "speaker": "", "sample_rate": 16000, "duration_s": 1.0, "source": "demo",
              "source_repo": "x", "license": "x", "variant": "x"}
    real = []
    for k in ("1", "2"):
        rel = f"demo/waves/{k}/gtexample.flac"
        (shared / rel).parent.mkdir(parents=True, exist_ok=True)
        audio.save(shared / rel, 0.1 * rng.standard_normal(16_000), 16_000)
        real.append({"path": rel, "label": "bonafide", **common})
    write_manifest(shared, real)
    stems = [copy_stem(t, shared) for t in read_dataset("manifest", shared, "all")]
    assert sorted(stems) == ["demo_waves_1_gtexample", "demo_waves_2_gtexample"]

    copies = []
    for stem, row in zip(sorted(stems), sorted(real, key=lambda r: r["path"])):
        wav, rate = audio.load(shared / row["path"])
        rel = f"voxtwin_world/{stem}.flac"
        (generated / rel).parent.mkdir(parents=True, exist_ok=True)
        audio.save(generated / rel, wav + 0.01 * rng.standard_normal(len(wav)), rate)
        copies.append({**row, "path": rel, "label": "spoof", "kind": "vocoder", "source": "voxtwin_world"})
    write_manifest(generated, copies)
    done = subprocess.run([sys.executable, str(SCRIPT), "--shared", str(shared), "--generated", str(generated), "--out", str(tmp_path / "d.json")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "d.json").read_text())["voxtwin_world"]["n"] == 2
