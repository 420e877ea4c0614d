"""The branch-dropping probe (recipes/voice_converter/mrf_branches.py): with every branch kept it is V1 to the bit, and
dropping a branch really changes the waveform (so its DistillMOS measures the drop, not V1)."""

import sys
from pathlib import Path

import torch

RECIPE = Path(__file__).resolve().parents[2] / "recipes/voice_converter/mrf_branches.py"


def test_all_branches_give_v1s_own_waveform_and_dropping_one_changes_it():
    from voice.vocoders import HiFiGAN

    sys.path.insert(0, str(RECIPE.parent))  # the recipe imports its folder's vocoder_diagnosis.py
    import mrf_branches as probe
    generator = HiFiGAN(precision="fp32").generator
    mel = torch.randn(1, 80, 6, generator=torch.Generator().manual_seed(0)) * 0.5 - 5
    with torch.inference_mode():
        whole = generator(mel)
        assert torch.equal(probe.generate(generator, mel, probe.VARIANTS["V1 (all branches)"]), whole)
        dropped = probe.generate(generator, mel, probe.VARIANTS["without kernel 11"])
    assert dropped.shape == whole.shape and not torch.allclose(dropped, whole, atol=1e-3)


def test_a_missing_corpus_is_a_one_line_error(tmp_path):
    import subprocess

    done = subprocess.run([sys.executable, str(RECIPE), "--data", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode != 0 and "manifest.csv not found" in done.stderr and "Traceback" not in done.stderr
