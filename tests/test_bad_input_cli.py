"""Every bad input a user can type, through the real CLI: one `error:` line, the documented exit code, no traceback.

This is the place to add every future case: a row in CASES when it needs only files and arguments, a test function
when it needs more. Exit codes (voxtwin/exit_codes.py): 1 synthetic found, 2 bad input or usage, 3 some inputs
unreadable, 4 unexpected error (with a pointer to --debug).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

import voice
from detect.testing import LAYOUTS
from voice.tts import load_tts
from voxtwin import audio, exit_codes
from voxtwin.cli import DEMO_AUDIO, app
from voxtwin.testing import noise, sine

TTS_MESSAGE = DEMO_AUDIO / "tts_piper_joe.opus"
REFERENCE_TEXT = (
    "The museum opens at nine in the morning and closes late on Fridays. "
    "Please bring a warm coat, because the evenings by the river get cold. "
    "We will meet at the station and walk together to the old bridge."
)


def one_error_line(result, code: int = exit_codes.INPUT_ERROR, contains: str = "") -> str:
    """Assert the CLI result is exit `code` with exactly one `error:` line on stderr; return that line."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert contains in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def piper_reference(tmp_path_factory) -> Path:
    tts = load_tts("piper")
    wav = audio.resample(tts.synthesize(REFERENCE_TEXT), tts.sample_rate, 16_000)
    return audio.save(tmp_path_factory.mktemp("ref") / "ref.flac", wav, 16_000)


@pytest.fixture(scope="module")
def profile(tmp_path_factory, piper_reference) -> Path:
    return voice.enroll([piper_reference], no_consent_reason="test speech made by Piper").save(tmp_path_factory.mktemp("voice") / "piper.voice")


@pytest.fixture
def read_only_dir(tmp_path) -> Path:
    """A folder nobody may write in (as root, chmod does not stop writes: /sys is mounted read-only)."""
    if os.geteuid() == 0:
        try:
            with tempfile.NamedTemporaryFile(dir="/sys"):
                pass
        except OSError:
            yield Path("/sys")
            return
        pytest.skip("running as root and /sys is writable: no read-only folder to test with")
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


@pytest.fixture
def a_file(tmp_path) -> Path:
    (tmp_path / "file.txt").write_text("a regular file, not a folder\n")
    return tmp_path / "file.txt"


# ------------------------------------------------------------------------------------------ output locations


def _output_commands(profile: Path, reference: Path, out_dir: Path) -> dict[str, list[str]]:
    return {
        "convert": ["voice", "convert", str(TTS_MESSAGE), "--voice", str(profile), "-o", str(out_dir / "x.wav")],
        "speak": ["voice", "speak", "Hello there.", "--voice", str(profile), "-o", str(out_dir / "x.wav")],
        "enroll": ["voice", "enroll", str(reference), "--no-consent", "test", "-o", str(out_dir / "x.voice")],
        "score --plot": ["detect", "score", str(TTS_MESSAGE), "--model", "fast", "--json", "--plot", str(out_dir / "p.png")],
        "eval --out": ["detect", "eval", "--model", "fast", "--dataset", "manifest", "--root", str(out_dir), "--out", str(out_dir / "s.txt")],
        "train out_dir": ["detect", "train", "--recipe", "shared_corpus", "--set", "root='/nowhere'", "--set", f"train.out_dir='{out_dir / 'run'}'"],
        "demo --out": ["demo", "--out", str(out_dir / "demo")],
    }


OUTPUT_COMMANDS = ["convert", "speak", "enroll", "score --plot", "eval --out", "train out_dir", "demo --out"]


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
def test_read_only_output_location_is_one_line(runner, profile, piper_reference, read_only_dir, command):
    result = runner.invoke(app, _output_commands(profile, piper_reference, read_only_dir / "sub")[command])
    line = one_error_line(result, contains=str(read_only_dir))
    assert "cannot" in line


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
def test_output_path_under_a_regular_file_is_one_line(runner, profile, piper_reference, a_file, command):
    result = runner.invoke(app, _output_commands(profile, piper_reference, a_file)[command])
    one_error_line(result, contains="is a file, not a folder")


