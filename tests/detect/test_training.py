"""The trainer, checkpoints and recipes, end to end on miniature corpora."""

import dataclasses
import json

import pytest
import torch

from detect.checkpoints import load_detector, save_detector
from detect.datasets import read_dataset
from detect.models import MODELS, build_model
from detect.recipes import RECIPES_DIR, RecipeError, load_recipe, run_recipe
from detect.splits import leave_one_source_out, validation_split
from detect.testing import LAYOUTS, make_manifest
from detect.train import TrainConfig, train
from voxtwin.cli import app
from voxtwin.errors import CheckpointError, FormatVersionError

RECIPES = sorted(p.parent.name for p in RECIPES_DIR.glob("*/config.toml"))
TINY_LCNN = "[" + ",".join(["8"] * 9) + "]"


def tiny_overrides(tmp_path, model="lcnn"):
    config = {"lcnn": [f"train.model_config.channels={TINY_LCNN}"], "lfcc-gmm": ["train.model_config={n_components=2, max_iter=5}"], "spectral-linear": [],
              "distillmos-spectral-mlp": [], "distillmos-student-fine-vote": ["head.mlp_seeds=[3, 4, 5, 6]", "head.mlp_epochs=3"]}[model]
    return [f"train.model='{model}'", *config, "train.epochs=1", "train.batch_size=4", "train.crop_samples=8000", "train.augment=['codec', 'gain']",
            f"train.cache_dir='{tmp_path / 'cache'}'", f"train.out_dir='{tmp_path / 'run'}'"]


BENCHMARKS = ["asvspoof2019_la", "asvspoof2021_df", "asvspoof2021_la", "asvspoof5", "in_the_wild", "mlaad", "shared_corpus", "wavefake"]


def test_every_benchmark_has_a_recipe_folder():
    assert set(BENCHMARKS) <= set(RECIPES)
    for name in BENCHMARKS:
        readme = (RECIPES_DIR / name / "README.md").read_text()
        assert "voxtwin detect train --recipe" in readme


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_recipe_runs_on_its_miniature_dataset(tmp_path, name):
    config = load_recipe(name)
    train_ds = config["data"]["train"]["dataset"]
    root = LAYOUTS[train_ds](tmp_path / "train_data")
    overrides = [f"root='{root}'", *tiny_overrides(tmp_path)]
    eval_sections = config["data"].get("eval", {})
    for key, section in eval_sections.items():
        if section["dataset"] != train_ds:
            overrides.append(f"eval_root='{LAYOUTS[section['dataset']](tmp_path / 'eval_data')}'")
    if name == "shared_corpus":
        overrides.append("holdout='demo_a'")
    summary = run_recipe(name, overrides)
    assert summary["epochs_run"] == 1
    assert summary["eval"], "a recipe must score at least one evaluation set"
    for result in summary["eval"].values():
        assert 0 <= result["eer_percent"] <= 100
        lines = open(result["scores"]).read().splitlines()
        assert len(lines) == result["n_bonafide"] + result["n_spoof"] and len(lines[0].split()) == 4


def test_recipe_errors_are_clear():
    with pytest.raises(RecipeError, match="available: asvspoof2019_la"):
        load_recipe("nope")
    with pytest.raises(RecipeError, match="key=value"):
        load_recipe("asvspoof2019_la", ["epochs"])


def test_gmm_learns_griffin_lim_artefacts(tmp_path):
    """With real (if small) data, LFCC-GMM must beat chance clearly on unseen files."""
    root = LAYOUTS["manifest"](tmp_path / "data", n_per_class=10, duration_s=1.5, sources=("a", "b"))
    summary = run_recipe("shared_corpus", [f"root='{root}'", "holdout='a'", "train.model='lfcc-gmm'", "train.model_config={n_components=4}",
                                           f"train.cache_dir='{tmp_path / 'cache'}'", f"train.out_dir='{tmp_path / 'run'}'"])
    assert summary["eval"]["holdout_a"]["eer_percent"] < 25


