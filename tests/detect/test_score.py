"""`voxtwin detect score` and `detect.score()` with a small detector the test trains on generated speech."""

import csv
import io
import json

import numpy as np
import pytest
import soundfile as sf

import detect
from detect.calibration import Calibration, at_prior, expected_calibration_error, fit_platt
from detect.detector import Detector
from detect.testing import tiny_gmm_detector
from voxtwin import audio
from voxtwin.cli import app
from voxtwin.errors import VoxtwinError
from voxtwin.testing import speechlike, world_copy

FORMATS = [".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".webm", ".amr"]


@pytest.fixture(scope="module")
def gmm_detector(tmp_path_factory):
    """LFCC-GMM fitted on speech-like audio (real) vs its WORLD-vocoded copies (synthetic)."""
    return tiny_gmm_detector(tmp_path_factory.mktemp("detector") / "gmm", scoring={"calibration": {"slope": 0.5, "intercept": 0.0}, "window_s": 2.0, "version": "test"})


@pytest.fixture
def real_and_fake(tmp_path):
    real = speechlike(duration_s=3.0, seed=42, f0_hz=110)
    return real, world_copy(speechlike(duration_s=3.0, seed=43, f0_hz=125))


def test_detector_tells_vocoded_from_real(gmm_detector, real_and_fake):
    detector = Detector.load(gmm_detector, device="cpu")
    real, fake = real_and_fake
    r, f = detector.score(real, 16_000), detector.score(fake, 16_000)
    assert f.p_synthetic > r.p_synthetic
    assert f.verdict != "real" and r.verdict != "synthetic"


@pytest.mark.parametrize("ext", FORMATS)
def test_score_every_format_json_schema(runner, tmp_path, gmm_detector, real_and_fake, ext):
    path = audio.save(tmp_path / f"msg{ext}", real_and_fake[0], 16_000)
    result = runner.invoke(app, ["detect", "score", str(path), "--model", str(gmm_detector), "--json"])
    assert result.exit_code in (0, 1), result.output
    (row,) = json.loads(result.stdout)
    assert {"path", "p_synthetic", "verdict", "segments", "speech_s", "flags"} <= set(row)
    assert 0 <= row["p_synthetic"] <= 1 and row["verdict"] in ("synthetic", "real", "uncertain")
    assert row["speech_s"] > 1.0 and row["segments"]


def test_segment_timeline_shows_where_a_long_message_is_fake(gmm_detector):
    detector = Detector.load(gmm_detector, device="cpu", hop_s=1.0)
    real = speechlike(duration_s=12.0, seed=7, f0_hz=110)
    fake = world_copy(speechlike(duration_s=6.0, seed=8, f0_hz=115))
    wav = np.concatenate([real, fake])
    result = detector.score(wav, 16_000)
    starts = [s.start_s for s in result.segments]
    assert starts[0] == 0.0 and starts == sorted(starts) and len(result.segments) >= 14
    assert all(s.end_s - s.start_s <= 2.0 + 1e-6 for s in result.segments)
    early = np.mean([s.p_synthetic for s in result.segments if s.end_s <= 11])
    late = np.mean([s.p_synthetic for s in result.segments if s.start_s >= 12.5])
    assert late > early


def test_long_file_is_scored_from_disk_in_blocks(tmp_path, gmm_detector):
    wav = np.tile(speechlike(duration_s=10.0, seed=1), 6)  # one minute
    sf.write(tmp_path / "long.flac", wav, 16_000)
    result = Detector.load(gmm_detector, device="cpu", hop_s=4.0).score_file(tmp_path / "long.flac")
    assert result.duration_s == pytest.approx(60.0) and len(result.segments) == 15


@pytest.mark.parametrize("ext,rate", [(".opus", 48_000), (".wav", 16_000)])
def test_long_files_decoded_twice_score_like_short_ones(tmp_path, gmm_detector, monkeypatch, ext, rate):
    """Past IN_MEMORY_S the file is decoded again for the windows instead of kept: same result either way (also
    when the file is already at 16 kHz and its decoded blocks are kept as they are)."""
    import detect.detector as detector_module

    wav = np.concatenate([speechlike(duration_s=6.0, seed=1), world_copy(speechlike(duration_s=6.0, seed=2))])
    path = audio.save(tmp_path / f"message{ext}", audio.resample(wav, 16_000, rate), rate)
    assert len(list(audio.iter_blocks(path))) >= 2  # 12 s: more than one decoded block is kept
    detector = Detector.load(gmm_detector, device="cpu")
    kept = detector.score_file(path)
    monkeypatch.setattr(detector_module, "IN_MEMORY_S", 2.0)
    decoded_twice = detector.score_file(path)
    assert kept.to_dict() == decoded_twice.to_dict()


def test_many_files_in_parallel_keep_their_order(tmp_path, gmm_detector):
    detector = Detector.load(gmm_detector, device="cpu")
    paths = [audio.save(tmp_path / f"m{i}.ogg", speechlike(duration_s=2.0 + i, seed=i), 16_000) for i in range(5)]
    paths.insert(2, tmp_path / "missing.wav")
    one_by_one = [detector.score_file(p) for p in paths]
    in_parallel = list(detector.score_files(paths, jobs=3))  # torch threads differ: allow rounding
    assert [r.path for r in in_parallel] == [str(p) for p in paths]
    assert [r.verdict for r in in_parallel] == [r.verdict for r in one_by_one]
    assert [r.p_synthetic for r in in_parallel] == pytest.approx([r.p_synthetic for r in one_by_one], abs=1e-3, nan_ok=True)
    assert in_parallel[2].verdict == "error"


def test_bad_files_are_reported_not_fatal(runner, tmp_path, gmm_detector, real_and_fake):
    audio.save(tmp_path / "good.wav", real_and_fake[0], 16_000)
    (tmp_path / "broken.ogg").write_bytes(b"not audio at all" * 20)
    sf.write(tmp_path / "quiet.wav", np.zeros(16_000, dtype=np.float32), 16_000)
    result = runner.invoke(app, ["detect", "score", str(tmp_path), "--model", str(gmm_detector), "--json"])
    rows = {r["path"].split("/")[-1]: r for r in json.loads(result.stdout)}
    assert rows["broken.ogg"]["verdict"] == "error" and "cannot decode" in rows["broken.ogg"]["error"]
    assert rows["quiet.wav"]["verdict"] == "error" or "no_speech" in rows["quiet.wav"]["flags"]
    assert rows["good.wav"]["p_synthetic"] is not None
    assert result.exit_code in (1, 3)  # flagged, or some files unreadable
    assert "error: " in result.stderr


def test_exit_codes(runner, tmp_path, gmm_detector, real_and_fake):
    real, fake = real_and_fake
    audio.save(tmp_path / "real.wav", real, 16_000)
    audio.save(tmp_path / "fake.wav", fake, 16_000)
    only_real = runner.invoke(app, ["detect", "score", str(tmp_path / "real.wav"), "--model", str(gmm_detector)])
    assert only_real.exit_code in (0, 1)
    missing = runner.invoke(app, ["detect", "score", str(tmp_path / "nope.wav"), "--model", str(gmm_detector)])
    assert missing.exit_code == 2
    verdicts = json.loads(runner.invoke(app, ["detect", "score", str(tmp_path / "*.wav"), "--model", str(gmm_detector), "--json"]).stdout)
    flagged = any(v["verdict"] == "synthetic" for v in verdicts)
    assert runner.invoke(app, ["detect", "score", str(tmp_path / "*.wav"), "--model", str(gmm_detector)]).exit_code == (1 if flagged else 0)


def test_csv_stdin_and_plot(runner, tmp_path, gmm_detector, real_and_fake):
    path = audio.save(tmp_path / "msg.opus", real_and_fake[1], 16_000)
    result = runner.invoke(app, ["detect", "score", "-", "--model", str(gmm_detector), "--csv", "--plot", str(tmp_path / "plot.png")], input=path.read_bytes())
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["path"] == "<stdin>" and float(rows[0]["p_synthetic"]) >= 0
    assert (tmp_path / "plot.png").stat().st_size > 10_000


def test_python_api_with_array_and_path(gmm_detector, real_and_fake, tmp_path, monkeypatch):
    monkeypatch.setattr(detect, "load_default_detector", lambda device="auto": Detector.load(gmm_detector, device="cpu"))
    real, _ = real_and_fake
    from_array = detect.score(real, sr=16_000)
    from_path = detect.score(str(audio.save(tmp_path / "r.flac", real, 16_000)))
    assert from_array.p_synthetic == pytest.approx(from_path.p_synthetic, abs=0.02)
    with pytest.raises(ValueError, match="sr"):
        detect.score(real)


def test_no_speech_and_too_short_flags(gmm_detector):
    detector = Detector.load(gmm_detector, device="cpu")
    quiet = detector.score(0.0005 * np.random.default_rng(0).standard_normal(32_000).astype(np.float32), 16_000)
    assert "no_speech" in quiet.flags and quiet.p_synthetic is None and quiet.verdict == "uncertain"
    short = detector.score(speechlike(duration_s=0.8, seed=3), 16_000)
    assert "too_short" in short.flags and short.verdict == "uncertain"


def test_clipping_is_flagged_at_the_files_own_rate(tmp_path, gmm_detector):
    detector = Detector.load(gmm_detector, device="cpu")
    speech = audio.resample(speechlike(duration_s=4.0, seed=5), 16_000, 48_000)
    clean = speech / np.abs(speech).max() * 0.5
    clipped = np.clip(speech / np.abs(speech).max() * 4.0, -1.0, 1.0)
    assert "clipped" not in detector.score_file(audio.save(tmp_path / "clean.flac", clean, 48_000)).flags
    assert "clipped" in detector.score_file(audio.save(tmp_path / "clipped.flac", clipped, 48_000)).flags


def test_synthetic_prior_option_restates_p_synthetic_by_bayes_rule(runner, tmp_path, gmm_detector, real_and_fake):
    """`--synthetic-prior` (and Detector's synthetic_prior) moves every window's and the file's log-odds by the same
    amount, so more files come out `real`; 0 or 1 is refused before any file is read."""
    path = audio.save(tmp_path / "real.wav", real_and_fake[0], 16_000)

    def scored(*extra):
        result = runner.invoke(app, ["detect", "score", str(path), "--model", str(gmm_detector), "--json", *extra])
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.stdout)[0]

    balanced, inbox = scored(), scored("--synthetic-prior", "0.1")
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert logit(inbox["p_synthetic"]) - logit(balanced["p_synthetic"]) == pytest.approx(np.log(0.1 / 0.9), abs=2e-3)
    for a, b in zip(balanced["segments"], inbox["segments"]):
        assert logit(b["p_synthetic"]) - logit(a["p_synthetic"]) == pytest.approx(np.log(0.1 / 0.9), abs=2e-3)
    api = Detector.load(gmm_detector, device="cpu", synthetic_prior=0.1).score_file(path)
    assert api.p_synthetic == inbox["p_synthetic"] and api.verdict == inbox["verdict"]
    for bad in ("0", "1", "-0.2"):
        refused = runner.invoke(app, ["detect", "score", str(path), "--model", str(gmm_detector), "--synthetic-prior", bad])
        assert refused.exit_code == 2 and "--synthetic-prior" in refused.output and "Traceback" not in refused.output
    with pytest.raises(VoxtwinError, match="synthetic_prior"):
        Detector.load(gmm_detector, device="cpu", synthetic_prior=1.0)


