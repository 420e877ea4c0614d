"""distillmos-spectral-mlp: `default`'s window statistics under the hidden-layer head of detect/window_mlp_head.py."""

from pathlib import Path

import numpy as np
import torch

from detect.checkpoints import load_detector, save_detector
from detect.frozen_head import WindowStats, fit_mlp_head
from detect.models import build_model
from detect.models.distillmos_spectral_mlp import DistillMOSSpectralMLPConfig
from detect.window_mlp_head import MLPHeadSettings, WindowMLPHead


def tiny(hidden=192):
    return build_model("distillmos-spectral-mlp", pretrained=False, hidden=hidden).eval()


def test_stored_head_is_exactly_the_mean_of_the_seeds_bonafide_log_odds():
    model = tiny()
    rng = np.random.default_rng(0)
    stats = rng.standard_normal((400, model.stats_dim)).astype(np.float32)
    spoof = (stats[:, 0] + 0.5 * rng.standard_normal(400) > 0).astype(int)
    mean, scale = stats.mean(0), stats.std(0) + 1e-6
    fitted = WindowMLPHead(MLPHeadSettings(epochs=2)).fit((stats - mean) / scale, spoof)
    with torch.no_grad():
        model.mean.copy_(torch.from_numpy(mean))
        model.scale.copy_(torch.from_numpy(scale))
        for tensor, value in zip((model.hidden.weight, model.hidden.bias, model.out.weight, model.out.bias), fitted.bonafide_layers()):
            tensor.copy_(value)
        stored = model.head(torch.from_numpy(stats)).numpy()
    np.testing.assert_allclose(stored, -fitted.decision_function((stats - mean) / scale), rtol=1e-4, atol=1e-4)


def test_recipe_fit_separates_held_out_windows_and_round_trips(tmp_path):
    model = tiny()
    rng = np.random.default_rng(1)

    def windows(n_files):  # 3 windows per file; spoof files' first 50 statistics are a little higher
        bonafide = np.arange(n_files) % 2 == 0
        stats = rng.standard_normal((3 * n_files, model.stats_dim)).astype(np.float32)
        owner = np.repeat(np.arange(n_files), 3)
        stats[~bonafide[owner], :50] += 0.5
        return WindowStats(stats=stats, owner=owner), bonafide

    train, train_bonafide = windows(600)
    valid, valid_bonafide = windows(100)
    result = fit_mlp_head(model, train, train_bonafide, valid, valid_bonafide)
    assert result["head"] == "mlp" and result["valid_eer_percent"] < 10
    path = save_detector(tmp_path / "mlp", model, name="distillmos-spectral-mlp")
    loaded = load_detector(path)[0].eval()
    x = torch.from_numpy(valid.stats[:20])
    with torch.no_grad():
        torch.testing.assert_close(loaded.head(x), model.head(x))


def test_hidden_units_must_match_the_fitted_seeds():
    import pytest

    model = tiny(hidden=8)
    stats = WindowStats(stats=np.zeros((4, model.stats_dim), np.float32), owner=np.arange(4))
    with pytest.raises(ValueError, match="hidden units"):
        fit_mlp_head(model, stats, np.array([True, False, True, False]), stats, np.array([True, False, True, False]))
    assert DistillMOSSpectralMLPConfig().hidden == MLPHeadSettings().hidden * len(MLPHeadSettings().seeds)


def test_precision_offset_measures_the_hidden_layer_without_its_stored_offset(monkeypatch):
    """recipes/default_detector/precision_offset.py reads any DistillMOS head (a hidden layer too) and measures the raw
    bfloat16 shift: storing an offset in the model does not change the log-odds it measures."""
    import dataclasses
    import types

    from voxtwin.testing import speechlike

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "recipes" / "default_detector"))
    from precision_offset import window_logits

    model = tiny(hidden=8)
    detector = types.SimpleNamespace(model=model, window=16_000, hop=16_000)
    wav = speechlike(duration_s=3.0, seed=4)
    before = {p: window_logits(detector, wav, p) for p in ("fp32", "bf16")}
    model.config = dataclasses.replace(model.config, bf16_logit_offset=0.5)
    after = {p: window_logits(detector, wav, p) for p in ("fp32", "bf16")}
    assert before["fp32"].shape == (3,)
    np.testing.assert_allclose(after["fp32"], before["fp32"], atol=1e-6)
    np.testing.assert_allclose(after["bf16"], before["bf16"], atol=0.02)  # bfloat16 runs differ by ~0.002; the offset is 0.5
    with torch.inference_mode():  # while in scoring the stored offset is added in bfloat16
        stats = torch.randn(2, model.stats_dim)
        model.precision = "fp32"
        fp32 = model.head(stats)
        model.precision = "bf16"
        torch.testing.assert_close(model.head(stats) - fp32, torch.full((2,), 0.5))


