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