def test_at_prior_equals_calibrating_with_that_prior():
    """compare.py restates verdicts under other priors from stored p_synthetic: it must equal scoring with that prior."""
    scores = np.linspace(-6, 6, 101)
    balanced, inbox = Calibration(0.7, 0.2), Calibration(0.7, 0.2, synthetic_prior=0.15)
    np.testing.assert_allclose(at_prior(balanced.p_synthetic(scores), 0.15), inbox.p_synthetic(scores), atol=1e-12)
    np.testing.assert_allclose(at_prior(inbox.p_synthetic(scores), 0.5, from_prior=0.15), balanced.p_synthetic(scores), atol=1e-12)
    with pytest.raises(ValueError):
        at_prior(0.5, 0.0)


def test_calibration_is_monotone_and_bounded():
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(2, 1, 300), rng.normal(-2, 1, 300)])
    is_fake = np.concatenate([np.zeros(300), np.ones(300)])
    cal = fit_platt(scores, is_fake)
    grid = np.linspace(-50, 50, 1001)
    p = cal.p_synthetic(grid)
    assert np.all((p >= 0) & (p <= 1)) and np.all(np.diff(p) <= 0)
    assert expected_calibration_error(cal.p_synthetic(scores), is_fake) < 0.05
    assert expected_calibration_error(Calibration(slope=10).p_synthetic(scores), is_fake) > expected_calibration_error(cal.p_synthetic(scores), is_fake)
    with pytest.raises(ValueError):
        Calibration(slope=-1.0)


