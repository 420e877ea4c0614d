"""A calibration per channel: the detector finds the telephone band itself (flag `narrow_band`) and reads the codec
from the container; recipes/default_detector/channel_calibration.py fits the maps and the prior from compare.py's scores."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from detect.calibration import Calibration, calibration_channel
from detect.detector import Detector
from detect.testing import tiny_gmm_detector
from voxtwin import audio
from voxtwin.codec import telephone
from voxtwin.errors import VoxtwinError
from voxtwin.testing import speechlike

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "default_detector"
sys.path.insert(0, str(RECIPE))

import channel_calibration  # noqa: E402

OPUS_SHIFT, TELEPHONE_SHIFT = 2.0, -1.5  # the intercepts of the two channel maps below, against the clean map's 0


@pytest.fixture(scope="module")
def channel_detector(tmp_path_factory):
    """A small LFCC-GMM whose checkpoint carries maps for the Opus and telephone channels (same slope, other intercepts)."""
    scoring = {"calibration": {"slope": 0.5, "intercept": 0.0}, "window_s": 2.0, "version": "test",
               "calibration_by_channel": {"opus": {"slope": 0.5, "intercept": OPUS_SHIFT}, "telephone": {"slope": 0.5, "intercept": TELEPHONE_SHIFT}}}
    return tiny_gmm_detector(tmp_path_factory.mktemp("detector") / "gmm", scoring=scoring)


def logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def test_the_channel_comes_from_the_band_first_then_the_codec():
    assert calibration_channel("opus", narrow_band=False) == "opus"
    assert calibration_channel("mp3float", narrow_band=False) == "mp3"
    assert calibration_channel("aac", narrow_band=False) == "mp3"  # no map of its own: MP3's
    assert calibration_channel("pcm_16", narrow_band=False) == calibration_channel(None, narrow_band=False) == "clean"
    assert calibration_channel("opus", narrow_band=True) == "telephone"  # a call forwarded as a voice message


def test_each_file_gets_its_channels_map_and_the_narrow_band_flag(channel_detector, tmp_path):
    detector = Detector.load(channel_detector, device="cpu")
    # vowels alone carry little above 4 kHz; a microphone's noise floor gives them the high band recordings have
    speech = speechlike(duration_s=3.0, seed=7) + 0.003 * np.random.default_rng(7).standard_normal(48_000).astype(np.float32)
    clean = detector.score(speech, 16_000)
    as_opus = detector.score(speech, 16_000, codec="opus")
    assert "narrow_band" not in clean.flags
    assert logit(as_opus.p_synthetic) - logit(clean.p_synthetic) == pytest.approx(OPUS_SHIFT, abs=2e-3)
    # an .opus file names its codec in the container: the same map, with no codec passed
    path = audio.save(tmp_path / "message.opus", speech, 16_000)
    from_file = detector.score_file(path)
    decoded, rate = audio.load(path)
    assert logit(from_file.p_synthetic) - logit(detector.score(decoded, rate).p_synthetic) == pytest.approx(OPUS_SHIFT, abs=2e-3)
    # the telephone band is found in the signal, whatever the container says
    narrow = telephone(speech, 16_000)
    for result in (detector.score(narrow, 16_000), detector.score(narrow, 16_000, codec="opus")):
        assert "narrow_band" in result.flags
    eight_k = audio.save(tmp_path / "call.wav", audio.resample(speech, 16_000, 8_000), 8_000)  # an 8 kHz recording
    assert "narrow_band" in detector.score_file(eight_k).flags
    no_maps = Detector(detector.model, {**detector.meta, "scoring": {**detector.meta["scoring"], "calibration_by_channel": {}}}, device=detector.device)
    assert logit(detector.score(narrow, 16_000).p_synthetic) - logit(no_maps.score(narrow, 16_000).p_synthetic) == pytest.approx(TELEPHONE_SHIFT, abs=2e-3)
    # a stated prior moves every channel's map alike
    inbox = Detector.load(channel_detector, device="cpu", synthetic_prior=0.2)
    assert logit(inbox.score(speech, 16_000, codec="opus").p_synthetic) - logit(as_opus.p_synthetic) == pytest.approx(np.log(0.2 / 0.8), abs=2e-3)


def compare_json(rng: np.random.Generator, shipped: Calibration, model: str) -> dict:
    """compare.py's output for two sets in the four channels: real scores sit lower (more synthetic-looking) through Opus
    and the telephone band, for both classes, as the shipped detector's do."""
    sets = {}
    for name, n in (("calibration", 300), ("report", 200)):
        fake = np.arange(n) % 2 == 1
        channels = {}
        for channel, shift in (("clean", 0.0), ("opus_16k", -3.0), ("mp3_64k", -1.0), ("telephone_8k", -4.0)):
            scores = np.where(fake, -2.0, 2.0) + shift + rng.normal(0, 1.5, n)  # bona fide log-odds, file means
            p = shipped.p_synthetic(scores)
            flags = [["narrow_band"] if channel == "telephone_8k" else [] for _ in range(n)]
            channels[channel] = {"p_synthetic": p.round(5).tolist(), "flags": flags}
        sets[name] = {"is_synthetic": fake.astype(int).tolist(), "models": {model: {"channels": channels}}}  # keyed as --models named it
    return sets


