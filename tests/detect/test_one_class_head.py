"""The one-class head: fitted on real windows only, it scores windows by how far they lie from real speech."""

import numpy as np
import pytest

from detect.one_class_head import RealSpeechGaussian


def test_windows_unlike_real_speech_score_higher_whatever_direction_they_move():
    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((20, 20))
    real = rng.standard_normal((2000, 20)) @ mixing
    head = RealSpeechGaussian(dims=5).fit(real)
    held_out_real = rng.standard_normal((500, 20)) @ mixing
    scores = head.decision_function(held_out_real)
    assert abs(scores.mean()) < 0.5  # centred: chi-square with 5 dims, minus its mean
    axis = head.projection_[:, 0] / np.linalg.norm(head.projection_[:, 0])
    for sign in (1, -1):  # fakes off to either side along a direction real speech varies in
        shifted = held_out_real + sign * 6 * real.std(0).mean() * axis
        assert np.mean(head.decision_function(shifted) > np.median(scores)) > 0.95
    # whitening: a distance is counted in units of real speech's own spread along each principal axis
    z = (held_out_real - head.mean_) @ head.projection_
    assert np.allclose(z.std(0), 1, atol=0.1)


def test_refuses_too_few_windows_or_no_dimensions():
    with pytest.raises(ValueError, match="dims"):
        RealSpeechGaussian(0)
    with pytest.raises(ValueError, match="cannot fit"):
        RealSpeechGaussian(8).fit(np.zeros((5, 10)))
