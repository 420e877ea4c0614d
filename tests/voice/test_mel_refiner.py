"""The flow-matching mel refiner (voice/converter/mel_refiner.py): it learns what the generator's averaged mel lacks,
is deterministic at conversion, and only runs behind the generator weights it was trained behind."""

import numpy as np
import pytest
import torch

from voice.converter.mel_refiner import MelRefiner, RefinerConfig, flow_matching_loss, load_refiner, save_refiner
from voice.converter.network import GeneratorConfig, MelGenerator
from voice.converter.weights import SHIPPED, save_weights
from voice.pretrained.store import sha256_of
from voxtwin.errors import CheckpointError

SMALL = {"channels": 32, "blocks": 2, "sigma": 0.2, "steps": 6}
TINY_GENERATOR = {"channels": 16, "blocks": 1, "bottleneck": 4, "content_norm": "utterance"}


def _detail(coarse: torch.Tensor) -> torch.Tensor:
    """What the 'true' mel adds to the averaged one in this toy: structure that depends on the averaged mel."""
    return 0.8 * torch.sin(3 * coarse)


def test_euler_steps_carry_the_start_to_the_mel_along_straight_paths():
    refiner = MelRefiner(RefinerConfig(**SMALL))
    coarse, speaker = torch.randn(2, 80, 30), torch.randn(2, 256)
    truth = coarse + _detail(coarse)
    refiner.forward = lambda x, t, c, s, frames=None: (truth - x) / (1 - t)[:, None, None]  # the exact velocity towards `truth`
    assert torch.allclose(refiner.refine(coarse, speaker), truth, atol=1e-4)
    upper = refiner.refine(coarse, speaker, from_band=40)  # the generator's mel kept below band 40, refined above
    assert torch.equal(upper[:, :40], coarse[:, :40]) and torch.allclose(upper[:, 40:], truth[:, 40:], atol=1e-4)
    start = refiner.start(coarse, torch.Generator().manual_seed(0))
    assert abs(float((start - coarse).std()) - SMALL["sigma"]) < 0.02  # noise of the configured spread around the averaged mel
    cooler = refiner.start(coarse, torch.Generator().manual_seed(0), temperature=0.5)
    assert torch.allclose(cooler - coarse, 0.5 * (start - coarse), atol=1e-6)  # the same draw, half the spread
    untrained = MelRefiner(RefinerConfig(**SMALL))  # zero velocity until trained
    assert torch.equal(untrained.refine(coarse, speaker, temperature=0.0), coarse)


