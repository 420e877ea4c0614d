"""benchmarks/clone.py's `speak` sentences: the published three stay first (every earlier table used exactly those),
and `--sentences-per-target` refuses more sentences than the benchmark has."""

import importlib.util
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks/clone.py"


def _benchmark():
    sys.path.insert(0, str(BENCHMARK.parent))  # the benchmark imports its folder's shared_data.py
    spec = importlib.util.spec_from_file_location("clone_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_published_sentences_come_first_and_the_rest_are_new():
    bench = _benchmark()
    assert bench.SENTENCES[: bench.PUBLISHED_SENTENCES] == [
        "Please call me back when you get this message.",
        "The meeting has moved to Thursday afternoon at three.",
        "I left the keys with our neighbour, so you can get in tonight.",
    ]
    assert len(set(bench.SENTENCES)) == len(bench.SENTENCES) == 9


def test_too_many_sentences_is_a_usage_error(tmp_path):
    done = subprocess.run([sys.executable, str(BENCHMARK), "--data", str(tmp_path), "--sentences-per-target", "10"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "--sentences-per-target" in done.stderr and "Traceback" not in done.stderr
