"""Bundled vocoders and offline TTS engines (the [voice] extra): real weights from pip packages, no downloads."""

import numpy as np
import pytest
import torch

from voice.tts import TTS_ENGINES, TTSError, load_tts
from voice.vocoders import VOCODERS, load_vocoder
from voxtwin.features import LogMelSpec, build_features
from voxtwin.testing import speechlike


@pytest.mark.parametrize("name", VOCODERS.names())
def test_vocoders_resynthesize_speech(name):
    wav = speechlike(duration_s=1.5, seed=5)
    vocoder = load_vocoder(name)
    out = vocoder.resynthesize(wav, 16_000)
    assert np.all(np.isfinite(out)) and abs(len(out) / vocoder.sample_rate - 1.5) < 0.05
    assert 0.01 < np.max(np.abs(out)) < 2.0


def test_hifigan_keeps_the_mel_spectrogram():
    """Re-analysing HiFi-GAN's output gives back a close log-mel (what a vocoder is for)."""
    vocoder = load_vocoder("hifigan")
    wav = speechlike(duration_s=1.5, seed=6, sample_rate=22_050)
    mel = build_features(LogMelSpec.hifigan_v1())
    original = mel(torch.from_numpy(wav)[None])
    again = mel(torch.from_numpy(vocoder.resynthesize(wav, 22_050))[None])
    n = min(original.shape[-1], again.shape[-1])
    correlation = np.corrcoef(original[..., :n].flatten().numpy(), again[..., :n].flatten().numpy())[0, 1]
    assert correlation > 0.9


def test_hifigan_in_bf16_matches_float32():
    """The faster bfloat16 path (voxtwin/precision.py) gives a different waveform with the same spectrogram."""
    from voice.vocoders import HiFiGAN

    analysis = build_features(LogMelSpec.hifigan_v1())
    mel = analysis(torch.from_numpy(speechlike(duration_s=1.0, seed=2, sample_rate=22_050))[None])
    reference = HiFiGAN(precision="fp32").mel_to_wav(mel)
    reduced = HiFiGAN(precision="bf16").mel_to_wav(mel)
    assert reduced.dtype == np.float32 and reduced.shape == reference.shape and not np.array_equal(reduced, reference)
    a, b = (analysis(torch.from_numpy(y)[None]) for y in (reference, reduced))
    assert float((a - b).abs().mean()) < 0.1 * float((a - a.mean()).abs().mean())


@pytest.mark.parametrize("name", TTS_ENGINES.names())
def test_tts_engines_speak_offline(name):
    engine = load_tts(name)
    wav = engine.synthesize("Please call me back when you get this message.")
    assert wav.dtype == np.float32 and 1.0 < len(wav) / engine.sample_rate < 6.0
    assert np.max(np.abs(wav)) > 0.05
    with pytest.raises(TTSError, match="empty"):
        engine.synthesize("   ")


def test_espeak_rejects_an_unknown_voice():
    with pytest.raises(TTSError, match="no voice"):
        load_tts("espeak", voice="xx-nowhere").synthesize("hello")


def test_mel_griffin_lim_blurs_what_exact_magnitude_griffin_lim_keeps():
    """Griffin-Lim on a signal's own magnitude is a near-copy; through an 80-band mel the fine spectral structure is
    lost, as in TTS systems that use Griffin-Lim as their vocoder (why make_data.py uses it for its held-out page)."""
    import librosa

    wav = speechlike(duration_s=1.5, seed=7)

    def log_spectral_distance(name: str) -> float:
        vocoder = load_vocoder(name)
        out = librosa.resample(vocoder.resynthesize(wav, 16_000), orig_sr=vocoder.sample_rate, target_sr=16_000)
        n = min(len(out), len(wav))
        a, b = (20 * np.log10(np.abs(librosa.stft(x[:n], n_fft=512, hop_length=128)) + 1e-5) for x in (wav, out))
        return float(np.mean(np.sqrt(np.mean((a - b) ** 2, axis=0))))

    exact, through_mel = log_spectral_distance("griffin-lim"), log_spectral_distance("mel-griffin-lim")
    assert exact < 4.0 and through_mel > 2 * exact


def test_bfloat16_mels_are_padded_to_a_few_lengths_without_changing_what_comes_before_the_end():
    """oneDNN builds bfloat16 kernels per input length, so HiFiGAN pads the mel with silence to a multiple of
    BUCKET_FRAMES (voice/vocoders.py) and trims the waveform back: only the last frames may hear the padding."""
    from voice.vocoders import BUCKET_FRAMES, SILENT_LOG_MEL, HiFiGAN, pad_to_bucket

    mel = torch.randn(1, 80, 70)
    padded = pad_to_bucket(mel)
    assert padded.shape == (1, 80, BUCKET_FRAMES * 2)
    assert torch.equal(padded[..., :70], mel) and bool((padded[..., 70:] == SILENT_LOG_MEL).all())
    assert pad_to_bucket(padded) is padded  # a multiple already: unchanged
    analysis = build_features(LogMelSpec.hifigan_v1())
    mel = analysis(torch.from_numpy(speechlike(duration_s=1.0, seed=3, sample_rate=22_050))[None])
    generator = HiFiGAN(precision="fp32").generator
    with torch.inference_mode():
        plain, through_padding = generator(mel)[0, 0], generator(pad_to_bucket(mel))[0, 0, : mel.shape[-1] * 256]
    head = (mel.shape[-1] - 16) * 256
    torch.testing.assert_close(through_padding[:head], plain[:head], atol=1e-4, rtol=0)
    assert len(HiFiGAN(precision="bf16").mel_to_wav(mel)) == mel.shape[-1] * 256
