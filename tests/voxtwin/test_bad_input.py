"""Every kind of bad input: a one-line error on stderr and exit code 2, never a traceback."""

import struct

import numpy as np
import pytest
import soundfile as sf

from voxtwin.cli import app
from voxtwin.testing import speechlike


def _missing(tmp_path):
    return tmp_path / "nowhere.wav"


def _empty(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    return tmp_path / "empty.wav"


def _zero_length(tmp_path):
    sf.write(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32), 16_000)
    return tmp_path / "zero.wav"


def _silence(tmp_path):
    sf.write(tmp_path / "silence.wav", np.zeros(32_000, dtype=np.float32), 16_000)
    return tmp_path / "silence.wav"


def _nan(tmp_path):
    wav = speechlike(duration_s=1.0)
    wav[100] = np.nan
    sf.write(tmp_path / "nan.wav", wav, 16_000, subtype="FLOAT")
    return tmp_path / "nan.wav"


def _truncated_header(tmp_path):
    sf.write(tmp_path / "full.wav", speechlike(duration_s=1.0), 16_000)
    (tmp_path / "truncated.wav").write_bytes((tmp_path / "full.wav").read_bytes()[:20])
    return tmp_path / "truncated.wav"


def _wrong_extension(tmp_path):
    sf.write(tmp_path / "speech.wav", speechlike(duration_s=1.0), 16_000)
    (tmp_path / "speech.txt").write_bytes((tmp_path / "speech.wav").read_bytes())
    return tmp_path / "speech.txt"


def _not_audio(tmp_path):
    (tmp_path / "notes.wav").write_bytes(b"These are my meeting notes, not a recording.\n" * 50)
    return tmp_path / "notes.wav"


def _bad_rate(tmp_path):
    header = b"RIFF" + struct.pack("<I", 36 + 200) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 4000, 8000, 2, 16)
    (tmp_path / "slow.wav").write_bytes(header + b"data" + struct.pack("<I", 200) + b"\x01\x02" * 100)
    return tmp_path / "slow.wav"


def _no_channels(tmp_path):
    header = b"RIFF" + struct.pack("<I", 36 + 200) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 0, 16000, 32000, 2, 16)
    (tmp_path / "no_channels.wav").write_bytes(header + b"data" + struct.pack("<I", 200) + b"\x00" * 200)
    return tmp_path / "no_channels.wav"


CASES = {
    "missing file": (_missing, "no such file"),
    "empty file": (_empty, "empty"),
    "zero-length audio": (_zero_length, "no audio samples"),
    "all silence": (_silence, "silent"),
    "nan samples": (_nan, "NaN"),
    "truncated header": (_truncated_header, "cannot decode"),
    "wrong extension": (_wrong_extension, "not an audio format"),
    "non-audio bytes": (_not_audio, "cannot decode"),
    "sample rate out of range": (_bad_rate, "4000 Hz"),
    "no channels": (_no_channels, "decoding failed at its first frame"),  # was "part-way": no frame had been decoded
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_line_error(runner, tmp_path, case):
    make, expected = CASES[case]
    path = make(tmp_path)
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.output


def test_bad_file_among_good_ones_is_reported_not_fatal(runner, tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, speechlike(duration_s=1.0), 16_000)
    result = runner.invoke(app, ["info", str(good), str(_empty(tmp_path)), "--json"])
    assert result.exit_code == 2
    import json

    rows = json.loads(result.stdout)
    assert rows[0]["duration_s"] == 1.0 and "error" in rows[1]
