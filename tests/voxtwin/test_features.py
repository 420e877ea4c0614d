"""Feature front-ends against reference implementations (librosa, torchaudio, a NumPy port of the
ASVspoof MATLAB LFCC recipe) on the same signal."""

import librosa
import numpy as np
import pytest
import scipy.fft
import torch

from voxtwin.errors import SpecMismatchError, UnknownNameError
from voxtwin.features import FEATURES, FeatureSpec, LFCCSpec, LogMelSpec, build_features
from voxtwin.testing import chirp, harmonic, speechlike

DIFFERENTIABLE = ["spectrogram", "log_mel", "lfcc", "mfcc", "cqt", "sinc", "waveform"]


def _wav(seconds=1.0, rate=16_000, seed=0):
    return speechlike(duration_s=seconds, sample_rate=rate, seed=seed)


@pytest.mark.parametrize("kind", FEATURES.names())
def test_every_kind_builds_and_matches_its_shape_arithmetic(kind):
    spec = FeatureSpec.from_dict({"kind": kind})
    wav = torch.tensor(np.stack([_wav(seed=0), _wav(seed=1)]))
    feats = build_features(spec)(wav)
    T = wav.shape[1]
    expected_frames = {
        "lfcc": 1 + (T - spec.to_dict().get("win_length", 0)) // spec.hop_length,
        "log_mel": T // spec.hop_length,
        "sinc": T - spec.to_dict().get("kernel_size", 0) + 1,  # 129 taps, no padding
        "waveform": T,
    }
    assert feats.shape == (2, spec.dim, expected_frames.get(kind, 1 + T // spec.hop_length))
    assert feats.dtype == torch.float32 and torch.isfinite(feats).all()
    single = build_features(spec)(wav[1:])
    torch.testing.assert_close(feats[1:], single, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", DIFFERENTIABLE)
def test_gradients_reach_the_waveform(kind):
    wav = torch.tensor(_wav())[None].requires_grad_(True)
    build_features(FeatureSpec.from_dict({"kind": kind}))(wav).sum().backward()
    assert wav.grad is not None and wav.grad.abs().sum() > 0


def test_spec_round_trip_and_errors():
    spec = LFCCSpec(n_filters=30, n_coeffs=30)
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    assert spec.dim == 90
    with pytest.raises(UnknownNameError, match="available: cqt, f0, lfcc"):
        FeatureSpec.from_dict({"kind": "nope"})
    with pytest.raises(SpecMismatchError):
        LFCCSpec().check_compatible(spec, what="model.json")
    with pytest.raises(ValueError):
        FeatureSpec.from_dict({"kind": "lfcc", "n_mel": 3})


def _matlab_lfcc(x, rate=16_000, win=320, hop=160, n_fft=512, n_filters=20):
    """NumPy port of the ASVspoof 2019 baseline's extract_lfcc.m (Sahidullah et al. 2015)."""
    x = scipy.signal.lfilter([1, -0.97], [1], x)
    n = 1 + (len(x) - win) // hop
    frames = np.stack([x[i * hop : i * hop + win] for i in range(n)]) * np.hamming(win)
    power = np.abs(np.fft.rfft(frames, n_fft)) ** 2
    f = np.linspace(0, rate / 2, n_fft // 2 + 1)
    edges = np.linspace(0, rate / 2, n_filters + 2)
    bank = np.stack([np.clip(np.minimum((f - edges[i]) / (edges[i + 1] - edges[i]), (edges[i + 2] - f) / (edges[i + 2] - edges[i + 1])), 0, None) for i in range(n_filters)], axis=1)
    static = scipy.fft.dct(np.log(power @ bank + np.finfo(np.float32).eps), type=2, axis=1, norm="ortho")[:, :n_filters]

    def delta(v):
        padded = np.concatenate([v[:1], v, v[-1:]])
        return padded[2:] - padded[:-2]

    d = delta(static)
    return np.concatenate([static, d, delta(d)], axis=1).T


import scipy.signal  # noqa: E402


def test_lfcc_matches_the_asvspoof_baseline_definition():
    x = _wav(seconds=1.5)
    ours = build_features(LFCCSpec())(torch.tensor(x)[None])[0].numpy()
    ref = _matlab_lfcc(x.astype(np.float64))
    assert ours.shape == ref.shape == (60, 1 + (len(x) - 320) // 160)
    np.testing.assert_allclose(ours, ref, atol=2e-3, rtol=1e-3)


def test_log_mel_reproduces_hifigan_v1_mel():
    spec = LogMelSpec.hifigan_v1()
    x = speechlike(duration_s=1.0, sample_rate=22_050)
    ours = build_features(spec)(torch.tensor(x)[None])[0].numpy()
    pad = (1024 - 256) // 2
    padded = np.pad(x, (pad, pad), mode="reflect")
    magnitude = np.sqrt(np.abs(librosa.stft(padded, n_fft=1024, hop_length=256, win_length=1024, window="hann", center=False)) ** 2 + 1e-9)
    basis = librosa.filters.mel(sr=22_050, n_fft=1024, n_mels=80, fmin=0, fmax=8000)
    ref = np.log(np.clip(basis @ magnitude, 1e-5, None))
    assert ours.shape == ref.shape == (80, len(x) // 256)
    np.testing.assert_allclose(ours, ref, atol=2e-3)


def test_mfcc_matches_librosa():
    x = _wav()
    spec = FeatureSpec.from_dict({"kind": "mfcc"})
    ours = build_features(spec)(torch.tensor(x)[None])[0].numpy()
    ref = librosa.feature.mfcc(y=x, sr=16_000, n_mfcc=20, n_fft=512, win_length=400, hop_length=160, n_mels=40, pad_mode="reflect")
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=0.05, rtol=1e-3)


def test_spectrogram_matches_librosa_stft():
    x = _wav()
    ours = build_features(FeatureSpec.from_dict({"kind": "spectrogram", "log": False}))(torch.tensor(x)[None])[0].numpy()
    ref = np.abs(librosa.stft(x, n_fft=512, hop_length=160, win_length=400, window="hann", center=True, pad_mode="reflect")) ** 2
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-4)


def test_cqt_agrees_with_librosa():
    x = chirp(f0_hz=60, f1_hz=3000, duration_s=2.0)
    ours = build_features(FeatureSpec.from_dict({"kind": "cqt", "log": False}))(torch.tensor(x)[None])[0].numpy()
    ref = np.abs(librosa.cqt(x, sr=16_000, hop_length=256, fmin=32.70319566, n_bins=84, bins_per_octave=12))
    assert ours.shape == ref.shape
    frames = slice(10, -10)  # away from the edges, where padding differs
    correlation = np.corrcoef(ours[:, frames].ravel(), ref[:, frames].ravel())[0, 1]
    assert correlation > 0.97
    assert np.array_equal(ours[:, frames].argmax(0), ref[:, frames].argmax(0))


def test_f0_tracks_a_harmonic_tone():
    x = harmonic(150.0, duration_s=1.0)
    f0 = build_features(FeatureSpec.from_dict({"kind": "f0"}))(torch.tensor(x)[None])[0, 0].numpy()
    voiced = f0[f0 > 0]
    assert len(voiced) > 0.8 * len(f0)
    ref = np.median(librosa.yin(x, fmin=60, fmax=500, sr=16_000))
    assert abs(np.median(voiced) - ref) / ref < 0.03


def test_world_parameters_start_with_f0():
    x = torch.tensor(harmonic(200.0, duration_s=0.5))[None]
    world = build_features(FeatureSpec.from_dict({"kind": "world"}))(x)
    assert world.shape[1] == 1 + 60 + FeatureSpec.from_dict({"kind": "world"}).n_aperiodicity
    assert abs(float(world[0, 0][world[0, 0] > 0].median()) - 200) < 10