def test_resume_continues_from_the_last_epoch(tmp_path):
    root = LAYOUTS["manifest"](tmp_path / "data")
    args = [f"root='{root}'", "holdout='demo_a'", *tiny_overrides(tmp_path)]
    assert run_recipe("shared_corpus", args)["epochs_run"] == 1
    summary = run_recipe("shared_corpus", args + ["train.epochs=2"])
    assert summary["epochs_run"] == 2
    history = json.loads((tmp_path / "run" / "last.json").read_text())["training"]["resume"]["history"]
    assert [h["epoch"] for h in history] == [1, 2]


def test_early_stopping(tmp_path):
    trials = read_dataset("manifest", LAYOUTS["manifest"](tmp_path / "data"), "all")
    train_trials, valid = validation_split(trials)
    config = TrainConfig(model="lcnn", model_config={"channels": (8,) * 9, "dropout": 0.0}, epochs=10, patience=1, lr=0.0, batch_size=4,
                         crop_samples=8000, augment=[], out_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "cache"))
    result = train(config, train_trials, valid)
    # lr 0: only batch-norm statistics move, so the EER soon stops improving; patience 1 stops the run at
    # the first epoch that is no better than the best before it
    eers = [h["valid_eer_percent"] for h in result.history]
    assert result.epochs_run < 10 and len(eers) == result.epochs_run
    assert eers[-1] >= min(eers[:-1]) and all(later < best for later, best in zip(eers[1:-1], eers[:-2]))


def test_splits_keep_sources_and_speakers_apart(tmp_path):
    trials = read_dataset("manifest", LAYOUTS["manifest"](tmp_path / "data"), "all")
    train_trials, test = leave_one_source_out(trials, "demo_a")
    assert not {t.source for t in train_trials} & {"demo_a"}
    assert {t.source for t in test} >= {"demo_a"} and not set(train_trials) & set(test)
    tr, va = validation_split(train_trials)
    assert {t.label for t in va} == {"bonafide", "spoof"}
    assert not {(t.label, t.source, t.speaker) for t in tr} & {(t.label, t.source, t.speaker) for t in va}


