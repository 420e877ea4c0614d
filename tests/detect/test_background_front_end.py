"""The background front-end of the detector studies (recipes/detector_v2/front_ends.py BackgroundStats): whether the floor
under the words is the background between them, read per file."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from front_ends import FRONT_ENDS, BackgroundStats  # noqa: E402

from voxtwin.testing import speechlike  # noqa: E402

BANDS = BackgroundStats.BANDS
UNDER = slice(BANDS, 2 * BANDS)  # the floor under speech minus the quiet frames' band level, per band
GAP, FLATNESS, SILENT, LINKED = range(BackgroundStats.WIDTH - 4, BackgroundStats.WIDTH)


def _speech_with_pauses(seed: int = 0) -> np.ndarray:
    """Two bursts of speech-like sound with silence before, between and after them."""
    speech = speechlike(duration_s=2.0, seed=seed).astype(np.float64)
    gap = np.zeros(8_000)
    return np.concatenate([gap, speech, gap, speechlike(duration_s=2.0, seed=seed + 1), gap])


def test_a_recording_floor_is_the_background_a_made_floor_is_not():
    clean = _speech_with_pauses()
    noise = 0.002 * np.random.default_rng(1).standard_normal(len(clean))
    recorded = BackgroundStats()(clean + noise)  # the room's noise everywhere, as a microphone hears it
    loud = np.abs(clean) > 1e-3
    made = BackgroundStats()(clean + noise * loud)  # noise only where the speech is: pauses left digitally silent
    assert recorded.shape == (BackgroundStats.WIDTH,) and FRONT_ENDS["background"] is BackgroundStats
    assert made[SILENT] > 0.2 and recorded[SILENT] == 0  # the pauses of the made file are below -90 dBFS
    # under the words the floor is the noise heard between them (its 10th-percentile bins sit ~8 dB under the band's mean
    # level here), but ~80 dB above a digitally silent pause
    assert np.median(made[UNDER]) > np.median(recorded[UNDER]) + 40
    assert made[GAP] > recorded[GAP] + 40


def test_too_short_a_file_reads_zeros():
    assert not np.any(BackgroundStats()(np.zeros(600, dtype=np.float32)))
