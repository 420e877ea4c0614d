"""A calibration per channel and the synthetic prior: can real messages come out `real` without retraining?

    python recipes/default_detector/compare.py --models default --sets calibration report --channels clean opus_16k mp3_64k telephone_8k opus_32k aac_48k --out runs/default_detector/compare-c1.json
    python recipes/default_detector/channel_calibration.py runs/default_detector/compare-c1.json [--write]

The detector's scores shift with the channel for real and synthetic speech alike (real Opus and telephone messages
look more synthetic than real clean ones), so one map from score to p_synthetic leaves most real messages
`uncertain`. From compare.py's per-file p_synthetic (which restate each file's mean window score under the model's
calibration), this fits, on the calibration set only:
- `single`: the checkpoint's own map (what ships), and `single refit`: one Platt map refitted on these clean scores;
- `per channel`: one Platt map per channel (clean, opus, mp3, telephone: detect/calibration.py CALIBRATION_CHANNELS), each on the
  calibration set through that channel. A file gets the map of the channel the detector finds for it: `telephone`
  when its band above 4 kHz is missing (flag `narrow_band`, never told), else its container's codec (compare.py names
  it, as a user's .opus or .mp3 file does; AAC takes MP3's map).
For each candidate the prior is the largest of PRIORS at which >= 60 % of the calibration set's real files are called
`real` in every channel; then every verdict's share of each class, per channel, on both sets (the report set is
read only for the table). `--write` stores the per-channel maps and that prior (or `--prior`'s) in the model's JSON file
(detect/weights/default.json), which `voxtwin detect score` then uses.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from detect.calibration import Calibration, calibration_channel, fit_platt
from detect.detector import shipped_or_path, verdict_for
from detect.paired_bootstrap import eer_points
from compare import codec_of  # noqa: I001  (this folder's compare.py)
from verdict_shares import verdict_shares

PRIORS = (0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1)
REAL_CALLED_REAL = 60.0  # percent of the calibration set's real files, in every channel, that the prior must reach
CHANNELS = ("clean", "opus_16k", "mp3_64k", "telephone_8k")  # those the choice reads; check channels are reported only


def bonafide_scores(p_synthetic: np.ndarray, shipped: Calibration) -> np.ndarray:
    """Each file's mean window score (bona fide log-odds), recovered from its p_synthetic under the shipped map: the
    map is affine in the score, so the mean of the windows' calibrated log-odds is the map of their mean score."""
    p = np.clip(p_synthetic, 1e-6, 1 - 1e-6)
    z = np.log(p / (1 - p)) - np.log(shipped.synthetic_prior / (1 - shipped.synthetic_prior))
    return (shipped.intercept - z) / shipped.slope


def channel_of_file(channel_name: str, flags: list[str]) -> str:
    """The calibration channel the detector picks for one file of compare.py's channel (detect/calibration.py)."""
    return calibration_channel(codec_of(channel_name), narrow_band="narrow_band" in flags)


def verdicts(scores: np.ndarray, flags: list, maps: dict[str, Calibration], channel_name: str, prior: float) -> np.ndarray:
    """Each file's verdict under the map of the channel the detector picks for it (else the clean map), at `prior`."""
    at = {name: dataclasses.replace(m, synthetic_prior=prior) for name, m in maps.items()}
    return np.array([verdict_for(float(at.get(channel_of_file(channel_name, f), at["clean"]).p_synthetic(score)), f) for score, f in zip(scores, flags)])


FITTED_ON = {"clean": "clean", "opus": "opus_16k", "mp3": "mp3_64k", "telephone": "telephone_8k"}  # map -> compare.py channel


def fit_on(entry: dict, channel_name: str) -> Calibration:
    """A Platt map fitted on one channel's file scores of one set (files without speech left out)."""
    ch = entry["channels"][channel_name]
    usable = np.array(["no_speech" not in f for f in ch["flags"]])
    return fit_platt(ch["scores"][usable], entry["fake"][usable])


