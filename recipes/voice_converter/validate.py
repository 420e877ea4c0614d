"""Judge converter weights on the validation speakers (never trained on, and not the VCC 2016 benchmark's), the
way benchmarks/clone.py judges: one short recording of each validation speaker converted into the next one's
voice, scored by similarity to the target's own recording, WER against Whisper's transcript of the source's
HiFi-GAN copy, and DistillMOS. This is where stages, steps and the postfilter gain are chosen.

    python recipes/voice_converter/validate.py runs/voice_converter/model/adversarial-2000.safetensors \\
        runs/voice_converter/model/content-1000.safetensors [--gains 1.0 1.2] [--enhance] [--json out.json]
    python recipes/voice_converter/validate.py WEIGHTS --gains 1.2 --band-gains runs/voice_converter/bands.json

--band-gains tries per-band postfilter gains (band_variance.py --json) beside the uniform --gains.
--refiner R also judges each weights file followed by the flow-matching mel refiner R trained behind it
(train.py --refiner; before the postfilter, as TrainedConverter runs it), for conversions or, with --speak, speech.

--enhance also judges every conversion after DeepFilterNet3 (voxtwin/speech_enhancement.py): does an enhancer
after the vocoder make conversions sound more natural without losing the voice or the words?
--speak judges `speak` instead: each validation speaker is the target of hibari's voice reading three sentences
(not benchmarks/clone.py's), scored by similarity to the speaker's recording, WER against the sentence, DistillMOS;
this is where speak's own postfilter gain is chosen. --engine hibari piper compares readers (per target too, with the
target's mean F0: is a male reader better for male voices? It was not, voice/converter/MODEL_CARD.md).
--pitch world fcpe judges each pitch tracker (the source's contour and the target's mean and spread; FCPE's F0 is
computed from the recordings in --data, WORLD's is the cached one the weights were trained on).
"""

import argparse
import functools
import json
from pathlib import Path

import numpy as np
import torch

from voice import judges
from voice.converter.analysis import MEL_RATE_HZ, PITCH_TRACKERS, analyse, on_mel_grid, pitch, pitch_input, prepare
from voice.converter.backend import target_pitch
from voice.converter.corpus import real_recordings
from voice.converter.mel_refiner import load_refiner, refiner_frames
from voice.converter.postfilter import VARIANCE_GAIN, read_band_gains, restore_variance
from voice.converter.training import is_validation_speaker
from voice.converter.weights import load_weights
from voice.pretrained.store import sha256_of
from voice.tts import load_tts
from voice.vocoders import HiFiGAN
from voxtwin import audio
from voxtwin.errors import VoxtwinError
from voxtwin.speech_enhancement import enhance

HERE = Path(__file__).resolve().parent
MAX_FRAMES = 8 * 86  # recordings under ~8 s, one per speaker
SPEAK_SENTENCES = [  # for --speak; none of them is in benchmarks/clone.py, so a gain chosen here is not fitted to it
    "The train to the airport leaves every twenty minutes from platform four.",
    "Could you pick up some bread and a bottle of milk on your way home?",
    "We finally painted the kitchen a pale shade of green last weekend.",
]


def validation_recordings(cache: Path, share: float, *, every: bool = False) -> list[dict]:
    """Short recordings of the validation speakers, in cache order: the first of each speaker, or all of them."""
    chosen: list[dict] = []
    for path in sorted(cache.glob("*.npz")):
        with np.load(path) as z:
            speaker = str(z["speaker"])
            n = z["mel"].shape[1]
            if not is_validation_speaker(speaker, share) or (n >= MAX_FRAMES and not every):
                continue
            if every or speaker not in {c["speaker"] for c in chosen}:
                keep = min(n, MAX_FRAMES)  # longer recordings: their first 8 s (content frames cut in proportion)
                chosen.append({"key": path.stem, "speaker": speaker, "content": z["content"][: int(len(z["content"]) * keep / n)], "log_f0": z["log_f0"][:keep],
                               "voiced": z["voiced"][:keep], "mel": z["mel"][:, :keep], "d_vector": z["d_vector"]})
    return chosen


def judge(wav: np.ndarray, reference: np.ndarray, text: str) -> tuple[float, float, float]:
    """(similarity to the target's recording, WER against `text`, DistillMOS) of one 16 kHz output, as clone.py judges."""
    return (judges.speaker_similarity(wav, 16_000, reference, 16_000), judges.word_error_rate(judges.transcribe(wav, 16_000), text),
            judges.distill_mos(wav, 16_000))


def means(rows: list[tuple[float, float, float]]) -> dict[str, float]:
    return {key: float(np.mean([r[i] for r in rows])) for i, key in enumerate(("similarity", "wer", "distillmos"))}


