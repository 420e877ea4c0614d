import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from voxtwin import audio
from voxtwin.errors import AudioTooLongError, SilentAudioError
from voxtwin.testing import sine, speechlike

# (extension, tolerance on decoded duration in s): lossy codecs add encoder priming/padding
FORMATS = [(".wav", 0.001), (".flac", 0.001), (".ogg", 0.01), (".opus", 0.03), (".mp3", 0.06), (".m4a", 0.1), (".aac", 0.1), (".webm", 0.03), (".amr", 0.05)]


@pytest.mark.parametrize("ext,tolerance_s", FORMATS)
def test_every_format_reads_back_with_its_duration(tmp_path, speech_16k, ext, tolerance_s):
    path = audio.save(tmp_path / f"msg{ext}", speech_16k, 16_000)
    meta = audio.info(path)
    assert abs(meta.duration_s - 3.0) <= tolerance_s
    assert meta.channels == 1
    assert meta.loudness_lufs is not None and -30 < meta.loudness_lufs < -20
    assert 0.5 < meta.speech_ratio < 0.95
    wav, rate = audio.load(path, sr=16_000)
    assert rate == 16_000 and wav.dtype == np.float32 and wav.ndim == 1
    assert abs(len(wav) / 16_000 - 3.0) <= tolerance_s + 0.01


def test_bytes_input_matches_path_input(tmp_path, speech_16k):
    path = audio.save(tmp_path / "a.ogg", speech_16k, 16_000)
    from_path, _ = audio.load(path)
    from_bytes, _ = audio.load(path.read_bytes())
    np.testing.assert_array_equal(from_path, from_bytes)


def test_stereo_is_mixed_to_mono(tmp_path):
    left = sine(300.0, duration_s=1.0)
    sf.write(tmp_path / "st.wav", np.stack([left, np.zeros_like(left)], axis=1), 16_000, subtype="FLOAT")
    wav, _ = audio.load(tmp_path / "st.wav")
    np.testing.assert_allclose(wav, left / 2, atol=1e-6)
    assert audio.info(tmp_path / "st.wav").channels == 2


@pytest.mark.parametrize("codec,sample_format,scale,offset", [("pcm_s16le", "s16", 2**15, 0), ("pcm_u8", "u8", 2**7, 128), ("pcm_s32le", "s32", 2**31, 0)])
def test_ffmpeg_packed_integer_stereo_is_scaled_and_mixed(tmp_path, codec, sample_format, scale, offset):
    """Files soundfile cannot open go through PyAV, whose frames are read as raw buffers: check scaling and mixing."""
    av = pytest.importorskip("av")
    left = np.round(sine(300.0, duration_s=1.0) * (scale - 1) * 0.8)
    right = np.round(-0.5 * left)
    interleaved = (np.stack([left, right], axis=1).reshape(1, -1) + offset).astype({"s16": np.int16, "u8": np.uint8, "s32": np.int32}[sample_format])
    with av.open(str(tmp_path / "st.mka"), "w") as container:
        stream = container.add_stream(codec, rate=16_000, layout="stereo")
        frame = av.AudioFrame.from_ndarray(interleaved, format=sample_format, layout="stereo")
        frame.sample_rate = 16_000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    wav, _ = audio.load(tmp_path / "st.mka", allow_silence=True)
    np.testing.assert_allclose(wav, (left + right) / 2 / scale, atol=1.0 / scale)


def test_opus_decodes_like_ffmpeg_frame_by_frame(tmp_path, speech_16k):
    av = pytest.importorskip("av")
    path = audio.save(tmp_path / "m.opus", speech_16k, 16_000)
    with av.open(str(path)) as container:
        reference = np.concatenate([frame.to_ndarray()[0] for frame in container.decode(audio=0)])
    blocks = [block for block, _ in audio.iter_blocks(path, block_s=0.5)]
    assert len(blocks) > 1
    np.testing.assert_array_equal(np.concatenate(blocks), reference)


