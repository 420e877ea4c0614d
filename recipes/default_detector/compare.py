"""Compare detectors exactly as users get them: `Detector.score` on every whole file, in 4 channels.

    python recipes/default_detector/compare.py [--models default fast PATH ...] [--sets validation calibration report] [--precisions fp32 bf16]

Each set of run.py's split (validation: training sources, unseen speakers; calibration and report: held-out
generators and speakers, config.toml; choose on the first two, report the third) is scored file by file with the sliding window,
calibration and verdicts of `voxtwin detect score`, as recorded and through Opus 16 kbps, MP3 64 kbps and an 8 kHz
telephone band (`--channels` adds `deepfilternet3`: laundering through a speech enhancer, voxtwin/speech_enhancement.py;
voxtwin/codec.py's CHECK_CHANNELS, Opus 32 kbps and AAC 48 kbps; and voxtwin/acoustic_conditions.py's recording conditions,
pink noise at 15 dB SNR and a room of RT60 0.5 s).
Prints EER, expected calibration error, the share of each class (synthetic, real) in each verdict (`synthetic`,
`uncertain`, `real`), and the scoring speed; writes runs/default_detector/compare.json. `--priors 0.3 0.1` adds the
verdict shares each detector would give under those synthetic priors (`voxtwin detect score --synthetic-prior`),
restated from the same scores by Bayes' rule. Each channel also gets the EER of each fake source against all the set's
real files (`per_source_eer_percent`). Files through a codec channel are scored with that codec named (`Detector.score(...,
codec=)`), as a user's .opus or .mp3 file names it, so a detector with a calibration per channel uses it; the telephone
band is left for the detector to find (flag `narrow_band`). `--as-wav opus_16k mp3_64k` also scores those channels with
no codec named (CHANNEL_as_wav), as a message decoded and saved as WAV arrives: a detector with a codec finder
(detect/codec_finder.py) has to find the codec in the signal (flag `codec_traces`). `--at-rates 48000 22050` also scores
each file as recorded but upsampled and handed over at that rate (clean_at_48k, clean_at_22k05), as a user's 48 kHz
recording arrives: the detector's loader resamples it back, and a detector that reads the band edge sees it move.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from detect.calibration import at_prior, expected_calibration_error
from detect.data import INT16_SCALE, WaveformCache, load_trials
from detect.detector import Detector, Result, verdict_for
from detect.paired_bootstrap import eer_points
from detect.recipes import load_recipe
from detect.splits import stable_fraction, validation_split
from detect.train import default_cache_dir
from voxtwin.acoustic_conditions import CONDITIONS
from voxtwin.audio import resample
from voxtwin.codec import CHANNELS, CHECK_CHANNELS, LAUNDERING
from voxtwin.precision import PRECISIONS
from run import HERE, channel, recipe_trials, split_trials  # noqa: I001  (this folder's run.py)
from verdict_shares import headline_shares, verdict_shares


def subset(trials: list, max_per_class: int) -> list:
    """At most max_per_class real and as many synthetic files, picked by a stable hash of the path (0: all)."""
    if not max_per_class:
        return trials
    ranked = sorted(trials, key=lambda t: stable_fraction(str(t.path), "compare-subset"))
    return [t for t in ranked if t.is_spoof][:max_per_class] + [t for t in ranked if not t.is_spoof][:max_per_class]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["default", "fast"])
    parser.add_argument("--sets", nargs="+", default=["report"], choices=["validation", "calibration", "report"])
    parser.add_argument("--channels", nargs="+", default=list(CHANNELS), choices=[*CHANNELS, *CHECK_CHANNELS, *LAUNDERING, *CONDITIONS])
    parser.add_argument("--as-wav", nargs="*", default=[], choices=[c for c in [*CHANNELS, *CHECK_CHANNELS] if codec_of(c)],
                        help="also score these codec channels with no codec named (reported as CHANNEL_as_wav): a decoded message saved as WAV")
    parser.add_argument("--at-rates", nargs="*", type=int, default=[],
                        help="also score each file as recorded but handed over at these sample rates (reported as clean_at_48k, ...): "
                             "upsampled, so the detector's loader resamples it back as it does a user's 44.1/48 kHz recording")
    parser.add_argument("--max-per-class", type=int, default=0, help="score at most this many real and synthetic files per set (0: all)")
    # default: $VOXTWIN_PRECISION, else auto (until 2026-12-05 the default was "auto", which overrode the variable)
    parser.add_argument("--precisions", nargs="+", default=[None], choices=list(PRECISIONS),
                        help="the default detector's CNN precision(s) (voxtwin/precision.py; default: $VOXTWIN_PRECISION, else auto)")
    parser.add_argument("--priors", nargs="*", type=float, default=[], help="also report verdict shares under these synthetic priors (0-1 exclusive)")
    parser.add_argument("--out", default="runs/default_detector/compare.json")
    args = parser.parse_args()
    if any(not 0 < prior < 1 for prior in args.priors):
        parser.error("--priors: each must be between 0 and 1 (exclusive)")
    if any(not 16_000 < rate <= 192_000 for rate in args.at_rates):
        parser.error("--at-rates: each must be above 16000 and at most 192000 Hz")
    config = load_recipe(str(HERE / "config.toml"), [])
    train, calibration, report = split_trials(recipe_trials(config), config["calibration_sources"], config["report_sources"])
    splits = {"validation": validation_split(train)[1], "calibration": calibration, "report": report}
    # with several --precisions each detector is scored in each it resolves to (named MODEL/PRECISION), side by side;
    # one without a CNN (fast) resolves to fp32 only and is scored once
    detectors: dict[str, Detector] = {}
    for name in args.models:
        for precision in args.precisions:
            detector = Detector.load(name, device="cpu", precision=precision)
            detectors.setdefault(name if len(args.precisions) == 1 else f"{name}/{detector.precision}", detector)
    results: dict = {}
    for set_name in args.sets:
        kept, waves = load_trials(subset(splits[set_name], args.max_per_class), WaveformCache(default_cache_dir("")), description=f"{set_name} audio")
        fake = np.array([t.is_spoof for t in kept])
        sources = np.array([t.source for t in kept])
        audio_s = sum(len(w) for w in waves) / 16_000
        results[set_name] = {"n_files": len(kept), "n_fake": int(fake.sum()), "audio_s": audio_s,
                             "paths": [str(t.path) for t in kept], "is_synthetic": fake.astype(int).tolist(),
                             "models": {name: {"detector": d.name, "channels": {}} for name, d in detectors.items()}}
        # (reported name, channel, the codec named to the detector, the rate the signal is handed over at)
        scored = ([(ch, ch, codec_of(ch), 16_000) for ch in args.channels] + [(f"{ch}_as_wav", ch, None, 16_000) for ch in args.as_wav]
                  + [(f"clean_at_{rate_name(rate)}", "clean", None, rate) for rate in args.at_rates])
        through: dict[str, list[np.ndarray]] = {}  # each channel's signals, made once for every detector and both namings
        for key, ch, codec, rate in scored:
            if ch not in through:
                through[ch] = [np.clip(channel(w.astype(np.float32) / INT16_SCALE, ch), -1, 1) for w in waves]
            signals = through[ch] if rate == 16_000 else [resample(s, 16_000, rate) for s in through[ch]]
            for name, detector in detectors.items():
                started = time.perf_counter()
                out = [detector.score(s, rate, path=t.path.name, codec=codec) for s, t in zip(signals, kept)]
                seconds = time.perf_counter() - started
                p = np.array([r.p_synthetic if r.p_synthetic is not None else 0.5 for r in out])
                verdicts = np.array([r.verdict for r in out])
                entry = results[set_name]["models"][name]["channels"][key] = {
                    "eer_percent": eer_points(p, fake),
                    "ece": expected_calibration_error(p, fake),
                    **headline_shares(verdicts, fake),
                    "x_real_time_one_file_at_a_time": audio_s / seconds,
                    # every verdict's share of each class: what a user sees, which EER does not show
                    "verdict_percent": verdict_shares(verdicts, fake),
                    # each fake source against all the set's real files: the "no source worse than 35 %"
                    "per_source_eer_percent": {s: eer_points(p[~fake | (sources == s)], fake[~fake | (sources == s)]) for s in sorted(set(sources[fake]))},
                }
                print(set_name, name, key, json.dumps({k: round(v, 3) for k, v in entry.items() if not isinstance(v, dict)}), json.dumps(entry["verdict_percent"]), flush=True)
                print(set_name, name, key, "EER % per fake source:", json.dumps({k: round(v, 1) for k, v in entry["per_source_eer_percent"].items()}), flush=True)
                if args.priors:
                    entry["verdict_percent_by_prior"] = {}
                    for prior in args.priors:
                        moved = np.array([verdict_at_prior(r, prior, detector.calibration.synthetic_prior) for r in out])
                        shares = entry["verdict_percent_by_prior"][str(prior)] = verdict_shares(moved, fake)
                        print(set_name, name, key, f"prior {prior}", json.dumps(shares), flush=True)
                entry["p_synthetic"] = [round(float(x), 5) for x in p]  # per file, in the order of "paths"
                entry["flags"] = [r.flags for r in out]  # per file: too_short and no_speech force `uncertain`; narrow_band
        for name, entry in results[set_name]["models"].items():
            # over the reported channels (CHANNELS) scored; check channels and laundering only when none of those was
            reported = [ch for ch in entry["channels"] if ch in CHANNELS] or list(entry["channels"])
            entry["mean_eer_percent"] = float(np.mean([entry["channels"][ch]["eer_percent"] for ch in reported]))
            print(set_name, name, f"mean EER over {', '.join(reported)}", round(entry["mean_eer_percent"], 2), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


def rate_name(rate: int) -> str:
    """48000 -> "48k", 22050 -> "22k05": how a sample rate is written in a channel's reported name."""
    return f"{rate // 1000}k" + (f"{rate % 1000:03d}".rstrip("0") if rate % 1000 else "")


def codec_of(channel_name: str) -> str | None:
    """The codec a file through this channel would declare in its container (as a user's .opus or .mp3 message does),
    which picks the detector's calibration for that channel; None for PCM channels (the telephone band is detected)."""
    spec = {**CHANNELS, **CHECK_CHANNELS}.get(channel_name)
    return spec[0] if isinstance(spec, tuple) else None


def verdict_at_prior(result: Result, prior: float, from_prior: float) -> str:
    """The verdict `result` would have had under another synthetic prior (flags and the watermark decide as before)."""
    if result.p_synthetic is None or "voxtwin_watermark" in result.flags:
        return result.verdict
    return verdict_for(float(at_prior(result.p_synthetic, prior, from_prior=from_prior)), result.flags)


if __name__ == "__main__":
    torch.set_num_threads(max(1, torch.get_num_threads()))
    main()
