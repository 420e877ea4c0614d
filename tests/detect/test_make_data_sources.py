"""recipes/default_detector/make_data.py --sources: one page made alone, the manifest keeping the other pages' rows."""

import csv
import subprocess
import sys
from pathlib import Path

from voxtwin import audio
from voxtwin.testing import speechlike

SCRIPT = Path(__file__).resolve().parents[2] / "recipes" / "default_detector" / "make_data.py"
FIELDS = ["path", "label", "system", "kind", "corpus", "speaker", "sample_rate", "duration_s", "source", "source_repo", "license", "variant"]


def write_manifest(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def row(rel: str, label: str, source: str, speaker: str) -> dict:
    return {"path": rel, "label": label, "system": "x", "kind": "real" if label == "bonafide" else "tts", "corpus": "c", "speaker": speaker,
            "sample_rate": 16000, "duration_s": 2.0, "source": source, "source_repo": "r", "license": "l", "variant": ""}


def test_one_page_is_made_alone_and_the_other_pages_rows_stay(tmp_path):
    shared, out = tmp_path / "shared", tmp_path / "generated"
    (shared / "corpus").mkdir(parents=True)
    rows = []
    for i in range(3):
        audio.save(shared / "corpus" / f"u{i}.flac", speechlike(duration_s=2.0, seed=i), 16_000)
        rows.append(row(f"corpus/u{i}.flac", "bonafide", "corpus", f"s{i}"))
    write_manifest(shared / "manifest.csv", rows)
    out.mkdir()
    write_manifest(out / "manifest.csv", [row("voxtwin_piper/p.flac", "spoof", "voxtwin_piper", "joe"),
                                          row("voxtwin_mel-griffin-lim/old.flac", "spoof", "voxtwin_mel-griffin-lim", "s0")])
    done = subprocess.run([sys.executable, str(SCRIPT), "--shared", str(shared), "--out", str(out), "--n-vocoded", "2",
                           "--sources", "voxtwin_mel-griffin-lim"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    with (out / "manifest.csv").open(newline="") as f:
        written = list(csv.DictReader(f))
    by_source = {}
    for r in written:
        by_source.setdefault(r["source"], []).append(r["path"])
    assert by_source["voxtwin_piper"] == ["voxtwin_piper/p.flac"]  # not asked for: kept as it was
    made = by_source["voxtwin_mel-griffin-lim"]
    assert len(made) == 2 and "voxtwin_mel-griffin-lim/old.flac" not in made  # asked for: replaced by what was made
    assert all((out / p).is_file() for p in made)
    assert set(by_source) == {"voxtwin_piper", "voxtwin_mel-griffin-lim"}  # nothing else was made


def test_an_unknown_page_is_refused_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--sources", "voxtwin_nonesuch"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "invalid choice" in done.stderr and "Traceback" not in done.stderr
