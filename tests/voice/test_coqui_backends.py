"""XTTS-v2 (speak) and OpenVoice (convert) through coqui-tts: tiny random-weight models built from configs,
saved in the published folder layouts, then loaded and run by voxtwin's real loading and inference code."""

import numpy as np
import pytest

pytest.importorskip("TTS", reason="coqui-tts (the coqui extra) is not installed")


import voice  # noqa: E402
from tests.voice.tiny_coqui import make_openvoice, make_xtts  # noqa: E402
from voice.backends import BackendError, load_convert_backend, load_speak_backend  # noqa: E402
from voxtwin import audio  # noqa: E402
from voxtwin.cli import app  # noqa: E402
from voxtwin.errors import CheckpointError  # noqa: E402


@pytest.fixture(scope="module")
def xtts_dir(tmp_path_factory):
    return make_xtts(tmp_path_factory.mktemp("xtts"))


@pytest.fixture(scope="module")
def openvoice_dir(tmp_path_factory):
    return make_openvoice(tmp_path_factory.mktemp("openvoice"))


@pytest.fixture(scope="module")
def profile(piper_speech):
    return voice.enroll([piper_speech[0]], sample_rate=16_000, no_consent_reason="test")


def test_xtts_speaks_from_a_local_folder(xtts_dir, profile, monkeypatch):
    monkeypatch.setenv("COQUI_TOS_AGREED", "1")
    backend = load_speak_backend("xtts", model_dir=xtts_dir, device="cpu")
    wav, rate = voice.speak("Hi there. See you soon.", profile, backend=backend)
    assert rate == 24_000 and wav.dtype == np.float32 and len(wav) > 0.3 * rate and np.all(np.isfinite(wav))


def test_xtts_needs_licence_agreement(xtts_dir, monkeypatch):
    monkeypatch.delenv("COQUI_TOS_AGREED", raising=False)
    with pytest.raises(BackendError, match="COQUI_TOS_AGREED"):
        load_speak_backend("xtts", model_dir=xtts_dir)


def test_openvoice_converts_from_a_local_folder(openvoice_dir, profile, piper_speech):
    backend = load_convert_backend("openvoice", model_dir=openvoice_dir, device="cpu")
    wav, rate = voice.convert(piper_speech[1], profile, sample_rate=16_000, backend=backend)
    assert rate == 22_050 and abs(len(wav) / rate - len(piper_speech[1]) / 16_000) < 0.1 and np.all(np.isfinite(wav))


def test_convert_cli_with_openvoice_is_watermarked(runner, tmp_path, openvoice_dir, profile, piper_speech):
    from voxtwin.watermark import detect_watermark

    profile_path = profile.save(tmp_path / "p.voice")
    source = audio.save(tmp_path / "src.wav", np.tile(piper_speech[1], 2), 16_000)
    out = tmp_path / "ov.wav"
    result = runner.invoke(app, ["voice", "convert", str(source), "--voice", str(profile_path), "-o", str(out), "--backend", "openvoice", "--model-dir", str(openvoice_dir)])
    assert result.exit_code == 0, result.output
    assert detect_watermark(*audio.load(out)).found


@pytest.mark.parametrize(
    "args, message",
    [
        (["--backend", "openvoice"], "needs --model-dir"),
        (["--backend", "openvoice", "--model-dir", "{empty}"], "missing config.json, checkpoint.pth"),
        (["--backend", "freevc"], "downloads WavLM"),
        (["--backend", "nosuch"], "nosuch"),
    ],
)
def test_backend_errors(runner, tmp_path, profile, piper_speech, args, message):
    profile_path = profile.save(tmp_path / "p.voice")
    source = audio.save(tmp_path / "src.wav", piper_speech[1], 16_000)
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["voice", "convert", str(source), "--voice", str(profile_path), "-o", str(tmp_path / "o.wav")] + [a.format(empty=tmp_path / "empty") for a in args])
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_corrupt_checkpoint_is_refused(tmp_path, openvoice_dir):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((openvoice_dir / "config.json").read_text())
    (bad / "checkpoint.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot load OpenVoice"):
        load_convert_backend("openvoice", model_dir=bad)
