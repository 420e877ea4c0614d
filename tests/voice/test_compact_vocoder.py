"""The compact vocoder: pruning keeps the channels that carry signal, its weights file, a tiny distillation run
that resumes, and the recipe that diagnoses a student against V1."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from voice.converter.compact_vocoder import CompactHiFiGAN, VocoderConfig, load_vocoder, prune_from, save_vocoder
from voxtwin import audio
from voxtwin.errors import CheckpointError

WIDE, NARROW = VocoderConfig(channels=32), VocoderConfig(channels=16)


def _mels(n=2, frames=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(1, 80, frames, generator=g) - 4.0 for _ in range(n)]


def _silence_half_the_channels(model: CompactHiFiGAN) -> None:
    """Zero every weight into and out of the odd channels of each stream and inner layer, so that they are always 0."""
    with torch.no_grad():
        model.conv_pre.weight[1::2] = 0
        model.conv_pre.bias[1::2] = 0
        for i, up in enumerate(model.ups):
            up.weight[:, 1::2] = 0
            up.bias[1::2] = 0
        for block in model.resblocks:
            for c1, c2 in zip(block.convs1, block.convs2):
                c1.weight[1::2] = 0
                c1.bias[1::2] = 0
                c2.weight[1::2] = 0
                c2.bias[1::2] = 0


def test_pruning_at_full_width_is_the_teacher_itself():
    torch.manual_seed(0)
    teacher = CompactHiFiGAN(WIDE).eval()  # V1's module names, so it stands in for V1 here
    student = prune_from(teacher, _mels(), WIDE)
    mel = _mels(1, 20, seed=1)[0]
    with torch.no_grad():
        assert torch.equal(student(mel), teacher(mel))


def test_pruning_drops_the_silent_channels_and_keeps_the_output():
    torch.manual_seed(0)
    teacher = CompactHiFiGAN(WIDE).eval()
    _silence_half_the_channels(teacher)
    student = prune_from(teacher, _mels(), NARROW)
    mel = _mels(1, 20, seed=1)[0]
    with torch.no_grad():
        assert torch.allclose(student(mel), teacher(mel), atol=1e-6)
        assert student(mel).shape == (1, 1, 20 * 256)
    # half the channels everywhere: about a third of the weights (the 80 mel inputs stay)
    assert sum(p.numel() for p in student.parameters()) < 0.35 * sum(p.numel() for p in teacher.parameters())


def test_weights_round_trip_in_fp16_and_refuse_foreign_or_mismatched_files(tmp_path):
    torch.manual_seed(0)
    model = CompactHiFiGAN(NARROW)
    path = save_vocoder(model, tmp_path / "v.safetensors", info={"step": 7})
    loaded, info = load_vocoder(path)
    assert info == {"step": 7} and loaded.config == model.config
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor.half().float())
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_vocoder(tmp_path / "junk.safetensors")
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path))
    tensors["conv_post.weight"] = torch.zeros(1, 8, 7, dtype=torch.float16)
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata={"format": "voxtwin-vocoder", "format_version": "1", "config": json.dumps(NARROW.to_dict())})
    with pytest.raises(CheckpointError, match="do not match"):
        load_vocoder(tmp_path / "bad.safetensors")
    with pytest.raises(CheckpointError, match="not found"):
        load_vocoder(tmp_path / "missing.safetensors")


def _tiny_teacher_pool(tmp_path, monkeypatch):
    """A small random generator stands in for V1 (the distillation prunes the V1 it loads); its output for 6 mels is
    the teacher pool (4 training, 2 validation chunks)."""
    torch.manual_seed(0)
    teacher = CompactHiFiGAN(WIDE).eval()

    class FakeV1:
        def __init__(self, *a, **k):
            self.generator = teacher

    monkeypatch.setattr("voice.vocoders.HiFiGAN", FakeV1)
    mels = np.stack([m[0].numpy() for m in _mels(6, 40)]).astype(np.float16)
    with torch.no_grad():
        waves = np.stack([teacher(torch.from_numpy(m.astype(np.float32))[None])[0, 0].numpy() for m in mels]).astype(np.float16)
    pool = tmp_path / "pool.npz"
    np.savez(pool, train_mel=mels[:4], train_wave=waves[:4], val_mel=mels[4:], val_wave=waves[4:])
    return pool


def test_tiny_distillation_writes_weights_and_resumes(tmp_path, monkeypatch):
    from voice.converter import vocoder_distillation as vd

    pool = _tiny_teacher_pool(tmp_path, monkeypatch)
    settings = vd.DistillSettings(steps=4, batch_size=2, core_frames=8, context_frames=4, checkpoint_every=2, validate_every=2, threads=1, channels=16)
    best = vd.distill(pool, tmp_path / "out", settings)
    history = json.loads((tmp_path / "out" / "distill_history.json").read_text())
    assert [h["step"] for h in history] == [0, 2, 4] and all(np.isfinite(h["mel_l1"]) for h in history)
    assert best.name in {"compact-2.safetensors", "compact-4.safetensors"}
    assert load_vocoder(best)[0].config == NARROW
    settings.steps = 6
    vd.distill(pool, tmp_path / "out", settings)  # resumes from step 4
    assert [h["step"] for h in json.loads((tmp_path / "out" / "distill_history.json").read_text())] == [0, 2, 4, 6]


def test_least_squares_refit_brings_a_pruned_generator_closer_to_its_teacher():
    from voice.converter.compact_vocoder import choose_channels, refit_layers

    torch.manual_seed(0)
    teacher = CompactHiFiGAN(WIDE).eval()
    with torch.no_grad():  # larger weights than PyTorch's default init, so the output is more than its biases
        for p in teacher.parameters():
            p.mul_(3.0)
    calibration = torch.cat(_mels(8, 24, seed=2))
    kept = choose_channels(teacher, [calibration], NARROW)
    pruned = prune_from(teacher, [calibration], NARROW)
    refitted = refit_layers(prune_from(teacher, [calibration], NARROW), teacher, calibration, kept)
    held_out = torch.cat(_mels(4, 24, seed=3))
    with torch.no_grad():
        target = teacher(held_out)
        error = lambda model: ((model(held_out) - target).pow(2).mean() / target.pow(2).mean()).item()  # noqa: E731
        assert error(refitted) < 0.6 * error(pruned)


def test_compact_vocoder_weights_resynthesize_like_any_vocoder(tmp_path):
    from voice.vocoders import CompactHiFiGANVocoder

    torch.manual_seed(0)
    path = save_vocoder(CompactHiFiGAN(NARROW), tmp_path / "v.safetensors")
    vocoder = CompactHiFiGANVocoder(path)
    y = vocoder.resynthesize(np.random.default_rng(0).standard_normal(16_000).astype(np.float32) * 0.1, 16_000)
    assert vocoder.sample_rate == 22_050 and abs(len(y) - 22_050) <= 256 and np.all(np.isfinite(y))


def test_waveform_critics_learn_to_tell_a_clean_tone_from_a_buzzy_copy():
    from voice.converter.waveform_discriminators import WaveformDiscriminators, discriminator_loss, feature_matching_loss, generator_loss

    torch.manual_seed(0)
    t = torch.arange(2048) / 22_050
    clean = torch.stack([0.3 * torch.sin(2 * torch.pi * f * t) for f in (140.0, 180.0, 220.0, 260.0)])
    buzzy = clean + 0.15 * torch.sign(torch.sin(2 * torch.pi * 3_000 * t))  # the same tones with a 3 kHz square-wave buzz
    critics = WaveformDiscriminators()
    optimizer = torch.optim.AdamW(critics.parameters(), lr=1e-3, betas=(0.8, 0.99))
    losses = []
    for _ in range(40):
        loss = discriminator_loss(critics(clean), critics(buzzy))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    with torch.no_grad():
        real, fake = critics(clean), critics(buzzy)
        # every critic but the coarsest scale (5.5 kHz: the buzz is averaged away there) tells them apart
        assert sum(bool(r.mean() > f.mean() + 0.5) for (r, _), (f, _) in zip(real, fake)) >= 6
        assert generator_loss(fake) > generator_loss(real)  # the student is pushed toward the target's scores
        assert feature_matching_loss(real, real) == 0 and feature_matching_loss(real, fake) > 0


def test_adversarial_distillation_saves_its_critics_and_resumes_a_spectral_run(tmp_path, monkeypatch):
    from voice.converter import vocoder_distillation as vd

    pool = _tiny_teacher_pool(tmp_path, monkeypatch)
    settings = vd.DistillSettings(steps=2, batch_size=2, core_frames=8, context_frames=4, checkpoint_every=2, validate_every=2, threads=1, channels=16)
    vd.distill(pool, tmp_path / "out", settings)  # spectral only
    assert "critics" not in torch.load(tmp_path / "out" / "distill_last.pt", weights_only=True)
    settings.steps, settings.adversarial_weight = 4, 0.1
    vd.distill(pool, tmp_path / "out", settings)  # resumes at step 2 with fresh critics
    state = torch.load(tmp_path / "out" / "distill_last.pt", weights_only=True)
    assert state["step"] == 4 and "critics" in state and "critic_optimizer" in state
    settings.steps = 6
    vd.distill(pool, tmp_path / "out", settings)  # and resumes the critics too
    history = json.loads((tmp_path / "out" / "distill_history.json").read_text())
    assert [h["step"] for h in history] == [0, 2, 4, 6] and all(np.isfinite(h["mel_l1"]) for h in history)


def test_the_diagnosis_recipe_tells_a_vocoder_that_buzzes_from_v1(tmp_path, piper_speech):
    """recipes/voice_converter/vocoder_diagnosis.py on two 'VCC' recordings with an untrained compact vocoder: its
    copies are judged far less natural than V1's, band by band figures are written, and no corpus is a one-line error."""
    import csv
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    data = tmp_path / "data"
    data.mkdir()
    with open(data / "manifest.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "source", "speaker"])
        for i, wav in enumerate(piper_speech):
            audio.save(data / f"{i}.wav", wav, 16_000)
            for _ in range(9):  # the recipe takes every 9th VCC file
                writer.writerow([f"{i}.wav", "bonafide", "vcc2016_ccganvc", f"S{i}"])
    weights = save_vocoder(CompactHiFiGAN(NARROW), tmp_path / "untrained.safetensors")
    recipe = str(root / "recipes/voice_converter/vocoder_diagnosis.py")
    done = subprocess.run([sys.executable, recipe, str(weights), "--data", str(data), "--recordings", "2", "--json", str(tmp_path / "d.json")],
                          capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "d.json").read_text())
    assert len(report["recordings"]) == 2 and set(report["recordings"][0]["bands_db"]) == {"0-100 Hz", "100-500 Hz", "500-2000 Hz", "2000-4000 Hz", "4000-8000 Hz", "8000-11025 Hz"}
    assert report["means"]["distillmos_v1"] > report["means"]["distillmos_student"] + 1.0
    missing = subprocess.run([sys.executable, recipe, str(weights), "--data", str(tmp_path / "nowhere")], capture_output=True, text=True, cwd=root)
    assert missing.returncode != 0 and "manifest.csv not found" in missing.stderr and "Traceback" not in missing.stderr


def test_vocoder_arithmetic_counts_convolutions_and_transposed_convolutions_exactly():
    """recipes/voice_converter/vocoder_arithmetic.py: the multiply-adds behind its RTF argument, checked on a toy
    generator whose count is known by hand (a transposed convolution upsampling x4, then a convolution)."""
    import sys

    recipes = str(Path(__file__).resolve().parents[2] / "recipes/voice_converter")
    sys.path.insert(0, recipes)
    try:
        from vocoder_arithmetic import multiply_adds
    finally:
        sys.path.remove(recipes)
    toy = torch.nn.Sequential(torch.nn.ConvTranspose1d(8, 4, 8, stride=4, padding=2), torch.nn.Conv1d(4, 2, 3, padding=1))
    mel = torch.randn(1, 8, 10)
    # transposed: 10 input frames x 8 channels, each spread over 4 outputs x 8 taps; then 40 outputs x 2 channels x (4 x 3)
    assert multiply_adds(toy, mel, toy) == 10 * 8 * 4 * 8 + 40 * 2 * 4 * 3