def study_inputs(tmp_path: Path, channel_detector) -> tuple[Path, Path]:
    """(compare.py's JSON, the checkpoint's JSON) of a copy of channel_detector whose single map is `shipped`."""
    shipped = Calibration(slope=0.4, intercept=0.3)
    meta = json.loads(Path(channel_detector).with_suffix(".json").read_text())
    meta["scoring"]["calibration"] = shipped.to_dict()
    checkpoint = tmp_path / "m.json"
    checkpoint.write_text(json.dumps(meta))
    (tmp_path / "m.safetensors").write_bytes(Path(channel_detector).with_suffix(".safetensors").read_bytes())
    scores_path = tmp_path / "compare.json"
    scores_path.write_text(json.dumps(compare_json(np.random.default_rng(0), shipped, str(tmp_path / "m"))))
    return scores_path, checkpoint


def test_the_study_fits_a_map_per_channel_chooses_the_prior_on_the_calibration_set_and_writes_it(tmp_path, monkeypatch, channel_detector):
    scores_path, checkpoint = study_inputs(tmp_path, channel_detector)
    out = tmp_path / "study.json"
    monkeypatch.setattr(sys, "argv", ["channel_calibration.py", str(scores_path), "--model", str(tmp_path / "m"), "--out", str(out), "--write"])
    channel_calibration.main()
    study = json.loads(out.read_text())
    # the fitted maps undo each channel's shift: the Opus and telephone intercepts sit below the clean one
    maps = study["maps"]["per channel"]
    assert maps["telephone"]["intercept"] < maps["opus"]["intercept"] < maps["mp3"]["intercept"] < maps["clean"]["intercept"]
    per_channel, single = study["candidates"]["per channel"], study["candidates"]["single"]
    assert per_channel["prior"] is not None
    shares = per_channel["verdict_percent"]
    prior = per_channel["prior"]
    for channel in channel_calibration.CHANNELS:
        assert shares[f"calibration {channel} prior {prior}"]["real"]["real"] >= channel_calibration.REAL_CALLED_REAL
    # one map for every channel needs a lower prior (or none reaches it) to get the telephone band's real files `real`
    assert single["prior"] is None or single["prior"] < prior
    written = json.loads(checkpoint.read_text())["scoring"]
    assert written["calibration"]["synthetic_prior"] == prior
    assert set(written["calibration_by_channel"]) == {"opus", "mp3", "telephone"}
    assert written["calibration_by_channel"]["telephone"]["intercept"] == pytest.approx(maps["telephone"]["intercept"])


def test_a_stated_prior_is_written_instead_of_the_chosen_one_and_needs_write(tmp_path, monkeypatch, channel_detector):
    scores_path, checkpoint = study_inputs(tmp_path, channel_detector)
    argv = ["channel_calibration.py", str(scores_path), "--model", str(tmp_path / "m"), "--out", str(tmp_path / "study.json"), "--prior", "0.35"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit):  # --prior without --write: argparse's one-line error
        channel_calibration.main()
    monkeypatch.setattr(sys, "argv", [*argv, "--write"])
    channel_calibration.main()
    chosen = json.loads((tmp_path / "study.json").read_text())["candidates"]["per channel"]["prior"]
    assert chosen != 0.35 and json.loads(checkpoint.read_text())["scoring"]["calibration"]["synthetic_prior"] == 0.35


def test_the_study_refuses_scores_without_flags_in_one_line(tmp_path, monkeypatch, channel_detector):
    old = compare_json(np.random.default_rng(1), Calibration(), str(channel_detector))
    for entry in old.values():
        for channel in entry["models"][str(channel_detector)]["channels"].values():
            del channel["flags"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    monkeypatch.setattr(sys, "argv", ["channel_calibration.py", str(path), "--model", str(channel_detector)])
    with pytest.raises(SystemExit, match="no per-file flags"):
        channel_calibration.main()


def test_the_study_refuses_a_missing_scores_file_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["channel_calibration.py", str(tmp_path / "nowhere.json")])
    with pytest.raises(SystemExit, match="cannot read compare.py's JSON"):
        channel_calibration.main()


@pytest.mark.parametrize("maps", [{"fax": {"slope": 1.0, "intercept": 0.0}}, {"opus": {"slope": -1.0, "intercept": 0.0}}, {"opus": {"slope": 1.0}}, {"opus": "x"}])
def test_a_malformed_map_per_channel_is_refused_in_one_line(channel_detector, maps):
    detector = Detector.load(channel_detector, device="cpu")
    meta = {**detector.meta, "scoring": {**detector.meta["scoring"], "calibration_by_channel": maps}}
    with pytest.raises(VoxtwinError, match="calibration_by_channel is malformed"):
        Detector(detector.model, meta, device=detector.device)
