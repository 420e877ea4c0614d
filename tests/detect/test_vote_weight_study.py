"""The vote's weight on unseen pages (recipes/detector_v2/vote_weight.py), read from fusion_loso.py --scores-out: the
ends of the curve are each head alone, the middle is the shipped equal vote, and a head right on a page where the other
is wrong shows up as a better weight."""

import subprocess
import sys
from pathlib import Path

import numpy as np

STUDY = Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"
sys.path.insert(0, str(STUDY))

from fusion_loso import write_scores  # noqa: E402
from frontends_loso import report  # noqa: E402
from vote_weight import read_scores, weight_curve  # noqa: E402


def _two_heads(seed: int = 0):
    """40 real files and two fake pages of 20: head `a` sees page p1 (its fakes low), head `b` sees page p2; each is at
    chance on the other page."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1, 1], [40, 20, 20])
    sources = np.repeat(["real", "p1", "p2"], [40, 20, 20])
    noise = lambda: rng.standard_normal(len(labels))  # noqa: E731
    a = noise() - 3.0 * (sources == "p1")  # bona fide log-odds: a page's fakes lower than real speech
    b = noise() - 3.0 * (sources == "p2")
    return {"a": {"clean": a}, "b": {"clean": b}}, labels, sources


def test_the_curves_ends_are_each_head_alone_and_the_combination_beats_both(tmp_path):
    scores, labels, sources = _two_heads()
    path = tmp_path / "scores.npz"
    write_scores(path, scores, labels, sources, [f"f{i}.wav" for i in range(len(labels))])
    read, read_labels, read_sources = read_scores(path)
    np.testing.assert_array_equal(read["a"]["clean"], scores["a"]["clean"])
    np.testing.assert_array_equal(read_labels, labels)
    assert list(read_sources) == list(sources)

    rows = {row["weight"]: row for row in weight_curve(read, read_labels, read_sources, ("a", "b"), [0.0, 0.5, 1.0], ["clean"], draws=200)}
    assert rows[0.0]["channels"]["clean"] == report(scores["a"]["clean"], labels, sources)
    assert rows[1.0]["channels"]["clean"] == report(scores["b"]["clean"], labels, sources)
    assert "against_equal" not in rows[0.5]  # the equal weight is the baseline
    assert rows[0.5]["mean_of_channels"] < min(rows[0.0]["mean_of_channels"], rows[1.0]["mean_of_channels"])
    assert rows[0.0]["against_equal"]["mean"] > 0 and rows[0.0]["against_equal"]["pages"] == 2


def test_the_command_line_refuses_what_it_cannot_read_in_one_line(tmp_path):
    bad = tmp_path / "not_scores.npz"
    bad.write_text("nothing here")
    done = subprocess.run([sys.executable, str(STUDY / "vote_weight.py"), str(bad), "--models", "a", "b"], capture_output=True, text=True)
    assert done.returncode == 1 and "not a fusion_loso.py --scores-out file" in done.stderr and "Traceback" not in done.stderr

    scores, labels, sources = _two_heads()
    good = tmp_path / "scores.npz"
    write_scores(good, scores, labels, sources, ["x.wav"] * len(labels))
    done = subprocess.run([sys.executable, str(STUDY / "vote_weight.py"), str(good), "--models", "a", "c", "--channels", "clean"], capture_output=True, text=True)
    assert done.returncode == 1 and "no scores for c|clean (it holds models a, b)" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, str(STUDY / "vote_weight.py"), str(good), "--models", "a", "b", "--weights", "1.5"], capture_output=True, text=True)
    assert done.returncode == 2 and "--weights" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, str(STUDY / "vote_weight.py"), str(good), "--models", "a", "b", "--channels", "clean", "--draws", "100"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.count("\nw ") == 11
