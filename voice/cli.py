"""`voxtwin voice ...`: voice-cloning commands. Each parses its arguments and calls one public function."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from voxtwin import exit_codes

app = typer.Typer(no_args_is_help=True, help="Clone a consenting speaker's voice: consent-phrase, enroll, convert, speak, eval.")

WATERMARK_HELP = "Write the file without voxtwin's watermark (it is on by default so any voxtwin can recognise the clone)."
KEY_HELP = "Installation key that signs the watermark payload; default: this installation's key (made on first use)."
PRECISION_HELP = "vox-vc's HiFi-GAN: auto (= bf16 where the CPU or GPU has native bfloat16, ~1.6x faster conversion with the same quality on VCC 2016; else fp32), fp32 or bf16 (int8, for the detector, means fp32 here); default: $VOXTWIN_PRECISION, else auto."
TIMBRE_HELP = "{backend}: how much of the spectral envelope comes from the target, 0-1 (default: voice.matching.DEFAULT_TIMBRE = 0.3; higher is closer to the voice but less clear)."


def _given(**options) -> dict:
    """The options the user set (None = not given: the library's measured default applies)."""
    return {k: v for k, v in options.items() if v is not None}


def _announce(task: str, backend: str, model_dir: Path | None, *, language: str = "en"):
    """Resolve `--backend` (auto: voice/pretrained/choice.py) and say on stderr which backend runs and why."""
    from voice.pretrained.choice import resolve

    choice = resolve(task, backend, model_dir=model_dir, language=language)
    typer.echo(f"backend: {choice.name} ({choice.reason})", err=True)
    return choice


@app.callback()
def _voice() -> None:
    """Voice cloning commands."""


def _mount_models() -> None:
    from voice.models_cli import app as models_app

    app.add_typer(models_app, name="models")


_mount_models()


@app.command("consent-phrase")
def consent_phrase_command(json_out: bool = typer.Option(False, "--json", help="Print {phrase, code} as JSON.")) -> None:
    """Print a consent phrase with a one-time code (valid 24 h, one enrolment) for the speaker to record."""
    from voice.consent import consent_phrase
    from voxtwin.console import emit_json

    phrase, code = consent_phrase()
    if json_out:
        emit_json({"phrase": phrase, "code": code})
    else:
        typer.echo(phrase)


@app.command()
def enroll(
    references: list[Path] = typer.Argument(..., help="Recordings of the speaker (any format voxtwin reads); 2 s of speech minimum, 10-30 s is best."),
    output: Path = typer.Option(..., "-o", "--output", help="Voice profile to write, e.g. NAME.voice."),
    consent: Optional[Path] = typer.Option(None, "--consent", help="The speaker reading the phrase from `voxtwin voice consent-phrase`."),
    no_consent: Optional[str] = typer.Option(None, "--no-consent", help="Enrol without a consent recording; give the reason (it is recorded in the profile and the watermark)."),
) -> None:
    """Check the references and write a voice profile."""
    import logging

    from voice.enrollment import enroll as enroll_speaker
    from voxtwin.output_paths import writable_file

    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    writable_file(output, what="voice profile")
    profile = enroll_speaker(list(references), consent=consent, no_consent_reason=no_consent)
    profile.save(output)
    checks = {k: profile.info[k] for k in ("speech_s", "snr_db", "speaker_consistency")}
    typer.echo(f"wrote {output}: {checks['speech_s']} s of speech, SNR {checks['snr_db']} dB, consistency {checks['speaker_consistency']}, consent {'verified' if profile.consented else 'not recorded'}")


@app.command()
def convert(
    source: Path = typer.Argument(..., help="Recorded speech to convert."),
    voice: Path = typer.Option(..., "--voice", help="Voice profile from `voxtwin voice enroll`."),
    output: Path = typer.Option(..., "-o", "--output", help="Output audio file (.wav, .flac, .opus, .mp3, ...)."),
    timbre: Optional[float] = typer.Option(None, "--timbre", min=0.0, max=1.0, help=TIMBRE_HELP.format(backend="knn-world")),
    backend: str = typer.Option("auto", "--backend", help="auto (a pulled backend, else vox-vc), vox-vc (the trained built-in converter), knn-world (built in, WORLD + kNN) or openvoice (pulled, or --model-dir; pip install -e '.[coqui]')."),
    model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="Local checkpoint folder for a named neural backend (default: its pulled copy; nothing is downloaded)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N (auto: the GPU when there is one)."),
    precision: Optional[str] = typer.Option(None, "--precision", help=PRECISION_HELP),
    no_refiner: bool = typer.Option(False, "--no-refiner", help="vox-vc: skip its mel refiner (~10 % faster; less natural and less intelligible on the benchmark, as vox-vc 2026.12-4)."),
    no_watermark: bool = typer.Option(False, "--no-watermark", help=WATERMARK_HELP),
    key_file: Optional[Path] = typer.Option(None, "--key-file", help=KEY_HELP),
) -> None:
    """Convert recorded speech into the enrolled voice (offline, CPU)."""
    from voice.conversion import convert as convert_speech
    from voice.output import write_clone
    from voice.profile import VoiceProfile
    from voxtwin.audio import writable_audio_path
    from voxtwin.device import resolve_device
    from voxtwin.precision import resolve_precision

    writable_audio_path(output)
    resolve_device(device)
    resolve_precision(precision, "cpu")
    profile = VoiceProfile.load(voice)
    choice = _announce("convert", backend, model_dir)
    wav, rate = convert_speech(source, profile, backend=choice.name, model_dir=choice.model_dir, device=device, precision=precision, refiner=not no_refiner, **_given(timbre=timbre))
    write_clone(output, wav, rate, profile, watermark=not no_watermark, key_file=key_file)
    typer.echo(f"wrote {output} ({len(wav) / rate:.1f} s)")


