"""Does normalising each recording put unseen sources on one scale? Leave-one-source-out of `fast`'s spectrum statistics.

Across pages the detectors' scores are not on one scale (pooled EER ~40 % against ~23 % within a page; README),
and codecs move them further: each corpus's microphone, room and coding colour the long-term spectrum, and a head
that reads the per-bin mean log power can learn "this colouring = real". Speech recognition removes such
convolutive channels per recording (cepstral mean normalisation); this study asks whether it helps here. The same
windows as the other studies (4 s, 2 s hop, at most 6 per file), each described four ways:
  spectral              `fast`'s statistics as shipped: per-bin mean, spread and frame-to-frame change of the log
                        power spectrum (771 numbers)
  recording-mean        the per-bin mean minus the whole recording's mean log power spectrum (per-recording cepstral
                        mean normalisation); spread and change are unchanged by it
  envelope-removed      the per-bin mean minus its own 1 kHz moving average across frequency: the window's smooth
                        spectral envelope (channel, speaker, corpus tilt) goes, narrow fixed-frequency structure
                        (e.g. an upsampling layer's tones) stays; needs nothing beyond the window
  no-mean               spread and change only: what the first two variants would be if the mean carried nothing
Protocol as fusion_loso.py: one fold per `source` of ../shared/data, trained on every other source in every channel
given, held-out files scored in each channel, verdicts from Platt scaling fitted on the other sources' out-of-fold
scores.

    python recipes/detector_v2/recording_norm_loso.py --threads 2 --json runs/detector_v2/recording-norm.json   # ~5 min on 2 cores, 4 channels
Statistics are cached in runs/detector_v2/recording-norm-CHANNEL.npz.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from detect.models.spectral_linear import BINS, N_FFT, SpectralLinearConfig, log_power_frames, spectral_window_stats
from voxtwin.codec import CHANNELS

from frontends_loso import windows  # noqa: I001  (this folder is on sys.path when the script runs)
from layers_loso import out_of_fold, printed_results, read_cache, study_wave
from study_options import save_results, start, study_parser

ENVELOPE_BINS = 33  # 1 kHz of 31.25 Hz bins
VARIANTS = {
    "spectral": ("mean", "spread_change"),
    "recording-mean": ("mean_minus_recording", "spread_change"),
    "envelope-removed": ("mean_minus_envelope", "spread_change"),
    "no-mean": ("spread_change",),
}


def smooth_across_bins(mean: np.ndarray, width: int = ENVELOPE_BINS) -> np.ndarray:
    """(N, BINS) -> the moving average over `width` neighbouring bins (edges averaged over the bins that exist)."""
    kernel = np.ones(width) / width
    padded_ones = np.convolve(np.ones(mean.shape[1]), kernel, mode="same")
    return np.stack([np.convolve(row, kernel, mode="same") for row in mean]) / padded_ones


@torch.inference_mode()
def cached_stats(rows: list[dict], root: Path, cache: Path, channel: str) -> dict[str, np.ndarray]:
    """Per window: the shipped statistics split into the mean and the rest, and the normalised means."""
    path = cache / f"recording-norm-{channel}.npz"
    if (cached := read_cache(path, len(rows))) is not None:
        return cached
    hann = torch.hann_window(N_FFT)
    floor = SpectralLinearConfig().floor
    stats, recording, owner, started = [], [], [], time.time()
    for i, row in enumerate(rows):
        wav = study_wave(root, row, channel)
        whole = log_power_frames(torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))[None], hann, floor)[0]
        recording_mean = whole.mean(0).numpy()
        for w in windows(wav):
            frames = log_power_frames(torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))[None], hann, floor)
            stats.append(spectral_window_stats(frames)[0].numpy())
            recording.append(recording_mean)
            owner.append(i)
        if (i + 1) % 400 == 0:
            print(f"  {channel}: {i + 1}/{len(rows)} files ({time.time() - started:.0f} s)", flush=True)
    stats, recording = np.asarray(stats, dtype=np.float32), np.asarray(recording, dtype=np.float32)
    mean = stats[:, :BINS]
    arrays = {
        "mean": mean,
        "spread_change": stats[:, BINS:],
        "mean_minus_recording": mean - recording,
        "mean_minus_envelope": (mean - smooth_across_bins(mean)).astype(np.float32),
        "owner": np.asarray(owner),
    }
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def main() -> None:
    parser = study_parser(__doc__, channels=list(CHANNELS))
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    rows, labels, sources = start(args)
    features = {ch: cached_stats(rows, args.data, args.cache, ch) for ch in args.channels}
    if args.features_only:
        return
    results = {name: printed_results(name, out_of_fold(features, VARIANTS[name], labels, sources, c=args.c), labels, sources, prior=args.prior)
               for name in args.variants}
    save_results(args, results, files=len(rows), variants=args.variants)


if __name__ == "__main__":
    main()