def test_page_mixing_reaches_the_recipe_head_with_each_window_in_its_files_source_and_class(monkeypatch):
    """[head] mix_pages (run.py -> fit_head -> fit_mlp_head): the head mixes windows within (source, class) groups,
    an augmented copy's windows in its file's group; without the files' sources, or for a logistic head, it is refused."""
    from dataclasses import replace

    import pytest

    from detect.frozen_head import fit_head

    model = tiny()
    seen = {}
    real_fit = WindowMLPHead.fit

    def recording_fit(self, x, y, groups=None):
        seen["mix_pages"], seen["groups"], seen["y"] = self.settings.mix_pages, groups, y
        return real_fit(WindowMLPHead(replace(self.settings, epochs=1)), x, y, groups)

    monkeypatch.setattr(WindowMLPHead, "fit", recording_fit)
    rng = np.random.default_rng(2)
    bonafide = np.array([True, False, True, False, True, False])
    sources = np.array(["a", "a", "b", "b", "c", "c"])
    owner = np.concatenate([np.repeat(np.arange(6), 2), np.arange(6)])  # two windows per file, then one augmented copy each
    train = WindowStats(stats=rng.standard_normal((18, model.stats_dim)).astype(np.float32), owner=owner)
    fit_head(model, train, bonafide, train, bonafide, train_sources=sources, mix_pages=0.1)
    assert seen["mix_pages"] == 0.1
    assert seen["groups"].tolist() == [f"{sources[o]}{int(not bonafide[o])}" for o in owner]
    assert (seen["y"] == ~bonafide[owner]).all()
    fit_head(model, train, bonafide, train, bonafide, train_sources=sources)
    assert seen["mix_pages"] == 0.0 and seen["groups"] is None  # the shipped head: no groups read
    with pytest.raises(ValueError, match="sources"):
        fit_head(model, train, bonafide, train, bonafide, mix_pages=0.1)
    linear = build_model("spectral-linear").eval()
    with pytest.raises(ValueError, match="hidden-layer"):
        fit_head(linear, WindowStats(stats=np.zeros((6, linear.stats_dim), np.float32), owner=np.arange(6)), bonafide, train, bonafide,
                 train_sources=sources, mix_pages=0.1)


def test_recipe_epochs_reach_the_head_and_change_its_fit():
    """[head] mlp_epochs: the recipe's number of passes is the one the seeds train with, not a label."""
    import pytest

    from detect.frozen_head import fit_head

    rng = np.random.default_rng(2)
    owner = np.repeat(np.arange(80), 2)
    bonafide = np.arange(80) % 2 == 0
    stats = rng.standard_normal((160, tiny().stats_dim)).astype(np.float32)
    stats[~bonafide[owner], :20] += 0.5
    windows = WindowStats(stats=stats, owner=owner)
    fits = {}
    for epochs in (1, 3):
        model = tiny()
        result = fit_mlp_head(model, windows, bonafide, windows, bonafide, epochs=epochs)
        assert result["settings"]["epochs"] == epochs
        fits[epochs] = model.hidden.weight.detach().clone()
    model = tiny()
    fit_mlp_head(model, windows, bonafide, windows, bonafide, epochs=1)
    torch.testing.assert_close(model.hidden.weight, fits[1])  # same seeds, same passes: the same fit
    assert not torch.allclose(fits[1], fits[3])
    linear = build_model("distillmos-spectral-linear", pretrained=False)
    with pytest.raises(ValueError, match="mlp_epochs"):
        fit_head(linear, windows, bonafide, windows, bonafide, mlp_epochs=5)
