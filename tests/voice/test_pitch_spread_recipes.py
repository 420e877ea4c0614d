"""The pitch-spread study's recipes (recipes/voice_converter/pitch_spread_prior.py, pitch_context_diagnosis.py): the
shrinkage they measure, and one-line errors without ../shared/data (a fresh clone has none)."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from voice.converter.backend import shrunk_spread

ROOT = Path(__file__).resolve().parents[2]


def test_the_shrunk_spread_is_the_recordings_without_a_prior_and_the_priors_without_frames():
    own, n = np.array([0.1, 0.3]), np.array([100.0, 100.0])
    np.testing.assert_allclose(shrunk_spread(own, n, 0.2, 0), own)
    np.testing.assert_allclose(shrunk_spread(own, np.zeros(2), 0.2, 50), [0.2, 0.2])
    np.testing.assert_allclose(shrunk_spread(np.array([0.1]), np.array([100.0]), 0.2, 100), [np.sqrt((0.01 + 0.04) / 2)])


def test_without_the_data_each_recipe_says_so_in_one_line(tmp_path):
    for script, extra in (("pitch_spread_prior.py", []), ("pitch_context_diagnosis.py", [str(tmp_path / "clone.json")])):
        done = subprocess.run([sys.executable, str(ROOT / "recipes/voice_converter" / script), *extra, "--data", str(tmp_path)],
                              capture_output=True, text=True, cwd=ROOT)
        assert done.returncode != 0 and "not found" in done.stderr and "Traceback" not in done.stderr, script