def test_synthetic_prior_moves_the_log_odds_by_bayes_rule_and_keeps_the_ranking():
    rng = np.random.default_rng(1)
    scores = np.concatenate([rng.normal(1, 1, 400), rng.normal(-1, 1, 400)])
    is_fake = np.concatenate([np.zeros(400), np.ones(400)])
    balanced = fit_platt(scores, is_fake)
    inbox = Calibration(balanced.slope, balanced.intercept, synthetic_prior=0.1)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    np.testing.assert_allclose(logit(inbox.p_synthetic(scores)) - logit(balanced.p_synthetic(scores)), np.log(0.1 / 0.9), atol=1e-9)
    assert np.array_equal(np.argsort(inbox.p_synthetic(scores)), np.argsort(balanced.p_synthetic(scores)))
    # with a 10 % prior, far more real speech clears the `real` threshold than with equal priors
    real = is_fake == 0
    assert np.mean(inbox.p_synthetic(scores[real]) <= 0.2) > np.mean(balanced.p_synthetic(scores[real]) <= 0.2) + 0.2
    # a probability that is a well-calibrated posterior under the prior: mean p on a 1:9 mix is close to 0.1
    mix = np.concatenate([scores[is_fake == 1][:40], scores[real][:360]])
    assert abs(inbox.p_synthetic(mix).mean() - 0.1) < 0.05
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError):
            Calibration(synthetic_prior=bad)
