"""The EER difference between detectors scored by compare.py, with a paired bootstrap interval (detect/paired_bootstrap.py).

Reads compare.py's JSON (per-file p_synthetic of every detector and channel; nothing is scored again):

    python recipes/default_detector/paired_interval.py runs/default_detector/compare.json --baseline default \\
        [--set calibration] [--channels clean opus_16k mp3_64k telephone_8k] [--group-by speaker|file] [--draws 2000] [--json out.json]

--group-by speaker (the default) resamples each file's folder (a speaker, or a system's speaker) whole; `file`
treats files as independent, which makes the interval narrower than it should be. Either way the interval covers
the files and speakers of the set's sources, not the choice of sources. `mean` is over the channels compared (--channels,
default: every channel in the JSON; name the four reported ones when the run also scored check channels).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from detect.paired_bootstrap import paired_eer_difference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("compare_json", type=Path)
    parser.add_argument("--baseline", default="default", help="the detector every other is compared with (a key of the JSON's models)")
    parser.add_argument("--set", dest="set_name", help="which set of the JSON (default: its only one)")
    parser.add_argument("--channels", nargs="+", help="compare these channels only (default: all the JSON holds)")
    parser.add_argument("--group-by", choices=["speaker", "file"], default="speaker")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    try:
        results = json.loads(args.compare_json.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: cannot read {args.compare_json}: {exc}")
    if args.set_name is None and len(results) != 1:
        raise SystemExit(f"error: the file holds several sets ({', '.join(results)}); choose one with --set")
    set_name = args.set_name or next(iter(results))
    if set_name not in results:
        raise SystemExit(f"error: no set {set_name!r} in {args.compare_json} (it has {', '.join(results)})")
    scored = results[set_name]
    models = scored["models"]
    if args.baseline not in models:
        raise SystemExit(f"error: no detector {args.baseline!r} in {args.compare_json} (it has {', '.join(models)})")
    is_fake = np.array(scored["is_synthetic"], dtype=bool)
    groups = [str(Path(p).parent) for p in scored["paths"]] if args.group_by == "speaker" else None

    held = list(models[args.baseline]["channels"])
    missing = sorted(set(args.channels or []) - set(held))
    if missing:
        raise SystemExit(f"error: no channel {', '.join(missing)} in {args.compare_json} (it has {', '.join(held)})")

    def scores(name: str) -> dict[str, np.ndarray]:
        return {ch: np.array(entry["p_synthetic"]) for ch, entry in models[name]["channels"].items() if ch in (args.channels or held)}

    report = {}
    print(f"{set_name}: {len(is_fake)} files ({int(is_fake.sum())} synthetic), {args.draws} paired draws grouped by {args.group_by}; EER(model) - EER({args.baseline}), points [95 % interval]")
    for name in models:
        if name == args.baseline:
            continue
        differences = paired_eer_difference(scores(args.baseline), scores(name), is_fake, groups, draws=args.draws)
        report[name] = {ch: d.as_dict() for ch, d in differences.items()}
        print(f"{name}: " + ", ".join(f"{ch} {d.points:+.2f} [{d.low:+.2f}, {d.high:+.2f}]" for ch, d in differences.items()))
    if args.json:
        args.json.write_text(json.dumps({"set": set_name, "baseline": args.baseline, "group_by": args.group_by, "draws": args.draws, "models": report}, indent=2))


if __name__ == "__main__":
    main()
