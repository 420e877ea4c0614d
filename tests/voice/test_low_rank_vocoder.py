"""The low-rank probe (recipes/voice_converter/low_rank_vocoder.py): a pair at full rank is the layer itself, a pair at
rank r is the layer followed by the projection onto its top-r output directions, the copy swaps only the layers whose
rank saves, and the layer-by-layer refit learns a layer from its inputs and outputs (away from the weights it starts at)."""

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

RECIPE = Path(__file__).resolve().parents[2] / "recipes/voice_converter/low_rank_vocoder.py"


@pytest.fixture(scope="module")
def probe():
    sys.path.insert(0, str(RECIPE.parent))  # the recipe imports its folder's vocoder_diagnosis.py
    import low_rank_vocoder

    return low_rank_vocoder


def _conv_and_outputs(seed: int = 0, channels: int = 16, kernel: int = 7, dilation: int = 3):
    torch.manual_seed(seed)
    conv = nn.Conv1d(channels, channels, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2)
    x = torch.randn(1, channels, 400)
    return conv, x


def test_a_full_rank_pair_is_the_layer_and_a_low_rank_pair_is_its_projection(probe):
    conv, x = _conv_and_outputs()
    with torch.no_grad():
        y = conv(x)[0]
        mean = y.mean(1)
        variances, directions = torch.linalg.eigh(torch.cov(y))
        directions, variances = directions.flip(1), variances.flip(0)
        whole = probe.projected_pair(conv, mean, directions, conv.out_channels)(x)[0]
        assert torch.allclose(whole, y, atol=1e-4)
        basis = directions[:, :4]
        projected = mean[:, None] + basis @ basis.T @ (y - mean[:, None])
        four = probe.projected_pair(conv, mean, directions, 4)(x)[0]
        assert torch.allclose(four, projected, atol=1e-4)
        assert not torch.allclose(four, y, atol=1e-2)  # rank 4 of 16 really loses something
    assert probe.cost(conv, 4) == 4 * (16 * 7 + 16) < conv.weight.numel()


def test_the_rank_rules(probe):
    variances = torch.tensor([8.0, 1.0, 0.5, 0.5] + [0.0] * 12)  # 80 % in the first direction, 100 % by the fourth
    assert probe.kept_share(0.79)(variances, 16, 0) == 8  # one direction, rounded up to 8 channels
    assert probe.kept_share(0.999)(variances, 16, 0) == 8
    assert probe.fraction(0.25)(variances, 256, 2) == 64
    assert probe.fraction(0.25, stages=(0,))(variances, 256, 2) == 256
    assert probe.per_stage([None, probe.fraction(0.5), None, None])(variances, 128, 1) == 64


def test_the_copy_swaps_only_layers_whose_rank_saves_and_v1_is_untouched(probe):
    from voice.vocoders import HiFiGAN

    # the transposed upsamplers whatever the grad mode: `before` is computed with gradients wanted and the check below
    # without, and bit equality must not depend on which path each takes (tests/voice/test_polyphase_upsampling.py)
    generator = HiFiGAN(precision="fp32", fft_convolution=False, polyphase_upsampling=False).generator
    mels = [torch.randn(1, 80, 12, generator=torch.Generator().manual_seed(s)) * 0.5 - 5 for s in range(2)]
    stats = probe.output_statistics(generator, mels)
    assert len(stats) == 72
    before = generator(mels[0]).detach()
    half, share = probe.low_rank_copy(generator, stats, probe.fraction(0.5, stages=(0,)))
    assert 0.5 < share < 1.0
    swapped = [(name, stage) for name, layer, stage in probe.residual_convs(half) if isinstance(layer, nn.Sequential)]
    assert len(swapped) == 18 and {stage for _, stage in swapped} == {0}  # stage 1's 3 blocks x 6 layers, nothing else
    with torch.no_grad():
        assert torch.equal(generator(mels[0]), before)
        out = half(mels[0])
    assert out.shape == before.shape and not torch.allclose(out, before, atol=1e-4)


def test_the_refit_learns_a_layer_from_its_inputs_and_outputs(probe):
    truth, x = _conv_and_outputs(seed=1)
    start, _ = _conv_and_outputs(seed=2)  # the weights the ridge pulls towards: another layer's
    with torch.no_grad():
        target = truth(x)
        fitted = probe.reduced_rank_fit(start, [x], [target], truth.out_channels)(x)
        error = (fitted - target).pow(2).mean() / target.pow(2).mean()
        assert error < 1e-3 and (start(x) - target).pow(2).mean() / target.pow(2).mean() > 0.5
        low = probe.reduced_rank_fit(start, [x], [target], 4)(x)
    assert 1e-3 < (low - target).pow(2).mean() / target.pow(2).mean() < 1  # rank 4 of 16: a real but partial fit


def test_a_missing_corpus_is_a_one_line_error(tmp_path):
    import subprocess

    done = subprocess.run([sys.executable, str(RECIPE), "--data", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode != 0 and "manifest.csv not found" in done.stderr and "Traceback" not in done.stderr
