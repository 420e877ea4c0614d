"""Can HiFi-GAN V1 drop some of its multi-receptive-field branches without retraining?

    python recipes/voice_converter/mrf_branches.py [--recordings 8] [--json OUT.json]

Each of V1's four upsampling stages averages three residual branches with kernels 3, 7 and 11; their cost grows with
the kernel (3 : 7 : 11), so the kernel-11 branches are half of V1's arithmetic. A vocoder ~2x cheaper would meet the
converter's RTF <= 0.5 on AVX2-only CPUs (voice/converter/MODEL_CARD.md). Here branches are left out and the rest
averaged, with no training: DistillMOS of V1's copies (analysis + resynthesis) of VCC 2016 recordings (which nothing
here trained on), and each variant's one-thread RTF on 5 s of mel beside full V1's in the same run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from voice.converter.istft_head import v1_finish, v1_stages
from voice.judges import distill_mos
from voice.vocoders import HiFiGAN
from voxtwin import audio

from vocoder_diagnosis import vcc_recordings  # noqa: I001  (this folder is on sys.path when the script runs)

HERE = Path(__file__).resolve().parent
KERNELS = (3, 7, 11)  # V1's branch kernels; a stage's branch j is resblocks[3 * stage + j]
# variant: the branch kernels each of the four stages keeps
VARIANTS = {
    "V1 (all branches)": ((3, 7, 11),) * 4,
    "without kernel 11": ((3, 7),) * 4,
    "without kernel 11 in stages 1-2": ((3, 7), (3, 7), (3, 7, 11), (3, 7, 11)),
    "without kernel 11 in stage 2": ((3, 7, 11), (3, 7), (3, 7, 11), (3, 7, 11)),
    "kernel 3 only in stages 3-4": ((3, 7, 11), (3, 7, 11), (3,), (3,)),
    "without kernel 3": ((7, 11),) * 4,
}


def generate(generator: torch.nn.Module, mel: torch.Tensor, kept: tuple[tuple[int, ...], ...]) -> torch.Tensor:
    """V1's forward pass with only the `kept` branch kernels of each stage, averaged."""
    branches = [tuple(KERNELS.index(k) for k in kernels) for kernels in kept]
    x = v1_stages(generator, generator.conv_pre(mel), range(len(kept)), branches=branches)
    return v1_finish(generator, x, after=len(kept))  # every stage already run: only V1's output layer


def best_seconds(run, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


@torch.inference_mode()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    parser.add_argument("--recordings", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.recordings < 1:
        parser.error("--recordings N needs N >= 1")
    if not (args.data / "manifest.csv").is_file():
        raise SystemExit(f"error: {args.data / 'manifest.csv'} not found (--data DIR)")
    torch.set_num_threads(1)
    vocoder = HiFiGAN(precision="fp32")
    scores = []
    for path in vcc_recordings(args.data, args.recordings):
        wav, _ = audio.load(path, 16_000)
        mel = vocoder.mel(torch.from_numpy(audio.resample(wav, 16_000, vocoder.sample_rate))[None])
        scores.append([distill_mos(generate(vocoder.generator, mel, kept)[0, 0].numpy(), vocoder.sample_rate) for kept in VARIANTS.values()])
        print(path.name, " ".join(f"{s:.2f}" for s in scores[-1]), flush=True)
    mel = torch.randn(1, 80, 430, generator=torch.Generator().manual_seed(0)) * 0.5 - 5  # 5 s of mel
    seconds = mel.shape[-1] * 256 / vocoder.sample_rate
    rows = {}
    for (name, kept), mos in zip(VARIANTS.items(), np.mean(scores, axis=0)):
        rtf = best_seconds(lambda: generate(vocoder.generator, mel, kept)) / seconds
        rows[name] = {"distillmos": round(float(mos), 3), "rtf_one_thread": round(rtf, 3)}
        print(f"{name:34s} DistillMOS {mos:.3f}  RTF {rtf:.3f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"recordings": len(scores), "variants": rows}, indent=1))


if __name__ == "__main__":
    main()
