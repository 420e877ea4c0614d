"""Grouped bootstrap resampling (voxtwin/grouped_bootstrap.py) and the clone benchmark's intervals built on it
(benchmarks/clone_intervals.py)."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from voxtwin.grouped_bootstrap import grouped_resamples, percentile_interval

ROOT = Path(__file__).resolve().parents[2]


def test_draws_take_whole_groups_within_each_stratum():
    groups = ["a", "a", "a", "b", "b", "c", "d", "d"]
    strata = [0, 0, 0, 0, 0, 1, 1, 1]  # a, b in one stratum; c, d in the other
    for index in grouped_resamples(groups, draws=50, seed=3, strata=strata):
        counts = Counter(groups[i] for i in index)
        assert all(counts[g] % Counter(groups)[g] == 0 for g in counts)  # a group comes whole (possibly twice)
        assert sum(counts[g] // Counter(groups)[g] for g in "ab") == 2 and sum(counts[g] // Counter(groups)[g] for g in "cd") == 2
    with pytest.raises(ValueError, match="one label per file"):
        next(grouped_resamples(groups, draws=1, strata=[0]))


def test_percentile_interval_is_the_central_share():
    assert percentile_interval(np.arange(101), 0.9) == pytest.approx((5.0, 95.0))


def clone_json(tmp_path, *, with_targets: bool) -> Path:
    rng = np.random.default_rng(0)
    targets = [f"T{i}" for i in range(5)]
    convert = [{"speaker_similarity": 0.7 + 0.1 * t + 0.01 * rng.standard_normal(), "wer": 0.1, "rtf": 0.5} | ({"source": f"S{s}", "target": targets[t]} if with_targets else {})
               for t in range(5) for s in range(5)]
    rows = {"convert": convert, "speak": [], "reader_floor": [{"wer": 0.0, "distillmos": 4.5}] * 3}
    path = tmp_path / "clone.json"
    path.write_text(json.dumps({"summary": {}, "rows": rows}))
    return path


@pytest.mark.parametrize("with_targets", [True, False], ids=["named targets", "target order (older files)"])
def test_clone_intervals_group_by_target_and_skip_what_cannot_be_grouped(tmp_path, with_targets):
    script = str(ROOT / "benchmarks/clone_intervals.py")
    done = subprocess.run([sys.executable, script, str(clone_json(tmp_path, with_targets=with_targets)), "--draws", "300", "--json", str(tmp_path / "out.json")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "reader_floor: skipped" in done.stdout
    similarity = json.loads((tmp_path / "out.json").read_text())["systems"]["convert"]["speaker_similarity"]
    assert similarity["mean"] == pytest.approx(0.9, abs=0.01)
    assert similarity["high"] - similarity["low"] > 0.1  # the targets differ by 0.1 each: drawing them whole shows it
    by_pair = subprocess.run([sys.executable, script, str(tmp_path / "clone.json"), "--group-by", "pair", "--draws", "300", "--json", str(tmp_path / "pair.json")],
                             capture_output=True, text=True, cwd=ROOT)
    pair = json.loads((tmp_path / "pair.json").read_text())["systems"]["convert"]["speaker_similarity"]
    assert by_pair.returncode == 0 and pair["high"] - pair["low"] < similarity["high"] - similarity["low"]
    bad = subprocess.run([sys.executable, script, str(tmp_path / "missing.json")], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0 and "is not benchmarks/clone.py --json output" in bad.stderr and "Traceback" not in bad.stderr


def test_clone_intervals_pair_two_runs_and_refuse_runs_of_different_pairs(tmp_path):
    """--baseline: the mean difference pair by pair, with an interval far tighter than either run's own, because
    the spread between targets cancels; speak rows that name only their target pair in order; other pairs refused."""
    script = str(ROOT / "benchmarks/clone_intervals.py")
    rng = np.random.default_rng(1)
    base_rows, new_rows = [], []
    for t in range(5):
        for s in range(5):
            level = 0.5 + 0.08 * t + 0.02 * rng.standard_normal()  # targets differ a lot
            names = {"source": f"S{s}", "target": f"T{t}", "utterance": f"{s}.flac"}
            base_rows.append({"speaker_similarity": level, "wer": 0.1} | names)
            new_rows.append({"speaker_similarity": level + 0.03 + 0.002 * rng.standard_normal(), "wer": 0.1} | names)
    speak_base = [{"distillmos": 3.0 + 0.3 * t, "target": f"T{t}"} for t in range(5) for _ in range(3)]
    speak_new = [{"distillmos": 3.0 + 0.3 * t - 0.2, "target": f"T{t}"} for t in range(5) for _ in range(3)]
    base, new = tmp_path / "base.json", tmp_path / "new.json"
    base.write_text(json.dumps({"rows": {"convert": base_rows, "speak": speak_base}}))
    new.write_text(json.dumps({"rows": {"convert": list(reversed(new_rows)), "speak": speak_new}}))  # order must not matter for named pairs
    done = subprocess.run([sys.executable, script, str(new), "--baseline", str(base), "--draws", "300", "--json", str(tmp_path / "d.json")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "d.json").read_text())
    assert report["differences"] is True
    similarity = report["systems"]["convert"]["speaker_similarity"]
    assert similarity["mean"] == pytest.approx(0.03, abs=0.002) and 0.02 < similarity["low"] <= similarity["high"] < 0.04
    assert report["systems"]["convert"]["wer"]["mean"] == pytest.approx(0.0)
    assert report["systems"]["speak"]["distillmos"]["mean"] == pytest.approx(-0.2)
    alone = subprocess.run([sys.executable, script, str(new), "--draws", "300", "--json", str(tmp_path / "alone.json")], capture_output=True, text=True, cwd=ROOT)
    own = json.loads((tmp_path / "alone.json").read_text())["systems"]["convert"]["speaker_similarity"]
    assert alone.returncode == 0 and own["high"] - own["low"] > 5 * (similarity["high"] - similarity["low"])
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"rows": {"convert": base_rows[:-1], "speak": speak_base}}))
    refused = subprocess.run([sys.executable, script, str(new), "--baseline", str(other), "--draws", "50"], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode == 0 and "convert: skipped (the two runs do not hold the same pairs)" in refused.stdout
    other.write_text(json.dumps({"rows": {"convert": base_rows[:-1]}}))
    nothing = subprocess.run([sys.executable, script, str(new), "--baseline", str(other), "--draws", "50"], capture_output=True, text=True, cwd=ROOT)
    assert nothing.returncode != 0 and "could be paired" in nothing.stderr and "Traceback" not in nothing.stderr


def test_clone_intervals_leave_out_the_pairs_another_run_holds(tmp_path):
    """--leave-out: conversions already looked at (another run's pairs) are dropped from both runs before counting,
    so a candidate is judged only on the rest; rows that cannot be named are refused in one line."""
    script = str(ROOT / "benchmarks/clone_intervals.py")
    base_rows, new_rows, seen_rows = [], [], []
    for t in range(5):
        for s in range(5):
            for u in range(3):
                names = {"source": f"S{s}", "target": f"T{t}", "utterance": f"{s}{u}.flac"}
                base_rows.append({"distillmos": 3.0 + 0.1 * t} | names)
                new_rows.append({"distillmos": 3.0 + 0.1 * t + (0.5 if u == 0 else 0.1)} | names)  # looks best where it was looked at
                if u == 0:
                    seen_rows.append({"distillmos": 0.0} | names)
    base, new, seen = tmp_path / "base.json", tmp_path / "new.json", tmp_path / "seen.json"
    for path, rows in ((base, base_rows), (new, new_rows), (seen, seen_rows)):
        path.write_text(json.dumps({"rows": {"convert": rows}}))
    every = subprocess.run([sys.executable, script, str(new), "--baseline", str(base), "--draws", "100", "--json", str(tmp_path / "all.json")],
                           capture_output=True, text=True, cwd=ROOT)
    rest = subprocess.run([sys.executable, script, str(new), "--baseline", str(base), "--leave-out", str(seen), "--draws", "100", "--json", str(tmp_path / "rest.json")],
                          capture_output=True, text=True, cwd=ROOT)
    assert every.returncode == 0 and rest.returncode == 0, rest.stderr
    assert json.loads((tmp_path / "all.json").read_text())["systems"]["convert"]["distillmos"]["mean"] == pytest.approx(0.7 / 3)
    report = json.loads((tmp_path / "rest.json").read_text())
    assert report["systems"]["convert"]["distillmos"]["mean"] == pytest.approx(0.1) and report["left_out"] == str(seen)
    assert "(50 rows" in rest.stdout
    seen.write_text(json.dumps({"rows": {"convert": [{"distillmos": 0.0, "source": "S0"}]}}))
    refused = subprocess.run([sys.executable, script, str(new), "--leave-out", str(seen)], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode != 0 and "--leave-out needs rows that name their target" in refused.stderr and "Traceback" not in refused.stderr