def test_score_prints_its_results_when_only_the_plot_cannot_be_written(runner, a_file):
    result = runner.invoke(app, ["detect", "score", str(TTS_MESSAGE), "--model", "fast", "--json", "--plot", str(a_file / "p.png")])
    one_error_line(result, contains=str(a_file))
    assert json.loads(result.stdout)[0]["p_synthetic"] is not None  # plot path is checked first: refused before


@pytest.mark.parametrize("command", ["convert", "speak"])
def test_missing_output_folder_is_created(runner, profile, piper_reference, tmp_path, command):
    out_dir = tmp_path / "new" / "deeper"
    result = runner.invoke(app, _output_commands(profile, piper_reference, out_dir)[command])
    assert result.exit_code == 0, result.output
    assert audio.info(out_dir / "x.wav").duration_s > 0.3


def test_unsupported_plot_format_is_refused_before_scoring(runner, tmp_path):
    result = runner.invoke(app, ["detect", "score", str(TTS_MESSAGE), "--json", "--plot", str(tmp_path / "p.xyz")])
    line = one_error_line(result, contains=".xyz")
    assert ".png" in line and ".svg" in line and result.stdout == ""


# ------------------------------------------------------------------------------------------ options


@pytest.mark.parametrize(
    "args, contains",
    [
        (["detect", "score", str(TTS_MESSAGE), "--hop-s", "0"], "--hop-s"),
        (["detect", "score", str(TTS_MESSAGE), "--hop-s", "-1"], "--hop-s"),
        (["detect", "score", str(TTS_MESSAGE), "--jobs", "-1"], "--jobs"),
        (["detect", "score", str(TTS_MESSAGE), "--device", "foo"], "unknown device 'foo'"),
        (["detect", "score", str(TTS_MESSAGE), "--json", "--csv"], "--json"),
        (["detect", "score", str(TTS_MESSAGE), "--precision", "half"], "unknown precision 'half'"),
        (["voice", "speak", "Hi.", "--voice", "x.voice", "-o", "x.wav", "--precision", "half"], "unknown precision 'half'"),
        (["serve", "--precision", "fp16"], "unknown precision 'fp16'"),
        (["voice", "speak", "Hi.", "--voice", "x.voice", "-o", "x.wav", "--timbre", "2"], "--timbre"),
        (["detect", "train", "--recipe", "asvspoof2019_la", "--set", "train.batch_size=0"], "train.batch_size"),
        (["serve", "--port", "0"], "--port"),
        (["serve", "--model", "nope"], "not a shipped detector"),
        (["serve", "--device", "foo"], "unknown device"),
        (["detect", "train", "--recipe", "asvspoof2019_la", "--set", "train.augment_prob=1.5"], "train.augment_prob"),
        (["detect", "train", "--recipe", "asvspoof2019_la", "--set", "train.epochs='ten'"], "train.epochs"),
    ],
)
def test_option_out_of_range_is_one_line(runner, args, contains):
    one_error_line(runner.invoke(app, args), contains=contains)


def test_device_foo_in_voice_commands(runner, profile, tmp_path):
    result = runner.invoke(app, ["voice", "convert", str(TTS_MESSAGE), "--voice", str(profile), "-o", str(tmp_path / "x.wav"), "--device", "foo"])
    one_error_line(result, contains="unknown device")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_one_line(runner, profile, tmp_path):
    one_error_line(runner.invoke(app, ["detect", "score", str(TTS_MESSAGE), "--device", "cuda"]), contains="no usable CUDA")
    result = runner.invoke(app, ["voice", "speak", "Hi.", "--voice", str(profile), "-o", str(tmp_path / "x.wav"), "--device", "cuda"])
    one_error_line(result, contains="no usable CUDA")
    root = LAYOUTS["manifest"](tmp_path / "data")
    result = runner.invoke(app, ["detect", "train", "--recipe", "shared_corpus", "--set", f"root='{root}'", "--set", "holdout='demo_a'", "--set", "train.device='cuda'",
                                 "--set", f"train.out_dir='{tmp_path / 'run'}'", "--set", f"train.cache_dir='{tmp_path / 'cache'}'"])
    one_error_line(result, contains="no usable CUDA")


