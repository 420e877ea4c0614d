"""Do the detectors catch voxtwin's own clones of speakers they never saw, without accusing those speakers' real speech?

    python recipes/default_detector/clone_check.py [--models default fast PATH ...] [--n-clones 40] [--backend vox-vc|knn-world] [--weights W.safetensors] [--no-refiner] [--speak [--postfilter-gain G]]

--speak makes the clones with `voice.speak` (hibari's voice read into the target's voice by vox-vc, as `voxtwin voice
speak` does) from sentences that are not in make_data.py's, instead of converting the held-out utterances.

Takes real utterances of the held-out speakers (the calibration and report pools of run.py's split), converts each
into another held-out speaker's voice with `voice.convert` (`--backend`: the trained converter vox-vc, today's
default, or knn-world at timbre 0.5 or 1.0, like make_data.py; no watermark, so only the model can tell), and scores the clones and every real file of the target speakers with
`Detector.score`. make_data.py's training clones were drawn from all real speakers, so speakers whose voice a
training clone has, and utterances a training clone was made from, are left out here. Prints and writes (runs/default_detector/clone_check.json) per detector: the share of clones and of
real files at p_synthetic >= 0.8 (`synthetic`), and the EER between them.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

import voice
from detect import metrics
from detect.datasets import read_dataset
from detect.detector import SYNTHETIC_THRESHOLD, Detector
from detect.recipes import load_recipe
from run import HERE, split_trials  # noqa: I001  (this folder's run.py)
from voice.enrollment import EnrollmentError
from voxtwin import audio

MAX_SOURCE_S = 10
SPEAK_SENTENCES = [  # not in sentences.txt, which make_data.py's training clones read
    "The library closes early on Sundays, so bring the books back before four.",
    "My phone battery died, please text my sister instead of calling me.",
    "They said the flight was delayed again because of the storm in Denver.",
    "Remember to water the tomatoes while we are away next week.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["default", "fast"], help="shipped detector names or checkpoints")
    parser.add_argument("--n-clones", type=int, default=40)
    parser.add_argument("--backend", default="vox-vc", choices=["vox-vc", "knn-world"])
    parser.add_argument("--out", default=None, help="default: runs/default_detector/clone_check[_BACKEND].json")
    parser.add_argument("--weights", type=Path, help="vox-vc weights whose clones to check (default: the shipped ones), e.g. a candidate from recipes/voice_converter/")
    parser.add_argument("--no-refiner", action="store_true", help="vox-vc's conversions without its mel refiner (2026.12-4's path)")
    parser.add_argument("--speak", action="store_true", help="clones by `voice.speak` (hibari + vox-vc) instead of `voice.convert`")
    parser.add_argument("--postfilter-gain", type=float, help="with --speak: vox-vc's postfilter gain (default: speak's shipped one)")
    args = parser.parse_args()
    if (args.weights or args.speak or args.no_refiner) and args.backend != "vox-vc":
        parser.error("--weights, --no-refiner and --speak need --backend vox-vc")
    if args.postfilter_gain is not None and not args.speak:
        parser.error("--postfilter-gain needs --speak")
    from voice.backends import load_convert_backend, load_speak_backend

    config = load_recipe(str(HERE / "config.toml"), [])
    _, calibration, report = split_trials(read_dataset("manifest", config["root"], "all"), config["calibration_sources"], config["report_sources"])
    cloned_voices, cloned_paths = _training_clones(Path(config["generated"]))
    vox_vc = ({"weights": args.weights} if args.weights else {}) | ({"refiner": None} if args.no_refiner else {})
    if args.speak:
        gain = {"postfilter_gain": args.postfilter_gain} if args.postfilter_gain is not None else {}
        speaker, backends = load_speak_backend("vox-vc", device="cpu", **vox_vc, **gain), []
    elif args.backend == "knn-world":
        speaker, backends = None, [load_convert_backend(args.backend, timbre=t, device="cpu") for t in (0.5, 1.0)]
    else:
        speaker, backends = None, [load_convert_backend("vox-vc", device="cpu", **vox_vc)] * 2
    real = [t for t in calibration + report if not t.is_spoof and t.source != "fsdd" and t.speaker not in cloned_voices and t.path.stem not in cloned_paths]
    random.Random(0).shuffle(real)
    clones, targets = [], set()
    for i, trial in enumerate(real):
        if len(clones) >= args.n_clones:
            break
        reference = next((r for r in real[i + 1 :] + real[:i] if r.speaker != trial.speaker), None)
        try:
            profile = voice.enroll([reference.path], no_consent_reason="detector evaluation")
        except EnrollmentError:
            continue
        if speaker is not None:
            clones.append(voice.speak(SPEAK_SENTENCES[i % len(SPEAK_SENTENCES)], profile, backend=speaker))
        else:
            wav, rate = audio.load(trial.path)
            clones.append(voice.convert(wav[: MAX_SOURCE_S * rate], profile, sample_rate=rate, backend=backends[i % 2]))
        targets.add(reference.speaker)
    real_waves = [audio.load(t.path) for t in real if t.speaker in targets]
    print(f"{len(clones)} clones of {len(targets)} held-out speakers; {len(real_waves)} real files of those speakers")
    results = {}
    for name in args.models:
        detector = Detector.load(name, device="cpu")
        p_clone = np.nan_to_num(np.array([detector.score(w, r).p_synthetic for w, r in clones], dtype=float), nan=0.5)
        p_real = np.nan_to_num(np.array([detector.score(w, r).p_synthetic for w, r in real_waves], dtype=float), nan=0.5)
        results[name] = {
            "detector": detector.name,
            "clones_called_synthetic_percent": 100 * float(np.mean(p_clone >= SYNTHETIC_THRESHOLD)),
            "real_called_synthetic_percent": 100 * float(np.mean(p_real >= SYNTHETIC_THRESHOLD)),
            "eer_percent": 100 * metrics.eer(-p_real, -p_clone)[0],
        }
        print(name, json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in results[name].items()}))
    args.out = args.out or f"runs/default_detector/clone_check_{args.backend}{'_speak' if args.speak else ''}{f'_gain{args.postfilter_gain}' if args.postfilter_gain is not None else ''}.json"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


def _training_clones(generated: Path) -> tuple[set[str], str]:
    """(speakers whose voice a training clone has, the training clones' file names joined) from make_data.py's manifest."""
    manifest = generated / "manifest.csv"
    if not manifest.is_file():  # without it the check could convert speakers and utterances the detectors trained on
        raise SystemExit(f"error: {manifest}: no make_data.py manifest, so the training clones' speakers cannot be left out; "
                         "run python recipes/default_detector/make_data.py first")
    rows = [r for r in read_dataset("manifest", generated, "all") if r.source == "voxtwin_clone"]
    return {r.speaker for r in rows}, " ".join(r.path.stem for r in rows)


if __name__ == "__main__":
    main()
