"""The leave-one-source-out studies' fit restricted to some sources (recipes/detector_v2: layers_loso.out_of_fold's
`train_sources`, fusion_loso.py --train-on paired): a page's channel cannot teach the head where both classes share it."""

import sys
from pathlib import Path

import numpy as np
import pytest

from detect.paired_sources import paired_emphasis_weights, sources_with_both_classes, sources_with_real, sources_with_synthetic

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from layers_loso import out_of_fold  # noqa: E402

from detect.window_mlp_head import MLPHeadSettings  # noqa: E402


def record_head_fits(monkeypatch, describe) -> list:
    """What describe(head, x, y, groups) says of every hidden-layer head out_of_fold fits, in fold order; the fits
    themselves run as usual."""
    import layers_loso

    seen = []
    real_fit = layers_loso.WindowMLPHead.fit

    def recording_fit(self, x, y, groups=None):
        seen.append(describe(self, x, y, groups))
        return real_fit(self, x, y, groups)

    monkeypatch.setattr(layers_loso.WindowMLPHead, "fit", recording_fit)
    return seen


def _group(rng, n, f0, f1):
    return np.column_stack([f0 + 0.5 * rng.standard_normal(n), f1 + 0.5 * rng.standard_normal(n)])


def test_fitting_on_paired_sources_ignores_a_channel_that_only_real_only_and_fake_only_sources_carry():
    rng = np.random.default_rng(0)
    n = 60
    # (source, label 1 = spoof, feature 0 = a synthesis cue, feature 1 = the channel)
    groups = [("P", 0, 2, 0), ("P", 1, -2, 0),          # a page with both classes: only the cue separates them
              ("R", 0, 0, 3), ("F", 1, 0, -3),          # a real-only corpus and a fake-only page on different channels
              ("T", 0, 2, -3), ("T", 1, -2, 3)]         # a page whose channels run the other way
    x = np.vstack([_group(rng, n, f0, f1) for _, _, f0, f1 in groups]).astype(np.float32)
    labels = np.repeat([g[1] for g in groups], n)
    sources = np.repeat([g[0] for g in groups], n)
    features = {"clean": {"f": x, "owner": np.arange(len(x))}}
    assert sources_with_both_classes(labels == 1, sources) == {"P", "T"}

    def margin(train_sources):
        scores = out_of_fold(features, ("f",), labels, sources, c=1.0, train_sources=train_sources)["clean"]  # bona fide log-odds
        held = sources == "T"
        return scores[held & (labels == 0)].mean() - scores[held & (labels == 1)].mean()

    every, paired = margin(None), margin(sources_with_both_classes(labels == 1, sources))
    assert paired > 2 and paired > every + 2  # fitted where the channel says nothing, the head reads the cue

    # weighting the paired pages up instead of dropping the rest (fusion_loso.py --paired-weight) moves the head the same way, by degrees
    weighted = {w: out_of_fold(features, ("f",), labels, sources, c=1.0, paired_weight=w)["clean"] for w in (3.0, 30.0)}
    margins = [every] + [scores[(sources == "T") & (labels == 0)].mean() - scores[(sources == "T") & (labels == 1)].mean() for scores in weighted.values()]
    assert margins[0] < margins[1] < margins[2]
    with pytest.raises(ValueError, match="class weighting"):
        out_of_fold(features, ("f",), labels, sources, c=1.0, paired_weight=3.0, weighting="source")


def test_paired_emphasis_weights_favour_paired_sources_within_each_class():
    sources = np.array(["p", "p", "p", "r", "r", "f"])
    labels = np.array([0, 0, 1, 0, 0, 1])  # p holds both classes; r is real only, f fake only
    w = paired_emphasis_weights(sources, labels, 4.0)
    assert w[0] == pytest.approx(4 * w[3]) and w[2] == pytest.approx(4 * w[5])
    assert w[labels == 0].sum() == pytest.approx(w[labels == 1].sum()) and w.mean() == pytest.approx(1.0)
    balanced = paired_emphasis_weights(sources, labels, 1.0)  # scikit-learn's class_weight="balanced"
    assert balanced == pytest.approx(len(labels) / (2 * np.bincount(labels)[labels]))
    with pytest.raises(ValueError, match="positive"):
        paired_emphasis_weights(sources, labels, 0.0)


