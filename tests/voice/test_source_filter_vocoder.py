"""The source-filter vocoder study (voice/converter/source_filter_vocoder.py): its pulse train carries the F0's
harmonics and nothing between them, unvoiced stretches take a nearby F0, and the network's filters make a waveform
of the mel's length that training can move toward a target."""

import math

import torch

from voice.converter.source_filter_vocoder import HOP, SAMPLE_RATE, SourceFilterVocoder, harmonic_pulses, sample_f0


def test_pulses_hold_the_harmonics_of_f0_and_nothing_between():
    f0, voicing = sample_f0(torch.full((1, 40), math.log(200.0)), torch.ones(1, 40, dtype=torch.bool))
    pulses = harmonic_pulses(f0, voicing)
    spectrum = torch.fft.rfft(pulses[0] * torch.hann_window(pulses.shape[-1])).abs()
    freqs = torch.fft.rfftfreq(pulses.shape[-1], 1 / SAMPLE_RATE)
    harmonic = (freqs % 200.0).clamp(max=200.0)
    near = (harmonic < 15) | (harmonic > 185)
    band = freqs < 7_900
    assert spectrum[band & near].mean() > 100 * spectrum[band & ~near].mean()
    assert spectrum[freqs > 8_300].max() < 0.05 * spectrum[band & near].max()  # nothing above the ceiling


def test_unvoiced_frames_give_silence_and_keep_a_nearby_f0():
    log_f0 = torch.tensor([[0.0, math.log(100.0), math.log(100.0), 0.0, 0.0, math.log(300.0)]])
    voiced = log_f0 > 0
    f0, voicing = sample_f0(log_f0, voiced, hop=4)
    assert torch.all(f0 >= 99.0) and torch.all(f0 <= 301.0)  # no zero F0 for the phase to stall on
    pulses = harmonic_pulses(f0, voicing)
    assert pulses[0, :2].abs().max() < 1e-6  # the first (unvoiced) frame, before interpolation reaches the voiced one
    assert pulses.abs().max() > 1.0


def test_the_vocoder_makes_the_mel_length_and_trains_toward_a_target():
    torch.manual_seed(0)
    model = SourceFilterVocoder(channels=32, layers=2)
    mel = torch.randn(2, 80, 12) - 5
    log_f0 = torch.full((2, 12), math.log(150.0))
    voiced = torch.ones(2, 12, dtype=torch.bool)
    noise = torch.randn(2, 12 * HOP)
    y = model(mel, log_f0, voiced, noise=noise)
    assert y.shape == (2, 12 * HOP) and torch.isfinite(y).all()
    target = 3 * y.detach()  # louder: the filters' gains must rise
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = (model(mel, log_f0, voiced, noise=noise) - target).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
