"""The paired bootstrap of EER differences (detect/paired_bootstrap.py) and its recipe command."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detect.paired_bootstrap import eer_points, paired_eer_difference

ROOT = Path(__file__).resolve().parents[2]


def scored_set(n: int = 120, seed: int = 0):
    rng = np.random.default_rng(seed)
    is_fake = np.arange(n) % 2 == 1
    good = np.clip(0.5 + 0.25 * np.where(is_fake, 1, -1) + 0.2 * rng.standard_normal(n), 0, 1)  # EER ~ 10 %
    coin = rng.uniform(size=n)  # chance: EER ~ 50 %
    return is_fake, good, coin


def test_a_detector_against_itself_differs_by_nothing():
    is_fake, good, _ = scored_set()
    result = paired_eer_difference({"clean": good}, {"clean": good.copy()}, is_fake, draws=200)
    assert result["clean"].points == result["clean"].low == result["clean"].high == 0.0 and result["mean"].points == 0.0


def test_a_clearly_worse_detector_has_an_interval_above_zero():
    is_fake, good, coin = scored_set()
    result = paired_eer_difference({"clean": good, "opus": good}, {"clean": coin, "opus": good}, is_fake, draws=300)
    assert result["clean"].points == pytest.approx(eer_points(coin, is_fake) - eer_points(good, is_fake))
    assert result["clean"].low > 10 and result["opus"].points == 0.0
    assert result["mean"].points == pytest.approx(result["clean"].points / 2)


def test_resampling_whole_groups_widens_the_interval_when_files_are_not_independent():
    is_fake, good, coin = scored_set(n=40, seed=1)
    copies = 6  # every file six times, as a speaker's files share what they sound like
    is_fake, good, coin = (np.repeat(x, copies) for x in (is_fake, good, coin))
    groups = [str(i // copies) for i in range(len(is_fake))]
    by_file = paired_eer_difference({"clean": good}, {"clean": coin}, is_fake, draws=400)["clean"]
    by_group = paired_eer_difference({"clean": good}, {"clean": coin}, is_fake, groups, draws=400)["clean"]
    assert by_file.points == by_group.points
    assert (by_group.high - by_group.low) > 1.5 * (by_file.high - by_file.low)


def test_refuses_sets_it_cannot_judge():
    is_fake, good, coin = scored_set()
    with pytest.raises(ValueError, match="same channels"):
        paired_eer_difference({"clean": good}, {"opus": coin}, is_fake)
    with pytest.raises(ValueError, match="real and synthetic"):
        paired_eer_difference({"clean": good}, {"clean": coin}, np.zeros_like(is_fake))


def test_recipe_reads_compare_json_and_writes_the_intervals(tmp_path):
    is_fake, good, coin = scored_set()
    paths = [f"data/source/spk{i % 10}/f{i}.flac" for i in range(len(is_fake))]
    models = {name: {"detector": name, "channels": {"clean": {"p_synthetic": p.tolist()}}} for name, p in (("default", good), ("other", coin))}
    (tmp_path / "compare.json").write_text(json.dumps({"calibration": {"paths": paths, "is_synthetic": is_fake.astype(int).tolist(), "models": models}}))
    command = [sys.executable, str(ROOT / "recipes/default_detector/paired_interval.py"), str(tmp_path / "compare.json"), "--draws", "100", "--json", str(tmp_path / "out.json")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["group_by"] == "speaker" and set(report["models"]) == {"other"} and report["models"]["other"]["clean"]["low"] > 0
    bad = subprocess.run([*command[:3], "--baseline", "nobody"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0 and "no detector 'nobody'" in bad.stderr and "Traceback" not in bad.stderr


def test_recipe_compares_only_the_channels_named(tmp_path):
    """A run that also scored check channels: --channels keeps `mean` to the reported ones, and refuses a channel the
    JSON does not hold."""
    is_fake, good, coin = scored_set()
    paths = [f"data/source/spk{i % 10}/f{i}.flac" for i in range(len(is_fake))]
    channels = lambda p, q: {"clean": {"p_synthetic": p.tolist()}, "opus_32k": {"p_synthetic": q.tolist()}}  # noqa: E731
    models = {"default": {"channels": channels(good, good)}, "other": {"channels": channels(good, coin)}}
    (tmp_path / "compare.json").write_text(json.dumps({"calibration": {"paths": paths, "is_synthetic": is_fake.astype(int).tolist(), "models": models}}))
    command = [sys.executable, str(ROOT / "recipes/default_detector/paired_interval.py"), str(tmp_path / "compare.json"), "--draws", "50", "--json", str(tmp_path / "out.json")]
    both = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert both.returncode == 0, both.stderr
    assert json.loads((tmp_path / "out.json").read_text())["models"]["other"]["mean"]["difference_points"] > 0  # the coin-toss channel counts
    clean = subprocess.run([*command, "--channels", "clean"], capture_output=True, text=True, cwd=ROOT)
    assert clean.returncode == 0, clean.stderr
    report = json.loads((tmp_path / "out.json").read_text())["models"]["other"]
    assert set(report) == {"clean", "mean"} and report["mean"]["difference_points"] == 0
    bad = subprocess.run([*command, "--channels", "aac_48k"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0 and "no channel aac_48k" in bad.stderr and "Traceback" not in bad.stderr
