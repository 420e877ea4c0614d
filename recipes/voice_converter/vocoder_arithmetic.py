"""How much arithmetic HiFi-GAN V1 does per second of speech, and how fast one CPU thread does it.

    python recipes/voice_converter/vocoder_arithmetic.py [--precision fp32|bf16] [--seconds 5] [--json OUT.json]
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python recipes/voice_converter/vocoder_arithmetic.py   # as an AVX2-only CPU would

V1 is ~95 % of a conversion's time (voice/converter/MODEL_CARD.md), so the RTF <= 0.5 aim is a question of
multiply-adds per second of audio against what one core sustains. Forward hooks count every convolution's and
transposed convolution's multiply-adds on a random mel; the vocoder then runs three times on one thread and the best
run gives the RTF and the multiply-adds per second achieved. The environment variables above make PyTorch and oneDNN
use only AVX2 kernels, so the same machine shows what the instruction set alone changes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from voice.vocoders import HiFiGAN


def multiply_adds(generator: torch.nn.Module, mel: torch.Tensor, run) -> int:
    """Multiply-adds of one run of `run(mel)`, counted over the generator's (transposed) 1-D convolutions."""
    total = 0

    def count(module, inputs, output) -> None:
        nonlocal total
        if isinstance(module, torch.nn.ConvTranspose1d):  # every input sample meets every output channel's kernel
            total += inputs[0].numel() * module.out_channels // module.groups * module.kernel_size[0]
        else:
            total += output.numel() * module.in_channels // module.groups * module.kernel_size[0]

    hooks = [m.register_forward_hook(count) for m in generator.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d))]
    try:
        run(mel)
    finally:
        for hook in hooks:
            hook.remove()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the random mel, in seconds of 22.05 kHz output")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    vocoder = HiFiGAN(precision=args.precision)
    frames = max(1, int(args.seconds * vocoder.sample_rate) // vocoder.spec.hop_length)
    mel = torch.randn(1, vocoder.spec.n_mels, frames, generator=torch.Generator().manual_seed(0)) * 0.5 - 5
    seconds = frames * vocoder.spec.hop_length / vocoder.sample_rate
    macs = multiply_adds(vocoder.generator, mel, vocoder.mel_to_wav)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        vocoder.mel_to_wav(mel)
        times.append(time.perf_counter() - start)
    result = {"precision": vocoder.precision, "cpu_capability": torch.backends.cpu.get_cpu_capability(), "seconds": round(seconds, 3),
              "gmac_per_second_of_audio": round(macs / seconds / 1e9, 2), "rtf_one_thread": round(min(times) / seconds, 3),
              "gmac_per_second_achieved": round(macs / min(times) / 1e9, 1)}
    print(json.dumps(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
