"""V1 cut after two stages + a learnt iSTFT head (research): the cut runs V1's own stages exactly, the head turns each
feature step into 4 samples and can learn a waveform, and the recipe's crops and commands behave."""

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from voice.converter.istft_head import HOP_LENGTH, ISTFTHead, v1_finish, v1_first_stages
from voice.converter.vocoder_distillation import stft_loss
from voxtwin import audio

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes/voice_converter/istft_head_vocoder.py"


def _recipe():
    sys.path.insert(0, str(RECIPE.parent))
    spec = importlib.util.spec_from_file_location("istft_head_vocoder", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cut_runs_v1s_own_stages_exactly():
    from voice.vocoders import HiFiGAN


    # bit-exact only within one arithmetic: the last call below wants gradients, so it takes the direct kernels and
    # transposed upsamplers, which differ from the FFT and polyphase paths by ~1e-6 (tests/voice/test_fft_convolution.py,
    # test_polyphase_upsampling.py)
    generator = HiFiGAN(precision="fp32", fft_convolution=False, polyphase_upsampling=False).generator
    mel = torch.randn(1, 80, 6, generator=torch.Generator().manual_seed(0)) * 0.5 - 5
    with torch.inference_mode():
        whole = generator(mel)
        rebuilt = torch.tanh(generator.conv_post(F.leaky_relu(v1_first_stages(generator, mel, stages=4))))
        cut = v1_first_stages(generator, mel)
    assert torch.equal(rebuilt, whole)
    assert cut.shape == (1, 128, 6 * 64)
    assert torch.equal(v1_finish(generator, cut), whole)  # the recipe's one pass gives V1's own waveform


def test_the_head_makes_four_samples_a_step_and_learns_a_waveform():
    torch.manual_seed(0)
    head = ISTFTHead(channels=16, blocks=1)
    features = torch.randn(2, 128, 1000)
    assert head(features).shape == (2, 1000 * HOP_LENGTH)
    t = torch.arange(1000 * HOP_LENGTH) / 22_050
    target = (0.3 * torch.sin(2 * np.pi * 440 * t)).expand(2, -1).contiguous()
    optimizer = torch.optim.Adam(head.parameters(), 3e-3)
    first = None
    for _ in range(60):
        loss = stft_loss(head(features), target)
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.6 * first


def test_crops_pair_each_feature_step_with_its_four_samples():
    recipe = _recipe()
    features = np.arange(3 * 2 * 400, dtype=np.float32).reshape(3, 2, 400)
    waves = np.repeat(features[:, 0], 4, axis=1)  # sample 4k..4k+3 <- step k
    x, y = recipe.crops(features, waves, np.random.default_rng(0), batch=5, steps=100)
    assert x.shape == (5, 2, 100 + 2 * recipe.CONTEXT) and y.shape == (5, 400)
    middle = x[:, 0, recipe.CONTEXT : -recipe.CONTEXT]
    assert torch.equal(y, middle.repeat_interleave(4, dim=1))


def test_pool_train_and_judge_run_on_a_tiny_corpus_and_refuse_missing_inputs(tmp_path, piper_speech):
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    with open(data / "manifest.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "kind", "source", "duration_s"])
        for i, wav in enumerate(piper_speech):
            audio.save(data / f"{i}.wav", wav, 16_000)
            writer.writerow([f"{i}.wav", "bonafide", "real", "some_corpus", f"{len(wav) / 16_000:.2f}"])
            for _ in range(9):  # judge takes every 9th VCC file
                writer.writerow([f"{i}.wav", "bonafide", "real", "vcc2016_ccganvc", f"{len(wav) / 16_000:.2f}"])

    def run(*args):
        return subprocess.run([sys.executable, str(RECIPE), *args, "--data", str(data), "--out", str(out)], capture_output=True, text=True, cwd=ROOT)

    missing = run("train")
    assert missing.returncode != 0 and "no pool" in missing.stderr and "Traceback" not in missing.stderr
    assert run("pool", "--chunks", "4").returncode == 0
    pool = np.load(out / "pool.npz")
    assert pool["h"].shape[1:] == (128, 160 * 64) and pool["y"].shape[1] == 160 * 256 and len(pool["h"]) >= 2
    trained = run("train", "--steps", "100", "--channels", "8", "--blocks", "1")
    assert trained.returncode == 0, trained.stderr
    assert "val_mel" in trained.stdout and (out / "head.pt").is_file()
    judged = run("judge", str(out / "head.pt"), "--recordings", "1", "--timed-seconds", "0.5")
    assert judged.returncode == 0, judged.stderr
    assert "DistillMOS" in judged.stdout and "V1 stages 1-2 + head" in judged.stdout
    no_head = run("judge", str(out / "absent.pt"))
    assert no_head.returncode != 0 and "no such head checkpoint" in no_head.stderr and "Traceback" not in no_head.stderr
    nowhere = subprocess.run([sys.executable, str(RECIPE), "pool", "--data", str(tmp_path / "nowhere"), "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert nowhere.returncode != 0 and "manifest.csv" in nowhere.stderr and "Traceback" not in nowhere.stderr
