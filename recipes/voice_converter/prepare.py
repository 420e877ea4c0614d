"""Cache the converter's training features from ../shared/data's real speech (resumes where it stopped).

    python recipes/voice_converter/prepare.py [--data ../shared/data] [--cache runs/voice_converter/features]
    python recipes/voice_converter/prepare.py --pitch fcpe --out runs/voice_converter/features-fcpe   # a copy, FCPE's F0

The VCC 2016 speakers (source vcc2016_ccganvc) are left out: benchmarks/clone.py judges clones of them.
"""

import argparse
import json
import logging
from pathlib import Path

from voice.converter.analysis import PITCH_TRACKERS
from voice.converter.corpus import cache_features, real_recordings, repitch_cache

HERE = Path(__file__).resolve().parent


def main() -> None:
    config = json.loads((HERE / "config.json").read_text())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=Path(config["cache"]))
    parser.add_argument("--pitch", choices=PITCH_TRACKERS, default="world", help="pitch tracker of the cached contours; "
                        "a tracker other than world copies --cache to --out with only the pitch replaced")
    parser.add_argument("--out", type=Path, help="where --pitch writes its copy of the cache")
    args = parser.parse_args()
    if args.pitch != "world" and args.out is None:
        parser.error("--pitch fcpe writes a copy of the cache: give it --out DIR")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    manifest = args.data / "manifest.csv"
    if not manifest.is_file():
        raise SystemExit(f"error: {manifest} not found: the converter trains on ../shared/data's real speech (--data DIR)")
    recordings = real_recordings(manifest, exclude_sources=tuple(config["exclude_sources"]))
    logging.info("%d recordings, %d speakers", len(recordings), len({r.speaker for r in recordings}))
    cache_features(recordings, args.cache)
    if args.pitch != "world":
        repitch_cache(recordings, args.cache, args.out, tracker=args.pitch)


if __name__ == "__main__":
    main()
