"""Make the compact vocoder: HiFi-GAN V1 with half the channels (a quarter of the cost), pruned from V1 and fine-tuned
to copy V1's waveform on real and converted mels; resumes from OUT/distill_last.pt.

    python recipes/voice_converter/prepare.py            # once: cache features (the converter's cache)
    python recipes/voice_converter/distill_vocoder.py [--steps N] [--threads 2] [--device cuda]
    python recipes/voice_converter/distill_vocoder.py --export [--step N]   # copy compact-N (default: the best) into the package

First run: V1's waveforms for the teacher pool (`vocoder.chunks` chunks of 1.9 s, ~10 min on 2 cores), kept in
OUT/teacher_pool.npz. The same command runs on a GPU (--device cuda).
"""

import argparse
import json
import logging
import shutil
from pathlib import Path

from voice.converter.compact_vocoder import SHIPPED, load_vocoder
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
    parser.add_argument("--export", action="store_true", help="copy the result into the package and stop")
    parser.add_argument("--step", type=int, help="with --export: which compact-STEP to ship (default: lowest validation mel L1)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    overrides = {k: v for k, v in {"steps": args.steps, "threads": args.threads, "device": args.device}.items() if v is not None}
    settings = DistillSettings(**{**config["vocoder"], **overrides})
    if args.export:
        history = json.loads((args.out / "distill_history.json").read_text())
        step = args.step or min((h for h in history if h["step"] > 0), key=lambda h: h["mel_l1"])["step"]
        result = args.out / f"compact-{step}.safetensors"
        load_vocoder(result)  # refuses a damaged file before it is shipped
        SHIPPED.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result, SHIPPED)
        print(f"exported {result} -> {SHIPPED}")
        return
    if not args.cache.is_dir() or not any(args.cache.glob("*.npz")):
        raise SystemExit(f"error: no cached features in {args.cache}: run recipes/voice_converter/prepare.py first")
    pool = teacher_pool(args.cache, args.out / "teacher_pool.npz", settings)
    print(distill(pool, args.out, settings))


if __name__ == "__main__":
    main()
