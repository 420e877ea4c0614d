"""The trained converter (vox-vc): its weights file, its pitch mapping, a tiny training run that resumes, and
conversion through the CLI's default backend with the watermark on the output."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import voice
from voice.converter.backend import target_pitch
from voice.converter.network import GeneratorConfig, MelGenerator
from voice.converter.weights import SHIPPED, load_weights, save_weights
from voxtwin import audio
from voxtwin.cli import app
from voxtwin.errors import CheckpointError

TINY = {"bottleneck": 8, "channels": 16, "blocks": 2}


def test_weights_round_trip_in_fp16_and_refuse_foreign_files(tmp_path):
    torch.manual_seed(0)
    model = MelGenerator(GeneratorConfig(**TINY))
    path = save_weights(model, tmp_path / "w.safetensors", extra={"step": 3})
    loaded, info = load_weights(path)
    assert info == {"step": 3} and loaded.config == model.config
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor.half().float())
    (tmp_path / "junk.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_weights(tmp_path / "junk.safetensors")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(tmp_path / "other.safetensors"), metadata={"format": "something-else"})
    with pytest.raises(CheckpointError, match="not voxtwin converter weights"):
        load_weights(tmp_path / "other.safetensors")


def test_averaged_weights_are_the_element_wise_mean_of_one_networks_files(tmp_path):
    from voice.converter.weight_averaging import average_weights

    paths = []
    for seed in range(3):
        torch.manual_seed(seed)
        paths.append(save_weights(MelGenerator(GeneratorConfig(**TINY)), tmp_path / f"w{seed}.safetensors", extra={"step": seed}))
    parts = [load_weights(p)[0].state_dict() for p in paths]
    mean, info = average_weights(paths)
    for name, tensor in mean.state_dict().items():
        assert torch.allclose(tensor, sum(part[name] for part in parts) / 3, atol=1e-6)
    assert not torch.equal(mean.state_dict()["out.weight"], parts[0]["out.weight"])
    assert info["averaged_from"] == ["w0.safetensors", "w1.safetensors", "w2.safetensors"] and info["parts"][2] == {"step": 2}
    other = save_weights(MelGenerator(GeneratorConfig(**{**TINY, "channels": 8})), tmp_path / "other.safetensors")
    with pytest.raises(CheckpointError, match="differs"):
        average_weights([paths[0], other])
    with pytest.raises(CheckpointError, match="at least two"):
        average_weights(paths[:1])


def test_shipped_weights_are_small_fp16_with_provenance():
    assert SHIPPED.is_file() and SHIPPED.stat().st_size <= 10 * 1024**2
    from safetensors import safe_open

    with safe_open(str(SHIPPED), framework="pt") as f:
        assert all(f.get_tensor(k).dtype == torch.float16 for k in f.keys())
        info = json.loads(f.metadata()["info"])
    assert info["step"] > 0 and "validation_l1" in info


def test_pitch_moves_into_the_targets_range_keeping_the_contour():
    rng = np.random.default_rng(0)
    log_f0 = np.log(120.0) + 0.1 * rng.standard_normal(200)
    voiced = rng.random(200) > 0.3
    mapped = target_pitch(np.where(voiced, log_f0, 0.0), voiced, mean=np.log(220.0), std=0.2)
    assert np.all(mapped[~voiced] == 0)
    assert abs(mapped[voiced].mean() - np.log(220.0)) < 1e-3 and abs(mapped[voiced].std() - 0.2) < 1e-3
    assert np.corrcoef(mapped[voiced], log_f0[voiced])[0, 1] > 0.999


def test_the_pitch_spread_study_is_off_by_default_and_shrinks_short_recordings_most():
    from voice.converter.backend import PITCH_SPREAD_PRIOR, source_pitch_spread

    rng = np.random.default_rng(1)
    short, long = np.log(120.0) + 0.08 * rng.standard_normal(60), np.log(120.0) + 0.08 * rng.standard_normal(2000)
    assert source_pitch_spread(short) == max(float(short.std()), 0.05)  # as shipped: the recording's own spread
    moved = {name: source_pitch_spread(x, prior_frames=200) for name, x in (("short", short), ("long", long))}
    assert short.std() < moved["short"] < PITCH_SPREAD_PRIOR and long.std() < moved["long"] < moved["short"]  # toward the prior, the short one most
    voiced = np.ones(60, dtype=bool)
    flat = target_pitch(short, voiced, mean=np.log(220.0), std=0.2, prior_frames=200)
    assert flat.std() < 0.2 * 0.6  # the target's spread is no longer met: the study's intonation is flatter


def test_postfilter_restores_each_bands_contrast_around_its_mean():
    from voice.converter.postfilter import VARIANCE_GAIN, restore_variance

    mel = torch.randn(1, 80, 300) * torch.linspace(0.1, 2.0, 80)[None, :, None] + torch.linspace(-8, 0, 80)[None, :, None]
    out = restore_variance(mel)
    assert VARIANCE_GAIN > 1
    assert torch.allclose(out.mean(-1), mel.mean(-1), atol=1e-4)  # levels unchanged
    assert torch.allclose(out.std(-1), VARIANCE_GAIN * mel.std(-1), rtol=1e-4)  # every band's movement scaled
    assert torch.allclose(restore_variance(mel, 1.0), mel, atol=1e-5)


def test_tiny_training_run_writes_weights_and_resumes(tmp_path, piper_speech):
    from voice.converter.corpus import Recording, cache_features
    from voice.converter.training import TrainSettings, train

    files = []
    for i, wav in enumerate([piper_speech[0], piper_speech[1], piper_speech[0][::-1].copy()]):
        files.append(Recording(audio.save(tmp_path / f"{i}.wav", wav, 16_000), f"spk{i}", "test"))
    cached = cache_features(files, tmp_path / "cache")
    assert len(cached) == 3 and cache_features(files, tmp_path / "cache") == cached  # cached once
    with np.load(cached[0]) as z:
        assert z["content"].shape[1] == 384 and z["mel"].shape[0] == 80 and z["d_vector"].shape == (256,)
        assert z["content_perturbed"].shape == z["content"].shape and len(z["log_f0"]) == z["mel"].shape[1]
    settings = TrainSettings(steps=4, batch_size=2, crop_frames=32, checkpoint_every=2, validate_every=2, validation_share=0.4, generator=TINY)
    out = tmp_path / "run"
    train(tmp_path / "cache", out, settings)
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["step"] == 4
    settings.steps = 6
    train(tmp_path / "cache", out, settings)
    history = json.loads((out / "history.json").read_text())
    assert [h["step"] for h in history] == [2, 4, 6]  # resumed at 4, not restarted
    model, _ = load_weights(out / "best.safetensors")
    assert model.config.channels == 16
    # the adversarial stage starts from best.safetensors, writes its own weights and resumes too
    from voice.converter.adversarial import AdversarialSettings, finetune

    adversarial = AdversarialSettings(steps=2, batch_size=2, crop_frames=32, checkpoint_every=1, validate_every=1, validation_share=0.4)
    first = finetune(tmp_path / "cache", out / "best.safetensors", out, adversarial)
    adversarial.steps = 3
    finetune(tmp_path / "cache", out / "best.safetensors", out, adversarial)
    assert [h["step"] for h in json.loads((out / "adversarial_history.json").read_text())] == [1, 2, 3]
    tuned, info = load_weights(out / "adversarial-3.safetensors")
    assert info["adversarial_steps"] == 3 and tuned.config == model.config
    assert any(not torch.equal(a, b) for a, b in zip(tuned.state_dict().values(), load_weights(first)[0].state_dict().values()))
    # the content stage: a probe fitted on the same cache, then conversions judged by it, from the adversarial result
    from voice.converter.content_probe import ProbeSettings, load_probe, train_probe

    probe_path = train_probe(tmp_path / "cache", out / "probe.pt", ProbeSettings(steps=3, batch_size=2, crop_frames=32, channels=8, validate_every=1, validation_share=0.4))
    probe = load_probe(probe_path)
    assert all(not p.requires_grad for p in probe.parameters())
    with pytest.raises(ValueError, match="probe"):
        finetune(tmp_path / "cache", out / "adversarial-3.safetensors", out, AdversarialSettings(steps=1, content_weight=1.0), stage="content")
    content = AdversarialSettings(steps=2, batch_size=2, crop_frames=32, validate_every=1, validation_share=0.4, content_weight=1.0)
    finetune(tmp_path / "cache", out / "adversarial-3.safetensors", out, content, stage="content", probe=probe)
    history = json.loads((out / "content_history.json").read_text())
    assert [h["step"] for h in history] == [1, 2] and all(h["content"] > 0 for h in history)
    assert load_weights(out / "content-2.safetensors")[1]["content_steps"] == 2
    # ... and with Whisper's own encoder as the judge, on reconstructions too (the shipped recipe's setting)
    from voice.converter.whisper_judge import WhisperJudge, fit_bridge

    judge = WhisperJudge(fit_bridge([piper_speech[0]]))
    whisper = AdversarialSettings(steps=2, batch_size=2, crop_frames=32, validate_every=1, validation_share=0.4, content_weight=1.0,
                                  content_judge="whisper", content_on_reconstructions=True)
    before = load_weights(out / "adversarial-3.safetensors")[0].state_dict()
    tuned_path = finetune(tmp_path / "cache", out / "adversarial-3.safetensors", out, whisper, stage="content-whisper", probe=judge)
    tuned, info = load_weights(tuned_path)
    assert info["content_judge"] == "whisper" and info["content-whisper_steps"] == 2
    assert info["content_weight"] == 1.0 and info["content_on_reconstructions"] is True  # how the stage was run, recorded
    with pytest.raises(ValueError, match="content_judge"):
        AdversarialSettings(content_judge="wisper")
    assert all(h["content"] > 0 for h in json.loads((out / "content-whisper_history.json").read_text()))
    assert any(not torch.equal(a, b) for a, b in zip(tuned.state_dict().values(), before.values()))


def test_conversion_targets_take_the_next_speaker_and_move_the_pitch_range():
    from voice.converter.adversarial import converted_inputs

    voiced = torch.tensor([[1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 1.0]])
    log_f0 = torch.tensor([[0.1, 0.3, 0.0, 0.2], [1.0, 0.0, 1.2, 1.4]]) * voiced
    speakers = torch.randn(2, 256)
    pitch, target = converted_inputs(torch.stack([log_f0, voiced], 1), speakers)
    assert torch.equal(target[0], speakers[1]) and torch.equal(target[1], speakers[0])
    assert torch.equal(pitch[:, 1], voiced) and torch.all(pitch[:, 0][voiced == 0] == 0)
    moved = pitch[0, 0][voiced[0] > 0]
    assert torch.allclose(moved.mean(), torch.tensor(1.2)) and torch.allclose(moved - moved.mean(), log_f0[0][voiced[0] > 0] - 0.2)


def test_default_convert_uses_the_trained_converter_and_marks_the_clone(runner, tmp_path, piper_speech):
    from voxtwin.watermark import detect_watermark

    profile = voice.enroll([piper_speech[0]], sample_rate=16_000, no_consent_reason="test").save(tmp_path / "p.voice")
    source = audio.save(tmp_path / "src.wav", np.tile(piper_speech[1], 2), 16_000)
    out = tmp_path / "clone.wav"
    result = runner.invoke(app, ["voice", "convert", str(source), "--voice", str(profile), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "backend: vox-vc (built in)" in result.stderr
    assert result.stdout.strip().splitlines() == [f"wrote {out} ({2 * len(piper_speech[1]) / 16_000:.1f} s)"]  # nothing else on stdout
    wav, rate = audio.load(out)
    assert rate == 22_050 and abs(len(wav) / rate - 2 * len(piper_speech[1]) / 16_000) < 0.1
    assert detect_watermark(wav, rate).found


def test_convert_runs_the_shipped_refiner_speak_does_not_and_no_refiner_skips_it(runner, tmp_path, piper_speech):
    """2026.12-5: `convert` refines the mel with the refiner shipped behind the shipped weights (at its measured
    temperature); `speak`, other weights and --no-refiner run without one; the refiner file is small fp16, tied to
    the shipped weights."""
    from voice.backends import ReaderVoxVc, VoxVc
    from voice.converter.mel_refiner import load_refiner
    from voice.converter.weights import SHIPPED_REFINER

    assert SHIPPED_REFINER.is_file() and SHIPPED_REFINER.stat().st_size <= 10 * 1024**2
    refiner, info = load_refiner(SHIPPED_REFINER, generator=SHIPPED)  # refuses a refiner trained behind other weights
    assert info["release"] == "2026.12-5" and info["temperature"] == 0.5
    convert = VoxVc(device="cpu").converter
    assert convert.refiner is not None and convert.refiner_temperature == 0.5  # the file's, not 1 (as trained)
    assert VoxVc(device="cpu", refiner_temperature=1.0).converter.refiner_temperature == 1.0
    assert ReaderVoxVc(device="cpu").converter.converter.refiner is None and VoxVc(device="cpu", refiner=None).converter.refiner is None
    other = save_weights(MelGenerator(GeneratorConfig(**TINY)), tmp_path / "other.safetensors")
    assert VoxVc(device="cpu", weights=other).converter.refiner is None  # a refiner belongs to its generator
    enrolled = voice.enroll([piper_speech[0]], sample_rate=16_000, no_consent_reason="test")
    profile = enrolled.save(tmp_path / "p.voice")
    source = audio.save(tmp_path / "src.wav", piper_speech[1], 16_000)
    outputs = {}
    for flags in ([], ["--no-refiner"]):
        out = tmp_path / f"clone{len(flags)}.wav"
        result = runner.invoke(app, ["voice", "convert", str(source), "--voice", str(profile), "-o", str(out), "--no-watermark", *flags])
        assert result.exit_code == 0, result.output
        outputs[bool(flags)] = audio.load(out)[0]
    refined, plain = outputs[False], outputs[True]
    assert len(refined) == len(plain) and not np.allclose(refined, plain, atol=1e-3)
    stats = {"log_f0_mean": enrolled.frames.log_f0_mean, "log_f0_std": enrolled.frames.log_f0_std}
    unrefined, embedding = VoxVc(device="cpu", refiner=None).converter, enrolled.embedding
    # it refines the generator's mel (0.28 log units apart on this sentence), it does not replace it
    moved = (convert.mel(piper_speech[1], embedding, **stats) - unrefined.mel(piper_speech[1], embedding, **stats)).abs().mean()
    assert 0.05 < moved < 1.0


def test_speak_and_convert_each_use_their_own_postfilter_gain(piper_speech):
    from voice.backends import ReaderVoxVc, VoxVc
    from voice.converter.postfilter import SPEAK_VARIANCE_GAIN, VARIANCE_GAIN

    profile = voice.enroll([piper_speech[0]], sample_rate=16_000, no_consent_reason="test")
    stats = {"log_f0_mean": profile.frames.log_f0_mean, "log_f0_std": profile.frames.log_f0_std}
    convert, speak = VoxVc(device="cpu").converter, ReaderVoxVc(device="cpu").converter.converter
    assert (convert.postfilter_gain, speak.postfilter_gain) == (VARIANCE_GAIN, SPEAK_VARIANCE_GAIN) and SPEAK_VARIANCE_GAIN != VARIANCE_GAIN
    assert VoxVc(device="cpu", postfilter_gain=1.0).converter.postfilter_gain == 1.0  # benchmarks/clone.py --postfilter-gain
    shaped = {gain: None for gain in (1.0, VARIANCE_GAIN, SPEAK_VARIANCE_GAIN)}
    for gain in shaped:
        convert.postfilter_gain = gain
        shaped[gain] = convert.mel(piper_speech[1], profile.embedding, **stats)
    raw = shaped[1.0]
    for gain in (VARIANCE_GAIN, SPEAK_VARIANCE_GAIN):  # each band's movement around its mean scaled by that gain
        assert torch.allclose(shaped[gain].std(-1), gain * raw.std(-1), rtol=1e-3)


def test_the_vocoder_runs_bf16_under_auto_only_where_native_and_by_name(monkeypatch, piper_speech):
    from voice.backends import load_convert_backend
    from voice.converter.backend import TrainedConverter
    from voice.vocoders import HiFiGAN
    from voxtwin import precision
    from voxtwin.precision import PRECISION_ENV

    monkeypatch.delenv(PRECISION_ENV, raising=False)
    monkeypatch.setattr(precision, "native_bf16", lambda device_type: False)
    assert TrainedConverter().vocoder.precision == "fp32"  # emulated bfloat16 is slower: float32
    monkeypatch.setattr(precision, "native_bf16", lambda device_type: True)
    assert TrainedConverter().vocoder.precision == "bf16"  # native: V1 in bf16 passed its VCC 2016 check as vox-vc's vocoder
    assert TrainedConverter(precision="fp32").vocoder.precision == "fp32"
    assert HiFiGAN().precision == "fp32"  # V1 on its own (judges, copies) keeps float32 under auto
    monkeypatch.setattr(precision, "native_bf16", lambda device_type: False)
    reduced = load_convert_backend("vox-vc", device="cpu", precision="bf16")
    assert reduced.converter.vocoder.precision == "bf16"
    profile = voice.enroll([piper_speech[0]], sample_rate=16_000, no_consent_reason="test")
    # a quarter of a second: CPUs without native bfloat16 emulate it, ~100x slower than float32 (7 min for 3.5 s here)
    wav = reduced.convert(piper_speech[1][:4_000], profile)
    assert wav.dtype == np.float32 and len(wav) > 0 and np.all(np.isfinite(wav))
    monkeypatch.setenv(PRECISION_ENV, "bf16")
    assert TrainedConverter().vocoder.precision == "bf16"  # the environment sets the default


def _synthetic_cache(folder, rng, n_files=4, frames=(150, 260)):
    """Feature files as corpus.py writes them, with content whose level and spread drift over the recording (the
    case where per-crop and per-recording normalisation differ)."""
    folder.mkdir()
    for i in range(n_files):
        n = int(rng.integers(*frames))
        drift = np.linspace(0, 3, n * 50 // 86)[:, None]
        content = (rng.standard_normal((len(drift), 384)) * (1 + drift) + 5 * drift).astype(np.float16)
        np.savez(folder / f"f{i}.npz", content=content, content_perturbed=content, log_f0=np.full(n, 5.0), voiced=np.ones(n, bool),
                 mel=rng.standard_normal((80, n)).astype(np.float32) - 5, d_vector=rng.standard_normal(256).astype(np.float32), speaker=f"spk{i}")


def test_utterance_normalised_training_sees_the_statistics_inference_uses(tmp_path):
    from voice.converter.adversarial import AdversarialSettings, finetune
    from voice.converter.training import CachedCorpus, TrainSettings, train

    rng = np.random.default_rng(0)
    _synthetic_cache(tmp_path / "cache", rng)
    files = sorted((tmp_path / "cache").glob("*.npz"))
    by_crop, by_utterance = CachedCorpus(files), CachedCorpus(files, utterance_norm=True)
    whole = by_utterance.items[0]["content"].astype(np.float32)
    assert np.abs(whole.mean(-1)).max() < 0.01 and np.abs(whole.std(-1) - 1).max() < 0.01  # over the whole recording
    content, *_ = by_utterance.batch(np.random.default_rng(1), 4, 64, 0.0)
    assert np.abs(content.numpy().mean(-1)).mean() > 0.3  # a crop keeps its place in the recording: not re-centred
    # inference normalises the whole recording inside the network: the same input as training's pre-normalised crops
    model = MelGenerator(GeneratorConfig(**TINY, content_norm="utterance")).eval()
    raw = torch.from_numpy(by_crop.items[0]["content"].astype(np.float32))[None]
    pitch, speaker = torch.zeros(1, 2, raw.shape[-1]), torch.randn(1, 256)
    with torch.no_grad():
        assert torch.allclose(model(raw, pitch, speaker), model(torch.from_numpy(whole)[None], pitch, speaker, normalized=True), atol=1e-2)
    # both stages train this way, and the weights say how they were trained
    out = tmp_path / "run"
    train(tmp_path / "cache", out, TrainSettings(steps=2, batch_size=2, crop_frames=32, validate_every=1, validation_share=0.3, generator={**TINY, "content_norm": "utterance"}))
    assert load_weights(out / "best.safetensors")[0].config.content_norm == "utterance"
    tuned = finetune(tmp_path / "cache", out / "best.safetensors", out, AdversarialSettings(steps=1, batch_size=2, crop_frames=32, validate_every=1, validation_share=0.3))
    assert load_weights(tuned)[0].config.content_norm == "utterance"
    assert MelGenerator(GeneratorConfig()).config.content_norm == "crop"  # what 2026.12-1/-2 were trained with
    with pytest.raises(ValueError, match="content_norm"):
        GeneratorConfig(content_norm="utterence")
    # fine-tuning crop-trained weights under the other normalisation starts from them; another shape is refused
    crop_trained = save_weights(MelGenerator(GeneratorConfig(**TINY)), tmp_path / "crop.safetensors")
    settings = TrainSettings(steps=1, batch_size=2, crop_frames=32, learning_rate=0.0, warmup_steps=0, validate_every=1, validation_share=0.3,
                             generator={**TINY, "content_norm": "utterance"}, init=str(crop_trained))
    train(tmp_path / "cache", tmp_path / "tuned", settings)
    state = torch.load(tmp_path / "tuned" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(state[k], v) for k, v in load_weights(crop_trained)[0].state_dict().items())  # lr 0: the init, kept
    assert load_weights(tmp_path / "tuned" / "best.safetensors")[1]["init"] == "crop.safetensors"  # where it started, recorded
    settings.generator = {**TINY, "channels": 8}
    with pytest.raises(ValueError, match="another network shape"):
        train(tmp_path / "cache", tmp_path / "other", settings)


def test_a_cache_repitched_by_fcpe_trains_weights_that_convert_with_fcpe(tmp_path, piper_speech, monkeypatch):
    """prepare.py --pitch fcpe: a copy of the cache with only FCPE's contour swapped in; the weights trained on it
    record their tracker, and conversion then tracks the source's pitch with the same one."""
    from voice.converter import backend
    from voice.converter.analysis import pitch, prepare
    from voice.converter.corpus import Recording, cache_features, repitch_cache
    from voice.converter.training import CachedCorpus, TrainSettings, train

    speech = [piper_speech[0], piper_speech[1], piper_speech[0][::-1].copy()]
    recordings = [Recording(audio.save(tmp_path / f"{i}.wav", wav, 16_000), f"spk{i}", "test") for i, wav in enumerate(speech)]
    world = cache_features(recordings, tmp_path / "world")
    fcpe = repitch_cache(recordings, tmp_path / "world", tmp_path / "fcpe", tracker="fcpe")
    with np.load(world[1]) as before, np.load(fcpe[1]) as after:
        assert str(after["pitch_tracker"]) == "fcpe" and "pitch_tracker" not in before.files
        for key in ("content", "content_perturbed", "mel", "d_vector"):
            assert np.array_equal(before[key], after[key])  # only the contour changes
        expected_f0, expected_voiced = pitch(prepare(audio.load(recordings[1].path, 16_000)[0]), after["mel"].shape[1], tracker="fcpe")
        assert np.array_equal(after["log_f0"], expected_f0) and np.array_equal(after["voiced"], expected_voiced)
        assert not np.array_equal(before["voiced"], after["voiced"])  # the trackers disagree on voicing
    assert CachedCorpus(world).pitch_tracker == "world" and CachedCorpus(fcpe).pitch_tracker == "fcpe"
    with pytest.raises(ValueError, match="mixes pitch trackers"):
        CachedCorpus([world[0], fcpe[1]])
    with pytest.raises(ValueError, match="unknown pitch tracker"):
        repitch_cache(recordings, tmp_path / "world", tmp_path / "other", tracker="yin")
    # the weights trained on the FCPE cache say so, and the converter built on them tracks pitch with FCPE
    settings = TrainSettings(steps=1, batch_size=2, crop_frames=32, validate_every=1, validation_share=0.4, generator=TINY)
    train(tmp_path / "fcpe", tmp_path / "run", settings)
    weights = tmp_path / "run" / "best.safetensors"
    assert load_weights(weights)[1]["pitch_tracker"] == "fcpe"
    used = []
    real_analyse = backend.analyse
    monkeypatch.setattr(backend, "analyse", lambda wav, **kw: used.append(kw["tracker"]) or real_analyse(wav, **kw))
    mel = backend.TrainedConverter(weights).mel(piper_speech[1], np.ones(256, np.float32) / 16, log_f0_mean=5.0, log_f0_std=0.2)
    assert used == ["fcpe"] and mel.shape[1] == 80
    assert backend.TrainedConverter(SHIPPED).pitch_tracker == "world"  # weights without the field were trained on WORLD's
    model, info = load_weights(weights)
    odd = save_weights(model, tmp_path / "odd.safetensors", extra={**info, "pitch_tracker": "yin"})
    with pytest.raises(CheckpointError, match="unknown pitch tracker 'yin'"):
        backend.TrainedConverter(odd)