def test_sources_with_both_classes_names_only_mixed_sources():
    assert sources_with_both_classes([0, 1, 0, 0, 1, 1], ["a", "a", "b", "b", "c", "c"]) == {"a"}
    assert sources_with_both_classes([], []) == set()
    with pytest.raises(ValueError, match="one class and one source per file"):
        sources_with_both_classes([0, 1], ["a"])


def test_sources_with_synthetic_or_real_drop_one_kind_of_single_class_source():
    is_spoof, sources = [0, 1, 0, 0, 1, 1], ["a", "a", "b", "b", "c", "c"]  # a: both classes, b: real only, c: fake only
    assert sources_with_synthetic(is_spoof, sources) == {"a", "c"}
    assert sources_with_real(is_spoof, sources) == {"a", "b"}
    assert sources_with_synthetic([0, 0], ["a", "b"]) == set()
    for pick in (sources_with_synthetic, sources_with_real):
        with pytest.raises(ValueError, match="one class and one source per file"):
            pick([0, 1], ["a"])


def test_the_mlp_head_reads_an_interaction_the_logistic_head_cannot_on_held_out_sources():
    """fusion_loso.py --head mlp: every file is still scored by the fold that held its source out."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6000, 2)).astype(np.float32)
    labels = (x[:, 0] * x[:, 1] > 0).astype(int)  # spoof: the two statistics move together
    sources = np.repeat(["a", "b", "c"], 2000)
    features = {"clean": {"f": x, "owner": np.arange(len(x))}}

    def margin(head):
        scores = out_of_fold(features, ("f",), labels, sources, c=1.0, head=head)["clean"]  # bona fide log-odds
        return scores[labels == 0].mean() - scores[labels == 1].mean()

    logistic, mlp, boosted = margin("logistic"), margin("mlp"), margin("boosted")
    assert abs(logistic) < 0.3 and mlp > 1.0 and boosted > 1.0  # trees split on the product too
    with pytest.raises(ValueError, match="head must be one of"):
        out_of_fold(features, ("f",), labels, sources, c=1.0, head="forest")
    with pytest.raises(ValueError, match="MLP head"):
        out_of_fold(features, ("f",), labels, sources, c=1.0, head="mlp", weighting="source")
    with pytest.raises(ValueError, match="boosted head"):
        out_of_fold(features, ("f",), labels, sources, c=1.0, head="boosted", paired_weight=2.0)


def _three_pages(n: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(windows, labels, sources, features): three pages a, b, c holding n real (first feature ~ +1) and n spoof (~ -1)
    windows each, one window per file, as recorded."""
    rng = np.random.default_rng(1)
    x = np.vstack([_group(rng, n, f0, 0) for f0 in (1, -1, 1, -1, 1, -1)]).astype(np.float32)
    labels = np.repeat([0, 1] * 3, n)
    sources = np.repeat(["a", "a", "b", "b", "c", "c"], n)
    return x, labels, sources, {"clean": {"f": x, "owner": np.arange(len(x))}}


def test_holding_out_only_some_folds_scores_them_as_the_full_run_does():
    """layers_loso.out_of_fold(folds=...): studies whose features change per fold (tuned_block_loso.py) run one fold at a time."""
    x, labels, sources, features = _three_pages()
    every = out_of_fold(features, ("f",), labels, sources, c=1.0)["clean"]
    one = out_of_fold(features, ("f",), labels, sources, c=1.0, folds=["b"])["clean"]
    assert np.allclose(one[sources == "b"], every[sources == "b"]) and np.all(one[sources != "b"] == 0)
    assert every[(sources == "b") & (labels == 0)].mean() > every[(sources == "b") & (labels == 1)].mean()


