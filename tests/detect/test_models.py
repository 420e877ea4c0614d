import dataclasses

import numpy as np
import pytest
import torch

from detect.models import MODELS, build_model, count_parameters
from detect.models.gmm import GMMConfig, GMMCountermeasure
from voxtwin.errors import UnknownNameError
from voxtwin.features import LFCCSpec

NEURAL = ["aasist", "aasist-l", "distillmos-linear", "distillmos-spectral-linear", "distillmos-spectral-mlp", "distillmos-student-spectral-linear", "distillmos-student-spectral-mlp", "distillmos-tuned-spectral-mlp", "fused-linear", "lcnn", "rawnet2", "spectral-linear", "whisper-linear"]
SAMPLES = 16_000


def tiny(name):
    cls = MODELS.get(name)
    return build_model(name, **dataclasses.asdict(cls.Config.tiny())) if hasattr(cls.Config, "tiny") and name != "aasist-l" else build_model(name)


@pytest.mark.parametrize("name,expected", [("aasist", 297_866), ("aasist-l", 85_306)])
def test_official_parameter_counts(name, expected):
    assert count_parameters(build_model(name)) == expected


@pytest.mark.parametrize("name", NEURAL)
def test_forward_backward_on_a_tiny_batch(name):
    torch.manual_seed(0)
    model = tiny(name)
    wav = torch.randn(3, SAMPLES) * 0.1
    logits = model(wav)
    assert logits.shape == (3, 2)
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 1]))
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model.score(wav[:1]), model.score(wav)[:1], rtol=1e-4, atol=1e-4)


def test_registry_names_and_misses():
    assert set(MODELS.names()) == {"aasist", "aasist-l", "distillmos-linear", "distillmos-spectral-linear", "distillmos-spectral-mlp", "distillmos-student-codec-routed", "distillmos-student-fine-vote", "distillmos-student-spectral-linear", "distillmos-student-spectral-mlp", "distillmos-tuned-spectral-mlp", "fused-linear", "lcnn", "rawnet2", "spectral-linear", "ssl-aasist", "whisper-linear"}
    with pytest.raises(UnknownNameError, match="available: aasist"):
        build_model("resnet")
    with pytest.raises(ValueError, match="unknown"):
        build_model("lcnn", n_layers=3)


def test_models_take_their_front_end_from_the_spec():
    model = build_model("lcnn", spec=LFCCSpec(n_filters=30, n_coeffs=30))
    assert model.spec.dim == 90 and model(torch.randn(2, SAMPLES)).shape == (2, 2)
    with pytest.raises(ValueError):
        build_model("aasist", spec=dataclasses.replace(build_model("aasist").spec, n_filters=40))


def _tiny_ssl_folder(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                         conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    transformers.Wav2Vec2Model(config).save_pretrained(tmp_path / "w2v")
    return tmp_path / "w2v"


@pytest.mark.parametrize("head", ["aasist", "linear"])
def test_ssl_backbone_loads_a_local_folder(tmp_path, head):
    folder = _tiny_ssl_folder(tmp_path)
    model = build_model("ssl-aasist", checkpoint_dir=str(folder), head=head, projection_dim=16)
    logits = model(torch.randn(2, SAMPLES))
    assert logits.shape == (2, 2)
    logits.sum().backward()
    assert model.encoder.feature_projection.projection.weight.grad is not None


def test_ssl_refuses_pickled_or_missing_weights(tmp_path):
    from voxtwin.errors import CheckpointError

    folder = _tiny_ssl_folder(tmp_path)
    with pytest.raises(CheckpointError, match="config.json"):
        build_model("ssl-aasist", checkpoint_dir=str(tmp_path / "nowhere"))
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="safetensors"):
        build_model("ssl-aasist", checkpoint_dir=str(folder))


def test_gmm_separates_two_frame_distributions():
    rng = np.random.default_rng(0)
    gmm = GMMCountermeasure(GMMConfig.tiny()).fit(rng.normal(0, 1, (4000, 60)), rng.normal(0.5, 1, (4000, 60)))
    bonafide, spoof = gmm.bonafide(torch.zeros(5, 60)), gmm.spoof(torch.zeros(5, 60))
    assert torch.all(bonafide > spoof)
    assert gmm.score(torch.randn(2, SAMPLES) * 0.1).shape == (2,)


def test_gmm_log_likelihood_matches_the_direct_formula():
    """The matrix-product form must equal the textbook density, also for frames far from the means."""
    import math

    from detect.models.gmm import DiagonalGMM

    generator = torch.Generator().manual_seed(0)
    weights = torch.rand(32, generator=generator) + 0.1
    weights = weights / weights.sum()
    means = torch.randn(32, 60, generator=generator) * 4 + 10
    variances = torch.rand(32, 60, generator=generator) * 3 + 0.01
    frames = torch.randn(500, 60, generator=generator, dtype=torch.float64) * 6 + 10
    diff = frames[:, None, :] - means.double()[None]
    log_norm = -0.5 * (60 * math.log(2 * math.pi) + torch.log(variances.double()).sum(-1))
    direct = torch.logsumexp(torch.log(weights.double()) + log_norm - 0.5 * (diff**2 / variances.double()).sum(-1), dim=1)
    fast = DiagonalGMM(weights, means, variances)(frames.float()).double()
    assert torch.allclose(fast, direct, rtol=1e-5, atol=1e-2)


def test_gmm_span_scores_equal_window_scores_away_from_window_edges():
    """score_span computes the features once; each window's score is its frames' mean log-likelihood ratio."""
    from voxtwin.testing import speechlike

    rng = np.random.default_rng(0)
    gmm = GMMCountermeasure(GMMConfig.tiny()).fit(rng.normal(0, 3, (4000, 60)), rng.normal(0.5, 3, (4000, 60)))
    wav = torch.from_numpy(speechlike(duration_s=9.0, seed=3))
    window, starts = 4 * 16_000, [0, 16_000, 32_000, 48_000, 80_000]
    span = gmm.score_span(wav, starts, window)
    alone = gmm.score(torch.stack([wav[s : s + window] for s in starts]))
    assert span.shape == (5,)
    spread = float(alone.max() - alone.min())
    assert spread > 0.01  # the windows differ from one another, so the comparison is not between constants
    assert torch.allclose(span, alone, atol=0.1 * spread)
