import numpy as np
import pytest

from voxtwin import audio, codec
from voxtwin.watermark import convcode
from voxtwin.testing import speechlike
from voxtwin.watermark import P_VALUE_THRESHOLD, detect_watermark, embed
from voxtwin.watermark.keys import KeyFileError, installation_key, read_key
from voxtwin.watermark.payload import Payload, key_id, pack, unpack

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return speechlike(duration_s=20.0, sample_rate=16_000, seed=3)


@pytest.fixture(scope="module")
def marked(speech) -> np.ndarray:
    return embed(speech, 16_000, Payload.now(KEY, consent=True), KEY)


def test_round_trip_finds_and_verifies(marked):
    result = detect_watermark(marked, 16_000, key=KEY)
    assert result.found and result.p_value <= P_VALUE_THRESHOLD
    assert result.payload_crc_ok and result.verified
    assert result.payload["key_id"] == f"{key_id(KEY):03x}" and result.payload["consent"] is True


def test_unmarked_speech_is_not_found(speech):
    result = detect_watermark(speech, 16_000, key=KEY)
    assert not result.found and result.payload is None and result.p_value > P_VALUE_THRESHOLD


def test_wrong_installation_key_does_not_verify(marked):
    result = detect_watermark(marked, 16_000, key=OTHER_KEY)
    assert result.found and result.payload_crc_ok and result.verified is False


def test_mark_is_quiet(speech, marked):
    snr_db = 10 * np.log10(np.sum(speech**2) / np.sum((marked - speech) ** 2))
    assert snr_db > 12


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(lambda x: codec.transcode(x, 16_000, codec="opus", bitrate_kbps=24), id="opus24"),
        pytest.param(lambda x: codec.transcode(x, 16_000, codec="mp3", bitrate_kbps=64), id="mp3_64"),
        pytest.param(lambda x: audio.resample(audio.resample(x, 16_000, 8000), 8000, 16_000), id="8khz"),
        pytest.param(lambda x: x + np.random.default_rng(0).standard_normal(len(x)).astype(np.float32) * np.sqrt(np.mean(x**2) / 100), id="noise20db"),
        pytest.param(lambda x: x * 10 ** (-6 / 20), id="gain-6db"),
        pytest.param(lambda x: x[int(4.3 * 16_000) : int(7.3 * 16_000)], id="crop3s"),
    ],
)
def test_presence_survives_attacks(marked, attack):
    assert detect_watermark(attack(marked), 16_000).found


def test_other_sample_rates(speech):
    wav = audio.resample(speech, 16_000, 22_050)
    marked = embed(wav, 22_050, Payload.now(KEY, consent=False), KEY)
    assert len(marked) == len(wav)
    result = detect_watermark(audio.resample(marked, 22_050, 48_000), 48_000, key=KEY)
    assert result.found and result.verified and result.payload["consent"] is False


def test_payload_bits_round_trip():
    payload = Payload(version=1, key_id=key_id(KEY), time_bucket=700, consent=True)
    bits = pack(payload, KEY)
    assert len(bits) == Payload.N_BITS >= 32 + 24
    decoded, crc_ok, verified = unpack(bits, KEY)
    assert decoded == payload and crc_ok and verified
    flipped = bits.copy()
    flipped[5] ^= 1
    assert unpack(flipped, KEY)[1] is False


def test_forged_payload_does_not_verify():
    forged = Payload(version=1, key_id=key_id(KEY), time_bucket=1, consent=True)
    bits = pack(forged, OTHER_KEY)  # made without the owner's key
    assert unpack(bits, KEY)[2] is False


def test_convolutional_code_corrects_errors():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, 64)
    soft = 2.0 * convcode.encode(bits) - 1 + 0.8 * rng.standard_normal(2 * (64 + convcode.TAIL_BITS))
    assert np.any(np.sign(soft) != 2.0 * convcode.encode(bits) - 1)  # the channel did flip bits
    assert np.array_equal(convcode.decode(soft, 64), bits)


def test_installation_key_is_created_once(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXTWIN_CONFIG_DIR", str(tmp_path))
    key = installation_key()
    assert len(key) == 32 and installation_key() == key
    assert (tmp_path / "watermark.key").stat().st_mode & 0o777 == 0o600


def test_bad_key_file(tmp_path):
    path = tmp_path / "bad.key"
    path.write_text("not hex")
    with pytest.raises(KeyFileError, match="not a voxtwin key file"):
        read_key(path)
