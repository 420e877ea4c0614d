"""Why do short sources convert badly? Per-recording statistics against the same speaker's longer context.

`convert` normalises two things over the one source recording: Whisper's content frames (mean and spread per
channel) and log-F0 (z-scores: the recording's mean and spread, rescaled to the target's). For each conversion of a
benchmarks/clone.py run (its rows name source, target and utterance), this converts the source four ways, the
refiner's seed fixed, and judges each with DistillMOS: as shipped; log-F0 statistics from six other recordings of
the same source speaker; content statistics from them; both. Short and long sources are summarised apart.

    python benchmarks/clone.py --convert-only --json runs/clone.json
    python recipes/voice_converter/pitch_context_diagnosis.py runs/clone.json --json runs/short-source-diag.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from voice import judges
from voice.backends import VoxVc
from voice.converter.analysis import analyse, on_mel_grid, pitch_input, prepare
from voice.converter.backend import MIN_LOG_F0_STD
from voice.enrollment import enroll
from voxtwin import audio

HERE = Path(__file__).resolve().parent
CONTEXT_RECORDINGS = 6
SHORT_S = 2.0
WAYS = {"as_is": (False, False), "pitch_from_context": (True, False), "content_from_context": (False, True), "both_from_context": (True, True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clone_json", type=Path, help="a benchmarks/clone.py --json run (its convert rows)")
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    root = args.data / "vcc2016_ccganvc" / "evaluation_all"
    if not root.is_dir():
        raise SystemExit(f"error: {root} not found: the diagnosis converts VCC 2016 speech (--data DIR)")
    if not args.clone_json.is_file():
        raise SystemExit(f"error: {args.clone_json}: no such file (run benchmarks/clone.py --json first)")
    torch.set_num_threads(2)
    converter = VoxVc(device="cpu").converter
    load = lambda speaker, name: audio.load(root / speaker / name, 16_000)[0]  # noqa: E731
    out = []
    for row in json.loads(args.clone_json.read_text())["rows"]["convert"]:
        source, target, utterance = row["source"], row["target"], row["utterance"]
        wav = load(source, utterance)
        others = [p.name for p in sorted((root / source).glob("*.flac")) if p.name != utterance][:CONTEXT_RECORDINGS]
        context = [analyse(prepare(load(source, name)), with_mel=False, tracker=converter.pitch_tracker) for name in others]
        context_f0 = np.concatenate([u.log_f0[u.voiced] for u in context])
        context_content = np.concatenate([u.content for u in context])
        profile = enroll([load(target, sorted(p.name for p in (root / target).glob("*.flac"))[0])], sample_rate=16_000, no_consent_reason="diagnosis")
        utt = analyse(prepare(wav), with_mel=False, tracker=converter.pitch_tracker)
        n, voiced = len(utt.log_f0), utt.voiced
        result = {"source": source, "target": target, "utterance": utterance, "duration_s": round(len(wav) / 16_000, 3)}
        for way, (pitch_from_context, content_from_context) in WAYS.items():
            f0 = context_f0 if pitch_from_context else utt.log_f0[voiced]
            z = (utt.log_f0 - f0.mean()) / max(float(f0.std()), MIN_LOG_F0_STD)
            log_f0 = np.where(voiced, profile.frames.log_f0_mean + z * profile.frames.log_f0_std, 0.0).astype(np.float32)
            content = torch.from_numpy(on_mel_grid(utt.content, n))[None]
            if content_from_context:
                mean, spread = (torch.from_numpy(s)[None, :, None] for s in (context_content.mean(0), np.maximum(context_content.std(0), 1e-3)))
                content = ((content - mean) / spread).float()
            else:
                content = converter.model.normalize_content(content)
            mel = converter.generate(content, torch.from_numpy(pitch_input(log_f0, voiced))[None], profile.embedding, normalized=True)
            converted = audio.resample(converter.vocoder.mel_to_wav(mel), converter.sample_rate, 16_000)
            result[way] = round(judges.distill_mos(converted, 16_000), 3)
        out.append(result)
        print(json.dumps(result), flush=True)
    durations = np.array([r["duration_s"] for r in out])
    summary = {way: {"all": float(np.mean([r[way] for r in out])), f"under_{SHORT_S:g}_s": float(np.mean([r[way] for r, d in zip(out, durations) if d < SHORT_S] or [np.nan])),
                     "others": float(np.mean([r[way] for r, d in zip(out, durations) if d >= SHORT_S] or [np.nan]))} for way in WAYS}
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": out}, indent=1))


if __name__ == "__main__":
    main()
