"""Train the built-in converter (vox-vc) on the cached features; resumes from OUT/last.pt.

    python recipes/voice_converter/prepare.py          # once: cache features (~4 min on 2 cores)
    python recipes/voice_converter/train.py [--steps N] [--device cuda] [--out runs/voice_converter/model]

The same command runs on a GPU (--device cuda, and a larger --batch-size if you like). To ship the result:
    python recipes/voice_converter/train.py --export   # copies best.safetensors to voice/converter/weights/
"""

import argparse
import json
import logging
import shutil
from pathlib import Path

from voice.converter.training import TrainSettings, train
from voice.converter.weights import SHIPPED, load_weights

HERE = Path(__file__).resolve().parent


def main() -> None:
    config = json.loads((HERE / "config.json").read_text())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(config["cache"]))
    parser.add_argument("--out", type=Path, default=Path(config["out"]))
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--device")
    parser.add_argument("--export", action="store_true", help="copy OUT/best.safetensors into the package and stop")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.export:
        load_weights(args.out / "best.safetensors")  # refuses a damaged file before it is shipped
        SHIPPED.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.out / "best.safetensors", SHIPPED)
        print(f"exported {args.out / 'best.safetensors'} -> {SHIPPED}")
        return
    overrides = {k: v for k, v in {"steps": args.steps, "batch_size": args.batch_size, "threads": args.threads, "device": args.device}.items() if v is not None}
    settings = TrainSettings(**{**config["train"], **overrides})
    if not args.cache.is_dir() or not any(args.cache.glob("*.npz")):
        raise SystemExit(f"error: no cached features in {args.cache}: run recipes/voice_converter/prepare.py first")
    print(train(args.cache, args.out, settings))


if __name__ == "__main__":
    main()