def test_checkpoint_round_trip_is_bit_exact_and_safe(tmp_path):
    model = build_model("lcnn", **dataclasses.asdict(MODELS.get("lcnn").Config.tiny())).eval()
    path = save_detector(tmp_path / "m", model, name="lcnn", record={"note": "test"})
    loaded, meta, _ = load_detector(path)
    wav = torch.randn(2, 8000)
    with torch.no_grad():
        torch.testing.assert_close(model(wav), loaded(wav), rtol=0, atol=0)
    assert meta["features"]["kind"] == "lfcc" and meta["training"]["note"] == "test"
    data = bytearray((tmp_path / "m.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "m.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="hash"):
        load_detector(path)
    meta_path = tmp_path / "m.json"
    meta_json = json.loads(meta_path.read_text())
    meta_json["format_version"] = 99
    meta_path.write_text(json.dumps(meta_json))
    with pytest.raises(FormatVersionError, match="upgrade voxtwin"):
        load_detector(path)


def test_train_and_eval_cli(runner, tmp_path):
    la = LAYOUTS["asvspoof2019_la"](tmp_path / "la")
    result = runner.invoke(app, ["detect", "train", "--recipe", "asvspoof2019_la", "--set", f"root='{la}'", *sum((["--set", o] for o in tiny_overrides(tmp_path)), []), "--json"])
    assert result.exit_code == 0, result.output
    checkpoint = json.loads(result.stdout)["checkpoint"]
    scores = tmp_path / "scores.txt"
    result = runner.invoke(app, ["detect", "eval", "--model", checkpoint, "--dataset", "asvspoof2019_la", "--root", str(la), "--out", str(scores), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["n_bonafide"] == 4 and set(out["per_system_eer_percent"]) == {"A07", "A17"}
    metrics = json.loads(runner.invoke(app, ["detect", "metrics", str(scores), "--json"]).stdout)
    assert metrics["eer_percent"] == pytest.approx(out["eer_percent"], abs=1e-4)
    again = runner.invoke(app, ["detect", "eval", "--model", checkpoint, "--dataset", "asvspoof2019_la", "--root", str(la), "--out", str(scores)])
    assert again.exit_code == 2 and "--force" in again.stderr


def test_eval_cli_reports_a_broken_layout_in_one_line(runner, tmp_path):
    result = runner.invoke(app, ["detect", "eval", "--model", str(tmp_path / "m.safetensors"), "--dataset", "in_the_wild", "--root", str(tmp_path), "--out", str(tmp_path / "s.txt")])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("model", ["lcnn", "spectral-linear", "distillmos-spectral-mlp", "distillmos-student-fine-vote"])
def test_default_detector_recipe_trains_calibrates_and_reports(tmp_path, monkeypatch, model):
    """The SGD path (lcnn) and the cached-statistics path (spectral-linear, the shipped `fast`; the hidden-layer head
    on `default`'s statistics; that head beside a fine-structure head, fitted with other seeds), end to end."""
    import runpy
    import sys

    root = LAYOUTS["manifest"](tmp_path / "data", sources=("demo_a", "demo_b", "demo_c"))
    args = ["run.py", "--no-install", "--no-generate", "--set", f"root='{root}'", "--set", f"generated='{tmp_path / 'none'}'", "--set", "calibration_sources=['demo_a']",
            "--set", "report_sources=['demo_b']"] + sum((["--set", o] for o in tiny_overrides(tmp_path, model)), [])
    monkeypatch.setattr(sys, "argv", args)
    runpy.run_path(str(RECIPES_DIR / "default_detector" / "run.py"), run_name="__main__")
    report = json.loads((tmp_path / f"report_{model}.json").read_text())
    assert report["model"] == model
    assert report["calibration"]["slope"] > 0 and report["calibration_sources"] == ["demo_a"]
    assert set(report["channels"]) == {"clean", "opus_16k", "mp3_64k", "telephone_8k"}
    assert 0 <= report["channels"]["clean"]["ece"] <= 1 and "demo_b" in report["channels"]["clean"]["per_source_eer_percent"]
    if model == "distillmos-spectral-mlp":  # the statistics cache is distillmos-spectral-linear's, shared
        assert [p.name for p in (tmp_path / "run").glob("stats_*")] == ["stats_distillmos-spectral-linear_4.0s"]
        meta = load_detector(tmp_path / f"candidate_{model}.safetensors")[1]
        assert meta["training"]["head_fit"]["head"] == "mlp"
    if model == "distillmos-student-fine-vote":  # two heads, each with its validation EER, fitted with the seeds and passes asked
        detector, meta, _ = load_detector(tmp_path / f"candidate_{model}.safetensors")
        fit = meta["training"]["head_fit"]
        assert len(fit["vote_valid_eer_percent"]) == 2 and fit["settings"]["seeds"] == [3, 4, 5, 6] and fit["settings"]["epochs"] == 3
        # four seeds' layers side by side: the hidden layers grew to 4 x 64 without being told
        assert meta["config"]["hidden"] == 256 and detector.hidden.out_features == detector.fine_hidden.out_features == 256


def test_default_detector_recipe_refuses_bad_head_seeds_before_loading_audio(tmp_path, monkeypatch):
    import runpy
    import sys

    monkeypatch.setattr(sys, "argv", ["run.py", "--no-install", "--no-generate", "--set", f"root='{tmp_path / 'missing'}'", "--set", "head.mlp_seeds=3"])
    with pytest.raises(SystemExit, match="head.mlp_seeds must be a list of integers"):
        runpy.run_path(str(RECIPES_DIR / "default_detector" / "run.py"), run_name="__main__")


@pytest.mark.parametrize("value", ["0", "2.5", "true"])
def test_default_detector_recipe_refuses_bad_head_epochs_before_loading_audio(tmp_path, monkeypatch, value):
    import runpy
    import sys

    monkeypatch.setattr(sys, "argv", ["run.py", "--no-install", "--no-generate", "--set", f"root='{tmp_path / 'missing'}'", "--set", f"head.mlp_epochs={value}"])
    with pytest.raises(SystemExit, match="head.mlp_epochs must be a whole number of passes >= 1"):
        runpy.run_path(str(RECIPES_DIR / "default_detector" / "run.py"), run_name="__main__")


def test_default_detector_recipe_refuses_a_hidden_layer_that_does_not_fit_its_seeds(tmp_path, monkeypatch):
    """train.model_config.hidden named beside head.mlp_seeds must hold 64 units per seed: a one-line error before any audio is loaded."""
    import runpy
    import sys

    monkeypatch.setattr(sys, "argv", ["run.py", "--no-install", "--no-generate", "--set", f"root='{tmp_path / 'missing'}'", "--set", "head.mlp_seeds=[0, 1]",
                                      "--set", "train.model_config={hidden=192}"])
    with pytest.raises(SystemExit, match="hidden is 192, but head.mlp_seeds' 2 seeds need 128"):
        runpy.run_path(str(RECIPES_DIR / "default_detector" / "run.py"), run_name="__main__")


def test_default_detector_recipe_can_fit_its_head_on_chosen_sources(tmp_path, monkeypatch):
    """[head] train_sources = "paired": the head sees only training sources with both classes (here demo_c, not the
    real-only corpus or the fake-only page), while statistics are computed for every file; "real-bearing" keeps the
    real-only corpus and drops the fake-only page, and keep_generated keeps the project's own (fake-only) speech; a name
    outside the choices is a one-line error."""
    import runpy
    import sys

    root = LAYOUTS["manifest"](tmp_path / "data", sources=("demo_a", "demo_b", "demo_c"), fake_only_sources=("fake_page",))
    base = ["run.py", "--no-install", "--no-generate", "--set", f"root='{root}'", "--set", f"generated='{tmp_path / 'none'}'", "--set", "calibration_sources=['demo_a']",
            "--set", "report_sources=['demo_b']"] + sum((["--set", o] for o in tiny_overrides(tmp_path, "spectral-linear")), [])
    monkeypatch.setattr(sys, "argv", base + ["--set", "head.train_sources='paired'"])
    runpy.run_path(str(RECIPES_DIR / "default_detector" / "run.py"), run_name="__main__")
    _, meta, _ = load_detector(tmp_path / "candidate_spectral-linear.safetensors")
    assert meta["training"]["train_sources"] == ["demo_c"]
    assert json.loads((tmp_path / "report_spectral-linear.json").read_text())["calibration"]["slope"] > 0
    monkeypatch.setattr(sys, "argv", base + ["--set", "head.train_sources='real-bearing'"])
    runpy.run_path(str(RECIPES_DIR / "default_detector" / "run.py"), run_name="__main__")
    _, meta, _ = load_detector(tmp_path / "candidate_spectral-linear.safetensors")
    assert meta["training"]["train_sources"] == ["demo_c", "real_corpus"]  # the fake-only page left out
    # the project's own speech (make_data.py's manifest) is fake-only too; keep_generated keeps it, not the foreign page
    own = make_manifest(tmp_path / "own", sources=(), fake_only_sources=("voxtwin_copy", "voxtwin_clone"))
    with_own = [a.replace(f"generated='{tmp_path / 'none'}'", f"generated='{own}'") for a in base] + ["--set", "head.train_sources='real-bearing'"]
    for keep, expected in (("false", ["demo_c", "real_corpus"]), ("true", ["demo_c", "real_corpus", "voxtwin_clone", "voxtwin_copy"]),
                           ("['voxtwin_clone']", ["demo_c", "real_corpus", "voxtwin_clone"])):
        monkeypatch.setattr(sys, "argv", with_own + ["--set", f"head.keep_generated={keep}"])
        runpy.run_path(str(RECIPES_DIR / "default_detector" / "run.py"), run_name="__main__")
        assert load_detector(tmp_path / "candidate_spectral-linear.safetensors")[1]["training"]["train_sources"] == expected
    monkeypatch.setattr(sys, "argv", with_own + ["--set", "head.keep_generated=['voxtwin_clones']"])
    with pytest.raises(SystemExit, match="keep_generated names voxtwin_clones, not among the generated sources"):
        runpy.run_path(str(RECIPES_DIR / "default_detector" / "run.py"), run_name="__main__")
    monkeypatch.setattr(sys, "argv", base + ["--set", "head.train_sources='some'"])
    with pytest.raises(SystemExit, match="train_sources must be one of all, paired, real-bearing, spoof-bearing"):
        runpy.run_path(str(RECIPES_DIR / "default_detector" / "run.py"), run_name="__main__")
