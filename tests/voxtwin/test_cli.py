import json

from voxtwin import __version__
from voxtwin.audio import save
from voxtwin.cli import app

INFO_KEYS = {"path", "codec", "sample_rate", "channels", "duration_s", "loudness_lufs", "speech_ratio"}


def test_version(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_info_json_single_and_many(runner, tmp_path, speech_16k):
    a = save(tmp_path / "a.opus", speech_16k, 16_000)
    b = save(tmp_path / "b.m4a", speech_16k, 16_000)
    one = json.loads(runner.invoke(app, ["info", str(a), "--json"]).stdout)
    assert INFO_KEYS <= set(one) and one["codec"] == "opus"
    many = json.loads(runner.invoke(app, ["info", str(a), str(b), "--json"]).stdout)
    assert [m["codec"] for m in many] == ["opus", "aac"]


def test_info_table(runner, tmp_path, speech_16k):
    a = save(tmp_path / "a.wav", speech_16k, 16_000)
    result = runner.invoke(app, ["info", str(a)])
    assert result.exit_code == 0 and "pcm_16" in result.stdout and "LUFS" in result.stdout


def test_subapps_are_mounted(runner):
    for name in ("voice", "detect"):
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0 and name in result.stdout.lower()


def test_demo_scores_every_format(runner, tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "demo").iterdir())) == 9
    assert "p_synthetic" in result.stdout and "real_message.amr" in result.stdout


def test_cli_start_does_not_load_the_cloning_stack():
    """`voxtwin detect ...` registers the voice commands but must not import librosa/WORLD/TTS for them."""
    import subprocess
    import sys

    code = "import sys, voxtwin.cli; print(sorted(m for m in ('voice.matching', 'voice.conversion', 'librosa', 'torch') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