@pytest.mark.parametrize("rate", [8_000, 11_025, 44_100, 96_000, 192_000])
def test_resampling_keeps_frequency_and_level(tmp_path, rate):
    sf.write(tmp_path / "t.flac", sine(1000.0, duration_s=1.0, sample_rate=rate), rate, subtype="PCM_24")
    wav, out_rate = audio.load(tmp_path / "t.flac", sr=16_000)
    assert out_rate == 16_000 and abs(len(wav) - 16_000) <= 1
    spectrum = np.abs(np.fft.rfft(wav[2000:-2000] * np.hanning(len(wav) - 4000)))
    peak_hz = np.argmax(spectrum) * 16_000 / (len(wav) - 4000)
    assert abs(peak_hz - 1000) < 5
    assert abs(np.max(np.abs(wav[2000:-2000])) - 0.5) < 0.01


def test_blocks_concatenate_to_the_whole_file(tmp_path):
    wav = speechlike(duration_s=5.0, seed=3)
    sf.write(tmp_path / "long.wav", wav, 16_000, subtype="FLOAT")
    blocks = [b for b, _ in audio.iter_blocks(tmp_path / "long.wav", block_s=0.7)]
    assert len(blocks) == 8
    np.testing.assert_array_equal(np.concatenate(blocks), wav)


def test_loudness_matches_pyloudnorm(speech_16k):
    for rate in (16_000, 44_100):
        wav = audio.resample(speech_16k, 16_000, rate)
        expected = pyloudnorm.Meter(rate).integrated_loudness(wav.astype(np.float64))
        assert abs(audio.loudness_lufs(wav, rate) - expected) < 0.05


def test_normalize_loudness_reaches_target_without_clipping(speech_16k):
    out = audio.normalize_loudness(speech_16k * 0.05, 16_000, target_lufs=-23.0)
    assert abs(audio.loudness_lufs(out, 16_000) + 23.0) < 0.1
    loud = audio.normalize_loudness(speech_16k, 16_000, target_lufs=0.0)
    from voxtwin.loudness import PEAK_CEILING

    assert np.max(np.abs(loud)) <= PEAK_CEILING + 1e-6


def test_vad_finds_speech_and_trims_silence():
    speech = speechlike(duration_s=2.0, seed=5)
    quiet = np.zeros(16_000, dtype=np.float32) + 0.0005 * np.random.default_rng(0).standard_normal(16_000).astype(np.float32)
    wav = np.concatenate([quiet, speech, quiet])
    segments = audio.detect_speech(wav, 16_000)
    assert segments[0][0] >= 0.95 and segments[-1][1] <= 3.1
    trimmed = audio.trim_silence(wav, 16_000)
    assert len(trimmed) > 1.6 * 16_000 and len(trimmed) < 2.3 * 16_000
    assert 0.3 < audio.speech_ratio(wav, 16_000) < 0.65
    assert audio.speech_ratio(quiet, 16_000) == 0.0


def test_silence_and_length_limits(tmp_path):
    sf.write(tmp_path / "zeros.wav", np.zeros(16_000, dtype=np.float32), 16_000)
    with pytest.raises(SilentAudioError):
        audio.load(tmp_path / "zeros.wav")
    wav, _ = audio.load(tmp_path / "zeros.wav", allow_silence=True)
    assert len(wav) == 16_000
    with pytest.raises(AudioTooLongError):
        audio.load(tmp_path / "zeros.wav", max_duration_s=0.5, allow_silence=True)


def test_save_is_atomic_and_rejects_unknown_extension(tmp_path, speech_16k):
    from voxtwin.errors import UnsupportedFormatError

    with pytest.raises(UnsupportedFormatError):
        audio.save(tmp_path / "x.xyz", speech_16k, 16_000)
    assert list(tmp_path.iterdir()) == []
