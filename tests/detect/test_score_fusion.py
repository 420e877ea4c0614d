"""recipes/default_detector/score_fusion.py: a fused row from compare.py's saved probabilities (mean log-odds)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "recipes" / "default_detector"))

from score_fusion import fusion_table, fused_p_synthetic  # noqa: E402


def _compare(a: list[float], b: list[float]) -> dict:
    fake = [0, 0, 0, 1, 1, 1]
    return {"report": {"is_synthetic": fake, "models": {"a": {"channels": {"clean": {"p_synthetic": a}}}, "b": {"channels": {"clean": {"p_synthetic": b}}}}}}


def test_fusion_is_the_mean_of_log_odds():
    p = fused_p_synthetic([np.array([0.9, 0.5]), np.array([0.1, 0.8])])
    np.testing.assert_allclose(p, [0.5, 1 / (1 + np.exp(-np.log(4) / 2))])


def test_two_detectors_wrong_on_different_files_fuse_into_a_better_one():
    # a misses fake 3 (scores it 0.2), b accuses real 0 (scores it 0.95): each has an error, the mean of log-odds has none
    table = fusion_table(_compare([0.3, 0.2, 0.1, 0.2, 0.9, 0.8], [0.95, 0.3, 0.2, 0.99, 0.7, 0.9]), ["a", "b"])["report"]
    assert table["a"]["clean"]["eer_percent"] > 0 and table["b"]["clean"]["eer_percent"] > 0
    assert table["fused"]["clean"]["eer_percent"] == 0
    assert table["b"]["clean"]["real_called_synthetic_percent"] > 0 == table["fused"]["clean"]["real_called_synthetic_percent"]


def test_fusing_a_detector_with_itself_changes_nothing_and_a_missing_one_is_one_line(tmp_path):
    compare = _compare([0.3, 0.6, 0.1, 0.2, 0.9, 0.8], [0.3, 0.6, 0.1, 0.2, 0.9, 0.8])
    table = fusion_table(compare, ["a", "b"])["report"]
    assert table["fused"] == table["a"]
    (tmp_path / "c.json").write_text(json.dumps(compare))
    done = subprocess.run([sys.executable, str(ROOT / "recipes/default_detector/score_fusion.py"), str(tmp_path / "c.json"), "--models", "a", "zz"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode != 0 and "scored no zz" in done.stderr and "Traceback" not in done.stderr
