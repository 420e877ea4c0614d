"""HiFi-GAN's upsampling layers as two direct convolutions (voice/polyphase_upsampling.py): the transposed
convolution's output wherever the path runs, the plain layer wherever it must not, the same parameters."""

import pytest
import torch
from torch import nn

from voice.polyphase_upsampling import PolyphaseConvTranspose1d, splits_into_phases, use_polyphase_upsampling


def upsampler(stride: int, *, channels: int = 6, bias: bool = True, seed: int = 0) -> nn.ConvTranspose1d:
    torch.manual_seed(seed)
    return nn.ConvTranspose1d(channels, channels - 2, 2 * stride, stride, padding=stride // 2, bias=bias)


@pytest.mark.parametrize("stride", [2, 4, 8])  # V1's rates (8, 8, 2, 2) and V3's 4
@pytest.mark.parametrize("length", [1, 2, 37])
def test_polyphase_path_gives_the_transposed_convolution(stride, length):
    plain = upsampler(stride)
    polyphase = PolyphaseConvTranspose1d.from_layer(plain)
    x = torch.randn(2, 6, length, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert polyphase.polyphase_applies(x)
        expected, got = plain(x), polyphase(x)
    assert got.shape == expected.shape == (2, 4, length * stride)
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4)


def test_no_bias_and_a_changed_weight_are_honoured():
    plain = upsampler(4, bias=False)
    polyphase = PolyphaseConvTranspose1d.from_layer(plain)
    x = torch.randn(1, 6, 20, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        before = polyphase(x)
        plain.weight.mul_(-2.0)  # shared: the cached phase kernels must be rebuilt
        after, expected = polyphase(x), plain(x)
    assert torch.allclose(after, expected, atol=1e-5) and torch.allclose(after, -2 * before, atol=1e-5)


def test_it_is_the_same_layer_to_code_that_reads_or_trains_it():
    plain = upsampler(2)
    polyphase = PolyphaseConvTranspose1d.from_layer(plain)
    assert polyphase.weight is plain.weight and polyphase.bias is plain.bias
    assert polyphase.state_dict().keys() == plain.state_dict().keys()
    x = torch.randn(1, 6, 9, requires_grad=True)
    assert not polyphase.polyphase_applies(x)  # a gradient is wanted: the transposed layer runs and trains as before
    polyphase(x).square().sum().backward()
    grad = plain.weight.grad.clone()
    plain.weight.grad = None
    plain(x).square().sum().backward()
    assert torch.equal(grad, plain.weight.grad)


def test_bfloat16_and_other_dtypes_take_the_plain_path():
    polyphase = PolyphaseConvTranspose1d.from_layer(upsampler(2))
    x = torch.randn(1, 6, 16)
    with torch.inference_mode():
        assert not polyphase.polyphase_applies(x.double())
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert not polyphase.polyphase_applies(x)
            assert polyphase(x).dtype == torch.bfloat16


def test_only_hifigan_shaped_upsamplers_are_taken():
    assert not splits_into_phases(nn.ConvTranspose1d(4, 4, 5, 2, padding=1))  # kernel not twice the stride
    assert not splits_into_phases(nn.ConvTranspose1d(4, 4, 6, 3, padding=1))  # odd stride
    assert not splits_into_phases(nn.ConvTranspose1d(4, 4, 4, 2, padding=0))  # other padding
    with pytest.raises(ValueError):
        PolyphaseConvTranspose1d.from_layer(nn.ConvTranspose1d(4, 4, 4, 2, padding=1, groups=2))
    model = nn.Sequential(upsampler(8), nn.ConvTranspose1d(4, 4, 5, 2, padding=1), nn.Conv1d(4, 4, 3))
    assert use_polyphase_upsampling(model) == 1
    assert [type(m) for m in model] == [PolyphaseConvTranspose1d, nn.ConvTranspose1d, nn.Conv1d]


def test_hifigan_v1_swaps_its_four_upsamplers_and_keeps_its_waveform():
    from voice.vocoders import HiFiGAN

    mel = torch.randn(1, 80, 40, generator=torch.Generator().manual_seed(3)) * 2 - 6
    plain = HiFiGAN("universal", precision="fp32", polyphase_upsampling=False)
    polyphase = HiFiGAN("universal", precision="fp32")
    assert sum(isinstance(m, PolyphaseConvTranspose1d) for m in polyphase.generator.modules()) == 4
    assert not any(isinstance(m, PolyphaseConvTranspose1d) for m in plain.generator.modules())
    expected, got = plain.mel_to_wav(mel), polyphase.mel_to_wav(mel)
    assert got.shape == expected.shape == (40 * 256,)
    assert abs(got - expected).max() < 1e-4