def fit_maps(entry: dict, shipped: Calibration) -> dict[str, dict[str, Calibration]]:
    """The candidates' maps, fitted on one set's (the calibration set's) scores."""
    per_channel = {name: fit_on(entry, channel_name) for name, channel_name in FITTED_ON.items()}
    return {"single": {"clean": shipped}, "single refit": {"clean": per_channel["clean"]}, "per channel": per_channel}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("compare_json", help="compare.py's output with the calibration and report sets and the four channels")
    parser.add_argument("--model", default="default", help="the detector compare.py scored (its shipped map is read from it)")
    parser.add_argument("--write", action="store_true", help="store the per-channel maps and their prior in the model's JSON file")
    parser.add_argument("--prior", type=float, help="with --write: store this synthetic prior instead of the chosen one (e.g. 0.5, the shipped detectors')")
    parser.add_argument("--out", default="runs/default_detector/channel_calibration.json")
    args = parser.parse_args()
    if args.prior is not None and (not args.write or not 0 < args.prior < 1):
        parser.error("--prior P (0 < P < 1) is the prior --write stores: use it with --write")
    try:
        results = json.loads(Path(args.compare_json).read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: {args.compare_json}: cannot read compare.py's JSON ({exc.__class__.__name__}: {exc})") from None
    missing = [f"{s}/{c}" for s in ("calibration", "report") for c in CHANNELS
               if c not in results.get(s, {}).get("models", {}).get(args.model, {}).get("channels", {})]
    if missing:
        raise SystemExit(f"error: {args.compare_json} lacks {', '.join(missing)} for {args.model} (run compare.py as in this script's help)")
    if any("flags" not in results[s]["models"][args.model]["channels"][c] for s in ("calibration", "report") for c in CHANNELS):
        raise SystemExit(f"error: {args.compare_json} has no per-file flags (made before 2026-12-05 20:55): run compare.py again")
    path = shipped_or_path(args.model).with_suffix(".json")
    meta = json.loads(path.read_text())
    shipped = Calibration(**meta["scoring"]["calibration"])
    # channels whose map this script can tell from the channel's name (not compare.py's --as-wav ones: the detector's finder
    # picks theirs; nor its --at-rates ones, the clean channel handed over at another rate)
    sets = {name: {**results[name], "channels": {c: v for c, v in results[name]["models"][args.model]["channels"].items()
                                                 if not c.endswith("_as_wav") and "_at_" not in c},
                   "fake": np.array(results[name]["is_synthetic"], dtype=bool)} for name in ("calibration", "report")}
    for data in sets.values():  # every file's mean window score, recovered once
        for ch in data["channels"].values():
            ch["scores"] = bonafide_scores(np.array(ch["p_synthetic"]), shipped)
    candidates = fit_maps(sets["calibration"], shipped)

    report: dict = {"model": args.model, "maps": {k: {c: m.to_dict() for c, m in v.items()} for k, v in candidates.items()}, "candidates": {}}
    for name, maps in candidates.items():
        chosen_prior, table = None, {}
        calib = sets["calibration"]
        for prior in PRIORS:
            real_real = [verdict_shares(verdicts(calib["channels"][c]["scores"], calib["channels"][c]["flags"], maps, c, prior), calib["fake"])["real"]["real"]
                         for c in CHANNELS]
            if min(real_real) >= REAL_CALLED_REAL:
                chosen_prior = prior
                break
        for prior in sorted({0.5, chosen_prior or PRIORS[-1]}, reverse=True):
            for set_name, data in sets.items():
                for c, ch in data["channels"].items():
                    table[f"{set_name} {c} prior {prior}"] = verdict_shares(verdicts(ch["scores"], ch["flags"], maps, c, prior), data["fake"])
        report["candidates"][name] = {"prior": chosen_prior, "verdict_percent": table}
        print(f"\n== {name}: prior {chosen_prior} (largest with >= {REAL_CALLED_REAL:.0f} % of the calibration set's real files `real` in every channel; None: not reached at {PRIORS[-1]})")
        print(f"{'set channel prior':42s} real: real / unc / syn   fake: real / unc / syn")
        for key, value in table.items():
            r, f = value["real"], value["synthetic"]
            print(f"{key:42s} {r['real']:5.1f} {r['uncertain']:5.1f} {r['synthetic']:5.1f}        {f['real']:5.1f} {f['uncertain']:5.1f} {f['synthetic']:5.1f}")

    # how often the detector finds the telephone band: files of every other channel it should not flag, telephone files it should
    report["narrow_band_percent"] = {}
    for set_name, data in sets.items():
        for c in data["channels"]:
            flagged = [("narrow_band" in f) for f in data["channels"][c]["flags"]]
            report["narrow_band_percent"][f"{set_name} {c}"] = round(100 * float(np.mean(flagged)), 1)
    print("\nflag narrow_band, % of files:", json.dumps(report["narrow_band_percent"]))
    for set_name, data in sets.items():
        print(f"{set_name} EER % (unchanged by any map): " + ", ".join(f"{c} {eer_points(np.array(ch['p_synthetic']), data['fake']):.1f}" for c, ch in data["channels"].items()))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    if args.write:
        prior = args.prior if args.prior is not None else report["candidates"]["per channel"]["prior"]
        if prior is None:
            raise SystemExit("error: no prior reached the real-called-real share on the calibration set; nothing written")
        maps = candidates["per channel"]
        meta["scoring"]["calibration"] = Calibration(maps["clean"].slope, maps["clean"].intercept, prior).to_dict()
        meta["scoring"]["calibration_by_channel"] = {c: {"slope": m.slope, "intercept": m.intercept} for c, m in maps.items() if c != "clean"}
        meta["scoring"]["calibration_fitted_on"] = "calibration set, per channel, file scores of Detector.score (recipes/default_detector/channel_calibration.py)"
        path.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote the per-channel maps and synthetic_prior {prior} into {path}")


if __name__ == "__main__":
    main()
