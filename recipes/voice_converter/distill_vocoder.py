"""Make a compact vocoder (research; none is shipped): HiFi-GAN V1 with half the channels (a quarter of the cost),
pruned from V1 and fine-tuned to copy V1's waveform on real and converted mels; resumes from OUT/distill_last.pt.

    python recipes/voice_converter/prepare.py            # once: cache features (the converter's cache)
    python recipes/voice_converter/distill_vocoder.py [--steps N] [--refit] [--threads 2] [--device cuda]
    python recipes/voice_converter/distill_vocoder.py --adversarial-weight 0.1 --steps 3000 --out runs/voice_converter/vocoder-gan
    python benchmarks/clone.py --vocoder runs/voice_converter/model/vocoder/compact-STEP.safetensors   # judge it
    python recipes/voice_converter/vocoder_diagnosis.py runs/voice_converter/vocoder-gan/compact-STEP.safetensors   # what it gets wrong

First run: V1's waveforms for the teacher pool (`vocoder.chunks` chunks of 1.9 s, ~10 min on 2 cores), kept in
OUT/teacher_pool.npz. `--refit` re-solves every pruned layer by least squares before fine-tuning (~4 min). The same
command runs on a GPU (--device cuda). `--adversarial-weight W` (> 0) adds waveform critics (period and scale
discriminators, voice/converter/waveform_discriminators.py) that learn to tell V1's waveform from the student's, as
HiFi-GAN was trained; it resumes a spectral-only run's distill_last.pt with fresh critics (copy it to the new --out).
Results so far: voice/converter/MODEL_CARD.md.
"""

import argparse
import json
import logging
from pathlib import Path

from voice.converter.vocoder_distillation import DistillSettings, distill, teacher_pool

HERE = Path(__file__).resolve().parent


def main() -> None:
    config = json.loads((HERE / "config.json").read_text())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(config["cache"]))
    parser.add_argument("--out", type=Path, default=Path(config["out"]) / "vocoder")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--device")
    parser.add_argument("--refit", action="store_true", help="re-solve the pruned layers by least squares before fine-tuning")
    parser.add_argument("--adversarial-weight", type=float, help="> 0: train against waveform critics too (their losses times this)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    overrides = {k: v for k, v in {"steps": args.steps, "threads": args.threads, "device": args.device, "refit": args.refit or None, "adversarial_weight": args.adversarial_weight}.items() if v is not None}
    settings = DistillSettings(**{**config["vocoder"], **overrides})
    if not args.cache.is_dir() or not any(args.cache.glob("*.npz")):
        raise SystemExit(f"error: no cached features in {args.cache}: run recipes/voice_converter/prepare.py first")
    pool = teacher_pool(args.cache, args.out / "teacher_pool.npz", settings)
    print(distill(pool, args.out, settings))


if __name__ == "__main__":
    main()
