"""distillmos-linear: DistillMOS's pretrained CNN (from the package) under a linear head that is all we store."""

import dataclasses

import numpy as np
import pytest
import torch

from detect.checkpoints import load_detector, save_detector
from detect.detector import Detector
from detect.frozen_head import WindowStats, collect_stats, fit_head, kept_audio, score_stats, window_starts
from detect.models import build_model
from detect.models.distillmos_linear import DistillMOSLinearConfig, distillmos_weights, weights_sha256
from detect.models.window_stats_linear import WindowStatsLinear, mean_std_of_windows
from detect.testing import vocoded_pairs
from voxtwin.errors import CheckpointError
from voxtwin.testing import speechlike

SR = 16_000


def tiny():
    torch.manual_seed(0)
    return build_model("distillmos-linear", **dataclasses.asdict(DistillMOSLinearConfig.tiny())).eval()


def test_checkpoint_holds_only_the_head(tmp_path):
    model = tiny()
    torch.nn.init.normal_(model.out.weight)
    path = save_detector(tmp_path / "d", model, name="distillmos-linear")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        assert set(f.keys()) == {"mean", "scale", "out.weight", "out.bias"}
    loaded, _, extra = load_detector(path)
    assert extra == {}
    wav = torch.randn(1, 2 * SR) * 0.1
    # the random encoder is rebuilt from the same seed, so equal scores show the head came back intact
    torch.manual_seed(0)
    loaded, _, _ = load_detector(path)
    with torch.inference_mode():
        torch.testing.assert_close(loaded.score(wav), model.score(wav))


def test_refuses_distillmos_weights_it_was_not_fitted_on():
    with pytest.raises(CheckpointError, match="fitted on DistillMOS weights"):
        build_model("distillmos-linear", encoder_sha256="0" * 64)
    model = build_model("distillmos-linear", encoder_sha256=weights_sha256(distillmos_weights()))
    assert model.config.pretrained


@torch.inference_mode()
def test_span_scoring_matches_window_by_window_scoring():
    model = tiny()
    torch.nn.init.normal_(model.out.weight, std=0.05)
    wav = torch.from_numpy(speechlike(duration_s=7.0, seed=1))
    window, starts = 4 * SR, [0, SR, 2 * SR, 3 * SR]
    exact = model.score_span(wav[:window], [0], window)
    torch.testing.assert_close(exact, model.score(wav[None, :window]))
    spans = model.score_span(wav, starts, window)
    each = model.score(torch.stack([wav[s : s + window] for s in starts]))
    spread = float(each.std()) + float(each.abs().mean())
    assert float((spans - each).abs().max()) < 0.05 * spread  # only the frames at window edges differ


def test_window_starts_cover_the_file():
    assert window_starts(3 * SR, 4 * SR, SR) == [0]
    assert window_starts(6 * SR, 4 * SR, 2 * SR) == [0, 2 * SR]
    assert window_starts(int(7.5 * SR), 4 * SR, 2 * SR) == [0, 2 * SR, int(3.5 * SR)]


def test_head_fitted_on_window_statistics_separates_vocoded_speech():
    model = tiny()
    fit_waves, fit_bonafide = vocoded_pairs(range(6))
    valid_waves, valid_bonafide = vocoded_pairs(range(10, 13))
    fit = collect_stats(model, fit_waves, window=2 * SR, hop=SR, max_windows=3, jobs=1)
    valid = collect_stats(model, valid_waves, window=2 * SR, hop=SR, jobs=1)
    assert fit.stats.shape[1] == 2048 and set(fit.owner) == set(range(len(fit_waves)))
    assert np.all(np.bincount(fit.owner) <= 3)
    result = fit_head(model, fit, fit_bonafide, valid, valid_bonafide, c_grid=(0.1, 1.0))
    scores = score_stats(model, valid, len(valid_waves))
    assert result["valid_eer_percent"] < 20
    assert scores[valid_bonafide].mean() > scores[~valid_bonafide].mean()


def test_window_statistics_round_trip(tmp_path):
    stats = WindowStats(np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32), np.array([0, 0, 1, 2, 2]))
    stats.save(tmp_path / "s.npz")
    back = WindowStats.load(tmp_path / "s.npz")
    assert np.array_equal(back.stats, stats.stats) and np.array_equal(back.owner, stats.owner)


def _scorer_counting_encoder_calls(tmp_path):
    """score(wav) -> (Result, the encoder's input shapes) with a tiny 4 s-window detector, the same random CNN each call."""
    model = tiny()
    torch.nn.init.normal_(model.out.weight, std=0.05)
    path = save_detector(tmp_path / "d", model, name="distillmos-linear",
                         scoring={"calibration": {"slope": 1.0, "intercept": 0.0}, "window_s": 4.0, "version": "test"})

    def score(wav):
        torch.manual_seed(0)
        detector = Detector.load(path, device="cpu")
        calls = []
        detector.model.encoder.register_forward_pre_hook(lambda module, args: calls.append(tuple(args[0].shape)))
        return detector.score(wav, SR), calls

    return score


def test_detector_scores_a_long_message_with_one_encoder_pass(tmp_path, monkeypatch):
    score, wav = _scorer_counting_encoder_calls(tmp_path), speechlike(duration_s=12.0, seed=3)
    spans, span_calls = score(wav)
    monkeypatch.delattr(WindowStatsLinear, "score_span")
    windows, window_calls = score(wav)
    assert [s.start_s for s in spans.segments] == [s.start_s for s in windows.segments] == [float(s) for s in range(len(spans.segments))]
    assert len(spans.segments) >= 9 and spans.segments[-1].end_s == 12.0
    assert span_calls == [(1, 12 * SR)]  # one pass over the message ...
    assert window_calls == [(len(windows.segments), 4 * SR)]  # ... instead of one per overlapping window
    assert np.allclose([s.p_synthetic for s in spans.segments], [s.p_synthetic for s in windows.segments], atol=0.02)


