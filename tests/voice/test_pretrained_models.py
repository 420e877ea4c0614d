"""`voxtwin voice models` and `--backend auto`, end to end against a local fake Hugging Face Hub serving tiny
random-weight XTTS-v2 and OpenVoice checkpoints in the published repository layouts."""

import hashlib
import json

import numpy as np
import pytest

pytest.importorskip("TTS", reason="coqui-tts (the coqui extra) is not installed")

import voice  # noqa: E402
from tests.voice.fake_hub import FakeHub  # noqa: E402
from tests.voice.tiny_coqui import make_openvoice, make_xtts  # noqa: E402
from voxtwin import audio  # noqa: E402
from voice.pretrained.store import model_folder  # noqa: E402
from voxtwin.cli import app  # noqa: E402


@pytest.fixture(scope="module")
def hub_files(tmp_path_factory):
    ov = make_openvoice(tmp_path_factory.mktemp("ov") / "converter")
    xtts = make_xtts(tmp_path_factory.mktemp("xtts"))
    openvoice = {f"converter/{n}": (ov / n).read_bytes() for n in ("config.json", "checkpoint.pth")}
    xtts_files = {n: (xtts / n).read_bytes() for n in ("config.json", "model.pth", "vocab.json")}
    return openvoice, xtts_files


@pytest.fixture
def hub(hub_files, monkeypatch):
    openvoice, xtts_files = hub_files
    with FakeHub() as server:
        server.add("myshell-ai/OpenVoiceV2", ("main",), openvoice)
        server.add("coqui/XTTS-v2", ("v2.0.2",), xtts_files)
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def _models(runner, *args):
    return runner.invoke(app, ["voice", "models", *args])


def test_pull_records_hashes_and_list_shows_it(runner, hub, hub_files):
    listed = json.loads(_models(runner, "list", "--json").stdout)
    assert {r["name"]: r["present"] for r in listed if r["source"] == "hub"} == {"xtts-v2": False, "openvoice-v2": False}
    assert {r["name"] for r in listed if r["source"] == "built in"} == {"vox-vc", "knn-world", "piper-knn"}
    result = _models(runner, "pull", "openvoice-v2")
    assert result.exit_code == 0, result.output
    row = next(r for r in json.loads(_models(runner, "list", "--json").stdout) if r["name"] == "openvoice-v2")
    assert row["present"] and row["licence"] == "MIT" and row["languages"] == ["*"]
    lock = json.loads((model_folder("openvoice-v2") / "voxtwin-lock.json").read_text())
    assert lock["commit"] == hub.repos[("myshell-ai/OpenVoiceV2", "main")][0]
    for name, data in hub_files[0].items():
        assert lock["files"][name]["sha256"] == hashlib.sha256(data).hexdigest()
    assert _models(runner, "verify", "openvoice-v2").exit_code == 0


def test_a_file_changed_after_the_pull_fails_verify_and_loading(runner, hub, piper_speech, tmp_path):
    assert _models(runner, "pull", "openvoice-v2").exit_code == 0
    checkpoint = model_folder("openvoice-v2") / "converter" / "checkpoint.pth"
    data = bytearray(checkpoint.read_bytes())
    data[-1] ^= 0xFF
    checkpoint.write_bytes(bytes(data))
    result = _models(runner, "verify", "openvoice-v2")
    assert result.exit_code == 2 and "SHA-256 differs" in result.stderr
    profile = voice.enroll([piper_speech[0]], sample_rate=16_000, no_consent_reason="test").save(tmp_path / "p.voice")
    source = audio.save(tmp_path / "src.wav", piper_speech[1], 16_000)
    result = runner.invoke(app, ["voice", "convert", str(source), "--voice", str(profile), "-o", str(tmp_path / "o.wav"), "--backend", "openvoice"])
    assert result.exit_code == 2 and "fails its check" in result.stderr and "Traceback" not in result.output


def test_a_download_that_does_not_match_the_hub_hash_is_refused(runner, hub):
    hub.corrupt.add("converter/checkpoint.pth")
    result = _models(runner, "pull", "openvoice-v2")
    assert result.exit_code == 2 and "does not match" in result.stderr, result.output
    assert not (model_folder("openvoice-v2") / "converter" / "checkpoint.pth").exists()
    hub.corrupt.clear()
    assert _models(runner, "pull", "openvoice-v2").exit_code == 0


