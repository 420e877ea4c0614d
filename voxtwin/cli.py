"""`voxtwin` command line: shared commands (`info`, `demo`) plus the `voice` and `detect` sub-apps.

Nothing a user types ends in a traceback: a VoxtwinError is one `error:` line on stderr and exit code 2; any other
exception is one line too, with exit code 4 and a pointer to `--debug` / `VOXTWIN_DEBUG=1` for the traceback
(voxtwin/exit_codes.py lists every code). torch and the model code load only inside the commands that need them,
so `voxtwin info` stays light on memory.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from voxtwin import __version__, exit_codes
from voxtwin.console import DETECTOR_PRECISION_HELP, SYNTHETIC_PRIOR_HELP, check_synthetic_prior, emit_json, error_line, progress
from voxtwin.errors import VoxtwinError
from voxtwin.freed_memory import keep_freed_memory

# pyworld and webrtcvad import pkg_resources, which warns on every run; the pin setuptools<81 keeps it working
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

DEBUG_ENV = "VOXTWIN_DEBUG"


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _one_line(exc: BaseException) -> tuple[str, int]:
    """The `error:` line and exit code for an exception that reached the command line."""
    if isinstance(exc, VoxtwinError):
        return error_line(exc), exit_codes.INPUT_ERROR
    if isinstance(exc, KeyboardInterrupt):
        return "error: interrupted", exit_codes.INTERRUPTED
    if isinstance(exc, ModuleNotFoundError):
        from voxtwin.extras import install_hint

        hint = install_hint(exc.name)
        if hint is not None:
            return error_line(hint), exit_codes.INPUT_ERROR
    unexpected = error_line(f"{exc.__class__.__name__}: {exc}")
    return f"{unexpected} (unexpected: run again with --debug or {DEBUG_ENV}=1 for the traceback, and please report it)", exit_codes.INTERNAL_ERROR


class _OneLineErrors(TyperGroup):
    """Root group: every error is one line on stderr with a documented exit code, never a traceback."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except TyperException as exc:  # a usage error in a sub-command's options: one line too, not a box
            if not hasattr(exc, "format_message") or type(exc).__name__ == "NoArgsIsHelpError":
                raise
            command = getattr(getattr(exc, "ctx", None), "command_path", None)
            typer.echo(error_line(exc.format_message()) + (f" (see '{command} --help')" if command else ""), err=True)
            raise typer.Exit(getattr(exc, "exit_code", exit_codes.INPUT_ERROR)) from None
        except (Exception, KeyboardInterrupt) as exc:
            if debug_enabled() and not isinstance(exc, KeyboardInterrupt):
                raise
            line, code = _one_line(exc)
            typer.echo(line, err=True)
            raise typer.Exit(code) from None


app = typer.Typer(
    cls=_OneLineErrors, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Clone a voice (voxtwin voice ...) and detect cloned voices (voxtwin detect ...). Exit codes: 0 ok, "
    "1 synthetic found (detect), 2 bad input or usage, 3 some inputs unreadable (detect score), 4 internal error, "
    "130 interrupted.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"voxtwin {__version__}")
        raise typer.Exit()


def _debug(value: bool) -> None:
    if value:
        os.environ[DEBUG_ENV] = "1"


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", callback=_debug, is_eager=True, help="Show the full traceback of an error (same as VOXTWIN_DEBUG=1)."),
) -> None:
    """voxtwin: voice cloning and synthetic-speech detection, offline."""


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
        raise typer.Exit(exit_codes.INPUT_ERROR)


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

    from voxtwin.output_paths import writable_folder

    writable_folder(out, what="demo folder")
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


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    model: str = typer.Option("default", "--model", help="default, fast, or a detector checkpoint (.safetensors with its .json)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes; each loads the model once and scores one file at a time."),
    max_upload_mb: float = typer.Option(25.0, "--max-upload-mb", min=0.01, help="Larger uploads get 413."),
    max_duration_s: float = typer.Option(600.0, "--max-duration-s", min=1.0, help="Longer decoded audio gets 422."),
    timeout_s: float = typer.Option(120.0, "--timeout-s", min=1.0, help="Scoring that takes longer gets 504."),
    queue_size: int = typer.Option(8, "--queue-size", min=0, max=10_000, help="Requests that may wait per worker; more get 503 with Retry-After."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    precision: Optional[str] = typer.Option(None, "--precision", help=DETECTOR_PRECISION_HELP),
    synthetic_prior: Optional[float] = typer.Option(None, "--synthetic-prior", callback=check_synthetic_prior, help=SYNTHETIC_PRIOR_HELP),
) -> None:
    """Serve the detector over HTTP: an API (POST /v1/score, /v1/watermark; GET /v1/models, /healthz; docs at
    /docs) and a web page at / for checking a voice message. Needs the `serve` extra."""
    import uvicorn

    from detect.detector import shipped_or_path
    from detect.service.app import create_app
    from detect.service.settings import SETTINGS_ENV, ServiceSettings
    from voxtwin.device import resolve_device
    from voxtwin.errors import CheckpointError
    from voxtwin.precision import resolve_precision

    resolve_device(device)
    resolve_precision(precision, "cpu")
    checkpoint = shipped_or_path(model).with_suffix(".json")
    if not checkpoint.is_file():
        raise CheckpointError(f"{model}: not a shipped detector (default, fast) nor a checkpoint ({checkpoint} missing)")
    settings = ServiceSettings(model=model, max_upload_mb=max_upload_mb, max_duration_s=max_duration_s, request_timeout_s=timeout_s, queue_size=queue_size, device=device, precision=precision,
                               synthetic_prior=synthetic_prior)
    typer.echo(f"voxtwin serve: http://{host}:{port}/ (API docs at /docs), model {model}, {workers} worker(s); Ctrl-C stops", err=True)
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    else:
        os.environ[SETTINGS_ENV] = settings.to_env()
        uvicorn.run("detect.service.app:app_from_environment", factory=True, host=host, port=port, workers=workers, log_level="warning")


def _mount_subapps() -> None:
    from detect.cli import app as detect_app
    from voice.cli import app as voice_app

    app.add_typer(voice_app, name="voice")
    app.add_typer(detect_app, name="detect")


_mount_subapps()


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point for the `voxtwin` script."""
    keep_freed_memory()  # this process is ours: reuse freed tensors' memory (voxtwin/freed_memory.py)
    app(args=argv if argv is not None else sys.argv[1:], prog_name="voxtwin")


if __name__ == "__main__":
    main()