# ------------------------------------------------------------------------------------------ training folders


def test_a_second_model_never_resumes_or_overwrites_the_first(runner, tmp_path):
    root = LAYOUTS["manifest"](tmp_path / "data", n_per_class=6, duration_s=1.0)
    common = ["--set", f"root='{root}'", "--set", "holdout='demo_a'", "--set", f"train.cache_dir='{tmp_path / 'cache'}'", "--set", f"train.out_dir='{tmp_path / 'run'}'"]
    first = runner.invoke(app, ["detect", "train", "--recipe", "shared_corpus", *common, "--set", "train.model='lfcc-gmm'", "--set", "train.model_config={n_components=2, max_iter=5}", "--json"])
    assert first.exit_code == 0, first.output
    assert "validation EER" in first.stderr  # progress is printed
    best = (tmp_path / "run" / "best.safetensors").read_bytes()
    second = runner.invoke(app, ["detect", "train", "--recipe", "shared_corpus", *common, "--set", "train.model='lcnn'", "--set", "train.epochs=1"])
    one_error_line(second, contains="'lfcc-gmm' run")
    assert (tmp_path / "run" / "best.safetensors").read_bytes() == best


def test_each_model_gets_its_own_default_folder():
    from detect.recipes import load_recipe, train_config

    folders = {train_config(load_recipe("asvspoof2019_la", [f"train.model='{m}'"])).out_dir for m in ("aasist", "lcnn")}
    assert folders == {str(Path("runs/asvspoof2019_la/aasist")), str(Path("runs/asvspoof2019_la/lcnn"))}


def test_unknown_model_lists_every_model(runner):
    one_error_line(runner.invoke(app, ["detect", "train", "--recipe", "asvspoof2019_la", "--set", "train.model='nope'"]), contains="lfcc-gmm")


# ------------------------------------------------------------------------------------------ missing extras, bugs


def test_missing_optional_package_names_its_extra(runner, piper_reference, tmp_path, monkeypatch):
    from voice import judges

    judges._speaker_encoder.cache_clear()
    monkeypatch.setitem(sys.modules, "resemblyzer", None)  # as on a core-only install
    result = runner.invoke(app, ["voice", "enroll", str(piper_reference), "--no-consent", "test", "-o", str(tmp_path / "x.voice")])
    judges._speaker_encoder.cache_clear()
    one_error_line(result, contains='pip install -e ".[voice]"')


def test_unexpected_error_is_one_line_with_exit_4_and_debug_shows_it(runner, monkeypatch):
    monkeypatch.setenv("VOXTWIN_DEBUG", "")  # --debug sets it for the process; restored to this afterwards

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(audio, "info", broken)
    result = runner.invoke(app, ["info", str(TTS_MESSAGE)])
    line = one_error_line(result, code=exit_codes.INTERNAL_ERROR, contains="ZeroDivisionError")
    assert "--debug" in line and "VOXTWIN_DEBUG=1" in line
    debug = runner.invoke(app, ["--debug", "info", str(TTS_MESSAGE)])
    assert isinstance(debug.exception, ZeroDivisionError)


# ------------------------------------------------------------------------------------------ inputs


def test_eval_non_numeric_seconds_and_all_rows_unreadable(runner, tmp_path, piper_reference):
    listing = tmp_path / "list.csv"
    listing.write_text(f"output,reference,text,seconds\n{piper_reference},{piper_reference},{REFERENCE_TEXT},fast\n")
    line = one_error_line(runner.invoke(app, ["voice", "eval", str(listing), "--json"]), contains="not a number")
    assert line.startswith(f"error: {piper_reference}: seconds:"), line
    listing.write_text(f"output,reference,text\nnope.wav,{piper_reference},hello\n")
    line = one_error_line(runner.invoke(app, ["voice", "eval", str(listing)]), contains="nope.wav")
    assert line.count("nope.wav") == 1, line  # named once, not once by the row and again by the reader