def test_an_interrupted_download_resumes(runner, hub, hub_files, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 4096)  # bytes reach the disk as they arrive
    hub.cut_once.add("converter/checkpoint.pth")
    result = _models(runner, "pull", "openvoice-v2")
    assert result.exit_code == 0, result.output
    ranges = [r for method, path, r in hub.requests if method == "GET" and path.endswith("checkpoint.pth") and r]
    assert ranges and int(ranges[0].split("=")[1].split("-")[0]) > 0  # asked only for the missing bytes
    pulled = model_folder("openvoice-v2") / "converter" / "checkpoint.pth"
    assert pulled.read_bytes() == hub_files[0]["converter/checkpoint.pth"]


def test_non_permissive_licence_must_be_accepted(runner, hub):
    result = _models(runner, "pull", "xtts-v2")
    assert result.exit_code == 2 and "--accept-license" in result.stderr and "CPML" in result.stderr
    assert not any(method == "GET" and "XTTS" in path for method, path, _ in hub.requests)  # nothing fetched before acceptance
    assert _models(runner, "pull", "xtts-v2", "--accept-license").exit_code == 0


def test_offline_pull_is_one_line_naming_the_host(runner, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    result = _models(runner, "pull", "openvoice-v2")
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and "127.0.0.1:9" in lines[0] and "--model-dir" in lines[0], result.output


@pytest.mark.parametrize("args, message", [(["pull", "nosuch"], "no pretrained model 'nosuch'"), (["verify", "openvoice-v2"], "is not pulled"), (["pull", "openvoice-v2", "--revision", "v9"], "no revision 'v9'")])
def test_model_command_errors(runner, hub, args, message):
    result = _models(runner, *args)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output, result.output


def test_rm_deletes_the_pull(runner, hub):
    assert _models(runner, "pull", "openvoice-v2").exit_code == 0
    assert _models(runner, "rm", "openvoice-v2").exit_code == 0
    assert not model_folder("openvoice-v2").exists()


def test_auto_uses_a_pulled_converter_and_marks_its_output(runner, hub, piper_speech, tmp_path):
    from voxtwin.watermark import detect_watermark

    profile = voice.enroll([piper_speech[0]], sample_rate=16_000, no_consent_reason="test").save(tmp_path / "p.voice")
    source = audio.save(tmp_path / "src.wav", np.tile(piper_speech[1], 2), 16_000)
    before = len(hub.requests)
    assert _models(runner, "pull", "openvoice-v2").exit_code == 0
    pulled_requests = len(hub.requests)
    assert pulled_requests > before
    out = tmp_path / "auto.wav"
    result = runner.invoke(app, ["voice", "convert", str(source), "--voice", str(profile), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "backend: openvoice (pulled openvoice-v2)" in result.stderr
    assert detect_watermark(*audio.load(out)).found
    assert len(hub.requests) == pulled_requests  # running a pulled backend never contacts the hub


def test_auto_uses_pulled_xtts_for_its_languages(runner, hub, piper_speech, tmp_path, monkeypatch):
    monkeypatch.delenv("COQUI_TOS_AGREED", raising=False)  # accepted at pull time instead
    from voxtwin.watermark import detect_watermark

    profile = voice.enroll([piper_speech[0]], sample_rate=16_000, no_consent_reason="test").save(tmp_path / "p.voice")
    assert _models(runner, "pull", "xtts-v2", "--accept-license").exit_code == 0
    out = tmp_path / "say.wav"
    text = "Hello there. " * 6
    result = runner.invoke(app, ["voice", "speak", text, "--voice", str(profile), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "backend: xtts (pulled xtts-v2)" in result.stderr
    wav, rate = audio.load(out)
    assert len(wav) / rate > 2.0 and detect_watermark(wav, rate).found


def test_auto_without_pulls_is_built_in_and_never_contacts_the_hub(runner, hub, piper_speech, tmp_path):
    profile = voice.enroll([piper_speech[0]], sample_rate=16_000, no_consent_reason="test").save(tmp_path / "p.voice")
    source = audio.save(tmp_path / "src.wav", piper_speech[1], 16_000)
    result = runner.invoke(app, ["voice", "convert", str(source), "--voice", str(profile), "-o", str(tmp_path / "o.wav")])
    assert result.exit_code == 0, result.output
    assert "backend: vox-vc (built in)" in result.stderr or "backend: knn-world" in result.stderr
    assert hub.requests == []
