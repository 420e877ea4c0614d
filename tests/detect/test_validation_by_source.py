"""recipes/default_detector/validation_by_source.py reads run.py's cached validation statistics; without them it
says what to run in one line (its per-source figures need ../shared/data and a run.py run)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_without_cached_validation_statistics_it_says_what_to_run(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "recipes/default_detector/validation_by_source.py"), str(tmp_path / "a.safetensors"),
                           "--stats-dir", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode != 0 and "found 0: run recipes/default_detector/run.py first" in done.stderr and "Traceback" not in done.stderr


def test_a_compare_json_is_broken_down_by_source_and_a_bad_one_is_one_line(tmp_path):
    import json

    paths = [str(tmp_path / folder / f"{i}.flac") for folder in ("corpus", "page") for i in range(3)]
    result = {"calibration": {"paths": paths, "is_synthetic": [False] * 3 + [True] * 3, "models": {"head": {"channels": {
        "clean": {"p_synthetic": [0.1, 0.2, 0.3, 0.9, 0.8, 0.25]}}}}}}
    (tmp_path / "compare.json").write_text(json.dumps(result))
    script = [sys.executable, str(ROOT / "recipes/default_detector/validation_by_source.py"), "--compare"]
    done = subprocess.run([*script, str(tmp_path / "compare.json")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[1]: line for line in done.stdout.splitlines() if line.strip().startswith(("real", "synthetic"))}
    assert "3 files" in lines["page"] and "EER vs all real  33.3 %" in lines["page"]  # one fake (0.25) below the top real (0.3)
    assert "calibration / head / clean: pooled EER 33.3 %" in done.stdout
    (tmp_path / "bad.json").write_text("{}x")
    bad = subprocess.run([*script, str(tmp_path / "bad.json")], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0 and "is not a compare.py --json file" in bad.stderr and "Traceback" not in bad.stderr
