"""recipes/default_detector/copy_distance.py: how close make_data.py's vocoded copies are to their originals."""

import csv
import json
import subprocess
import sys
from pathlib import Path

from detect.testing import make_manifest
from voice.vocoders import load_vocoder
from voxtwin import audio

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "recipes" / "default_detector" / "copy_distance.py"


def _generated(shared: Path, out: Path) -> Path:
    """Copies named and listed as make_data.py writes them: SOURCE_UTTERANCE.flac, kind "vocoder"."""
    rows = []
    real = [r for r in csv.DictReader((shared / "manifest.csv").open()) if r["label"] == "bonafide"][:3]
    for name in ("griffin-lim", "mel-griffin-lim"):
        vocoder = load_vocoder(name)
        for r in real:
            wav, rate = audio.load(shared / r["path"])
            rel = f"voxtwin_{name}/{r['source']}_{Path(r['path']).stem}.flac"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            audio.save(out / rel, vocoder.resynthesize(wav, rate).clip(-1, 1), vocoder.sample_rate)
            rows.append({"path": rel, "label": "spoof", "system": name, "kind": "vocoder", "corpus": "voxtwin", "speaker": r["speaker"],
                         "sample_rate": vocoder.sample_rate, "duration_s": r["duration_s"], "source": f"voxtwin_{name}", "source_repo": "voxtwin",
                         "license": "generated", "variant": f"{name} resynthesis of {r['source']}"})
    with (out / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
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
