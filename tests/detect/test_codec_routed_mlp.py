"""distillmos-student-codec-routed: two hidden-layer heads weighed per window by a lossy-channel router
(detect/models/codec_routed_mlp.py, detect/codec_router.py)."""

import numpy as np
import torch

from detect.checkpoints import load_detector, save_detector
from detect.codec_router import fit_clean_head, fit_router, lossy_rows
from detect.frozen_head import WindowStats, augmented_copy, fit_mlp_head, picked_augmentation, set_standardisation
from detect.models import build_model
from voxtwin.codec import telephone
from voxtwin.testing import speechlike

COPIES = [{"augment": ["codec"], "seed": 0}, {"augment": ["telephone", "noise", "rawboost"], "seed": 1}]


def tiny():
    return build_model("distillmos-student-codec-routed", pretrained=False, hidden=192).eval()


def test_the_picked_augmentation_is_the_one_the_copy_applies():
    """The router's labels come from picked_augmentation: it must name what augmented_copy really did to each file."""
    wav = speechlike(duration_s=1.0, seed=2)
    _, transform = augmented_copy(COPIES[1], seed_offset=5)
    picks = [picked_augmentation(COPIES[1], i, seed_offset=5)[0] for i in range(12)]
    assert {"telephone", "noise"} <= set(picks)
    for i, name in enumerate(picks):
        through_telephone = np.allclose(transform(wav, i), np.clip(telephone(wav, 16_000), -1, 1), atol=1e-6)
        assert through_telephone == (name == "telephone")


def test_lossy_rows_mark_codec_copies_and_telephone_picks_only():
    part = WindowStats(stats=np.zeros((20, 3), np.float32), owner=np.repeat(np.arange(10), 2))
    assert not lossy_rows(part, None, seed_offset=0).any()
    assert lossy_rows(part, COPIES[0], seed_offset=0).all()
    rows = lossy_rows(part, COPIES[1], seed_offset=0)
    expected = [picked_augmentation(COPIES[1], int(i), seed_offset=0)[0] == "telephone" for i in part.owner]
    assert rows.tolist() == expected and 0 < rows.sum() < len(rows)


def _parts(model, rng, n_files=300):
    """As recorded, a codec copy and a telephone/noise/RawBoost copy of the same files: statistic 0 says real
    or fake everywhere, statistic 1 is higher on lossy windows, and on those only statistic 2 also says real or fake."""
    bonafide = np.arange(n_files) % 2 == 0
    owner = np.repeat(np.arange(n_files), 2)
    parts = []
    for copy in (None, *COPIES):
        stats = rng.standard_normal((len(owner), model.stats_dim)).astype(np.float32)
        lossy = lossy_rows(WindowStats(stats, owner), copy, seed_offset=0)
        stats[:, 0] += np.where(bonafide[owner], 1.0, -1.0)
        stats[lossy, 1] += 4.0
        stats[lossy, 2] += np.where(bonafide[owner[lossy]], 1.0, -1.0)
        parts.append(WindowStats(stats, owner))
    return parts, bonafide


def test_router_learns_the_lossy_windows_and_the_heads_mix_by_it(tmp_path):
    rng = np.random.default_rng(0)
    model = tiny()
    parts, bonafide = _parts(model, rng)
    valid, valid_bonafide = WindowStats.concat(parts[:1]), bonafide
    fit_mlp_head(model, WindowStats.concat(parts), bonafide, valid, valid_bonafide)
    record = fit_clean_head(model, parts, COPIES, None, bonafide, valid, valid_bonafide)
    assert record["parts"] == ["as recorded", "telephone-noise-rawboost"]
    router = fit_router(model, parts, COPIES, seed_offset=0)
    assert router["train_lossy_called_lossy_percent"] > 95 and router["train_recorded_called_recorded_percent"] > 95
    model.set_platt("lossy", 2.0, 0.5)
    model.set_platt("clean", 0.5, -1.0)
    x = torch.from_numpy(np.concatenate([p.stats for p in parts]))
    lossy = torch.from_numpy(np.concatenate([lossy_rows(p, c, seed_offset=0) for p, c in zip(parts, [None, *COPIES])]))
    with torch.no_grad():
        r = model.lossy_probability(x)
        assert r[lossy].mean() > 0.9 and r[~lossy].mean() < 0.1
        expected = r * (2.0 * model.lossy_head(x) - 0.5) + (1 - r) * (0.5 * model.clean_head(x) + 1.0)
        torch.testing.assert_close(model.head(x), expected)
    loaded = load_detector(save_detector(tmp_path / "routed", model, name="distillmos-student-codec-routed"))[0].eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded.head(x[:50]), model.head(x[:50]))


