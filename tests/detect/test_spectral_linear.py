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


def test_without_the_spectral_mean_the_fitted_head_ignores_the_recordings_level(tmp_path):
    """spectral_mean=False: the fit gives the per-bin mean log power no weight, so a gain (which moves only that
    mean) leaves the score unchanged, while the full head's score moves; the option survives a checkpoint."""
    fit_waves, fit_bonafide = vocoded_pairs(range(6))
    valid_waves, valid_bonafide = vocoded_pairs(range(10, 13))
    wav = torch.from_numpy(speechlike(duration_s=4.0, seed=5))[None]
    wav = wav + 1e-3 * torch.randn(wav.shape, generator=torch.Generator().manual_seed(0))  # every bin far above the log's floor
    moved = {}
    for spectral_mean in (True, False):
        model = build_model("spectral-linear", spectral_mean=spectral_mean).eval()
        fit = collect_stats(model, fit_waves, window=2 * SR, hop=SR, max_windows=3, jobs=1)
        valid = collect_stats(model, valid_waves, window=2 * SR, hop=SR, jobs=1)
        fit_head(model, fit, fit_bonafide, valid, valid_bonafide, c_grid=(0.1, 1.0))
        weights = model.out.weight[0].detach()
        with torch.inference_mode():
            moved[spectral_mean] = float((model.score(wav * 4.0) - model.score(wav)).abs().max())
        if not spectral_mean:
            assert float(weights[:257].abs().max()) < 1e-6 < float(weights[257:].abs().max())
            loaded, _, _ = load_detector(save_detector(tmp_path / "no_mean", model, name="spectral-linear"))
            assert loaded.config.spectral_mean is False
            with torch.inference_mode():
                torch.testing.assert_close(loaded.score(wav * 4.0), model.score(wav * 4.0))
    assert moved[False] < 0.1 * moved[True], moved  # only the edge bins (DC, Nyquist) ever reach the floor


def test_window_statistics_of_a_span_equal_each_windows_own():
    """spectral_stats_of_windows (plain sums; the frame-to-frame changes computed once for the span) gives
    spectral_window_stats of every window alone: overlapping windows, windows cut short by the span's end, one-frame
    windows, frames far from zero."""
    from detect.models.spectral_linear import spectral_stats_of_windows, spectral_window_stats

    frames = 40.0 + 5.0 * torch.randn(300, 12, generator=torch.Generator().manual_seed(3))
    for first, length in (([0, 37, 100, 250, 290, 299], 64), ([0, 5, 299], 1)):
        expected = torch.cat([spectral_window_stats(frames[a : a + length][None]) for a in first])
        torch.testing.assert_close(spectral_stats_of_windows(frames, first, length), expected, rtol=1e-5, atol=1e-5)
    assert float(spectral_stats_of_windows(frames, [0, 100], 64).std(0).min()) > 0  # the windows differ
