"""Install a mel refiner as the one `voxtwin voice convert` runs: it must have been trained behind the shipped converter
weights; its metadata gains the release name, the temperature chosen for it (which `convert` then runs it at) and
the rule that chose it; it is written fp16 to voice/converter/weights/vox-vc-refiner.safetensors.

    python recipes/voice_converter/install_refiner.py runs/voice_converter/refiner-content5/refiner-400.safetensors \\
        --release 2026.12-5 --temperature 0.5 --chosen-by "rule RV: 50 VCC 2016 conversions not looked at before (MODEL_CARD.md)"
"""

import argparse
from pathlib import Path

from voice.converter.mel_refiner import load_refiner, save_refiner
from voice.converter.weights import SHIPPED, SHIPPED_REFINER
from voxtwin.errors import VoxtwinError


def install(path: Path, *, release: str, temperature: float, chosen_by: str, out: Path = SHIPPED_REFINER) -> Path:
    refiner, info = load_refiner(path, generator=SHIPPED)  # refuses a refiner trained behind other weights
    generator_sha256 = info.pop("generator_sha256")
    return save_refiner(refiner, out, generator_sha256=generator_sha256, extra=info | {"release": release, "temperature": temperature, "chosen_by": chosen_by})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("refiner", type=Path, help="refiner weights from train.py --refiner, trained behind the shipped vox-vc weights")
    parser.add_argument("--release", required=True, help="the converter release this refiner makes, e.g. 2026.12-5")
    parser.add_argument("--temperature", type=float, required=True, help="the start-noise spread `convert` will run it at (the one measured)")
    parser.add_argument("--chosen-by", required=True, help="the rule that chose it (recorded in the metadata)")
    parser.add_argument("--out", type=Path, default=SHIPPED_REFINER)
    args = parser.parse_args()
    if not args.temperature > 0:
        raise SystemExit(f"error: --temperature must be above 0, got {args.temperature}")
    try:
        written = install(args.refiner, release=args.release, temperature=args.temperature, chosen_by=args.chosen_by, out=args.out)
    except VoxtwinError as exc:
        raise SystemExit(f"error: {exc}")
    print(f"installed {args.refiner} -> {written} (release {args.release}, temperature {args.temperature})")


if __name__ == "__main__":
    main()