def test_per_band_postfilter_gains_scale_each_band_and_refuse_the_wrong_count():
    from voice.converter.postfilter import restore_variance

    mel = torch.randn(1, 80, 200) - 5
    gains = torch.linspace(1.0, 1.5, 80)
    shaped = restore_variance(mel, gains.tolist())
    assert torch.allclose(shaped.std(-1)[0], gains * mel.std(-1)[0], rtol=1e-4)
    assert torch.allclose(shaped.mean(-1), mel.mean(-1), atol=1e-4)  # each band keeps its level
    with pytest.raises(ValueError, match="79"):
        restore_variance(mel, [1.2] * 79)


def test_the_converter_takes_band_gains_from_a_file_and_refuses_a_bad_one(tmp_path, piper_speech):
    from voice.converter.backend import TrainedConverter
    from voice.converter.postfilter import read_band_gains
    from voxtwin.errors import VoxtwinError

    path = tmp_path / "gains.json"
    path.write_text(json.dumps({"gains": [1.0] * 40 + [1.5] * 40}))
    gains = read_band_gains(path)
    wav = piper_speech[0][:16_000]
    flat = TrainedConverter(postfilter_gain=1.0).mel(wav, np.ones(256, np.float32) / 16, log_f0_mean=5.0, log_f0_std=0.2)
    shaped = TrainedConverter(postfilter_gain=gains).mel(wav, np.ones(256, np.float32) / 16, log_f0_mean=5.0, log_f0_std=0.2)
    assert torch.allclose(shaped[0, :40], flat[0, :40], atol=1e-5)  # gain 1: untouched
    assert torch.allclose(shaped.std(-1)[0, 40:], 1.5 * flat.std(-1)[0, 40:], rtol=1e-3)
    for bad in ({"gains": [1.2] * 79}, {"gains": [0.0] * 80}, {"other": 1}):
        path.write_text(json.dumps(bad))
        with pytest.raises(VoxtwinError):
            read_band_gains(path)


