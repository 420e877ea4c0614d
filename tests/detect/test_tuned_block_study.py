"""The tuned-layer study (recipes/detector_v2/tuned_block_loso.py): the cache of the last convolution's input gives
back what the CNN computes, each fold trains only on its allowed windows, and the tuning moves the layer."""

import copy
import sys
from pathlib import Path

import numpy as np
import torch

from detect.last_block_tuning import BelowLastBlock, CropDetector, TuningSettings
from detect.models.distillmos_linear import DistillMOSLinearConfig, build_encoder
from detect.models.tuned_last_block import LAST_BLOCK_INDEX, last_block
from voxtwin import audio
from voxtwin.testing import speechlike

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

import tuned_block_loso  # noqa: E402
from layers_loso import study_wave  # noqa: E402
from tuned_block_loso import BelowCache, frame_stats, training_windows, tuned_layer  # noqa: E402

SR = 16_000


def _rows(tmp_path):
    rows = []
    for i, (seconds, label, source) in enumerate([(9.0, "bonafide", "a"), (3.0, "spoof", "a"), (6.0, "spoof", "b"), (5.0, "bonafide", "c")]):
        audio.save(tmp_path / f"{i}.wav", 0.3 * speechlike(duration_s=seconds, seed=i), SR)
        rows.append({"path": f"{i}.wav", "label": label, "source": source})
    return rows


def test_the_cache_returns_the_cnns_input_to_its_last_convolution_and_the_folds_train_only_where_allowed(tmp_path):
    torch.manual_seed(0)
    encoder = build_encoder(pretrained=False).eval()
    rows = _rows(tmp_path)
    cache = BelowCache(tmp_path / "cache", "clean")
    (tmp_path / "cache").mkdir()
    assert not cache.ready(len(rows))
    cache.build(rows, tmp_path, "clean", encoder)
    assert cache.ready(len(rows)) and not cache.ready(len(rows) + 1)
    cache.open()
    assert list(np.bincount(cache.owner)) == [3, 1, 2, 1]  # 4 s windows, 2 s hop; a 3 s file is one short window
    with torch.inference_mode():
        wav = study_wave(tmp_path, rows[0], "clean")[: 4 * SR]
        expected = BelowLastBlock(encoder)(torch.from_numpy(wav)[None] * DistillMOSLinearConfig().input_gain)[0]
    assert torch.allclose(cache.window(0), expected, atol=2e-3 * float(expected.abs().max()))
    assert cache.frames[3] < 400 and set(cache.frames[[0, 1, 2, 4, 5, 6]]) == {400}  # the short file's window keeps its own length

    labels = np.array([0, 1, 1, 0])  # 1 = spoof, as the studies read the manifest
    sources = np.array(["a", "a", "b", "c"])
    real, fake = training_windows(cache, labels, sources, {"a", "b"}, held_out="b")
    assert list(real) == [0, 1, 2] and list(fake) == []  # full windows of allowed sources but the held-out one; the 3 s file is too short
    real, fake = training_windows(cache, labels, sources, {"a", "b"}, held_out="a")
    assert list(real) == [] and list(fake) == [4, 5]

    activation = copy.deepcopy(encoder.cnn[LAST_BLOCK_INDEX + 1])
    published = CropDetector(last_block(encoder), activation, torch.zeros(1), torch.ones(1))
    stats = frame_stats(published, cache)
    assert stats.shape == (len(cache.owner), 2048) and np.isfinite(stats).all()


def test_the_folds_tuning_moves_the_layer_and_separates_its_training_windows(tmp_path, monkeypatch):
    torch.manual_seed(0)
    encoder = build_encoder(pretrained=False).eval()
    rows = _rows(tmp_path)
    (tmp_path / "cache").mkdir()
    cache = BelowCache(tmp_path / "cache", "clean")
    cache.build(rows, tmp_path, "clean", encoder)
    cache.open()
    real, fake = np.array([0, 1, 2]), np.array([4, 5])
    monkeypatch.setattr(tuned_block_loso, "STOP_STEP", 30)
    settings = TuningSettings(batch_size=4, block_lr=3e-3, head_lr=3e-2, augment_prob=0.0)
    model = tuned_layer(encoder, {"clean": cache, "telephone_8k": cache}, {"clean": (real, fake), "telephone_8k": (real, fake)}, settings, seed=0)
    assert not torch.equal(model.block.weight, last_block(encoder).weight)  # the encoder's own layer is untouched, a copy moved
    with torch.no_grad():
        z = model(cache.batch(np.r_[real, fake])).numpy()
    assert z[: len(real)].min() > z[len(real) :].max()  # bona fide scores higher on what it trained on
