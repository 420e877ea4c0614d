import numpy as np
import pytest

from detect.augment import AUGMENTATIONS, Augmenter
from voxtwin.codec import AUGMENTATION_CHANNELS, BAND_LIMIT_HZ, CHANNELS, CHECK_CHANNELS, LAUNDERING, band_limited, telephone, through_channel, transcode
from voxtwin.testing import speechlike


@pytest.mark.parametrize("name", AUGMENTATIONS.names())
def test_each_augmentation_keeps_length_and_changes_the_signal(name):
    wav = speechlike(duration_s=1.0, seed=2)
    out = AUGMENTATIONS.get(name)(wav, 16_000, np.random.default_rng(0))
    assert out.shape == wav.shape and out.dtype == np.float32 and np.all(np.isfinite(out))
    assert not np.allclose(out, wav)


@pytest.mark.parametrize("codec,bitrate,min_snr_db", [("opus", 16, 8), ("mp3", 64, 15), ("aac", 32, 15)])
def test_codecs_round_trip_aligned(codec, bitrate, min_snr_db):
    wav = speechlike(duration_s=2.0, seed=4)
    out = transcode(wav, 16_000, codec=codec, bitrate_kbps=bitrate)
    snr = 10 * np.log10(np.sum(wav**2) / np.sum((wav - out) ** 2))
    assert len(out) == len(wav) and snr > min_snr_db


def test_telephone_removes_high_band():
    rng = np.random.default_rng(0)
    wav = (0.1 * rng.standard_normal(16_000)).astype(np.float32)
    spectrum = np.abs(np.fft.rfft(telephone(wav, 16_000)))
    freqs = np.fft.rfftfreq(16_000, 1 / 16_000)
    assert spectrum[freqs > 4500].mean() < 0.01 * spectrum[(freqs > 500) & (freqs < 3000)].mean()


def test_augmenter_is_deterministic_per_seed_and_validates_names():
    wav = speechlike(duration_s=1.0)
    aug = Augmenter(("gain", "noise"), prob=1.0)
    np.testing.assert_array_equal(aug(wav, 16_000, np.random.default_rng(3)), aug(wav, 16_000, np.random.default_rng(3)))
    with pytest.raises(LookupError):
        Augmenter(("reverb",))


@pytest.mark.parametrize("name", [*CHANNELS, *AUGMENTATION_CHANNELS, *CHECK_CHANNELS, *LAUNDERING])
def test_named_channels_keep_rate_and_length(name):
    wav = speechlike(duration_s=1.0, seed=3)
    out = through_channel(wav, 16_000, name)
    assert out.shape == wav.shape and np.all(np.isfinite(out))
    assert np.allclose(out, wav) == (name == "clean")


def test_mp3_at_32_kbps_is_a_coarser_channel_than_at_64():
    wav = speechlike(duration_s=2.0, seed=4)
    error = {name: np.sum((wav - through_channel(wav, 16_000, name)) ** 2) for name in ("mp3_32k", "mp3_64k")}
    assert error["mp3_32k"] > 1.5 * error["mp3_64k"] > 0


