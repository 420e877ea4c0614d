"""The low-rank fine-tune (recipes/voice_converter/low_rank_finetune.py): its pool pairs each mel chunk with V1's own
waveform for the chunk's core, a checkpoint of another variant is refused in one line, and a missing corpus is one error
line."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

RECIPE = Path(__file__).resolve().parents[2] / "recipes/voice_converter/low_rank_finetune.py"


@pytest.fixture(scope="module")
def recipe():
    sys.path.insert(0, str(RECIPE.parent))  # the recipe imports its folder's low_rank_vocoder.py
    import low_rank_finetune

    return low_rank_finetune


def test_the_pool_holds_v1s_waveform_for_each_chunks_core(recipe, tmp_path):
    from voice.vocoders import HiFiGAN

    t = np.arange(16_000 * 2) / 16_000
    path = tmp_path / "tone.wav"
    sf.write(path, (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32), 16_000)
    vocoder = HiFiGAN(precision="fp32", fft_convolution=False)
    pool = recipe.make_pool(vocoder, [path], chunks_per_file=2)
    span = recipe.CORE + 2 * recipe.CONTEXT
    assert pool["mel"].shape == (2, 80, span) and pool["wave"].shape == (2, recipe.CORE * recipe.HOP)
    with torch.inference_mode():
        again = recipe.core_of(vocoder.generator(pool["mel"][:1]))
    assert torch.allclose(again, pool["wave"][:1], atol=1e-5)


def test_a_missing_corpus_is_a_one_line_error(tmp_path):
    done = subprocess.run([sys.executable, str(RECIPE), "--data", str(tmp_path), "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode != 0 and "manifest.csv not found" in done.stderr and "Traceback" not in done.stderr


def test_a_checkpoint_of_another_variant_is_refused(recipe, tmp_path):
    path = tmp_path / "last.pt"
    torch.save({"step": 1, "variant": "half rank", "student": {}}, path)
    assert recipe.checkpoint(path, "half rank")["step"] == 1
    with pytest.raises(SystemExit, match="trained as 'half rank', not 'quarter rank'"):
        recipe.checkpoint(path, "quarter rank")
