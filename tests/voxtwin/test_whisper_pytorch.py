"""The PyTorch port of Whisper tiny.en's encoder: it refuses model files it cannot trust, and hands out every layer's
frames, the last of which is what the encoder returns. (That the port reproduces CTranslate2's encoder is checked on
speech in tests/voice/test_whisper_judge.py.)"""

import struct

import pytest
import torch

from voxtwin.whisper_encoder import DIM
from voxtwin.whisper_pytorch import WhisperEncoder, encoder_input, read_encoder_weights


@pytest.fixture(scope="module")
def encoder():
    return WhisperEncoder(read_encoder_weights()).eval()


def test_every_layer_is_handed_out_and_the_last_is_the_output(encoder, speech_16k):
    mel = encoder_input(speech_16k)
    assert mel.shape[0] == 80 and mel.shape[1] % 2 == 0 and abs(mel.shape[1] - 300) <= 2  # 100 frames a second
    assert float(mel.max() - mel.min()) == pytest.approx(2.0, abs=1e-5)  # clamped 80 dB under the peak, scaled by 1/4 of log10
    with torch.no_grad():
        layers = encoder.layer_frames(mel[None])
        output = encoder(mel[None])
    assert len(layers) == 1 + len(encoder.blocks) == 5
    assert all(frames.shape == (1, mel.shape[1] // 2, DIM) for frames in layers)
    assert torch.equal(layers[-1], output)
    # the stem is read before the positions are added: the same sound later in a recording gives the same stem frames
    with torch.no_grad():
        shifted = encoder.layer_frames(torch.cat([mel, mel], dim=1)[None])
    half = mel.shape[1] // 2
    assert torch.allclose(shifted[0][0, half + 2 : 2 * half - 2], layers[0][0, 2:-2], atol=1e-4)
    assert not torch.allclose(shifted[1][0, half + 2 : 2 * half - 2], layers[1][0, 2:-2], atol=1e-2)


def test_a_tiny_input_still_gives_frames(encoder):
    with torch.no_grad():
        layers = encoder.layer_frames(encoder_input(torch.zeros(100).numpy() + 0.01)[None])
    assert all(frames.shape[1] >= 1 for frames in layers)


def test_a_damaged_or_foreign_model_file_is_refused(tmp_path):
    foreign = tmp_path / "model.bin"
    foreign.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="CTranslate2"):
        read_encoder_weights(foreign)
    name = b"WhisperSpec\x00"
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(struct.pack("<IH", 6, len(name)) + name + struct.pack("<II", 3, 1) + b"\x05\x00enc")
    with pytest.raises(ValueError):
        read_encoder_weights(truncated)
    crowded = tmp_path / "crowded.bin"
    crowded.write_bytes(struct.pack("<IH", 6, len(name)) + name + struct.pack("<II", 3, 10**9))
    with pytest.raises(ValueError, match="many variables"):
        read_encoder_weights(crowded)