def test_training_the_refiner_lowers_its_flow_matching_loss_and_refining_is_deterministic():
    torch.manual_seed(0)
    refiner = MelRefiner(RefinerConfig(**{**SMALL, "channels": 64}))
    optimizer = torch.optim.Adam(refiner.parameters(), lr=3e-3)
    speaker = torch.randn(8, 256)
    held_out = torch.randn(8, 80, 16)

    def held_out_loss() -> float:
        with torch.no_grad():
            return float(flow_matching_loss(refiner, held_out, held_out + _detail(held_out), speaker, generator=torch.Generator().manual_seed(1)))

    before = held_out_loss()
    noise = torch.Generator().manual_seed(0)
    for _ in range(200):
        coarse = torch.randn(8, 80, 16)
        loss = flow_matching_loss(refiner, coarse, coarse + _detail(coarse), speaker, generator=noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert held_out_loss() < 0.75 * before
    refined = refiner.refine(held_out[:2], speaker[:2])
    assert torch.equal(refined, refiner.refine(held_out[:2], speaker[:2]))  # a fixed seed: the same conversion every time
    assert not torch.equal(refined, refiner.refine(held_out[:2], speaker[:2], seed=1))


def test_a_refiner_that_reads_the_generators_frames_learns_detail_the_mel_alone_does_not_carry():
    """Toy: the detail follows the content frames, which the averaged mel does not show. Trained alike, the refiner
    that reads the frames draws mels far closer to the truth on held-out frames than the one that reads only the mel."""
    def detail(frames: torch.Tensor) -> torch.Tensor:
        return 0.8 * frames[:, :1].expand(-1, 80, -1)

    def trained(frame_dim: int) -> float:
        torch.manual_seed(0)
        refiner = MelRefiner(RefinerConfig(**{**SMALL, "channels": 48, "frame_dim": frame_dim}))
        optimizer = torch.optim.Adam(refiner.parameters(), lr=3e-3)
        data = torch.Generator().manual_seed(5)
        noise = torch.Generator().manual_seed(0)
        speaker = torch.randn(8, 256, generator=data)
        for _ in range(150):
            coarse, frames = torch.randn(8, 80, 16, generator=data), torch.randn(8, 4, 16, generator=data)
            loss = flow_matching_loss(refiner, coarse, coarse + detail(frames), speaker, frames if frame_dim else None, generator=noise)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        coarse, frames = torch.randn(8, 80, 16, generator=data), torch.randn(8, 4, 16, generator=data)
        refined = refiner.refine(coarse, speaker, frames if frame_dim else None)
        return float(((refined - coarse - detail(frames)) ** 2).mean())

    assert trained(4) < 0.5 * trained(0)
    reading = MelRefiner(RefinerConfig(**{**SMALL, "frame_dim": 4}))
    with pytest.raises(ValueError, match="reads the generator's frames"):
        reading.refine(torch.randn(1, 80, 8), torch.randn(1, 256))
    with pytest.raises(ValueError, match="reads no frames"):
        MelRefiner(RefinerConfig(**SMALL)).refine(torch.randn(1, 80, 8), torch.randn(1, 256), torch.randn(1, 4, 8))


def test_refiner_weights_round_trip_and_are_tied_to_their_generator(tmp_path):
    refiner = MelRefiner(RefinerConfig(**SMALL))
    torch.nn.init.normal_(refiner.out.weight)  # not the zero init: a round trip must carry real values
    generator = save_weights(MelGenerator(GeneratorConfig(**TINY_GENERATOR)), tmp_path / "gen.safetensors")
    path = save_refiner(refiner, tmp_path / "refiner.safetensors", generator_sha256=sha256_of(generator), extra={"step": 3})
    loaded, info = load_refiner(path, generator=generator)
    assert info["step"] == 3 and loaded.config == refiner.config
    assert torch.allclose(loaded.out.weight, refiner.out.weight.half().float())
    with pytest.raises(CheckpointError, match="other converter weights"):
        load_refiner(path, generator=SHIPPED)
    (tmp_path / "junk.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError):
        load_refiner(tmp_path / "junk.safetensors")


def _cache(folder, rng, n_files=4):
    folder.mkdir()
    for i in range(n_files):
        n = int(rng.integers(120, 200))
        content = rng.standard_normal((n * 50 // 86, 384)).astype(np.float16)
        np.savez(folder / f"f{i}.npz", content=content, content_perturbed=content, log_f0=np.full(n, 5.0), voiced=np.ones(n, bool),
                 mel=rng.standard_normal((80, n)).astype(np.float32) - 5, d_vector=rng.standard_normal(256).astype(np.float32), speaker=f"spk{i}")


def test_refiner_training_resumes_and_the_converter_runs_it_only_behind_its_generator(tmp_path, piper_speech):
    from voice.converter.backend import TrainedConverter
    from voice.converter.refiner_training import RefinerSettings, train_refiner

    _cache(tmp_path / "cache", np.random.default_rng(0))
    generator = save_weights(MelGenerator(GeneratorConfig(**TINY_GENERATOR)), tmp_path / "gen.safetensors")
    settings = RefinerSettings(steps=2, batch_size=2, crop_frames=32, validate_every=1, checkpoint_every=1, validation_share=0.3, warmup_steps=1, refiner=SMALL)
    best = train_refiner(tmp_path / "cache", generator, tmp_path / "run", settings)
    assert torch.load(tmp_path / "run" / "refiner_last.pt", weights_only=True)["step"] == 2
    settings.steps = 3
    train_refiner(tmp_path / "cache", generator, tmp_path / "run", settings)  # resumes at step 2
    history = [h["step"] for h in __import__("json").loads((tmp_path / "run" / "refiner_history.json").read_text())]
    assert history == [1, 2, 3]
    other = save_weights(MelGenerator(GeneratorConfig(**{**TINY_GENERATOR, "channels": 8})), tmp_path / "other.safetensors")
    with pytest.raises(ValueError, match="other converter weights"):
        train_refiner(tmp_path / "cache", other, tmp_path / "run", settings)

    refiner, _ = load_refiner(best)
    torch.nn.init.normal_(refiner.out.weight, std=0.1)  # a refiner that moves the mel, to see that it runs
    moving = save_refiner(refiner, tmp_path / "moving.safetensors", generator_sha256=sha256_of(generator))
    wav, stats = piper_speech[0][:16_000], {"log_f0_mean": 5.0, "log_f0_std": 0.2}
    speaker = np.ones(256, np.float32) / 16
    plain = TrainedConverter(generator, postfilter_gain=1.0).mel(wav, speaker, **stats)
    refined = TrainedConverter(generator, postfilter_gain=1.0, refiner=moving).mel(wav, speaker, **stats)
    assert refined.shape == plain.shape and not torch.allclose(refined, plain, atol=1e-3)
    with pytest.raises(CheckpointError, match="other converter weights"):
        TrainedConverter(SHIPPED, refiner=moving)

    settings = RefinerSettings(steps=1, batch_size=2, crop_frames=32, validate_every=1, checkpoint_every=1, validation_share=0.3, warmup_steps=1, refiner=SMALL, reads_frames=True)
    reading, _ = load_refiner(train_refiner(tmp_path / "cache", generator, tmp_path / "frames", settings))
    assert reading.config.frame_dim == TINY_GENERATOR["bottleneck"] + 2  # the generator's bottleneck and its two pitch rows
    torch.nn.init.normal_(reading.out.weight, std=0.1)
    moving = save_refiner(reading, tmp_path / "reading.safetensors", generator_sha256=sha256_of(generator))
    assert TrainedConverter(generator, postfilter_gain=1.0, refiner=moving).mel(wav, speaker, **stats).shape == plain.shape


def test_validate_recipe_refuses_a_refiner_for_other_weights_in_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from voice.converter.training import is_validation_speaker

    root = Path(__file__).resolve().parents[2]
    rng = np.random.default_rng(0)
    cache = tmp_path / "cache"
    cache.mkdir()
    for i, speaker in enumerate([s for s in (f"spk{i}" for i in range(200)) if is_validation_speaker(s, 0.05)][:2]):
        np.savez(cache / f"f{i}.npz", content=rng.standard_normal((170, 384)).astype(np.float16), log_f0=np.full(300, 5.0), voiced=np.ones(300, bool),
                 mel=rng.standard_normal((80, 300)).astype(np.float32) - 5, d_vector=rng.standard_normal(256).astype(np.float32), speaker=speaker)
    generator = save_weights(MelGenerator(GeneratorConfig(**TINY_GENERATOR)), tmp_path / "gen.safetensors")
    refiner = save_refiner(MelRefiner(RefinerConfig(**SMALL)), tmp_path / "refiner.safetensors", generator_sha256=sha256_of(generator))
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    validate = [sys.executable, str(root / "recipes/voice_converter/validate.py"), str(SHIPPED), "--cache", str(cache), "--refiner"]
    for path, message in ((refiner, "trained behind none of the weights given"), (tmp_path / "junk.safetensors", "unreadable mel refiner weights")):
        done = subprocess.run([*validate, str(path)], capture_output=True, text=True, cwd=root)
        assert done.returncode != 0 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_validate_recipe_refuses_refine_from_band_without_a_refiner_in_one_line():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, str(root / "recipes/voice_converter/validate.py"), str(SHIPPED), "--refine-from-band", "40"],
                          capture_output=True, text=True, cwd=root)
    assert done.returncode != 0 and "--refine-from-band needs --refiner" in done.stderr and "Traceback" not in done.stderr, done.stderr


class _ToyJudge(torch.nn.Module):
    """A frozen stand-in for Whisper's encoder: mel -> a few 'content' channels that depend on detail per frame."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv1d(80, 8, 3, padding=1)
        torch.nn.init.normal_(self.conv.weight, std=0.2)
        self.requires_grad_(False)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(mel))


def test_the_content_term_trains_the_refiners_whole_inference_path_and_fine_tuning_writes_snapshots(tmp_path):
    import json

    from voice.converter.refiner_training import RefinerSettings, content_term, train_refiner
    from voice.converter.training import CachedCorpus, split_files
    from voice.converter.weights import load_weights

    torch.manual_seed(0)
    _cache(tmp_path / "cache", np.random.default_rng(1), n_files=6)
    generator = save_weights(MelGenerator(GeneratorConfig(**TINY_GENERATOR)), tmp_path / "gen.safetensors")
    gen_model = load_weights(generator)[0].eval().requires_grad_(False)
    refiner = MelRefiner(RefinerConfig(**SMALL))
    torch.nn.init.normal_(refiner.out.weight, std=0.05)
    judge = _ToyJudge()
    start = tmp_path / "start.safetensors"  # written below, once the refiner has been tuned by hand
    settings = RefinerSettings(steps=2, batch_size=4, crop_frames=32, validate_every=1, checkpoint_every=1, validation_share=0.3, warmup_steps=1,
                               refiner=SMALL, init=str(start), content_weight=1.0)
    data = np.random.default_rng(2)
    corpus = CachedCorpus(split_files(tmp_path / "cache", 0.0)[0], utterance_norm=True)
    batch = [t for t in corpus.batch(data, 4, 32, 0.0)]

    def term() -> torch.Tensor:
        return content_term(refiner, gen_model, judge, *batch, None, settings, torch.Generator().manual_seed(0), by_utterance=True)

    before = term()
    before.backward()
    assert refiner.blocks[0].conv.weight.grad.abs().sum() > 0  # the judge's error reaches every Euler step's network
    optimizer = torch.optim.Adam(refiner.parameters(), lr=3e-3)
    for _ in range(30):
        optimizer.zero_grad()
        loss = term()
        loss.backward()
        optimizer.step()
    assert term().item() < 0.8 * before.item()

    save_refiner(refiner, start, generator_sha256=sha256_of(generator))
    with pytest.raises(ValueError, match="needs a content judge"):
        train_refiner(tmp_path / "cache", generator, tmp_path / "tuned", settings)
    last = train_refiner(tmp_path / "cache", generator, tmp_path / "tuned", settings, judge=judge)
    assert last.name == "refiner-2.safetensors" and (tmp_path / "tuned" / "refiner-1.safetensors").is_file()
    assert not (tmp_path / "tuned" / "refiner-best.safetensors").exists()  # no best by a loss this stage does not improve
    tuned, info = load_refiner(last, generator=generator)
    assert info["content_weight"] == 1.0 and info["init"] == "start.safetensors"
    assert not torch.allclose(tuned.out.weight, load_refiner(start)[0].out.weight)  # it moved from the weights it started from
    history = json.loads((tmp_path / "tuned" / "refiner_history.json").read_text())
    assert [h["step"] for h in history] == [1, 2] and all(h["content"] > 0 for h in history)
    with pytest.raises(ValueError, match="give its weights"):
        RefinerSettings(content_weight=1.0)


def test_train_recipe_refuses_a_refiner_content_stage_without_its_start_or_bridge_in_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    train = [sys.executable, str(root / "recipes/voice_converter/train.py")]
    _cache(tmp_path / "cache", np.random.default_rng(0))
    refiner = save_refiner(MelRefiner(RefinerConfig(**SMALL)), tmp_path / "r.safetensors", generator_sha256=sha256_of(SHIPPED))
    for args, message in ((["--refiner", "--content-weight", "2"], "give it with --refiner-init"),
                          (["--refiner-init", str(refiner)], "go with --refiner"),
                          (["--refiner", "--refiner-init", str(refiner), "--content-weight", "2", "--cache", str(tmp_path / "cache"),
                            "--judge-bridge", str(tmp_path / "none.json")], "run train.py --bridge first")):
        done = subprocess.run([*train, *args, "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=root)
        assert done.returncode != 0 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_validate_recipe_judges_speak_with_and_without_a_refiner(tmp_path):
    """validate.py --speak --refiner: the reader's sentences spoken into each validation voice by the weights alone and
    by the weights followed by the refiner trained behind them, one row each (the shipped pair, a synthetic cache)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from voice.converter.training import is_validation_speaker
    from voice.converter.weights import SHIPPED_REFINER

    root = Path(__file__).resolve().parents[2]
    rng = np.random.default_rng(0)
    cache = tmp_path / "cache"
    cache.mkdir()
    for i, speaker in enumerate([s for s in (f"spk{i}" for i in range(200)) if is_validation_speaker(s, 0.05)][:2]):
        np.savez(cache / f"f{i}.npz", content=rng.standard_normal((170, 384)).astype(np.float16), log_f0=np.full(300, 5.0 + 0.3 * i), voiced=np.ones(300, bool),
                 mel=rng.standard_normal((80, 300)).astype(np.float32) - 5, d_vector=(v := rng.standard_normal(256).astype(np.float32)) / np.linalg.norm(v), speaker=speaker)
    done = subprocess.run([sys.executable, str(root / "recipes/voice_converter/validate.py"), str(SHIPPED), "--cache", str(cache), "--speak", "--gains", "1.3",
                           "--refiner", str(SHIPPED_REFINER), "--refiner-temperatures", "0.5", "--json", str(tmp_path / "speak.json")], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    table = json.loads((tmp_path / "speak.json").read_text())["table"]
    assert [(row["refiner"] is not None, row["refiner_temperature"]) for row in table] == [(False, None), (True, 0.5)]
    assert all(row["speak"] and row["sentences"] == 6 and row["gain"] == 1.3 for row in table)
    assert table[0]["distillmos"] != table[1]["distillmos"]  # the refiner's speech is other speech


def test_install_refiner_records_release_and_temperature_and_refuses_one_behind_other_weights(tmp_path):
    """recipes/voice_converter/install_refiner.py: a refiner trained behind the shipped weights is written with the
    release, the temperature `convert` will run it at and the rule that chose it, weights unchanged; the converter
    then runs it at that temperature; a refiner behind other weights is refused in one line."""
    import subprocess
    import sys
    from pathlib import Path

    from voice.converter.backend import TrainedConverter

    root = Path(__file__).resolve().parents[2]
    script = str(root / "recipes/voice_converter/install_refiner.py")
    trained = save_refiner(MelRefiner(RefinerConfig(**SMALL)), tmp_path / "r.safetensors", generator_sha256=sha256_of(SHIPPED), extra={"step": 7})
    out = tmp_path / "installed.safetensors"
    done = subprocess.run([sys.executable, script, str(trained), "--release", "test-1", "--temperature", "0.7", "--chosen-by", "a test", "--out", str(out)],
                          capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    installed, info = load_refiner(out, generator=SHIPPED)
    assert info == {"generator_sha256": sha256_of(SHIPPED), "step": 7, "release": "test-1", "temperature": 0.7, "chosen_by": "a test"}
    original, _ = load_refiner(trained)
    assert all(torch.equal(a, b) for a, b in zip(original.state_dict().values(), installed.state_dict().values()))
    assert TrainedConverter(SHIPPED, refiner=out).refiner_temperature == 0.7 and TrainedConverter(SHIPPED, refiner=trained).refiner_temperature == 1.0
    elsewhere = save_refiner(MelRefiner(RefinerConfig(**SMALL)), tmp_path / "other.safetensors", generator_sha256="0" * 64)
    refused = subprocess.run([sys.executable, script, str(elsewhere), "--release", "x", "--temperature", "0.5", "--chosen-by", "y", "--out", str(tmp_path / "x.safetensors")],
                             capture_output=True, text=True, cwd=root)
    assert refused.returncode != 0 and "trained behind other converter weights" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "x.safetensors").exists()