def test_a_channel_scored_only_is_scored_by_each_fold_but_never_fitted_on():
    """out_of_fold(scored_only=...): the fits are those without it, and the extra channel's files are scored by the fold
    that held their source out (here its windows are shifted toward the spoof side, and their scores follow)."""
    x, labels, sources, features = _three_pages()
    shifted = {"probe": {"f": x - np.float32([2.0, 0.0]), "owner": np.arange(len(x))}}
    alone = out_of_fold(features, ("f",), labels, sources, c=1.0)
    both = out_of_fold(features, ("f",), labels, sources, c=1.0, scored_only=shifted)
    assert set(both) == {"clean", "probe"} and np.allclose(both["clean"], alone["clean"])
    assert np.all(both["probe"] < both["clean"])  # every file looks more synthetic once shifted
    with pytest.raises(ValueError, match="either fitted on or scored only"):
        out_of_fold(features, ("f",), labels, sources, c=1.0, scored_only={"clean": shifted["probe"]})


def test_the_mlp_width_reaches_the_head_and_the_command_line_refuses_it_without_one(monkeypatch):
    """fusion_loso.py --mlp-hidden N: the folds' hidden layers have N units per seed; with another head it is refused."""
    import subprocess

    widths = record_head_fits(monkeypatch, lambda head, x, y, groups: head.settings.hidden)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((300, 2)).astype(np.float32)
    features = {"clean": {"f": x, "owner": np.arange(len(x))}}
    out_of_fold(features, ("f",), (x[:, 0] > 0).astype(int), np.repeat(["a", "b", "c"], 100), c=1.0, head="mlp", mlp=MLPHeadSettings(hidden=5))
    assert widths == [5, 5, 5]
    script = Path(__file__).resolve().parents[2] / "recipes" / "detector_v2" / "fusion_loso.py"
    done = subprocess.run([sys.executable, str(script), "--mlp-hidden", "128"], capture_output=True, text=True)
    assert done.returncode == 2 and "--head mlp only" in done.stderr and "Traceback" not in done.stderr


def test_group_dro_groups_each_folds_windows_by_training_source_and_class(monkeypatch):
    """fusion_loso.py --group-dro ETA: each fold's head gets ETA and one group per (training source, class) of its windows,
    the held-out source in none; the command line refuses it without the hidden-layer head."""
    import subprocess

    seen = record_head_fits(monkeypatch, lambda head, x, y, groups: (head.settings.group_dro_eta, sorted(set(groups.tolist()))))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 2)).astype(np.float32)
    labels = np.tile([0, 1], 150)
    features = {"clean": {"f": x, "owner": np.arange(len(x))}}
    out_of_fold(features, ("f",), labels, np.repeat(["a", "b", "c"], 100), c=1.0, head="mlp", mlp=MLPHeadSettings(group_dro_eta=0.01))
    assert seen == [(0.01, ["b0", "b1", "c0", "c1"]), (0.01, ["a0", "a1", "c0", "c1"]), (0.01, ["a0", "a1", "b0", "b1"])]
    seen.clear()
    two_channels = {"clean": features["clean"], "telephone_8k": {"f": x + 1, "owner": np.arange(len(x))}}
    out_of_fold(two_channels, ("f",), labels, np.repeat(["a", "b", "c"], 100), c=1.0, head="mlp", mlp=MLPHeadSettings(group_dro_eta=0.01), group_dro_channels=True,
                folds=["a"])
    assert seen == [(0.01, [f"{g}/{ch}" for g in ("b0", "b1", "c0", "c1") for ch in ("clean", "telephone_8k")])]
    script = Path(__file__).resolve().parents[2] / "recipes" / "detector_v2" / "fusion_loso.py"
    done = subprocess.run([sys.executable, str(script), "--group-dro", "0.01"], capture_output=True, text=True)
    assert done.returncode == 2 and "--head mlp only" in done.stderr and "Traceback" not in done.stderr

    done = subprocess.run([sys.executable, str(script), "--group-dro-channels"], capture_output=True, text=True)
    assert done.returncode == 2 and "needs --group-dro" in done.stderr and "Traceback" not in done.stderr


