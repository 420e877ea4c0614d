"""How much does a message's length matter? The same held-out recordings scored whole and as shorter excerpts.

    python recipes/default_detector/message_length.py [--model default] [--sets calibration report] [--excerpts-s 2 3 5]
        [--min-s 8] [--offset-s 0.5] [--json runs/default_detector/message_length.json]

Every file of the calibration and report sets (run.py's split of config.toml; held-out generators and speakers) that
is at least `--min-s` long is read as a user's file is (`Detector.score_file`, the original file, not compare.py's
standardised copy) and scored whole, then each excerpt length is cut from it at `--offset-s` and scored as a message
of that length (`Detector.score`). The same recordings at every length, so the EER and verdict shares differ only by
how much of each message the detector hears. Prints, per set and length, the EER (with each excerpt's difference from
the whole files and its 95 % interval, speakers drawn whole, 2,000 draws) and the share of real files called `real`
and of fakes called `synthetic` at the detector's prior.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from detect.detector import Detector
from detect.paired_bootstrap import eer_points, paired_eer_difference
from detect.recipes import load_recipe
from voxtwin import audio
from run import HERE, recipe_trials, split_trials  # noqa: I001  (this folder's run.py)
from verdict_shares import headline_shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--sets", nargs="+", default=["calibration", "report"], choices=["calibration", "report"])
    parser.add_argument("--excerpts-s", nargs="+", type=float, default=[2.0, 3.0, 5.0])
    parser.add_argument("--min-s", type=float, default=8.0, help="files shorter than this are left out (every length is cut from the same files)")
    parser.add_argument("--offset-s", type=float, default=0.5, help="where each excerpt starts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default="runs/default_detector/message_length.json")
    args = parser.parse_args()
    if any(x <= 0 for x in args.excerpts_s) or args.offset_s < 0 or args.min_s < args.offset_s + max(args.excerpts_s):
        parser.error("--excerpts-s must be positive and --min-s at least --offset-s plus the longest excerpt")
    torch.set_num_threads(args.threads)
    config = load_recipe(str(HERE / "config.toml"), [])
    _, calibration, report = split_trials(recipe_trials(config), config["calibration_sources"], config["report_sources"])
    detector = Detector.load(args.model, device="cpu")
    lengths = ["whole", *(f"{x:g} s" for x in args.excerpts_s)]
    results: dict = {"detector": detector.name, "precision": detector.precision, "min_s": args.min_s, "offset_s": args.offset_s, "sets": {}}
    for set_name in args.sets:
        trials = {"calibration": calibration, "report": report}[set_name]
        p, fake, verdicts, paths, speakers = {k: [] for k in lengths}, [], {k: [] for k in lengths}, [], []
        for trial in trials:
            wav, rate = audio.load(trial.path)
            if len(wav) < args.min_s * rate:
                continue
            scored = {"whole": detector.score_file(trial.path)}
            for length, seconds in zip(lengths[1:], args.excerpts_s):
                start = int(args.offset_s * rate)
                scored[length] = detector.score(wav[start : start + int(seconds * rate)], rate, path=trial.path.name)
            for length, result in scored.items():
                p[length].append(0.5 if result.p_synthetic is None else result.p_synthetic)
                verdicts[length].append(result.verdict)
            fake.append(trial.is_spoof)
            paths.append(str(trial.path))
            speakers.append(f"{trial.source}/{trial.speaker}")
        fake_arr = np.array(fake, dtype=bool)
        if fake_arr.all() or not fake_arr.any():
            print(f"{set_name}: fewer than one file of each class is at least {args.min_s:g} s long; skipped")
            continue
        entry = results["sets"][set_name] = {"n_real": int((~fake_arr).sum()), "n_fake": int(fake_arr.sum()), "paths": paths, "lengths": {}}
        print(f"{set_name}: {entry['n_real']} real and {entry['n_fake']} fake files of at least {args.min_s:g} s ({detector.name}, {detector.precision})")
        for length in lengths:
            scores = np.array(p[length])
            row = entry["lengths"][length] = {"eer_percent": eer_points(scores, fake_arr), **headline_shares(np.array(verdicts[length]), fake_arr),
                                              "p_synthetic": [round(float(x), 5) for x in scores]}
            against = ""
            if length != "whole":
                d = paired_eer_difference({"eer": np.array(p["whole"])}, {"eer": scores}, fake_arr, groups=speakers)["eer"]
                row["eer_minus_whole"] = {"points": d.points, "interval": [d.low, d.high]}
                against = f" ({d.points:+.1f} [{d.low:+.1f}, {d.high:+.1f}] against whole)"
            print(f"  {length:>6}: EER {row['eer_percent']:5.1f} %{against}   real called real {row['real_called_real_percent']:5.1f} %   "
                  f"fakes called synthetic {row['fake_called_synthetic_percent']:5.1f} %   real called synthetic {row['real_called_synthetic_percent']:4.1f} %")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
