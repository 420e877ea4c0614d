"""HiFi-GAN V1's FFT convolutions (voice/fft_convolution.py): the same outputs as the direct kernels wherever they run,
the plain Conv1d wherever they must not (gradients, autocast), and the same parameters for code that reads them."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from voice.fft_convolution import FFT_ENV, FFTConv1d, block_length, use_fft_convolutions, worth_fft

RECIPE = Path(__file__).resolve().parents[2] / "recipes/voice_converter/fft_vocoder.py"


def conv(channels: int, kernel: int, dilation: int, *, bias: bool = True, seed: int = 0) -> nn.Conv1d:
    torch.manual_seed(seed)
    return nn.Conv1d(channels, channels + 3, kernel, dilation=dilation, padding=(kernel - 1) * dilation // 2, bias=bias)


@pytest.mark.parametrize("kernel,dilation", [(3, 1), (7, 3), (11, 1), (11, 5)])
@pytest.mark.parametrize("length", [5, 117, 1000])  # shorter than one block, about one, several
def test_fft_path_gives_the_direct_convolution(kernel, dilation, length):
    direct = conv(8, kernel, dilation)
    fft = FFTConv1d.from_conv(direct)
    x = torch.randn(2, 8, length, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert fft.fft_applies(x)
        expected, got = direct(x), fft(x)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4)


def test_no_bias_and_a_changed_weight_are_honoured():
    direct = conv(4, 11, 3, bias=False)
    fft = FFTConv1d.from_conv(direct)
    x = torch.randn(1, 4, 300, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        before = fft(x)
        direct.weight.mul_(-2.0)  # shared with the FFT layer: its cached spectrum must be recomputed
        after, expected = fft(x), direct(x)
    assert torch.allclose(after, expected, atol=1e-5) and torch.allclose(after, -2 * before, atol=1e-5)


def test_it_is_the_same_layer_to_code_that_reads_or_trains_it():
    direct = conv(6, 7, 1)
    fft = FFTConv1d.from_conv(direct)
    assert fft.weight is direct.weight and fft.bias is direct.bias
    assert fft.state_dict().keys() == direct.state_dict().keys()
    x = torch.randn(1, 6, 50, requires_grad=True)
    assert not fft.fft_applies(x)  # a gradient is wanted: the plain convolution runs, and trains as before
    fft(x).square().sum().backward()
    grad_fft = direct.weight.grad.clone()
    direct.weight.grad = None
    direct(x).square().sum().backward()
    assert torch.equal(grad_fft, direct.weight.grad)


def test_autocast_and_other_dtypes_take_the_plain_path():
    fft = FFTConv1d.from_conv(conv(4, 11, 1))
    x = torch.randn(1, 4, 64)
    with torch.inference_mode():
        assert not fft.fft_applies(x.double())
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert not fft.fft_applies(x)
            assert fft(x).dtype == torch.bfloat16


def test_only_length_keeping_convolutions_are_taken():
    with pytest.raises(ValueError):
        FFTConv1d.from_conv(nn.Conv1d(4, 4, 7, stride=2, padding=3))
    with pytest.raises(ValueError):
        FFTConv1d.from_conv(nn.Conv1d(4, 4, 7, padding=0))
    model = nn.Sequential(nn.Conv1d(4, 4, 11, padding=5), nn.Conv1d(4, 4, 11, stride=2, padding=5), nn.Conv1d(4, 4, 3, padding=1),
                          nn.Conv1d(4, 4, 11, padding=5, padding_mode="reflect"), nn.Conv1d(4, 4, 11, padding="same"))
    assert use_fft_convolutions(model) == 1
    assert [type(m) for m in model] == [FFTConv1d] + [nn.Conv1d] * 4


def test_a_spectrum_cached_under_inference_mode_serves_no_grad_calls_too():
    direct = conv(4, 11, 1)
    fft = FFTConv1d.from_conv(direct)
    x = torch.randn(1, 4, 200)
    with torch.inference_mode():
        first = fft(x)
    with torch.no_grad():
        assert torch.allclose(fft(x), first) and torch.allclose(fft(x), direct(x), atol=1e-5)


def test_the_choice_and_the_block():
    assert worth_fft(32, 11) and worth_fft(128, 7) and not worth_fft(64, 7) and not worth_fft(256, 3)
    for span in (7, 11, 31, 51):
        block = block_length(span)
        assert block & (block - 1) == 0 and block >= 4 * span and block >= 128


def test_v1_by_fft_is_v1(monkeypatch):
    from voice.vocoders import HiFiGAN

    monkeypatch.setenv(FFT_ENV, "0")
    direct = HiFiGAN(precision="fp32")  # the environment switch users have
    fft = HiFiGAN(precision="fp32", fft_convolution=True)  # the argument overrides it
    swapped = [m for m in fft.generator.modules() if isinstance(m, FFTConv1d)]
    assert not any(isinstance(m, FFTConv1d) for m in direct.generator.modules())
    # every kernel-11 convolution of the four stages and the kernel-7 ones of the first two (3 x 2 each)
    assert len(swapped) == 4 * 6 + 2 * 6
    mel = torch.randn(1, 80, 40, generator=torch.Generator().manual_seed(0)) * 0.5 - 5
    a, b = direct.mel_to_wav(mel), fft.mel_to_wav(mel)
    assert a.shape == b.shape and abs(a - b).max() < 1e-5
    copy.deepcopy(fft.generator)  # the bundled config's dict no longer breaks a deep copy


def test_recipe_reports_speed_and_difference(tmp_path):
    out = tmp_path / "fft.json"
    done = subprocess.run([sys.executable, str(RECIPE), "--seconds", "0.5", "--rounds", "1", "--json", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["rtf_direct"] > 0 and result["rtf_fft"] > 0 and result["speedup"] > 0
    assert result["max_abs_difference"] < 1e-4 and result["signal_to_difference_db"] > 60


def test_recipe_refuses_bad_arguments():
    done = subprocess.run([sys.executable, str(RECIPE), "--rounds", "0"], capture_output=True, text=True)
    assert done.returncode != 0 and "--rounds" in done.stderr and "Traceback" not in done.stderr
