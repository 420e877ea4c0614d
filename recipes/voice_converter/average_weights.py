"""Average converter weights fine-tuned from one starting point into one file (voice/converter/weight_averaging.py).

    python recipes/voice_converter/average_weights.py runs/voice_converter/model-w30/content-{500,750,1000}.safetensors \\
        --out runs/voice_converter/soups/w30-trajectory.safetensors

Judge the result like any other weights: recipes/voice_converter/validate.py, then benchmarks/clone.py --weights.
"""

import argparse
from pathlib import Path

from voice.converter.weight_averaging import average_weights
from voice.converter.weights import save_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+", type=Path, help="two or more converter weights files of one network")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    model, info = average_weights(args.weights)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_weights(model, args.out, extra=info)
    print(f"{args.out}: mean of {len(args.weights)} files")


if __name__ == "__main__":
    main()
