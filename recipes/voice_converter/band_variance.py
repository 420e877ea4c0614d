"""How much flatter than real speech each mel band of a converter's output moves: the per-band global-variance deficit.

    python recipes/voice_converter/band_variance.py WEIGHTS [--cache DIR] [--scale-to 1.2] [--json gains.json]

Trained with L1, the network predicts an average, so every band moves less over time than in the recording; the
shipped postfilter (voice/converter/postfilter.py) scales every band's movement by one gain. This measures the deficit
band by band: each validation recording (speakers never trained on; as validate.py picks them, all of them, first 8 s)
is reconstructed from its own content, pitch and d-vector, exactly the training task, and the ratio of each band's
standard deviation over time, recording / prediction, is averaged over recordings. Printed in 8 groups of 10 bands;
--json writes the 80 ratios as per-band postfilter gains for `validate.py --band-gains` (`--scale-to G`: multiplied
so that their mean is G, i.e. the shipped average gain redistributed by the measured deficit).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from validate import HERE, validation_recordings  # noqa: I001  (this folder's scripts)
from voice.converter.analysis import on_mel_grid, pitch_input
from voice.converter.postfilter import write_band_gains
from voice.converter.weights import load_weights


def band_ratios(model: torch.nn.Module, recordings: list[dict]) -> np.ndarray:
    """(recordings, n_mels): std over time of each band of the recording's mel / of the network's reconstruction."""
    ratios = []
    for r in recordings:
        n = r["mel"].shape[1]
        inputs = (torch.from_numpy(on_mel_grid(r["content"], n).astype(np.float32))[None], torch.from_numpy(pitch_input(r["log_f0"], r["voiced"]))[None],
                  torch.from_numpy(r["d_vector"])[None])
        with torch.inference_mode():
            predicted = model(*inputs)[0].numpy()
        ratios.append(r["mel"].std(axis=1) / np.maximum(predicted.std(axis=1), 1e-6))
    return np.array(ratios)


def main() -> None:
    config = json.loads((HERE / "config.json").read_text())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("--cache", type=Path, default=Path(config["cache"]))
    parser.add_argument("--validation-share", type=float, default=0.05, help="as in training (the speakers' hash split)")
    parser.add_argument("--scale-to", type=float, help="scale the written gains so that their mean is this (default: the ratios as measured)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the per-band gains here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recordings = validation_recordings(args.cache, args.validation_share, every=True)
    if not recordings:
        raise SystemExit(f"error: no validation recordings in {args.cache} (run prepare.py first)")
    model = load_weights(args.weights)[0].eval()
    ratios = band_ratios(model, recordings)
    mean = ratios.mean(axis=0)
    print(f"{len(recordings)} validation recordings; recording / prediction std per band: mean {mean.mean():.3f}, range {mean.min():.3f} .. {mean.max():.3f}")
    for start in range(0, len(mean), 10):
        print(f"  bands {start:2d}-{start + 9:2d}: {mean[start:start + 10].mean():.3f}")
    gains = mean * (args.scale_to / mean.mean()) if args.scale_to else mean
    if args.json:
        write_band_gains(args.json, gains, weights=str(args.weights), recordings=len(recordings), scaled_to=args.scale_to)
        print(f"wrote {len(gains)} band gains (mean {gains.mean():.3f}) to {args.json}")


if __name__ == "__main__":
    main()
