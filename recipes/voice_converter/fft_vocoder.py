"""HiFi-GAN V1 with its long convolutions by FFT against V1 with the direct kernels: speed side by side, and how far
the waveforms differ.

    python recipes/voice_converter/fft_vocoder.py [--seconds 5] [--rounds 5] [--json OUT.json]
    python recipes/voice_converter/fft_vocoder.py --layers     # every V1 convolution alone: FFT / direct time

Both vocoders are loaded in float32 and run on one thread, alternately, `--rounds` times on the same mel (a
synthetic voice's, voxtwin.testing); the median of each gives its RTF, so a machine's drift hits both alike. The
waveform difference is the largest absolute sample difference and the signal-to-difference ratio in dB. `--layers`
times each distinct convolution of V1 (channels, kernel, dilation) at its stage's sample rate, direct and by FFT,
beside voice/fft_convolution.py's `worth_fft` choice, which these figures set.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from voice.fft_convolution import FFTConv1d, worth_fft
from voice.vocoders import HiFiGAN
from voxtwin.testing import speechlike


def load_v1(fft: bool) -> HiFiGAN:
    """V1 in float32 with (fft=True) or without its FFT convolutions."""
    return HiFiGAN(precision="fp32", fft_convolution=fft)


def mel_of_speech(vocoder: HiFiGAN, seconds: float) -> torch.Tensor:
    wav = speechlike(duration_s=seconds, sample_rate=vocoder.sample_rate, seed=0)
    return vocoder.mel(torch.from_numpy(wav)[None])


@torch.inference_mode()
def compare(seconds: float, rounds: int) -> dict:
    direct, fft = load_v1(False), load_v1(True)
    mel = mel_of_speech(direct, seconds)
    audio_s = mel.shape[-1] * direct.spec.hop_length / direct.sample_rate
    reference, candidate = direct.mel_to_wav(mel), fft.mel_to_wav(mel)
    difference = candidate - reference
    times: dict[str, list[float]] = {"direct": [], "fft": []}
    for _ in range(rounds):
        for name, vocoder in (("direct", direct), ("fft", fft)):
            start = time.perf_counter()
            vocoder.mel_to_wav(mel)
            times[name].append(time.perf_counter() - start)
    rtf = {name: statistics.median(values) / audio_s for name, values in times.items()}
    return {"seconds": round(audio_s, 3), "rounds": rounds, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "rtf_direct": round(rtf["direct"], 3), "rtf_fft": round(rtf["fft"], 3), "speedup": round(rtf["direct"] / rtf["fft"], 2),
            "max_abs_difference": float(np.abs(difference).max()),
            "signal_to_difference_db": round(float(10 * np.log10(np.sum(reference**2) / max(np.sum(difference**2), 1e-30))), 1)}


def v1_convolutions(generator: torch.nn.Module) -> list[tuple[int, int, int, int]]:
    """(channels, kernel, dilation, upsampling factor) of every distinct residual convolution of V1."""
    seen: dict[tuple[int, int, int], int] = {}
    factor, n = 1, len(generator.resblocks) // len(generator.ups)
    for i, up in enumerate(generator.ups):
        factor *= up.stride[0]
        for block in generator.resblocks[i * n : (i + 1) * n]:
            for conv in (*block.convs1, *block.convs2):
                seen.setdefault((conv.in_channels, conv.kernel_size[0], conv.dilation[0]), factor)
    return [(*key, factor) for key, factor in seen.items()]


@torch.inference_mode()
def layer_table(seconds: float, rounds: int) -> list[dict]:
    frames = int(seconds * 22_050) // 256
    rows = []
    for channels, kernel, dilation, factor in v1_convolutions(load_v1(False).generator):
        conv = torch.nn.Conv1d(channels, channels, kernel, dilation=dilation, padding=(kernel - 1) * dilation // 2)
        fft = FFTConv1d.from_conv(conv)
        x = torch.randn(1, channels, frames * factor, generator=torch.Generator().manual_seed(0))
        times: dict[str, list[float]] = {"direct": [], "fft": []}
        for _ in range(rounds):
            for name, layer in (("direct", conv), ("fft", fft)):
                start = time.perf_counter()
                layer(x)
                times[name].append(time.perf_counter() - start)
        direct_ms, fft_ms = (1000 * statistics.median(times[name]) for name in ("direct", "fft"))
        rows.append({"channels": channels, "kernel": kernel, "dilation": dilation, "direct_ms": round(direct_ms, 1),
                     "fft_ms": round(fft_ms, 1), "fft_over_direct": round(fft_ms / direct_ms, 2), "worth_fft": worth_fft(channels, kernel)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the speech whose mel is vocoded")
    parser.add_argument("--rounds", type=int, default=5, help="alternate runs of each; the median counts")
    parser.add_argument("--layers", action="store_true", help="time every V1 convolution alone instead")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the converter's aim is one core)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.seconds <= 0 or args.rounds < 1 or args.threads < 1:
        parser.error("--seconds must be > 0, --rounds and --threads >= 1")
    torch.set_num_threads(args.threads)
    result = {"layers": layer_table(args.seconds, args.rounds)} if args.layers else compare(args.seconds, args.rounds)
    if not args.layers:
        print(json.dumps(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