def test_band_variance_recipe_finds_the_bands_the_network_flattens(tmp_path):
    """recipes/voice_converter/band_variance.py with the shipped weights on a synthetic cache whose low bands move a
    lot and high bands hardly: the measured deficit (recording / reconstruction spread) is far larger in the low
    bands, --scale-to sets the gains' mean, validate.py takes the file, and a bad file or no cache is a one-line error."""
    import subprocess
    import sys

    from voice.converter.training import is_validation_speaker

    root = Path(__file__).resolve().parents[2]
    rng = np.random.default_rng(0)
    cache = tmp_path / "cache"
    cache.mkdir()
    speakers = [s for s in (f"spk{i}" for i in range(200)) if is_validation_speaker(s, 0.05)][:2]
    for i, speaker in enumerate(speakers):
        n = 300
        motion = np.concatenate([np.full(40, 3.0), np.full(40, 0.05)])[:, None]  # lively low bands, still high bands
        mel = (-5 + motion * rng.standard_normal((80, n))).astype(np.float32)
        np.savez(cache / f"f{i}.npz", content=rng.standard_normal((n * 50 // 86, 384)).astype(np.float16), log_f0=np.full(n, 5.0), voiced=np.ones(n, bool),
                 mel=mel, d_vector=(v := rng.standard_normal(256).astype(np.float32)) / np.linalg.norm(v), speaker=speaker)
    recipe = str(root / "recipes/voice_converter/band_variance.py")
    weights = str(root / "voice/converter/weights/vox-vc.safetensors")
    done = subprocess.run([sys.executable, recipe, weights, "--cache", str(cache), "--json", str(tmp_path / "raw.json")], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    raw = np.array(json.loads((tmp_path / "raw.json").read_text())["gains"])
    assert raw.shape == (80,) and raw[:40].mean() > 3 * raw[40:].mean()
    scaled = subprocess.run([sys.executable, recipe, weights, "--cache", str(cache), "--scale-to", "1.2", "--json", str(tmp_path / "scaled.json")], capture_output=True, text=True, cwd=root)
    gains = np.array(json.loads((tmp_path / "scaled.json").read_text())["gains"])
    assert scaled.returncode == 0 and gains.mean() == pytest.approx(1.2, abs=1e-3) and np.allclose(gains, raw * 1.2 / raw.mean(), atol=2e-4)
    validate = str(root / "recipes/voice_converter/validate.py")
    (tmp_path / "bad.json").write_text(json.dumps({"gains": [1.2] * 10}))
    bad = subprocess.run([sys.executable, validate, weights, "--cache", str(cache), "--band-gains", str(tmp_path / "bad.json")], capture_output=True, text=True, cwd=root)
    assert bad.returncode != 0 and "does not hold 80 positive band gains" in bad.stderr and "Traceback" not in bad.stderr
    empty = subprocess.run([sys.executable, recipe, weights, "--cache", str(tmp_path / "none")], capture_output=True, text=True, cwd=root)
    assert empty.returncode != 0 and "no validation recordings" in empty.stderr and "Traceback" not in empty.stderr
