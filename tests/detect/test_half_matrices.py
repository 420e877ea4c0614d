"""A head too large for 3 MiB in float32 ships its weight matrices in float16 (detect/checkpoints.save_detector
half_matrices; recipes/default_detector/run.py decides by size): scores barely move, vectors stay float32."""

import runpy

import numpy as np
import torch
from safetensors import safe_open

from detect.checkpoints import load_detector, save_detector
from detect.models import build_model
from detect.recipes import RECIPES_DIR


def _randomised(model):
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.05)
        model.mean.normal_(5.0, 2.0, generator=generator)  # statistics far from zero, as the CNN's are
        model.scale.uniform_(0.5, 2.0, generator=generator)
    return model.eval()


def test_half_matrices_halve_the_file_and_keep_the_scores(tmp_path):
    model = _randomised(build_model("distillmos-student-fine-vote", pretrained=False, hidden=576))
    full = save_detector(tmp_path / "full", model, name="distillmos-student-fine-vote")
    half = save_detector(tmp_path / "half", model, name="distillmos-student-fine-vote", half_matrices=True)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    with safe_open(str(half), framework="pt") as f:
        dtypes = {key: f.get_tensor(key).dtype for key in f.keys()}
    assert dtypes["hidden.weight"] == dtypes["fine_hidden.weight"] == torch.float16
    assert dtypes["mean"] == dtypes["scale"] == dtypes["hidden.bias"] == torch.float32
    loaded = load_detector(half)[0]
    x = torch.from_numpy(np.random.default_rng(1).normal(5.0, 2.0, (200, model.stats_dim)).astype(np.float32))
    with torch.no_grad():
        exact, rounded = model.head(x), loaded.head(x)
    assert loaded.hidden.weight.dtype == torch.float32  # it runs as before, from rounded weights
    assert float((exact - rounded).abs().max()) < 0.02 * float(exact.std())
    assert not torch.equal(exact, rounded)  # the weights were rounded, not kept


def test_the_recipe_halves_only_heads_too_large_to_ship_in_float32():
    ships_half = runpy.run_path(str(RECIPES_DIR / "default_detector" / "run.py"))["ships_half"]
    assert ships_half(build_model("distillmos-student-fine-vote", pretrained=False, hidden=576))  # nine seeds: ~6.7 MB
    assert not ships_half(build_model("distillmos-student-spectral-mlp", pretrained=False, hidden=192))  # 2026.12-7: ~2.2 MB
    assert not ships_half(build_model("spectral-linear"))  # `fast`
