"""Fine-tuning DistillMOS's last convolution: the layer learns the task, stays near the published one, and the
detector that reads it loads exactly the tuned weights its head was fitted on."""

import numpy as np
import pytest
import torch

from detect.last_block_tuning import BelowLastBlock, TuningSettings, tune_last_block
from detect.models import build_model
from detect.models.distillmos_linear import build_encoder
from detect.models.tuned_last_block import last_block, last_block_sha256, load_last_block, put_last_block, save_last_block
from voxtwin.errors import CheckpointError

RATE = 16_000


def _speechlike(rng, seconds=1.5):
    """Noise under a random smooth envelope: the 'real' class (_data adds a periodic buzz for the 'synthetic' one)."""
    n = int(seconds * RATE)
    envelope = np.interp(np.arange(n), np.linspace(0, n, 8), rng.uniform(0.2, 1.0, 8))
    return (0.1 * rng.standard_normal(n) * envelope).astype(np.float32)


def _data(rng, count):
    real = [_speechlike(rng) for _ in range(count)]
    t = np.arange(int(1.5 * RATE)) / RATE
    fake = [(_speechlike(rng) + 0.2 * np.sign(np.sin(2 * np.pi * rng.uniform(100, 200) * t))).astype(np.float32) for _ in range(count)]
    to_int16 = lambda ws: [np.round(np.clip(w, -1, 1) * 32767).astype(np.int16) for w in ws]  # noqa: E731
    return to_int16(real), to_int16(fake)


def test_tuning_separates_the_classes_and_stays_near_the_published_layer(tmp_path):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    encoder = build_encoder(pretrained=False)
    published = last_block(encoder).weight.detach().clone()
    settings = TuningSettings(steps=30, batch_size=8, crop_samples=8_000, block_lr=1e-3, head_lr=3e-2, pull=10.0, augment_prob=0.0,
                              validate_every=10, valid_crops_per_class=8)
    last = tune_last_block(encoder, _data(rng, 12), _data(rng, 6), tmp_path, settings)
    state = torch.load(last, map_location="cpu", weights_only=True)
    assert [h["step"] for h in state["history"]] == [10, 20, 30]
    assert state["best"]["valid_eer_percent"] < 20  # a buzz is easy to hear: the layer and its head learned the task
    change = state["best"]["block"]["weight"] - published
    assert 0 < float(change.norm() / published.norm()) < 0.5  # moved, but not far from what DistillMOS learned
    assert torch.equal(last_block(encoder).weight, published)  # the encoder given is never changed
    # resumes: more steps continue the same run
    tune_last_block(encoder, _data(rng, 12), _data(rng, 6), tmp_path, TuningSettings(**{**settings.__dict__, "steps": 40}))
    resumed = torch.load(last, map_location="cpu", weights_only=True)
    assert [h["step"] for h in resumed["history"]] == [10, 20, 30, 40]


def test_tuned_layer_round_trips_and_changes_the_frames(tmp_path):
    torch.manual_seed(1)
    encoder = build_encoder(pretrained=False)
    tuned = torch.nn.Conv2d(256, 256, (3, 3), stride=(2, 2), padding=(0, 1))
    path = save_last_block(tuned, tmp_path / "block.safetensors", metadata={"step": 1})
    loaded = load_last_block(path)
    assert torch.allclose(loaded.weight, tuned.weight, atol=1e-3) and loaded.stride == (2, 2)
    wav = torch.randn(1, RATE)
    before = encoder(wav)
    put_last_block(encoder, loaded)
    after = encoder(wav)
    assert before.shape == after.shape and not torch.allclose(before, after)
    # what runs below the last block is untouched
    below = BelowLastBlock(encoder)(wav)
    assert below.shape[1] == 256 and torch.allclose(torch.flatten(encoder.cnn[11](loaded(below)), 1, -2), after, atol=1e-5)


def test_a_layer_of_another_shape_is_refused(tmp_path):
    encoder = build_encoder(pretrained=False)
    other = torch.nn.Conv2d(256, 128, (3, 3), stride=(2, 2), padding=(0, 1))
    with pytest.raises(CheckpointError, match="does not fit"):
        put_last_block(encoder, other)


def test_each_tuned_layer_caches_its_own_statistics():
    a = build_model("distillmos-tuned-spectral-mlp", pretrained=False, last_block_sha256="a" * 64)
    b = build_model("distillmos-tuned-spectral-mlp", pretrained=False, last_block_sha256="b" * 64)
    assert a.statistics_of != b.statistics_of != "distillmos-spectral-linear"


def test_the_pin_is_on_the_tensors_not_the_files_bytes(tmp_path):
    layer = torch.nn.Conv2d(256, 256, (3, 3), stride=(2, 2), padding=(0, 1))
    first = save_last_block(layer, tmp_path / "a.safetensors", metadata={"step": 1})
    again = save_last_block(layer, tmp_path / "b.safetensors", metadata={"step": 1, "note": "exported again"})
    assert last_block_sha256(first) == last_block_sha256(again)
    with torch.no_grad():
        layer.bias[0] += 1.0
    assert last_block_sha256(save_last_block(layer, tmp_path / "c.safetensors", metadata={})) != last_block_sha256(first)


def test_a_detector_loads_the_tuned_layer_it_was_fitted_on_and_refuses_another(tmp_path, monkeypatch):
    torch.manual_seed(2)
    tuned = torch.nn.Conv2d(256, 256, (3, 3), stride=(2, 2), padding=(0, 1))
    path = save_last_block(tuned, tmp_path / "block.safetensors", metadata={})
    monkeypatch.setattr("detect.models.tuned_last_block.LAST_BLOCK_FILE", path)
    model = build_model("distillmos-tuned-spectral-mlp", last_block_sha256=last_block_sha256(path))
    assert torch.allclose(last_block(model.encoder).weight, tuned.weight, atol=1e-3)
    assert not last_block(model.encoder).weight.requires_grad
    with pytest.raises(CheckpointError, match="fitted on a tuned last block"):
        build_model("distillmos-tuned-spectral-mlp", last_block_sha256="0" * 64)
