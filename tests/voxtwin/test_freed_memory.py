"""voxtwin/freed_memory.py: with it, a freed large block is reused instead of faulted in afresh."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from voxtwin import freed_memory

pytestmark = pytest.mark.skipif(freed_memory._glibc() is None, reason="glibc's malloc only")

# Allocate, touch and free a 64 MB array five times; print the page faults of the last four rounds.
ROUNDS = """
import json, resource, sys
import numpy as np
from voxtwin.freed_memory import keep_freed_memory
kept = keep_freed_memory()
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.ones(8 * 1024**2)  # 64 MB, over glibc's largest mmap threshold
    del block
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"kept": kept, "faults": faults[1:]}))
"""


def _rounds(keep: str) -> dict:
    env = {**os.environ, freed_memory.ENV: keep}
    done = subprocess.run([sys.executable, "-c", ROUNDS], env=env, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def test_a_freed_block_is_reused_not_faulted_in_again():
    kept, released = _rounds("1"), _rounds("0")
    assert kept["kept"] is True and released["kept"] is False
    # glibc's default maps fresh pages every round (the kernel faults them in, several pages a fault); kept: the
    # same pages again, so almost no faults
    assert min(released["faults"]) >= 100
    assert max(kept["faults"]) * 10 < min(released["faults"])


def test_the_voxtwin_command_keeps_freed_memory(monkeypatch):
    from voxtwin import cli

    calls = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append(True) or True)
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0 and calls == [True]