def test_empty_folder_and_unmatched_glob_are_reported_and_the_rest_scored(runner, tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["detect", "score", str(tmp_path / "empty"), str(tmp_path / "*.opus"), str(TTS_MESSAGE), "--model", "fast", "--json"])
    rows = json.loads(result.stdout)
    assert [r["verdict"] == "error" for r in rows] == [True, True, False]
    assert "no audio files" in rows[0]["error"] and "matches no files" in rows[1]["error"]
    assert result.exit_code in (exit_codes.FLAGGED, exit_codes.SOME_UNREADABLE)
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 2


# ------------------------------------------------------------------------------------------ non-speech


def _pink(duration_s: float, seed: int = 0) -> np.ndarray:
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(int(duration_s * 16_000)))
    pink = np.fft.irfft(spectrum / np.sqrt(np.arange(1, len(spectrum) + 1)))
    return (0.3 * pink / np.abs(pink).max()).astype(np.float32)


NON_SPEECH = {
    "white noise": lambda: noise(duration_s=20.0, amplitude=0.3),
    "pink noise": lambda: _pink(20.0),
    "440 Hz tone": lambda: sine(440.0, duration_s=20.0),
}


@pytest.mark.parametrize("kind", NON_SPEECH)
@pytest.mark.parametrize("model", ["fast", "default"])
def test_noise_and_tones_are_no_speech(runner, tmp_path, kind, model):
    path = audio.save(tmp_path / "sound.wav", NON_SPEECH[kind](), 16_000)
    result = runner.invoke(app, ["detect", "score", str(path), "--model", model, "--json"])
    (row,) = json.loads(result.stdout)
    assert "no_speech" in row["flags"] and row["verdict"] == "uncertain", row
    assert result.exit_code == 0
    assert audio.info(path).speech_ratio < 0.05


def test_noise_is_refused_as_an_enrolment_reference(runner, tmp_path):
    path = audio.save(tmp_path / "noise.wav", NON_SPEECH["white noise"](), 16_000)
    one_error_line(runner.invoke(app, ["voice", "enroll", str(path), "--no-consent", "test", "-o", str(tmp_path / "x.voice")]), contains="speech")


def test_three_voices_fail_the_one_speaker_check(runner, tmp_path):
    voices = []
    for name, kwargs in (("piper", {}), ("kokoro", {"voice": "jf_alpha"}), ("espeak", {})):
        tts = load_tts(name, **kwargs)
        voices.append(audio.resample(tts.synthesize(REFERENCE_TEXT.split(". ")[0] + ". " + REFERENCE_TEXT.split(". ")[1]), tts.sample_rate, 16_000))
    mixed = audio.save(tmp_path / "three.wav", np.concatenate(voices), 16_000)
    one_error_line(runner.invoke(app, ["voice", "enroll", str(mixed), "--no-consent", "test", "-o", str(tmp_path / "x.voice")]), contains="one speaker")


def test_one_voice_passes_the_one_speaker_check(piper_reference):
    assert voice.enroll([piper_reference], no_consent_reason="test").info["speaker_consistency"] >= 0.75


def test_text_in_a_script_the_voice_cannot_read_is_refused(runner, profile, tmp_path):
    result = runner.invoke(app, ["voice", "speak", "こんにちは、元気ですか。", "--voice", str(profile), "-o", str(tmp_path / "x.wav")])
    line = one_error_line(result, contains="Japanese")
    assert "speaks: en" in line


def test_emoji_and_symbols_are_dropped():
    from voice.text_script import drop_symbols

    assert drop_symbols("See you at noon 👍🏽 ✨ ok ☕!") == "See you at noon ok !"
    assert drop_symbols("Family: 👨‍👩‍👧 and keycap 1️⃣") == "Family: and keycap 1"