def test_sharpness_aware_radius_reaches_every_folds_head_and_is_refused_where_it_does_not_apply(monkeypatch):
    """fusion_loso.py --sam RHO: each fold's hidden-layer head is trained with radius RHO; the command line refuses it
    without the hidden-layer head or beside group DRO."""
    import subprocess

    radii = record_head_fits(monkeypatch, lambda head, x, y, groups: head.settings.sam_rho)
    x = np.random.default_rng(5).standard_normal((300, 2)).astype(np.float32)
    features = {"clean": {"f": x, "owner": np.arange(len(x))}}
    out_of_fold(features, ("f",), (x[:, 0] > 0).astype(int), np.repeat(["a", "b", "c"], 100), c=1.0, head="mlp", mlp=MLPHeadSettings(sam_rho=0.05))
    assert radii == [0.05, 0.05, 0.05]
    script = Path(__file__).resolve().parents[2] / "recipes" / "detector_v2" / "fusion_loso.py"
    for argv in (["--sam", "0.05"], ["--head", "mlp", "--sam", "0.05", "--group-dro", "0.01"], ["--head", "mlp", "--sam", "-1"]):
        done = subprocess.run([sys.executable, str(script), *argv], capture_output=True, text=True)
        assert done.returncode == 2 and "--sam RHO" in done.stderr and "Traceback" not in done.stderr


def test_source_adversary_gets_each_folds_source_and_class_groups_and_is_refused_where_it_does_not_apply(monkeypatch):
    """fusion_loso.py --source-adversary LAMBDA: each fold's head gets LAMBDA and one group per (training source, class),
    the held-out source in none; the command line refuses it without the hidden-layer head or beside --sam / --group-dro."""
    import subprocess

    seen = record_head_fits(monkeypatch, lambda head, x, y, groups: (head.settings.source_adversary, sorted(set(groups.tolist()))))
    x = np.random.default_rng(6).standard_normal((300, 2)).astype(np.float32)
    features = {"clean": {"f": x, "owner": np.arange(len(x))}}
    out_of_fold(features, ("f",), np.tile([0, 1], 150), np.repeat(["a", "b", "c"], 100), c=1.0, head="mlp", mlp=MLPHeadSettings(source_adversary=1.0), folds=["b"])
    assert seen == [(1.0, ["a0", "a1", "c0", "c1"])]
    seen.clear()  # --adversary-real-only: real windows keep their source's group, spoof windows share one
    out_of_fold(features, ("f",), np.tile([0, 1], 150), np.repeat(["a", "b", "c"], 100), c=1.0, head="mlp", mlp=MLPHeadSettings(source_adversary=1.0),
                adversary_real_only=True, folds=["b"])
    assert seen == [(1.0, ["a0", "c0", "spoof"])]
    with pytest.raises(ValueError, match="needs source_adversary"):
        out_of_fold(features, ("f",), np.tile([0, 1], 150), np.repeat(["a", "b", "c"], 100), c=1.0, head="mlp", adversary_real_only=True)
    script = Path(__file__).resolve().parents[2] / "recipes" / "detector_v2" / "fusion_loso.py"
    for argv in (["--source-adversary", "1"], ["--head", "mlp", "--source-adversary", "1", "--sam", "0.05"]):
        done = subprocess.run([sys.executable, str(script), *argv], capture_output=True, text=True)
        assert done.returncode == 2 and "--source-adversary LAMBDA" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, str(script), "--head", "mlp", "--adversary-real-only"], capture_output=True, text=True)
    assert done.returncode == 2 and "needs --source-adversary" in done.stderr and "Traceback" not in done.stderr