@pytest.mark.parametrize("seconds", [2.5, 4.0, 6.3, 6.7, 9.9])
def test_scoring_places_windows_as_training_does_in_one_encoder_pass(tmp_path, monkeypatch, seconds):
    """The tail of a message gets a window ending at its end only when more than half a hop is uncovered (as
    frozen_head.window_starts gives the heads in training), never a repeat-padded splice of audio already scored; the
    tail window joins the same front-end pass as the others and scores as it does alone."""
    score, n = _scorer_counting_encoder_calls(tmp_path), int(seconds * SR)
    wav = speechlike(duration_s=seconds, seed=5)[:n]
    spans, span_calls = score(wav)
    expected = window_starts(n, 4 * SR, SR)
    assert [s.start_s for s in spans.segments] == [round(s / SR, 2) for s in expected]
    assert span_calls == [(1, expected[-1] + 4 * SR)]  # one pass, ending where the last window ends
    monkeypatch.delattr(WindowStatsLinear, "score_span")
    windows, _ = score(wav)
    assert [s.start_s for s in windows.segments] == [s.start_s for s in spans.segments]
    assert np.allclose([s.p_synthetic for s in spans.segments], [s.p_synthetic for s in windows.segments], atol=0.02)


def test_cached_statistics_are_keyed_by_the_audio_and_settings(tmp_path):
    """A cache must never be reused for a different file list or window: the recipes change both."""
    waves = [np.arange(100, dtype=np.int16), np.arange(50, dtype=np.int16)]
    calls = []

    def compute():
        calls.append(1)
        return WindowStats(np.full((2, 3), len(calls), dtype=np.float32), np.array([0, 1]))

    first = WindowStats.cached(tmp_path, "fit", waves, {"window": 4}, compute)
    again = WindowStats.cached(tmp_path, "fit", [w.copy() for w in waves], {"window": 4}, compute)
    assert len(calls) == 1 and np.array_equal(first.stats, again.stats)
    WindowStats.cached(tmp_path, "fit", waves[:1], {"window": 4}, compute)  # another file list
    WindowStats.cached(tmp_path, "fit", waves, {"window": 2}, compute)  # another window
    WindowStats.cached(tmp_path, "fit", [waves[0], waves[1][::-1].copy()], {"window": 4}, compute)  # other samples
    assert len(calls) == 4 and len(list(tmp_path.glob("fit-*.npz"))) == 4


def test_kept_audio_makes_a_costly_copy_once(tmp_path):
    """The enhancer copy costs ~0.2 x real time: the second detector fitted on the same files reads it back."""
    calls = []

    def costly(wav, index):
        calls.append(index)
        return wav[::-1] * (index + 1)

    waves = [np.linspace(-0.5, 0.5, 40, dtype=np.float32), np.linspace(0.1, 0.2, 30, dtype=np.float32)]
    first = [kept_audio(costly, tmp_path / "copy")(w, i) for i, w in enumerate(waves)]
    again = [kept_audio(costly, tmp_path / "copy")(w, i) for i, w in enumerate(waves)]
    assert calls == [0, 1]
    for a, b, w, i in zip(first, again, waves, range(2)):
        assert np.array_equal(a, b) and np.allclose(a, w[::-1] * (i + 1))
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["0.npy", "1.npy"]  # no partial files left


def test_bf16_frames_stay_close_to_float32_and_come_back_as_float32():
    model = tiny()
    wav = torch.from_numpy(speechlike(duration_s=2.0, sample_rate=SR, seed=3))[None]
    model.precision = "fp32"
    reference = model.frames(wav)
    model.precision = "bf16"
    reduced = model.frames(wav)
    assert reduced.dtype == torch.float32 and reduced.shape == reference.shape
    assert 0 < float((reduced - reference).norm() / reference.norm()) < 0.02


def test_the_bf16_offset_applies_only_to_bf16_scoring():
    model = build_model("distillmos-linear", **(dataclasses.asdict(DistillMOSLinearConfig.tiny()) | {"bf16_logit_offset": 0.5})).eval()
    stats = torch.randn(3, model.stats_dim)
    model.precision = "fp32"
    plain = model.head(stats)
    model.precision = "bf16"
    assert torch.allclose(model.head(stats), plain + 0.5)


def test_heads_are_fitted_on_float32_statistics_whatever_the_scoring_precision():
    model = tiny()
    model.precision = "bf16"
    waves = [(speechlike(duration_s=4.5, sample_rate=SR, seed=s) * 20_000).astype(np.int16) for s in range(2)]
    fitted = collect_stats(model, waves, window=4 * SR, hop=SR, jobs=1)
    assert model.precision == "bf16"  # restored after fitting
    model.precision = "fp32"
    plain = collect_stats(model, waves, window=4 * SR, hop=SR, jobs=1)
    np.testing.assert_array_equal(fitted.stats, plain.stats)


def test_window_mean_and_std_from_plain_sums_equal_each_windows_own():
    """mean_std_of_windows (the CNN frames' window statistics at scoring time) gives what torch computes window by
    window, for overlapping windows, a window cut short by the span's end, and frames far from zero."""
    frames = 50.0 + 3.0 * torch.randn(230, 16, generator=torch.Generator().manual_seed(0))
    first, length = [0, 50, 100, 150, 200], 60
    expected = torch.cat([torch.cat([w.mean(0), w.std(0, unbiased=False)])[None] for w in (frames[a : a + length] for a in first)])
    torch.testing.assert_close(mean_std_of_windows(frames, first, length), expected, rtol=1e-5, atol=1e-5)
