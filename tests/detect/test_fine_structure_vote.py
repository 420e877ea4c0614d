"""distillmos-student-fine-vote: `default`'s head and a second head on the spectrum's fine structure, their log-odds
averaged (detect/models/fine_structure_vote.py, detect/fine_structure.py)."""

import sys
from pathlib import Path

import numpy as np
import torch

from detect.checkpoints import load_detector, save_detector
from detect.fine_structure import BANDS, FINE_STATS, HOP, fine_frames, fine_stats_of_windows, frames_per_window
from detect.frozen_head import WindowStats, fit_mlp_head
from detect.models import build_model
from voxtwin.testing import harmonic, speechlike

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from front_ends import FineStructureMeanStats  # noqa: E402

WINDOW = 64_000
LONG_TERM_MAX = 3  # per band: (a) median, p90, p99, max, spread; (b) the same; (c) p90, spread


def _stats(wav: np.ndarray, starts: list[int]) -> np.ndarray:
    power, log_power = fine_frames(torch.from_numpy(wav.astype(np.float32)), window=torch.hann_window(2048))
    return fine_stats_of_windows(power, log_power, [s // HOP for s in starts], frames_per_window(WINDOW)).numpy()


def test_scoring_statistics_are_the_ones_the_study_measured():
    """What ships must read what leave-one-source-out judged (the study's per-window numpy `fine-mean`), from one
    STFT of the span shared by overlapping windows; only the power floor differs, which speech never reaches."""
    wav = speechlike(duration_s=10.0, sample_rate=16_000, seed=1).astype(np.float32)
    starts = [0, 16_384, 32_768, 96_256]  # on the 512-sample frame grid, as the study's windows were
    study = np.stack([FineStructureMeanStats()(wav[s : s + WINDOW]) for s in starts])
    shipped = _stats(wav, starts)
    assert shipped.shape == (4, FINE_STATS)
    np.testing.assert_allclose(shipped, study, atol=5e-3)
    assert np.abs(study).mean() > 0.1  # a comparison of real numbers, not of zeros


def test_a_window_reads_the_same_in_any_span():
    """The detector scores runs of windows of whatever length the stream gives: a window's statistics must not depend
    on the span around it (the floor is fixed, not relative to the span)."""
    wav = speechlike(duration_s=10.0, sample_rate=16_000, seed=3).astype(np.float32)
    wav[40_000:60_000] = 0.0  # digital silence inside the window, where a floor relative to the span's power would differ
    whole = _stats(wav, [32_768])
    alone = _stats(wav[32_768 : 32_768 + WINDOW], [0])
    np.testing.assert_allclose(whole, alone, atol=1e-4)


def test_numpy_selections_give_the_torch_paths_bits(monkeypatch):
    """The running median and the 90th percentile's order statistics are read by NumPy on the CPU for speed; the
    statistics must be exactly what torch's median and topk give (the GPU path, and what 2026.12-8 was fitted on)."""
    import detect.fine_structure as fine_structure

    wav = speechlike(duration_s=12.0, sample_rate=16_000, seed=5).astype(np.float32)
    wav[50_000:70_000] = 0.0
    starts = [0, 16_384, 65_536, 128_000]
    fast = _stats(wav, starts)
    monkeypatch.setattr(fine_structure, "on_cpu_without_grad", lambda x: False)
    reference = _stats(wav, starts)
    assert np.array_equal(fast, reference)
    assert np.abs(reference).mean() > 0.1
    x = torch.randn(3, 7, 300)
    lower, upper = fine_structure.two_order_statistics(x, 250)
    ascending = x.sort(-1).values
    assert torch.equal(lower, ascending[..., 250]) and torch.equal(upper, ascending[..., 251])


def test_a_fixed_tone_raises_its_own_band_only():
    voice = harmonic(140.0, duration_s=4.0, n_harmonics=53)
    t = np.arange(len(voice)) / 16_000
    toned = voice + 0.02 * np.sin(2 * np.pi * 2_700.0 * t)  # band 2 (2-3 kHz)
    before, after = (_stats(x, [0]).reshape(BANDS, 12) for x in (voice, toned))
    rise = after[:, LONG_TERM_MAX] - before[:, LONG_TERM_MAX]
    assert rise[2] > 1.0
    assert np.abs(np.delete(rise, 2)).max() < 0.3 * rise[2]


class _TwoVotes(torch.nn.Module):
    """fit_mlp_head's view of a voting model, small: standardisation buffers and two heads on two slices."""

    def __init__(self, main_dim: int = 30, fine_dim: int = 10) -> None:
        super().__init__()
        self.main_dim, self.stats_dim = main_dim, main_dim + fine_dim
        self.register_buffer("mean", torch.zeros(self.stats_dim))
        self.register_buffer("scale", torch.ones(self.stats_dim))
        self.heads = torch.nn.ModuleList(torch.nn.Linear(d, 192) for d in (main_dim, fine_dim))
        self.outs = torch.nn.ModuleList(torch.nn.Linear(192, 1) for _ in range(2))

    def vote_heads(self):
        return [(slice(0, self.main_dim), self.heads[0], self.outs[0]), (slice(self.main_dim, self.stats_dim), self.heads[1], self.outs[1])]


def test_each_head_is_fitted_on_its_own_statistics():
    model = _TwoVotes()
    rng = np.random.default_rng(0)
    n_files = 1500  # enough windows for the head's 20 epochs of 256-window batches
    bonafide = np.arange(n_files) % 2 == 0
    owner = np.repeat(np.arange(n_files), 2)

    def windows() -> WindowStats:
        stats = rng.standard_normal((len(owner), model.stats_dim)).astype(np.float32) * 2 + 5
        stats[:, model.main_dim + 5] += np.where(bonafide[owner], 3.0, -3.0)  # only a fine-structure statistic tells
        return WindowStats(stats, owner)

    train = windows()
    result = fit_mlp_head(model, train, bonafide, windows(), bonafide)
    main_eer, fine_eer = result["vote_valid_eer_percent"]
    assert fine_eer < 10 and main_eer > 30  # unseen windows: the main head never saw the telling statistic
    np.testing.assert_allclose(model.mean.numpy(), train.stats.mean(0), rtol=1e-5)  # one standardisation for both heads
    assert float(model.outs[1].weight.detach().abs().sum()) > 0 and float(model.heads[0].weight.detach().abs().sum()) > 0


def test_the_output_is_the_mean_of_the_two_votes(tmp_path):
    model = build_model("distillmos-student-fine-vote", pretrained=False, hidden=192).eval()
    assert model.stats_dim == model.main_dim + FINE_STATS
    with torch.no_grad():
        model.mean.normal_()
        model.fine_out.bias.fill_(2.0)  # the fine vote differs from the main one
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((40, model.stats_dim)).astype(np.float32))
    with torch.no_grad():
        z = model.standardise(x)
        votes = [out(torch.nn.functional.gelu(hidden(z[:, part]))).squeeze(-1) for part, hidden, out in model.vote_heads()]
        assert float((votes[0] - votes[1]).abs().mean()) > 1
        torch.testing.assert_close(model.head(x), (votes[0] + votes[1]) / 2)
    loaded = load_detector(save_detector(tmp_path / "vote", model, name="distillmos-student-fine-vote"))[0].eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded.head(x), model.head(x))


