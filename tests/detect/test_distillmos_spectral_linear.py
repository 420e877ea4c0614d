"""distillmos-spectral-linear: default's and fast's window statistics side by side (detect/models/distillmos_spectral_linear.py)."""

import dataclasses

import pytest
import torch

from detect.checkpoints import load_detector, save_detector
from detect.frozen_head import collect_stats, fit_head, score_stats
from detect.models import build_model
from detect.models.distillmos_spectral_linear import CNN_STATS, DistillMOSSpectralLinearConfig
from detect.testing import vocoded_pairs
from voxtwin.errors import CheckpointError
from voxtwin.testing import speechlike

SR = 16_000


def tiny(name="distillmos-spectral-linear"):
    torch.manual_seed(0)
    return build_model(name, **dataclasses.asdict(DistillMOSSpectralLinearConfig.tiny()) if name == "distillmos-spectral-linear" else {"pretrained": False}).eval()


@torch.inference_mode()
def test_statistics_are_defaults_followed_by_fasts():
    fused, distillmos, spectral = tiny(), tiny("distillmos-linear"), build_model("spectral-linear").eval()
    fused.encoder.load_state_dict(distillmos.encoder.state_dict())  # the same random CNN in both
    wav = torch.from_numpy(speechlike(duration_s=7.0, seed=1))
    window, starts = 4 * SR, [0, SR, 2 * SR, 3 * SR]
    stats = fused.span_stats(wav, starts, window)
    assert stats.shape == (4, fused.stats_dim)
    torch.testing.assert_close(stats[:, :CNN_STATS], distillmos.span_stats(wav, starts, window))
    torch.testing.assert_close(stats[:, CNN_STATS:], spectral.span_stats(wav, starts, window))
    # one window through the batch path gives the same numbers as the span path
    torch.testing.assert_close(fused.window_stats(fused.frames(wav[None, :window])), stats[:1], rtol=1e-4, atol=1e-4)


def test_head_separates_vocoded_speech_and_checkpoint_holds_only_the_head(tmp_path):
    model = tiny()
    fit_waves, fit_bonafide = vocoded_pairs(range(6))
    valid_waves, valid_bonafide = vocoded_pairs(range(10, 13))
    fit = collect_stats(model, fit_waves, window=2 * SR, hop=SR, max_windows=3, jobs=1)
    valid = collect_stats(model, valid_waves, window=2 * SR, hop=SR, jobs=1)
    result = fit_head(model, fit, fit_bonafide, valid, valid_bonafide, c_grid=(0.1, 1.0))
    scores = score_stats(model, valid, len(valid_waves))
    assert result["valid_eer_percent"] < 20
    assert scores[valid_bonafide].mean() > scores[~valid_bonafide].mean()
    path = save_detector(tmp_path / "f", model, name="distillmos-spectral-linear")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        assert set(f.keys()) == {"mean", "scale", "out.weight", "out.bias"}  # no CNN weights, no STFT window
    torch.manual_seed(0)
    loaded, _, _ = load_detector(path)
    wav = torch.from_numpy(speechlike(duration_s=2.0, seed=5))[None]
    with torch.inference_mode():
        torch.testing.assert_close(loaded.score(wav), model.score(wav))


def test_refuses_distillmos_weights_it_was_not_fitted_on():
    with pytest.raises(CheckpointError, match="fitted on DistillMOS weights"):
        build_model("distillmos-spectral-linear", encoder_sha256="0" * 64)


@pytest.mark.parametrize("name", ["distillmos-spectral-linear", "distillmos-spectral-mlp"])
@torch.inference_mode()
def test_without_the_spectral_mean_the_head_reads_neither_half_of_it(name):
    """spectral_mean=False masks exactly fast's 257 per-bin means (after the CNN's 2,048 statistics): changing them
    leaves the log-odds alone, changing any other statistic does not."""
    settings = {**dataclasses.asdict(DistillMOSSpectralLinearConfig.tiny()), "spectral_mean": False} | ({"hidden": 8} if name.endswith("mlp") else {})
    torch.manual_seed(0)
    model = build_model(name, **settings).eval()
    for layer in (model.out, getattr(model, "hidden", model.out)):
        torch.nn.init.normal_(layer.weight)
    stats = torch.randn(3, model.stats_dim)
    means = stats.clone()
    means[:, CNN_STATS : CNN_STATS + 257] += 5.0
    torch.testing.assert_close(model.head(means), model.head(stats))
    for column in (CNN_STATS - 1, CNN_STATS + 257):  # the CNN's last statistic, the spectrum's first spread
        moved = stats.clone()
        moved[:, column] += 5.0
        assert float((model.head(moved) - model.head(stats)).abs().max()) > 1e-4