def test_decoder_warnings_never_reach_stderr(tmp_path):
    """A damaged MP3 made libmpg123 print 'Illegal Audio-MPEG-Header' on stderr; only voxtwin's lines may appear."""
    wav, rate = audio.load(TTS_MESSAGE)
    data = bytearray(audio.save(tmp_path / "ok.mp3", wav, rate).read_bytes())
    middle = len(data) // 2
    data[middle : middle + 600] = os.urandom(600)
    (tmp_path / "damaged.mp3").write_bytes(bytes(data))
    for args in (["info", str(tmp_path / "damaged.mp3")], ["detect", "score", str(tmp_path / "damaged.mp3"), "--model", "fast"]):
        result = subprocess.run([sys.executable, "-m", "voxtwin.cli", *args], capture_output=True, text=True, timeout=300)
        foreign = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(("error:", "warning:"))]
        assert not foreign, result.stderr


def test_a_file_named_mp3_that_is_not_audio_gets_one_error_line(tmp_path):
    """Text or random bytes named .mp3 went to libsndfile, which handed them to libmpg123: three 'Note: Illegal
    Audio-MPEG-Header' lines on stderr, then an error saying the file did not exist."""
    (tmp_path / "note.mp3").write_text("hello")
    (tmp_path / "junk.mp3").write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    for name in ("note.mp3", "junk.mp3"):
        result = subprocess.run([sys.executable, "-m", "voxtwin.cli", "detect", "score", str(tmp_path / name), "--model", "fast"],
                                capture_output=True, text=True, timeout=300)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert lines[0].startswith(f"error: {tmp_path / name}: cannot decode") and "does not exist" not in lines[0]