def test_clean_head_is_fitted_without_the_codec_copy():
    """Its standardisation is that of the as-recorded and telephone/noise/RawBoost windows alone, not the codec copy's."""
    rng = np.random.default_rng(1)
    model = tiny()
    parts, bonafide = _parts(model, rng, n_files=100)
    parts[1].stats[:, 3] += 50.0  # the codec copy alone moves statistic 3
    fit_clean_head(model, parts, COPIES, None, bonafide, parts[0], bonafide)
    np.testing.assert_allclose(model.clean_mean.numpy(), WindowStats.concat([parts[0], parts[2]]).stats.mean(0), atol=1e-5)
    assert abs(float(model.mean[3])) < 1  # the inherited (lossy) head is untouched by fit_clean_head


def test_recorded_lossy_share_keeps_part_of_the_robust_head_where_the_router_says_recorded():
    import dataclasses

    import pytest

    model = tiny()
    model.set_router(np.zeros(model.stats_dim), -30.0)  # every window taken for a recording as made
    model.set_platt("lossy", 1.5, 0.2)
    x = torch.randn(5, model.stats_dim)
    with torch.no_grad():
        lossy, clean = 1.5 * model.lossy_head(x) - 0.2, model.clean_head(x)
        torch.testing.assert_close(model.head(x), clean)
        model.config = dataclasses.replace(model.config, recorded_lossy_share=0.25)
        torch.testing.assert_close(model.head(x), 0.25 * lossy + 0.75 * clean)
        model.config = dataclasses.replace(model.config, recorded_lossy_share=1.0)
        torch.testing.assert_close(model.head(x), lossy)
    with pytest.raises(ValueError, match="between 0 and 1"):
        dataclasses.replace(model.config, recorded_lossy_share=1.5)


def test_lossy_recall_raises_the_routers_bias_until_that_share_of_lossy_windows_is_routed_lossy():
    rng = np.random.default_rng(4)
    model = tiny()
    parts, _ = _parts(model, rng, n_files=2000)
    for part in parts:  # blur the lossy cue so that the balanced fit misses some lossy windows
        part.stats[:, 1] = part.stats[:, 1] * 0.1 + rng.standard_normal(len(part.stats)).astype(np.float32)
    every = np.concatenate([p.stats for p in parts])
    set_standardisation(model, every.mean(0), every.std(0) + 1e-6)
    balanced = fit_router(model, parts, COPIES, seed_offset=0)
    assert balanced["bias_shift"] == 0.0 and balanced["train_lossy_called_lossy_percent"] < 99.9
    leaning = fit_router(model, parts, COPIES, seed_offset=0, lossy_recall=0.999)
    assert leaning["bias_shift"] > 0 and leaning["train_lossy_called_lossy_percent"] >= 99.9
    assert leaning["train_recorded_called_recorded_percent"] < balanced["train_recorded_called_recorded_percent"]
    lossy = np.concatenate([lossy_rows(p, c, seed_offset=0) for p, c in zip(parts, [None, *COPIES])])
    with torch.no_grad():
        assert float((model.lossy_probability(torch.from_numpy(every)).numpy()[lossy] >= 0.5).mean()) >= 0.999