def test_band_limited_keeps_the_band_below_a_cutoff_drawn_per_file_and_removes_the_rest():
    rng = np.random.default_rng(0)
    freqs = np.fft.rfftfreq(16_000, 1 / 16_000)
    cutoffs = []
    for n in (16_000, 16_001, 16_002, 16_003):
        wav = (0.1 * rng.standard_normal(n)).astype(np.float32)
        out = through_channel(wav, 16_000, "band_limited")
        np.testing.assert_array_equal(out, through_channel(wav, 16_000, "band_limited"))  # the same file, the same cutoff
        power_ratio = np.abs(np.fft.rfft(out[:16_000])) ** 2 / (np.abs(np.fft.rfft(wav[:16_000])) ** 2 + 1e-12)
        smooth = np.convolve(power_ratio, np.ones(101) / 101, mode="same")
        cutoff = freqs[np.flatnonzero(smooth > 0.5).max()]
        assert BAND_LIMIT_HZ[0] - 100 < cutoff < BAND_LIMIT_HZ[1] + 100
        assert smooth[(freqs > 300) & (freqs < BAND_LIMIT_HZ[0] - 500)].min() > 0.8  # the band below is kept
        assert smooth[freqs > cutoff + 600].max() < 0.02  # the rest is gone (8th order: > 17 dB down 600 Hz above)
        cutoffs.append(cutoff)
    assert len({round(c, -1) for c in cutoffs}) > 1  # drawn per file, not one cutoff for all
    tone = np.sin(2 * np.pi * 1000 * np.arange(16_000) / 16_000).astype(np.float32)
    middle = slice(4_000, 12_000)  # away from the filter's edges
    assert np.abs(band_limited(tone, 16_000, cutoff_hz=500.0)[middle]).max() < 0.05 < 0.95 < np.abs(band_limited(tone, 16_000, cutoff_hz=2000.0)[middle]).max()


def test_room_spreads_a_click_into_a_decaying_tail_at_the_same_level():
    click = np.zeros(16_000, dtype=np.float32)
    click[1000] = 0.5
    out = AUGMENTATIONS.get("room")(click, 16_000, np.random.default_rng(3))
    assert np.sqrt(np.mean(out.astype(np.float64) ** 2)) == pytest.approx(np.sqrt(np.mean(click.astype(np.float64) ** 2)), rel=1e-3)
    early, late = (float(np.sum(out[a:b].astype(np.float64) ** 2)) for a, b in ((1100, 1900), (4200, 5000)))
    assert early > 0 and late > 0 and early > late  # 0.2 s later the tail is still there, and weaker
    assert np.max(np.abs(out[:1000])) < 1e-9  # nothing before the sound (FFT convolution leaves ~1e-18)


def test_resampled_takes_the_top_of_the_band_away_as_the_loader_does_and_keeps_the_rest():
    """A 16 kHz recording round-tripped through 22.05-48 kHz looks as one made at that rate looks once loaded."""
    rng = np.random.default_rng(1)
    wav = (0.1 * rng.standard_normal(32_000)).astype(np.float32)
    freqs = np.fft.rfftfreq(len(wav), 1 / 16_000)
    before = np.abs(np.fft.rfft(wav)) ** 2
    for seed in range(4):
        after = np.abs(np.fft.rfft(AUGMENTATIONS.get("resampled")(wav, 16_000, np.random.default_rng(seed)))) ** 2
        kept = after[(freqs > 500) & (freqs < 7000)].mean() / before[(freqs > 500) & (freqs < 7000)].mean()
        top = after[freqs > 7850].mean() / before[freqs > 7850].mean()
        assert 0.9 < kept < 1.1 and top < 1e-3


def test_rate_channels_are_the_loaders_round_trip_at_a_rate_fixed_per_file():
    """`at_48k` is a file handed over at 48 kHz as compare.py --at-rates hands it; `resampled` draws the rate from the
    file (the same file, the same rate), so a leave-one-source-out cache of it is one fixed copy."""
    from voxtwin.audio import resample
    from voxtwin.codec import RESAMPLED_RATES_HZ, rate_round_trip

    wav = speechlike(duration_s=1.0, seed=5)
    handed_over = resample(resample(wav, 16_000, 48_000), 48_000, 16_000)[: len(wav)]
    np.testing.assert_array_equal(through_channel(wav, 16_000, "at_48k"), handed_over)
    rates = set()
    for n in range(16_000, 16_012):
        x = speechlike(duration_s=n / 16_000, seed=5)[:n]
        out = through_channel(x, 16_000, "resampled")
        np.testing.assert_array_equal(out, through_channel(x, 16_000, "resampled"))
        rates.add(next(r for r in RESAMPLED_RATES_HZ if np.array_equal(out, rate_round_trip(x, 16_000, r))))
    assert len(rates) > 1