def refiner_chains(args) -> tuple[dict, list[tuple[Path, tuple[Path, float] | None]]]:
    """The refiners of --refiner (loaded) and every chain to judge: each weights file alone, and behind it each
    refiner trained behind it at each --refiner-temperatures."""
    refiners, chains = {}, [(w, None) for w in args.weights]
    weights_sha256 = {w: sha256_of(w) for w in args.weights} if args.refiner else {}
    for path in args.refiner:
        try:
            refiners[path], info = load_refiner(path)
        except VoxtwinError as exc:
            raise SystemExit(f"error: {exc}")
        behind = [w for w in args.weights if info.get("generator_sha256") == weights_sha256[w]]
        if not behind:
            raise SystemExit(f"error: {path} was trained behind none of the weights given")
        chains += [(w, (path, temperature)) for w in behind for temperature in args.refiner_temperatures]
    return refiners, chains


def chain_mel(model, refining: tuple | None, inputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor], *, from_band: int = 0) -> torch.Tensor:
    """The generator's mel for (content, pitch, d-vector), then, when the chain has one, its refiner at its
    temperature (`refining` = (MelRefiner, temperature)), as TrainedConverter.mel runs them."""
    mel = model(*inputs)
    if refining is None:
        return mel
    refiner, temperature = refining
    content, pitch, d_vector = inputs
    return refiner.refine(mel, d_vector, refiner_frames(refiner, model, content, pitch), temperature=temperature, from_band=from_band)