def test_span_stats_put_the_fine_structure_after_the_parents_statistics():
    model = build_model("distillmos-student-fine-vote", pretrained=False, hidden=8).eval()
    parent = build_model("distillmos-student-spectral-mlp", pretrained=False, hidden=8).eval()
    parent.encoder.load_state_dict(model.encoder.state_dict())
    wav = speechlike(duration_s=6.0, sample_rate=16_000, seed=5).astype(np.float32)
    starts = [0, 16_000, 32_000]
    with torch.inference_mode():
        stats = model.span_stats(torch.from_numpy(wav), starts, WINDOW)
        torch.testing.assert_close(stats[:, : model.main_dim], parent.span_stats(torch.from_numpy(wav), starts, WINDOW))
        assert model(torch.from_numpy(wav[None, :WINDOW])).shape == (1, 2)
    assert stats.shape == (3, model.stats_dim) and torch.isfinite(stats).all()


def test_other_head_seeds_give_another_fit_and_are_recorded():
    """[head] mlp_seeds: the recipe can refit the same head with other seeds, to measure its own fit noise."""
    import pytest

    from detect.frozen_head import fit_head

    rng = np.random.default_rng(2)
    owner = np.repeat(np.arange(200), 2)
    bonafide = np.arange(200) % 2 == 0
    stats = WindowStats(rng.standard_normal((len(owner), 40)).astype(np.float32), owner)
    fits = {}
    for seeds in (None, (3, 4, 5)):
        model = _TwoVotes()
        model.head_kind = "mlp"
        result = fit_head(model, stats, bonafide, stats, bonafide, mlp_seeds=seeds)
        fits[seeds] = (result["settings"]["seeds"], model.heads[1].weight.detach().clone())
    assert tuple(fits[None][0]) == (0, 1, 2) and tuple(fits[(3, 4, 5)][0]) == (3, 4, 5)
    assert not torch.allclose(fits[None][1], fits[(3, 4, 5)][1])
    linear = build_model("spectral-linear")
    with pytest.raises(ValueError, match="hidden-layer head only"):
        fit_head(linear, WindowStats(np.zeros((4, linear.stats_dim), np.float32), np.arange(4)), bonafide[:4], stats, bonafide, mlp_seeds=(3, 4, 5))