def test_page_mixing_gets_each_folds_source_and_class_groups_and_seeds_and_input_dropout_reach_the_head(monkeypatch):
    """fusion_loso.py --mix-pages ALPHA: each fold's head mixes within (training source, class) groups, the held-out
    source in none; --seeds, --input-dropout and --mlp-epochs set the head's seeds, input dropout and passes; the command
    line refuses each where it does not apply."""
    import subprocess

    seen = record_head_fits(monkeypatch, lambda head, x, y, groups: (head.settings.mix_pages, head.settings.seeds, head.settings.input_dropout,
                                                                      head.settings.epochs, sorted(set(groups.tolist()))))
    x = np.random.default_rng(7).standard_normal((300, 2)).astype(np.float32)
    features = {"clean": {"f": x, "owner": np.arange(len(x))}}
    out_of_fold(features, ("f",), np.tile([0, 1], 150), np.repeat(["a", "b", "c"], 100), c=1.0, head="mlp",
                mlp=MLPHeadSettings(mix_pages=0.1, seeds=(3, 4), input_dropout=0.5, epochs=7), folds=["b"])
    assert seen == [(0.1, (3, 4), 0.5, 7, ["a0", "a1", "c0", "c1"])]
    script = Path(__file__).resolve().parents[2] / "recipes" / "detector_v2" / "fusion_loso.py"
    for argv, message in ((["--mix-pages", "0.1"], "--mix-pages ALPHA"), (["--head", "mlp", "--mix-pages", "0.1", "--sam", "0.05"], "--mix-pages ALPHA"),
                          (["--head", "mlp", "--mix-pages", "-1"], "--mix-pages ALPHA"), (["--seeds", "3", "4"], "--seeds"),
                          (["--input-dropout", "0.5"], "--input-dropout P"), (["--head", "mlp", "--input-dropout", "1.0"], "--input-dropout P"),
                          (["--mlp-epochs", "10"], "--mlp-epochs N"), (["--head", "mlp", "--mlp-epochs", "0"], "--mlp-epochs N")):
        done = subprocess.run([sys.executable, str(script), *argv], capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_stable_features_drop_a_flipping_statistic_in_every_fold(monkeypatch, capsys):
    """fusion_loso.py --stable-features SHARE: each fold's head reads only the statistics whose direction agrees on its
    paired training pages; the command line refuses a share outside 0.5-1."""
    import subprocess

    widths = record_head_fits(monkeypatch, lambda head, x, y, groups: x.shape[1])
    rng = np.random.default_rng(4)
    sources = np.repeat([f"page{i}" for i in range(6)], 60)
    labels = np.tile([0, 1], 180)
    x = rng.standard_normal((len(labels), 2)).astype(np.float32)
    x[:, 0] += 2.0 * labels  # every page
    x[:, 1] += 2.0 * labels * np.where(np.isin(sources, ["page0", "page1", "page2"]), 1.0, -1.0)  # flips with the page
    out_of_fold({"clean": {"f": x, "owner": np.arange(len(x))}}, ("f",), labels, sources, c=1.0, head="mlp", stable_features=0.8)
    assert widths == [1] * 6
    assert "statistics kept per fold (of 2): 1-1" in capsys.readouterr().out
    script = Path(__file__).resolve().parents[2] / "recipes" / "detector_v2" / "fusion_loso.py"
    done = subprocess.run([sys.executable, str(script), "--stable-features", "0.3"], capture_output=True, text=True)
    assert done.returncode == 2 and "between 0.5 and 1" in done.stderr and "Traceback" not in done.stderr


def test_copies_train_the_mlp_head_as_spoof_outside_their_originals_fold(monkeypatch):
    """vocoded_copies_loso.py --head mlp: each fold's hidden-layer head gets the copies of the real files outside the
    held-out source, as spoof windows; copies are refused with group DRO (a copy has no page of its own)."""
    seen = record_head_fits(monkeypatch, lambda head, x, y, groups: (len(y), int(np.sum(y))))
    rng = np.random.default_rng(5)
    sources = np.repeat(["a", "b", "c"], 40)
    labels = np.tile([0, 1], 60)
    x = rng.standard_normal((len(labels), 2)).astype(np.float32)
    real = np.flatnonzero(labels == 0)
    copies = ({"clean": {"f": rng.standard_normal((len(real), 2)).astype(np.float32), "owner": real}},)
    features = {"clean": {"f": x, "owner": np.arange(len(x))}}
    out_of_fold(features, ("f",), labels, sources, c=1.0, head="mlp", copies=copies)
    assert seen == [(80 + 40, 40 + 40)] * 3  # 80 windows of the two other sources (40 spoof) + the 40 copies of their 40 real files
    with pytest.raises(ValueError, match="without group DRO"):
        out_of_fold(features, ("f",), labels, sources, c=1.0, head="mlp", copies=copies, mlp=MLPHeadSettings(group_dro_eta=0.01))


def test_copies_made_from_no_file_train_every_fold(monkeypatch):
    """Copies with owner -1 (generated_speech_loso.py's text-to-speech) join every fold's training windows as spoof;
    copies of a file still skip the fold that holds its source out."""
    seen = record_head_fits(monkeypatch, lambda head, x, y, groups: (len(y), int(np.sum(y))))
    rng = np.random.default_rng(7)
    sources = np.repeat(["a", "b", "c"], 40)
    labels = np.tile([0, 1], 60)
    features = {"clean": {"f": rng.standard_normal((len(labels), 2)).astype(np.float32), "owner": np.arange(len(labels))}}
    owner = np.concatenate([np.full(10, -1), [0, 2, 4]])  # 10 text-to-speech windows, 3 copies of source a's real files
    copies = ({"clean": {"f": rng.standard_normal((len(owner), 2)).astype(np.float32), "owner": owner}},)
    out_of_fold(features, ("f",), labels, sources, c=1.0, head="mlp", copies=copies)
    assert seen == [(80 + 10, 40 + 10), (80 + 13, 40 + 13), (80 + 13, 40 + 13)]


def test_generated_files_find_the_recording_they_were_made_from():
    """generated_speech_loso.original_of reads make_data.py's names: a vocoder copy is named after its original's path,
    a clone after it with a prefix; text-to-speech was made from no recording."""
    from generated_speech_loso import original_of

    stems = {"vits_demo_ms_01_gt": 3, "resemblyzer_libri_librispeech_test-other_367_367-130732-0007": 8}
    assert original_of("voxtwin_world/vits_demo_ms_01_gt.flac", stems) == 3
    assert original_of("voxtwin_clone/convert_voxvc_resemblyzer_libri_librispeech_test-other_367_367-130732-0007.flac", stems) == 8
    assert original_of("voxtwin_clone/speak_vits_demo_ms_01_gt.flac", stems) == 3
    assert original_of("voxtwin_kokoro/af_heart_007.flac", stems) == -1
    assert original_of("voxtwin_clone/convert_vits_demo_ms_02_gt.flac", stems) == -1


def test_generated_speech_study_says_what_is_missing_and_keeps_the_kind_asked_for(tmp_path):
    import subprocess

    from generated_speech_loso import _kept, generated_copies

    script = Path(__file__).resolve().parents[2] / "recipes" / "detector_v2" / "generated_speech_loso.py"
    done = subprocess.run([sys.executable, str(script), "--generated", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2 and "manifest.csv not found" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, str(script), "--made-from-recordings-only", "--text-to-speech-only"], capture_output=True, text=True)
    assert done.returncode == 2 and "not allowed with" in done.stderr and "Traceback" not in done.stderr
    originals = np.array([4, -1, 0, -1])
    assert _kept(originals, "all").tolist() == [True] * 4
    assert _kept(originals, "made-from-recordings").tolist() == [True, False, True, False]
    assert _kept(originals, "text-to-speech").tolist() == [False, True, False, True]
    with pytest.raises(ValueError, match="kind must be one of"):
        generated_copies([], tmp_path, tmp_path, ["clean"], kind="vocoders")
    sources = np.array(["voxtwin_world", "voxtwin_flite", "voxtwin_clone", "voxtwin_flite"])
    assert _kept(originals, "all", sources, ["voxtwin_flite"]).tolist() == [False, True, False, True]
    assert _kept(originals, "made-from-recordings", sources, ["voxtwin_flite", "voxtwin_world"]).tolist() == [True, False, False, False]
    (tmp_path / "manifest.csv").write_text("path,label,source\nvoxtwin_flite/awb_000.flac,spoof,voxtwin_flite\n")
    with pytest.raises(SystemExit, match="no source voxtwin_piper .it has voxtwin_flite"):
        generated_copies([], tmp_path, tmp_path, ["clean"], only_sources=["voxtwin_piper"])
