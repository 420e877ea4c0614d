"""`voxtwin` command line: shared commands (`info`, `demo`) plus the `voice` and `detect` sub-apps.

Every command turns a VoxtwinError into one line on stderr and exit code 2; torch and the model code
load only inside the commands that need them, so `voxtwin info` stays light on memory.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any, Iterable, Optional

import click
import typer
from typer.core import TyperGroup

from voxtwin import __version__
from voxtwin.errors import VoxtwinError

# pyworld and webrtcvad import pkg_resources, which warns on every run; the pin setuptools<81 keeps it working
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

EXIT_INPUT_ERROR = 2  # bad input (one-line message on stderr); 1 is left for "flagged" verdicts


class _OneLineErrors(TyperGroup):
    """Root group: prints VoxtwinError as one line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VoxtwinError as exc:
            click.echo(f"error: {' '.join(str(exc).split())}", err=True)
            raise typer.Exit(EXIT_INPUT_ERROR) from None


app = typer.Typer(
    cls=_OneLineErrors, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Clone a voice (voxtwin voice ...) and detect cloned voices (voxtwin detect ...).",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"voxtwin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """voxtwin: voice cloning and synthetic-speech detection, offline."""


def progress(items: Iterable, description: str, *, total: int | None = None) -> Iterable:
    """A rich progress bar on stderr for multi-item work (silent for a single item or when not a terminal).
    `total` is needed when `items` is an iterator without a length."""
    total = len(items) if total is None else total
    if total <= 1:
        yield from items
        return
    from rich.progress import track

    from voxtwin.console import err_console

    yield from track(items, description=description, total=total, console=err_console(), transient=True)


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


@app.command()
def info(
    files: list[Path] = typer.Argument(..., help="Audio files (wav, flac, ogg, opus, mp3, m4a, aac, webm, amr, ...)."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per file (a list when several)."),
) -> None:
    """Format, codec, sample rate, channels, duration, loudness (LUFS) and speech ratio of audio files."""
    from voxtwin import audio

    if len(files) == 1:
        rows: list[dict] = [audio.info(files[0]).to_dict()]
    else:
        rows = []
        for path in progress(files, "Reading"):
            try:
                rows.append(audio.info(path).to_dict())
            except VoxtwinError as exc:
                rows.append({"path": str(path), "error": " ".join(str(exc).split())})
    if json_out:
        emit_json(rows[0] if len(rows) == 1 else rows)
    else:
        from voxtwin.console import info_table, out_console

        out_console().print(info_table(rows))
    failed = [r for r in rows if "error" in r]
    for row in failed:
        typer.echo(f"error: {row['error']}", err=True)
    if failed:
        raise typer.Exit(EXIT_INPUT_ERROR)


DEMO_AUDIO = Path(__file__).resolve().parent / "demo_audio"


@app.command()
def demo(
    out: Path = typer.Option(Path("voxtwin-demo"), "--out", help="Folder for the demo audio."),
) -> None:
    """Score voice messages in every supported format with the shipped detector: a real recording re-encoded as
    wav, flac, ogg, opus, mp3, m4a, webm and amr, plus a text-to-speech message; prints `info` and `detect score`."""
    from detect.detector import Detector
    from detect.report import results_table
    from voxtwin import audio
    from voxtwin.console import out_console

    out.mkdir(parents=True, exist_ok=True)
    real = DEMO_AUDIO / "real_librispeech_1688-142285-0001.opus"
    wav, rate = audio.load(real)
    paths = [audio.save(out / f"real_message{ext}", wav, rate) for ext in (".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".webm", ".amr")]
    tts = out / "tts_message.opus"
    tts.write_bytes((DEMO_AUDIO / "tts_piper_joe.opus").read_bytes())
    paths.append(tts)
    typer.echo(f"wrote {len(paths)} voice messages to {out}/")
    info(paths, json_out=False)
    detector = Detector.load()
    results = [detector.score_file(p) for p in progress(paths, "Scoring")]
    out_console().print(results_table(results))
    typer.echo(f"next: voxtwin detect score {out}/tts_message.opus --plot {out}/tts_message.png")


def _mount_subapps() -> None:
    from detect.cli import app as detect_app
    from voice.cli import app as voice_app

    app.add_typer(voice_app, name="voice")
    app.add_typer(detect_app, name="detect")


_mount_subapps()


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point for the `voxtwin` script."""
    app(args=argv if argv is not None else sys.argv[1:], prog_name="voxtwin")


if __name__ == "__main__":
    main()