def judge_speak(targets: list[dict], args) -> None:
    """A reader (hibari's voice, or args.engine) reads SPEAK_SENTENCES into each validation speaker's voice, for every
    weights x gain x reader; the per-target means (with the target's mean F0) go to the JSON too."""
    vocoder = HiFiGAN()
    to_16k = lambda mel: audio.resample(vocoder.mel_to_wav(mel), vocoder.sample_rate, 16_000)  # noqa: E731
    readers = {name: load_tts(name) for name in args.engine}
    read = {name: [analyse(prepare(audio.resample(r.synthesize(s), r.sample_rate, 16_000)), with_mel=False) for s in SPEAK_SENTENCES] for name, r in readers.items()}
    models = {w: load_weights(w)[0] for w in args.weights}
    refiners, chains = refiner_chains(args)
    runs = [(w, r, g, e) for w, r in chains for g in args.gains for e in args.engine]
    scores: dict[tuple, list] = {(*run, t): [] for run in runs for t in range(len(targets))}
    for t, target in enumerate(targets):
        reference = to_16k(torch.from_numpy(target["mel"])[None])
        target_f0 = target["log_f0"][target["voiced"] > 0]
        for engine, utterances in read.items():
            for sentence, utt in zip(SPEAK_SENTENCES, utterances):
                n = len(utt.log_f0)
                log_f0 = target_pitch(utt.log_f0, utt.voiced, mean=float(target_f0.mean()), std=float(target_f0.std()))
                inputs = (torch.from_numpy(on_mel_grid(utt.content, n))[None], torch.from_numpy(pitch_input(log_f0, utt.voiced))[None], torch.from_numpy(target["d_vector"])[None])
                for weights, refiner, gain in {(w, r, g) for w, r, g, e in runs if e == engine}:
                    with torch.inference_mode():
                        mel = chain_mel(models[weights], refiner and (refiners[refiner[0]], refiner[1]), inputs)
                        spoken = to_16k(restore_variance(mel, gain))
                    scores[(weights, refiner, gain, engine, t)].append(judge(spoken, reference, sentence))
    table = [{"weights": str(w), "refiner": str(r[0]) if r else None, "refiner_temperature": r[1] if r else None, "gain": g, "engine": e, "speak": True, **means(rows), "sentences": len(rows)}
             for w, r, g, e in runs for rows in [[x for t in range(len(targets)) for x in scores[(w, r, g, e, t)]]]]
    per_target = [{"weights": str(w), "refiner": str(r[0]) if r else None, "refiner_temperature": r[1] if r else None, "gain": g, "engine": e, "speaker": targets[t]["speaker"],
                   "f0_hz": float(np.exp(targets[t]["log_f0"][targets[t]["voiced"] > 0].mean())), **means(rows)}
                  for (w, r, g, e, t), rows in scores.items()]
    print(f"speak: {len(targets)} validation speakers x {len(SPEAK_SENTENCES)} sentences")
    print("| weights | refiner (temperature) | gain | reader | similarity | WER | DistillMOS |\n| --- | --- | --- | --- | --- | --- | --- |")
    for row in table:
        refined = f"{Path(row['refiner']).name} ({row['refiner_temperature']})" if row['refiner'] else "-"
        print(f"| {Path(row['weights']).name} | {refined} | {row['gain']} | {row['engine']} | {row['similarity']:.3f} | {100 * row['wer']:.1f} % | {row['distillmos']:.2f} |")
    print("per target: | speaker | F0 Hz | reader | similarity | WER | DistillMOS |")
    for row in per_target:
        refined = f", {Path(row['refiner']).name} ({row['refiner_temperature']})" if row['refiner'] else ""
        print(f"| {row['speaker']} | {row['f0_hz']:.0f} | {row['engine']} (gain {row['gain']}{refined}) | {row['similarity']:.3f} | {100 * row['wer']:.1f} % | {row['distillmos']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"table": table, "per_target": per_target}, indent=1))


def recording_audio(recording: dict, data: Path) -> np.ndarray:
    """The recording behind a cache entry, prepared and cut exactly as voice/converter/corpus.py's cache was."""
    manifest = data / "manifest.csv"
    if not manifest.is_file():
        raise SystemExit(f"error: {manifest} not found: this option reads the recordings (--data DIR)")
    path = _recording_paths(manifest).get(recording["key"])
    if path is None:
        raise SystemExit(f"error: the cache's recording {recording['key']} is not in {manifest}")
    wav, _ = audio.load(path, 16_000)
    return prepare(wav[: 30 * 16_000])


@functools.lru_cache(maxsize=1)
def _recording_paths(manifest: Path) -> dict[str, Path]:
    return {r.key: r.path for r in real_recordings(manifest)}


def short_reference(recording: dict, seconds: float, data: Path) -> None:
    """The d-vector and the pitch frames of `seconds` of the recording from 0.5 s (or its end), like a short enrolment."""
    wav = recording_audio(recording, data)
    start = min(8_000, max(0, len(wav) - int(seconds * 16_000)))
    segment = wav[start : start + int(seconds * 16_000)]
    recording["reference_d_vector"] = judges.speaker_embedding(segment, 16_000)
    first = int(start / 16_000 * MEL_RATE_HZ)
    frames = np.arange(first, min(len(recording["log_f0"]), first + int(seconds * MEL_RATE_HZ)))
    recording["reference_frames"] = frames if recording["voiced"][frames].sum() >= 10 else np.arange(len(recording["log_f0"]))


def pitch_contour(recording: dict, tracker: str, data: Path) -> tuple[np.ndarray, np.ndarray]:
    """(log F0, voiced) of a cached validation recording from one tracker: WORLD's is cached; others are computed
    from the recording itself, prepared and cut exactly as the cache was."""
    if tracker == "world":
        return recording["log_f0"], recording["voiced"] > 0
    wav = recording_audio(recording, data)
    n_total = int(np.ceil(len(wav) / 16_000 * MEL_RATE_HZ))
    log_f0, voiced = pitch(wav, max(n_total, len(recording["log_f0"])), tracker=tracker)
    keep = len(recording["log_f0"])
    return log_f0[:keep], voiced[:keep]


def pairs(recordings: list[dict]) -> list[tuple[dict, dict]]:
    """Each recording converted into the voice of the next recording by another speaker."""
    out = []
    for i, source in enumerate(recordings):
        others = recordings[i + 1 :] + recordings[:i]
        target = next((r for r in others if r["speaker"] != source["speaker"]), None)
        if target is not None:
            out.append((source, target))
    return out


def main() -> None:
    config = json.loads((HERE / "config.json").read_text())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+", type=Path)
    parser.add_argument("--cache", type=Path, default=Path(config["cache"]))
    parser.add_argument("--validation-share", type=float, default=0.05, help="as in training (the speakers' hash split)")
    parser.add_argument("--gains", nargs="+", type=float, default=[VARIANCE_GAIN], help="postfilter gains to try")
    parser.add_argument("--band-gains", nargs="+", type=Path, default=[], help="per-band postfilter gains to try too (band_variance.py --json files)")
    parser.add_argument("--refiner", nargs="+", type=Path, default=[], help="flow-matching mel refiners to try behind the weights they were trained behind (train.py --refiner)")
    parser.add_argument("--refine-from-band", type=int, default=0, help="with --refiner: keep the generator's mel below this band (of 80) and refine only above it")
    parser.add_argument("--refiner-temperatures", nargs="+", type=float, default=[1.0], help="with --refiner: start-noise spreads to try (1 = as trained)")
    parser.add_argument("--every-recording", action="store_true", help="every validation recording (its first 8 s) as a source (default: one short one per speaker)")
    parser.add_argument("--enhance", action="store_true", help="also judge each conversion after DeepFilterNet3 enhancement")
    parser.add_argument("--speak", action="store_true", help="judge `speak` (hibari reading SPEAK_SENTENCES into each validation speaker's voice) instead of conversions")
    parser.add_argument("--engine", nargs="+", default=["hibari"], help="with --speak: the readers to try (voice/tts.py engines)")
    parser.add_argument("--pitch", nargs="+", choices=PITCH_TRACKERS, default=["world"], help="pitch trackers to try")
    parser.add_argument("--reference-seconds", type=float, help="take each target's d-vector and pitch range from this much of its recording (from 0.5 s), as a user's short reference would, instead of the whole recording")
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data", help="the recordings behind the cache (for --pitch fcpe and --reference-seconds)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.speak and (args.reference_seconds or args.pitch != ["world"] or args.enhance):
        parser.error("--speak judges the shipped way of speaking: not with --reference-seconds, --pitch or --enhance")
    if not args.speak and args.engine != ["hibari"]:
        parser.error("--engine names speak's readers: use it with --speak")
    if args.speak and (args.band_gains or args.refine_from_band):
        parser.error("--band-gains and --refine-from-band are measured for conversions here: not with --speak")
    if args.refine_from_band and not (args.refiner and 0 < args.refine_from_band < 80):
        parser.error("--refine-from-band needs --refiner and a band between 1 and 79")
    try:
        postfilters = {gain: gain for gain in args.gains} | {path.name: read_band_gains(path) for path in args.band_gains}
    except VoxtwinError as exc:
        raise SystemExit(f"error: {exc}")
    torch.set_num_threads(args.threads)
    recordings = validation_recordings(args.cache, args.validation_share, every=args.every_recording)
    if args.speak:
        return judge_speak(recordings, args)
    contours = {tracker: [pitch_contour(r, tracker, args.data) for r in recordings] for tracker in args.pitch}
    for i, r in enumerate(recordings):
        r["pitch"] = {tracker: contours[tracker][i] for tracker in args.pitch}
    if args.reference_seconds:
        for r in recordings:
            short_reference(r, args.reference_seconds, args.data)
    trials = pairs(recordings)
    if not trials:
        raise SystemExit(f"error: fewer than two validation speakers in {args.cache}")
    vocoder = HiFiGAN()
    to_16k = lambda mel: audio.resample(vocoder.mel_to_wav(mel), vocoder.sample_rate, 16_000)  # noqa: E731
    models = {w: load_weights(w)[0] for w in args.weights}
    refiners, chains = refiner_chains(args)
    stages = (False, True) if args.enhance else (False,)
    scores: dict[tuple[Path, tuple[Path, float] | None, float | str, bool, str], list] = {(w, r, g, e, t): [] for w, r in chains for g in postfilters for e in stages for t in args.pitch}
    for source, target in trials:
        source_wav, reference = to_16k(torch.from_numpy(source["mel"])[None]), to_16k(torch.from_numpy(target["mel"])[None])
        text = judges.transcribe(source_wav, 16_000)
        n = source["mel"].shape[1]
        inputs = {}
        for tracker in args.pitch:
            (source_f0, voiced), (target_f0, target_voiced) = source["pitch"][tracker], target["pitch"][tracker]
            if "reference_frames" in target:
                target_f0, target_voiced = target_f0[target["reference_frames"]], target_voiced[target["reference_frames"]]
            log_f0 = target_pitch(source_f0, voiced, mean=float(target_f0[target_voiced].mean()), std=float(target_f0[target_voiced].std()))
            inputs[tracker] = (torch.from_numpy(on_mel_grid(source["content"], n).astype(np.float32))[None], torch.from_numpy(pitch_input(log_f0, voiced))[None],
                               torch.from_numpy(target.get("reference_d_vector", target["d_vector"]))[None])
        for (weights, refiner, gain, enhanced, tracker), rows in scores.items():
            with torch.inference_mode():
                mel = chain_mel(models[weights], refiner and (refiners[refiner[0]], refiner[1]), inputs[tracker], from_band=args.refine_from_band)
                converted = to_16k(restore_variance(mel, postfilters[gain]))
            if enhanced:
                converted = enhance(converted, 16_000)
            rows.append(judge(converted, reference, text))
    table = [{"weights": str(w), "refiner": str(r[0]) if r else None, "refiner_temperature": r[1] if r else None, "gain": g, "enhanced": e, "pitch": t, **means(rows), "pairs": len(rows)} for (w, r, g, e, t), rows in scores.items()]
    print(f"{len(trials)} validation pairs")
    print("| weights | refiner (temperature) | gain | enhanced | pitch | similarity | WER | DistillMOS |\n| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in table:
        refined = f"{Path(row['refiner']).name} ({row['refiner_temperature']})" if row['refiner'] else "-"
        print(f"| {Path(row['weights']).name} | {refined} | {row['gain']} | {'DeepFilterNet3' if row['enhanced'] else '-'} | {row['pitch']} | {row['similarity']:.3f} | {100 * row['wer']:.1f} % | {row['distillmos']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
