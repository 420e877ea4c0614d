"""The codec finder: a file decoded from Opus or MP3 and saved as WAV declares no codec, so the detector reads the codec's
trace in the spectrum's shape and uses that channel's calibration (flag `codec_traces`)."""

import json

import numpy as np
import pytest

from detect.codec_finder import N_BINS, CodecFinder, SpectrumShape, fit_codec_finder, spectrum_shape
from detect.detector import Detector
from detect.testing import tiny_gmm_detector
from voxtwin import audio
from voxtwin.codec import transcode
from voxtwin.errors import VoxtwinError
from voxtwin.testing import speechlike

OPUS_SHIFT = 2.0  # the Opus map's intercept against the clean map's 0


def recording(seed: int) -> np.ndarray:
    """Speech-like vowels over a microphone's noise floor (which gives them the full band recordings have)."""
    rng = np.random.default_rng(seed)
    speech = speechlike(duration_s=3.0, seed=seed, f0_hz=float(rng.uniform(90, 220)))
    return (speech + rng.uniform(0.002, 0.01) * rng.standard_normal(len(speech))).astype(np.float32)


def coded(wav: np.ndarray, codec: str, bitrate_kbps: int) -> np.ndarray:
    return np.clip(transcode(wav, 16_000, codec=codec, bitrate_kbps=bitrate_kbps), -1, 1)


@pytest.fixture(scope="module")
def finder() -> CodecFinder:
    """Fitted on 12 recordings, each as recorded, through Opus and through MP3 at drawn bitrates."""
    features, labels = [], []
    rng = np.random.default_rng(0)
    for seed in range(12):
        wav = recording(seed)
        for label, signal in (("clean", wav), ("opus", coded(wav, "opus", int(rng.integers(8, 33)))), ("mp3", coded(wav, "mp3", int(rng.integers(32, 129))))):
            features.append(spectrum_shape(signal)), labels.append(label)
    return fit_codec_finder(np.array(features), labels, c=1.0)


def test_the_finder_names_opus_and_mp3_on_recordings_it_never_saw_and_leaves_clean_ones_clean(finder):
    for seed in range(100, 106):
        wav = recording(seed)
        assert finder.find(spectrum_shape(wav)) is None
        assert finder.find(spectrum_shape(coded(wav, "opus", 16))) == "opus"
        assert finder.find(spectrum_shape(coded(wav, "mp3", 64))) == "mp3"


def test_the_shape_is_the_same_whatever_the_block_sizes():
    wav = recording(3)
    streamed = SpectrumShape()
    for block in np.array_split(wav, [700, 701, 5000, 20_000]):
        streamed.update(block)
    np.testing.assert_allclose(streamed.features, spectrum_shape(wav), atol=1e-6)  # float32 FFTs of other batches


def test_silence_gives_no_shape_and_no_finding(finder):
    assert spectrum_shape(np.zeros(48_000, dtype=np.float32)) is None
    assert finder.find(None) is None


def test_a_finder_survives_its_round_trip_through_a_checkpoint(finder):
    again = CodecFinder.from_scoring({"codec_finder": json.loads(json.dumps(finder.to_dict()))})
    features = spectrum_shape(recording(7))
    assert again.probabilities(features) == pytest.approx(finder.probabilities(features))
    assert CodecFinder.from_scoring({}) is None


@pytest.mark.parametrize("broken", [
    {"classes": ["opus", "mp3"]},  # no clean class
    {"mean": [0.0] * (N_BINS - 1)},
    {"scale": [0.0] * N_BINS},
    {"intercept": [float("nan")] * 3},
    {"coef": "x"},
])
def test_a_malformed_finder_is_refused_in_one_line(finder, broken):
    with pytest.raises(VoxtwinError, match="codec_finder is malformed"):
        CodecFinder.from_scoring({"codec_finder": {**finder.to_dict(), **broken}})


@pytest.fixture(scope="module")
def finding_detector(tmp_path_factory, finder):
    """A small LFCC-GMM whose checkpoint carries an Opus map and the finder."""
    scoring = {"calibration": {"slope": 0.5, "intercept": 0.0}, "window_s": 2.0, "version": "test",
               "calibration_by_channel": {"opus": {"slope": 0.5, "intercept": OPUS_SHIFT}}, "codec_finder": finder.to_dict()}
    return tiny_gmm_detector(tmp_path_factory.mktemp("detector") / "gmm", scoring=scoring)


def logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def test_an_opus_message_saved_as_wav_gets_the_opus_map_and_says_why(finding_detector, tmp_path):
    detector = Detector.load(finding_detector, device="cpu")
    wav = recording(200)
    message = audio.save(tmp_path / "message.opus", wav, 16_000)
    decoded, rate = audio.load(message)
    as_wav = audio.save(tmp_path / "message.wav", decoded, rate)
    from_opus, from_wav = detector.score_file(message), detector.score_file(as_wav)
    assert "codec_traces" in from_wav.flags and "codec_traces" not in from_opus.flags  # the container told: nothing to find
    assert from_wav.p_synthetic == pytest.approx(from_opus.p_synthetic, abs=2e-3)  # the same map, the same samples
    # without the finder the WAV gets the clean map, OPUS_SHIFT away
    meta = detector.meta
    blind = Detector(detector.model, {**meta, "scoring": {k: v for k, v in meta["scoring"].items() if k != "codec_finder"}}, device=detector.device)
    without = blind.score_file(as_wav)
    assert "codec_traces" not in without.flags
    assert logit(from_wav.p_synthetic) - logit(without.p_synthetic) == pytest.approx(OPUS_SHIFT, abs=2e-3)
    # a recording as made is left on the clean map
    assert "codec_traces" not in detector.score_file(audio.save(tmp_path / "recording.wav", wav, 16_000)).flags


def test_a_finder_without_maps_per_channel_changes_nothing(finding_detector):
    detector = Detector.load(finding_detector, device="cpu")
    meta = detector.meta
    mapless = Detector(detector.model, {**meta, "scoring": {**meta["scoring"], "calibration_by_channel": {}}}, device=detector.device)
    result = mapless.score(coded(recording(201), "opus", 16), 16_000)
    assert "codec_traces" not in result.flags


def test_the_recipe_without_its_corpus_stops_in_one_line(monkeypatch):
    import sys
    from pathlib import Path

    from detect.datasets.trial import DatasetLayoutError

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "default_detector"))
    import codec_finder as recipe

    def no_corpus(config):
        raise DatasetLayoutError("../shared/data: dataset folder not found")

    monkeypatch.setattr(recipe, "recipe_trials", no_corpus)
    monkeypatch.setattr(sys, "argv", ["codec_finder.py"])
    with pytest.raises(SystemExit, match="^error: ../shared/data: dataset folder not found$"):
        recipe.main()
