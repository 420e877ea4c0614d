"""`voxtwin detect watermark` and the `watermark` field of `voxtwin detect score`."""

import json

import numpy as np
import pytest

from voxtwin import audio
from voxtwin.cli import app
from voxtwin.testing import speechlike
from voxtwin.watermark import embed
from voxtwin.watermark.payload import Payload

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("wm")
    speech = speechlike(duration_s=14.0, sample_rate=22_050, seed=5)
    marked = embed(speech, 22_050, Payload.now(KEY, consent=True), KEY)
    key_file = root / "install.key"
    key_file.write_text(KEY.hex())
    return audio.save(root / "clone.opus", marked, 22_050), audio.save(root / "real.wav", speech, 22_050), key_file


def test_watermark_json(runner, files):
    clone, real, key_file = files
    result = runner.invoke(app, ["detect", "watermark", str(clone), str(real), "--json", "--key-file", str(key_file)])
    assert result.exit_code == 1, result.output  # 1 = found in at least one file
    rows = {row["path"]: row for row in json.loads(result.stdout)}
    found, missing = rows[str(clone)], rows[str(real)]
    assert found["found"] is True and found["verified"] is True and found["p_value"] < 1e-4 and 0 <= found["confidence"] <= 1
    assert found["payload"]["consent"] is True
    assert missing["found"] is False and missing["payload"] is None


def test_watermark_bad_file_is_reported(runner, files, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    result = runner.invoke(app, ["detect", "watermark", str(bad), str(files[1]), "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert rows[0]["error"] and rows[1]["found"] is False


def test_score_reports_watermark(runner, files):
    clone, real, _ = files
    result = runner.invoke(app, ["detect", "score", str(clone), str(real), "--json"])
    rows = {row["path"]: row for row in json.loads(result.stdout)}
    assert rows[str(clone)]["watermark"]["found"] is True and "voxtwin_watermark" in rows[str(clone)]["flags"]
    assert rows[str(clone)]["verdict"] == "synthetic" and result.exit_code == 1
    assert rows[str(real)]["watermark"]["found"] is False
    assert np.isfinite(rows[str(real)]["watermark"]["z_score"])