@app.command()
def speak(
    text: Optional[str] = typer.Argument(None, help="Text to say (or --text-file)."),
    voice: Path = typer.Option(..., "--voice", help="Voice profile from `voxtwin voice enroll`."),
    output: Path = typer.Option(..., "-o", "--output", help="Output audio file."),
    text_file: Optional[Path] = typer.Option(None, "--text-file", help="Read the text from this UTF-8 file."),
    engine: Optional[str] = typer.Option(None, "--engine", help="Offline TTS voice that reads the text before conversion: hibari (vox-vc's default), piper (piper-knn's default), kokoro or espeak."),
    language: str = typer.Option("en", "--language", help="Language of the text (en)."),
    timbre: Optional[float] = typer.Option(None, "--timbre", min=0.0, max=1.0, help=TIMBRE_HELP.format(backend="piper-knn")),
    backend: str = typer.Option("auto", "--backend", help="auto (pulled XTTS-v2 for its languages, else vox-vc), vox-vc (reader + trained converter), piper-knn (reader + knn-world) or xtts (pulled, or --model-dir with COQUI_TOS_AGREED=1; pip install -e '.[coqui]')."),
    model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="Local checkpoint folder for a named neural backend (default: its pulled copy; nothing is downloaded)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N (auto: the GPU when there is one)."),
    precision: Optional[str] = typer.Option(None, "--precision", help=PRECISION_HELP),
    no_watermark: bool = typer.Option(False, "--no-watermark", help=WATERMARK_HELP),
    key_file: Optional[Path] = typer.Option(None, "--key-file", help=KEY_HELP),
) -> None:
    """Say text in the enrolled voice (offline, CPU)."""
    from rich.progress import Progress

    from voice.output import write_clone
    from voice.profile import VoiceProfile
    from voice.speech import speak as speak_text
    from voice.tts import TTSError
    from voxtwin.audio import writable_audio_path
    from voxtwin.device import resolve_device
    from voxtwin.precision import resolve_precision

    if (text is None) == (text_file is None):
        raise TTSError("give the text either as an argument or with --text-file")
    if text_file is not None:
        try:
            text = text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TTSError(f"{text_file}: cannot read text ({exc.__class__.__name__})") from None
    writable_audio_path(output)
    resolve_device(device)
    resolve_precision(precision, "cpu")
    profile = VoiceProfile.load(voice)
    choice = _announce("speak", backend, model_dir, language=language)
    with Progress(transient=True, disable=None) as bar:
        task = bar.add_task("Speaking", total=None)
        wav, rate = speak_text(text, profile, engine=engine, language=language, backend=choice.name, model_dir=choice.model_dir, device=device, precision=precision, on_sentence=lambda done, total: bar.update(task, completed=done, total=total), **_given(timbre=timbre))
    write_clone(output, wav, rate, profile, watermark=not no_watermark, key_file=key_file)
    typer.echo(f"wrote {output} ({len(wav) / rate:.1f} s)")


@app.command("eval")
def evaluate(
    listing: Path = typer.Argument(..., help="CSV with columns output, reference, and text or source (optional: seconds, the processing time; backend, to compare backends)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON: one object per row and the means."),
) -> None:
    """Judge clones: speaker similarity (Resemblyzer), WER (Whisper tiny.en), DistillMOS, real-time factor.

    Exit code: 0 = every row judged, 2 = no row could be judged, 3 = some rows could not be judged (each listed).
    """
    from voice.evaluation import evaluate_listing, means_by_backend, results_table
    from voxtwin.console import emit_json
    from voxtwin.console import out_console

    rows, means = evaluate_listing(listing)
    by_backend = means_by_backend(rows)
    if json_out:
        emit_json({"rows": rows, "mean": means, "by_backend": by_backend})
    else:
        out_console().print(results_table(rows, means, by_backend))
    failed = [r for r in rows if r.get("error")]
    for row in failed:
        typer.echo(f"error: {row['error']}", err=True)  # it names its file (audio errors the one that failed)
    if failed:
        raise typer.Exit(exit_codes.INPUT_ERROR if len(failed) == len(rows) else exit_codes.SOME_UNREADABLE)