@pytest.mark.parametrize("script", ["clone.py", "watermark.py", "speaker_threshold.py", "speaker_mixtures.py"])
def test_benchmarks_say_they_need_the_shared_data(tmp_path, script):
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    result = subprocess.run([sys.executable, str(benchmarks / script), "--data", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip() and "pkg_resources" not in line]
    assert len(lines) == 1 and lines[0].startswith("error:") and "shared/data" in lines[0], result.stderr


def test_engine_ray_without_ray_says_how_to_install_it(runner, monkeypatch):
    pytest.importorskip("ray", reason="the cluster extra is not installed")  # hidden below, as on an install without it
    monkeypatch.setitem(sys.modules, "ray", None)
    result = runner.invoke(app, ["detect", "score", str(TTS_MESSAGE), "--engine", "ray"])
    one_error_line(result, contains='pip install -e ".[cluster]"')


def test_engine_options_need_ray(runner):
    one_error_line(runner.invoke(app, ["detect", "score", str(TTS_MESSAGE), "--resume"]), contains="--engine ray")
    one_error_line(runner.invoke(app, ["detect", "score", str(TTS_MESSAGE), "--engine", "spark"]), contains="local, ray")


def test_clips_too_short_to_convert_or_to_carry_a_mark_get_one_error_line(runner, profile, piper_reference, tmp_path):
    """A 10-sample reference crashed enrolment's SNR (a percentile of no frames), a 20 ms source converted to nothing
    and crashed the watermark's STFT, and `detect watermark` crashed on clips under half its frame: each exit 4."""
    speech, _ = audio.load(piper_reference, 16_000)
    tiny = audio.save(tmp_path / "tiny.wav", speech[8_000:8_010], 16_000)
    short = audio.save(tmp_path / "short.wav", speech[8_000:8_320], 16_000)  # 20 ms
    one_error_line(runner.invoke(app, ["voice", "enroll", str(tiny), "--no-consent", "test", "-o", str(tmp_path / "x.voice")]), contains="speech")
    for source in (tiny, short):
        one_error_line(runner.invoke(app, ["voice", "convert", str(source), "--voice", str(profile), "-o", str(tmp_path / "x.wav")]), contains="too short to convert")
    assert not (tmp_path / "x.wav").exists()
    result = runner.invoke(app, ["detect", "watermark", str(tiny)])
    assert result.exit_code == 0 and "not found" in result.stdout, result.output


def test_a_too_short_clip_is_refused_by_the_watermark_not_written_unmarked():
    from voxtwin.errors import AudioTooShortError
    from voxtwin.watermark import embed
    from voxtwin.watermark.keys import installation_key
    from voxtwin.watermark.payload import Payload

    key = installation_key(None)
    with pytest.raises(AudioTooShortError, match="too short to carry the watermark"):
        embed(np.full(200, 0.1, dtype=np.float32), 16_000, Payload.now(key, consent=False), key)
    assert len(embed(np.full(300, 0.1, dtype=np.float32), 16_000, Payload.now(key, consent=False), key)) == 300


def test_a_float_reference_past_full_scale_gives_the_same_speaker(piper_reference):
    """Resemblyzer's VAD casts to int16: a float file at 1000x full scale wrapped around (a RuntimeWarning and a
    d-vector of garbage); it is now read at full scale."""
    import warnings

    from voice.judges import speaker_embedding

    speech, _ = audio.load(piper_reference, 16_000)
    speech = speech[: 16_000 * 4]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        loud = speaker_embedding(speech * (1000.0 / np.max(np.abs(speech))), 16_000)
    assert float(np.dot(loud, speaker_embedding(speech / np.max(np.abs(speech)), 16_000))) > 0.999


def test_a_float_file_past_full_scale_is_heard_for_what_it_holds(tmp_path, piper_reference):
    """Silero reads [-1, 1]: a tone in a float WAV at 1000x full scale was counted as 87 % speech."""
    import soundfile as sf

    tone = sine(220.0, duration_s=3.0, amplitude=1000.0)
    speech, _ = audio.load(piper_reference, 16_000)
    sf.write(tmp_path / "tone.wav", tone, 16_000, subtype="FLOAT")
    sf.write(tmp_path / "speech.wav", speech, 16_000, subtype="FLOAT")
    sf.write(tmp_path / "loud_speech.wav", 1000 * speech / np.max(np.abs(speech)), 16_000, subtype="FLOAT")
    assert audio.info(tmp_path / "tone.wav").speech_ratio == 0.0
    assert abs(audio.info(tmp_path / "loud_speech.wav").speech_ratio - audio.info(tmp_path / "speech.wav").speech_ratio) < 0.05


def test_a_recipe_file_that_is_not_text_is_one_line(runner, tmp_path):
    """Random bytes given as --recipe: a UnicodeDecodeError reached the user as an unexpected error (exit 4)."""
    recipe = tmp_path / "config.toml"
    recipe.write_bytes(np.random.default_rng(0).integers(128, 256, 500, dtype=np.uint8).tobytes())
    one_error_line(runner.invoke(app, ["detect", "train", "--recipe", str(recipe)]), contains="not a text file")


def test_dataset_tables_that_are_not_text_or_climb_out_are_one_line(runner, tmp_path):
    """A manifest.csv or protocol of random bytes crashed `detect eval` / `detect metrics` (UnicodeDecodeError, exit 4),
    and In-the-Wild's meta.csv could name a file outside its folder (the manifest already refused that)."""
    junk = np.random.default_rng(0).integers(128, 256, 300, dtype=np.uint8).tobytes()
    (tmp_path / "manifest.csv").write_bytes(junk)
    one_error_line(runner.invoke(app, ["detect", "eval", "--model", "fast", "--dataset", "manifest", "--root", str(tmp_path)]), contains="not a CSV text file")
    audio.save(tmp_path / "a.wav", sine(220.0), 16_000)
    (tmp_path / "meta.csv").write_text("file,speaker,label\na.wav,s,bona-fide\n../outside.wav,s,spoof\n")
    one_error_line(runner.invoke(app, ["detect", "eval", "--model", "fast", "--dataset", "in_the_wild", "--root", str(tmp_path)]), contains="escapes the dataset folder")
    (tmp_path / "scores.txt").write_text("a 1.0\nb 2.0\n")
    (tmp_path / "protocol.txt").write_bytes(junk)
    one_error_line(runner.invoke(app, ["detect", "metrics", str(tmp_path / "scores.txt"), "--protocol", str(tmp_path / "protocol.txt")]), contains="not a text file")
