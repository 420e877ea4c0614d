"""spectral-linear: log-spectrum statistics under a linear head (detect/models/spectral_linear.py)."""

import torch

from detect.checkpoints import load_detector, save_detector
from detect.frozen_head import collect_stats, fit_head, score_stats
from detect.models import build_model
from detect.testing import vocoded_pairs
from voxtwin.testing import speechlike

SR = 16_000


@torch.inference_mode()
def test_span_statistics_equal_each_window_alone():
    """The front-end has no context beyond a frame, so span scoring is exact for windows on the frame grid."""
    model = build_model("spectral-linear").eval()
    torch.nn.init.normal_(model.out.weight, std=0.05)
    wav = torch.from_numpy(speechlike(duration_s=7.0, seed=1))
    window, starts = 4 * SR, [0, SR, 2 * SR, 3 * SR]
    each = model.score(torch.stack([wav[s : s + window] for s in starts]))
    torch.testing.assert_close(model.score_span(wav, starts, window), each, rtol=1e-4, atol=1e-4)
    assert float(each.max() - each.min()) > 1e-3  # the windows differ, so equality is not between constants


def test_head_separates_vocoded_speech_and_round_trips(tmp_path):
    model = build_model("spectral-linear").eval()
    fit_waves, fit_bonafide = vocoded_pairs(range(6))
    valid_waves, valid_bonafide = vocoded_pairs(range(10, 13))
    fit = collect_stats(model, fit_waves, window=2 * SR, hop=SR, max_windows=3, jobs=1)
    valid = collect_stats(model, valid_waves, window=2 * SR, hop=SR, jobs=1)
    assert fit.stats.shape[1] == 3 * 257
    result = fit_head(model, fit, fit_bonafide, valid, valid_bonafide, c_grid=(0.1, 1.0))
    scores = score_stats(model, valid, len(valid_waves))
    assert result["valid_eer_percent"] < 20
    assert scores[valid_bonafide].mean() > scores[~valid_bonafide].mean()
    path = save_detector(tmp_path / "s", model, name="spectral-linear")
    loaded, _, extra = load_detector(path)
    assert extra == {}
    wav = torch.from_numpy(speechlike(duration_s=2.0, seed=5))[None]
    with torch.inference_mode():
        torch.testing.assert_close(loaded.score(wav), model.score(wav))


@torch.inference_mode()
def test_digital_silence_and_short_input_give_finite_scores():
    model = build_model("spectral-linear").eval()
    assert torch.isfinite(model.score(torch.zeros(1, 4 * SR))).all()
    assert torch.isfinite(model.score(torch.randn(1, 300) * 0.1)).all()
