"""Distil DistillMOS's CNN into the narrower StudentCNN that `default` reads (since 2026.12-7; 2026.12-8 reads it through two heads).

The student is trained only on the recipe's training files (the same split as run.py: the calibration and report
sources and their real speakers never reach it), with the teacher's frames as targets (no labels), so that a head
fitted on its frames can be judged on the calibration and report sets exactly as the other detectors are.

    python recipes/default_detector/distill_frontend.py --out runs/default_detector/student [--steps 1500] [--device cuda]
    python recipes/default_detector/distill_frontend.py --out runs/default_detector/student --export detect/weights/student_cnn.safetensors
    python recipes/default_detector/distill_frontend.py --out runs/default_detector/student-loso --loso-safe   # for recipes/detector_v2
--loso-safe trains on the real-only corpora and make_data.py's own speech alone, so that no page of ../shared/data
holding synthetic speech reaches the student and every leave-one-source-out fold of recipes/detector_v2/ stays
unseen by it (it still hears, without labels, the real-only corpora that are folds there too).
--teacher tuned copies `default`'s CNN as shipped (its last convolution fine-tuned by tune_last_block.py) instead of
the published one; --widths sets the student's six layers (the earlier student: 32 32 64 96 128 256).
Resumes from OUT/student_last.pt; --export writes the fp16 safetensors the detector loads (with the run's history).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from detect.data import WaveformCache, load_trials
from detect.frontend_distillation import DistillationSettings, distill
from detect.models.distillmos_linear import build_encoder, distillmos_weights, weights_sha256
from detect.models.student_cnn import StudentCNN, save_student
from detect.paired_sources import sources_with_synthetic
from detect.recipes import load_recipe
from detect.splits import validation_split
from detect.train import default_cache_dir
from run import HERE, front_end_run_arguments, own_generated_sources, recipe_trials, split_trials  # noqa: I001  (this folder's run.py)


def export(run: Path, target: Path) -> None:
    state = torch.load(run / "student_last.pt", map_location="cpu", weights_only=True)
    student = StudentCNN(tuple(state["widths"]))
    student.load_state_dict(state["student"])
    settings = json.loads((run / "settings.json").read_text()) if (run / "settings.json").is_file() else {}
    teacher = {"teacher": settings["teacher"]} if "teacher" in settings else {}  # older runs did not record it
    if teacher.get("teacher") == "tuned":
        from detect.models.tuned_last_block import last_block_sha256

        teacher["teacher_last_block_sha256"] = last_block_sha256()
    metadata = {"teacher_sha256": weights_sha256(distillmos_weights()), **teacher, "step": state["step"], "settings": state["settings"],
                "history": state["history"], "recipe": "recipes/default_detector/distill_frontend.py"}
    save_student(student, target, metadata=metadata)
    print(f"wrote {target} (step {state['step']}, valid explained variance {state['history'][-1]['valid_explained_variance']:.4f})")


def teacher_cnn(which: str):
    """The CNN the student copies: the published one, or `default`'s (2026.12-6) with its tuned last convolution."""
    encoder = build_encoder(pretrained=True)
    if which == "tuned":
        from detect.models.tuned_last_block import load_last_block, put_last_block

        put_last_block(encoder, load_last_block())
    return encoder.eval()


def without_spoof_bearing_pages(trials: list, own: set[str]) -> list:
    """`trials` without any file of a ../shared/data source that holds synthetic speech (its real half included);
    `own`: the project's generated sources, which stay."""
    spoof_bearing = sources_with_synthetic([t.is_spoof for t in trials], [t.source for t in trials]) - set(own)
    return [t for t in trials if t.source not in spoof_bearing]


def refuse_another_teacher(run: Path, teacher: str) -> None:
    """A run resumes only under the teacher it began with: settings.json (and so the export) would otherwise name the
    later one for a student that copied both. Runs from before "teacher" was recorded had the published CNN."""
    settings = run / "settings.json"
    if (run / "student_last.pt").is_file() and settings.is_file():
        began = json.loads(settings.read_text()).get("teacher", "published")
        if began != teacher:
            raise SystemExit(f"error: {run} began with --teacher {began}; resume it with that teacher, or start another --out")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, history)")
    parser.add_argument("--steps", type=int, default=DistillationSettings.steps)
    parser.add_argument("--batch-size", type=int, default=DistillationSettings.batch_size)
    parser.add_argument("--widths", type=int, nargs=6, default=list(DistillationSettings.widths), metavar="C",
                        help="the student's channels per convolution (the teacher's: 64 64 128 256 256 256)")
    parser.add_argument("--teacher", choices=("published", "tuned"), default="published",
                        help="DistillMOS's CNN as published, or with `default`'s fine-tuned last convolution (detect/weights/distillmos_last_block.safetensors)")
    parser.add_argument("--loso-safe", action="store_true", help="train only on real-only corpora and make_data.py's speech (see above)")
    args = front_end_run_arguments(parser, export, exported="student")
    if args is None:
        return
    refuse_another_teacher(args.out, args.teacher)  # before any audio is read
    config = load_recipe(str(HERE / "config.toml"), args.overrides)
    trials = recipe_trials(config)
    train_trials, _, _ = split_trials(trials, config["calibration_sources"], config["report_sources"])
    if args.loso_safe:
        train_trials = without_spoof_bearing_pages(train_trials, own_generated_sources(trials, config))
    fit, valid = validation_split(train_trials)
    cache = WaveformCache(default_cache_dir())
    _, fit_waves = load_trials(fit, cache, description="Training audio")
    _, valid_waves = load_trials(valid, cache, description="Validation audio")
    settings = DistillationSettings(steps=args.steps, batch_size=args.batch_size, widths=tuple(args.widths))
    (args.out / "settings.json").parent.mkdir(parents=True, exist_ok=True)
    (args.out / "settings.json").write_text(json.dumps({"files": len(fit_waves), "valid_files": len(valid_waves), "teacher": args.teacher} | {k: str(v) for k, v in vars(settings).items()}, indent=2))
    distill(teacher_cnn(args.teacher), fit_waves, valid_waves, args.out, settings, device=args.device)


if __name__ == "__main__":
    main()
