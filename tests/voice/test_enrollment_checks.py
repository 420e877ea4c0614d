"""Enrolment's reference checks that warn rather than refuse (voice/enrollment.py check_references)."""

import logging

from voice.enrollment import check_references
from voxtwin.codec import telephone


def test_a_telephone_band_reference_is_named_in_a_warning_and_a_wide_band_one_is_not(piper_speech, caplog):
    reference, _ = piper_speech
    with caplog.at_level(logging.WARNING, logger="voice.enrollment"):
        check_references([reference], ["studio.wav"])
    assert "4 kHz" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="voice.enrollment"):
        speech, checked = check_references([reference, telephone(reference, 16_000)], ["studio.wav", "call.wav"])
    assert "call.wav: nothing above 4 kHz" in caplog.text and "studio.wav:" not in caplog.text
    assert len(speech) > 0 and checked["checks"]["speech_s"] > 10  # a warning, not a refusal
