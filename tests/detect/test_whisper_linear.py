"""whisper-linear and fused-linear: the pretrained Whisper tiny.en frames they read, and the weights pin."""

import pytest
import torch

from detect.models import build_model
from voxtwin.errors import CheckpointError
from voxtwin.testing import speechlike


def test_whisper_frames_are_pretrained_and_aligned_to_20_ms():
    wav = torch.from_numpy(speechlike(duration_s=2.0, sample_rate=16_000, seed=3))[None]
    model = build_model("whisper-linear").eval()
    frames = model.frames(wav)
    assert frames.shape == (1, 100, 384) and torch.isfinite(frames).all()
    torch.testing.assert_close(model.frames(wav), frames)  # deterministic
    other = model.frames(torch.from_numpy(speechlike(duration_s=2.0, sample_rate=16_000, seed=4))[None])
    assert (frames - other).abs().mean() > 0.01  # depends on the speech


def test_fused_frames_concatenate_both_front_ends():
    wav = torch.from_numpy(speechlike(duration_s=1.0, sample_rate=16_000, seed=3))[None]
    model = build_model("fused-linear").eval()
    with torch.inference_mode():
        frames = model.frames(wav)
    assert frames.shape == (1, 50, 1024 + 384)
    assert model.stats_dim == 2 * 1408
    assert not any(k.startswith("distillmos.encoder.") for k in model.state_dict())  # DistillMOS weights come from its package


def test_a_head_fitted_on_other_whisper_weights_is_refused():
    with pytest.raises(CheckpointError, match="Whisper tiny.en weights"):
        build_model("whisper-linear", encoder_sha256="0" * 64)
    with pytest.raises(CheckpointError, match="Whisper tiny.en weights"):
        build_model("fused-linear", whisper_sha256="0" * 64)
