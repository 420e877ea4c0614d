"""voxtwin/audio_band.py: telling audio that lost its band above 4 kHz (telephone, 8 kHz sources) from full-band audio."""

import numpy as np

from voxtwin import audio
from voxtwin.audio_band import NARROW_BAND_DB, BandEnergy, high_band_db
from voxtwin.codec import telephone, through_channel
from voxtwin.testing import speechlike


def test_full_band_speech_keeps_its_high_band_through_codecs_and_the_telephone_band_loses_it():
    speech = speechlike(duration_s=4.0, seed=1)
    assert high_band_db(speech) > NARROW_BAND_DB + 5
    for channel in ("opus_16k", "mp3_64k", "aac_48k"):
        assert high_band_db(through_channel(speech, 16_000, channel)) > NARROW_BAND_DB, channel
    assert high_band_db(telephone(speech, 16_000)) < NARROW_BAND_DB - 20
    eight_k = audio.resample(audio.resample(speech, 16_000, 8_000), 8_000, 16_000)  # an 8 kHz recording played at 16 kHz
    assert high_band_db(eight_k) < NARROW_BAND_DB
    # a phone call sent on as a voice message: the encoder's noise above 4 kHz stays far below speech's own high band
    assert high_band_db(through_channel(telephone(speech, 16_000), 16_000, "opus_16k")) < NARROW_BAND_DB


def test_blocks_of_any_size_give_the_whole_signal_measure():
    speech = telephone(speechlike(duration_s=3.0, seed=2), 16_000)
    band = BandEnergy()
    for start in range(0, len(speech), 777):  # blocks that do not line up with the 512-sample frames
        band.update(speech[start : start + 777])
    whole = high_band_db(speech)
    assert band.narrow_band and abs(band.high_band_db - whole) < 1e-3  # the same frames, whatever the blocks


def test_silence_is_not_called_narrow_band():
    band = BandEnergy()
    band.update(np.zeros(16_000, dtype=np.float32))
    assert band.high_band_db is None and not band.narrow_band
