"""recipes/detector_v2/page_interval.py: how sure a leave-one-source-out difference is, resampling the held-out pages."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"
sys.path.insert(0, str(RECIPE))

from page_interval import page_bootstrap, page_differences  # noqa: E402


def result(per_page: dict[str, float], telephone_shift: float = 0.0) -> dict:
    return {"clean": {"per_source": per_page}, "telephone_8k": {"per_source": {p: v + telephone_shift for p, v in per_page.items()}}}


def test_a_change_that_wins_on_every_page_has_an_interval_below_zero_and_one_that_trades_pages_does_not():
    rng = np.random.default_rng(0)
    base = {f"page{i}": float(v) for i, v in enumerate(rng.uniform(5, 40, 17))}
    steady = {p: v - 1.0 + rng.uniform(-0.2, 0.2) for p, v in base.items()}  # ~1 point better everywhere
    traded = {p: v + (6.0 if i % 2 else -6.0) for i, (p, v) in enumerate(base.items())}  # big moves both ways, ~0 on average
    pages, d = page_differences(result(base), result(steady), ["clean", "telephone_8k"])
    assert len(pages) == 17 and d.shape == (17, 2)
    r = page_bootstrap(d)
    assert r["high"] < 0 and r["better"] == 17 and r["mean"] == pytest.approx(d.mean())
    r = page_bootstrap(page_differences(result(base), result(traded), ["clean"])[1])
    assert r["low"] < 0 < r["high"] and r["better"] == 9


def test_only_shared_pages_are_compared_and_the_command_line_refuses_what_it_cannot_read(tmp_path):
    pages, _ = page_differences(result({"a": 1.0, "b": 2.0}), result({"b": 1.0, "c": 3.0}), ["clean"])
    assert pages == ["b"]
    with pytest.raises(ValueError, match="no held-out page"):
        page_differences(result({"a": 1.0}), result({"c": 1.0}), ["clean"])
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"results": {"m": result({"a": 10.0, "b": 20.0})}}))
    better = tmp_path / "better.json"
    better.write_text(json.dumps({"results": {"m": result({"a": 8.0, "b": 19.0})}}))
    run = lambda *a: subprocess.run([sys.executable, str(RECIPE / "page_interval.py"), *map(str, a)], capture_output=True, text=True)  # noqa: E731
    ok = run(good, better, "--draws", "200")
    assert ok.returncode == 0 and "mean" in ok.stdout and "-1.50" in ok.stdout
    (tmp_path / "bad.json").write_text("{}")
    for args, message in (((good, tmp_path / "bad.json"), "not a study's --json output"), ((good, better, "--model", "x"), "holds no model"),
                          ((good, better, "--channels", "opus_16k"), "not in both results")):
        out = run(*args)
        assert out.returncode != 0 and message in out.stderr and "Traceback" not in out.stderr


def test_two_models_of_one_study_run_are_compared_with_candidate_model(tmp_path):
    both = tmp_path / "run.json"
    both.write_text(json.dumps({"results": {"base": result({"a": 10.0, "b": 20.0}), "new": result({"a": 7.0, "b": 21.0})}}))
    run = lambda *a: subprocess.run([sys.executable, str(RECIPE / "page_interval.py"), *map(str, a)], capture_output=True, text=True)  # noqa: E731
    out = run(both, both, "--model", "base", "--candidate-model", "new", "--draws", "200")
    assert out.returncode == 0 and out.stdout.startswith("new (run.json) - base (run.json)") and "-1.00" in out.stdout
    same = run(both, both, "--model", "base", "--draws", "200")  # without it, the candidate is --model too
    assert "+0.00" in same.stdout
