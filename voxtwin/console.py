"""What every command prints: rich consoles, progress bars, JSON and tables (machine output is --json / --csv).

The sub-CLIs (voice/cli.py, detect/cli.py) import these helpers from here; voxtwin/cli.py only mounts them.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import typer
from rich.console import Console
from rich.table import Table

# `--precision` of `detect score` and `serve` (voxtwin/precision.py)
DETECTOR_PRECISION_HELP = (
    "The default detector's CNN: auto (bfloat16 where the CPU or GPU runs it natively, ~2x faster; else fp32), fp32, bf16 "
    "or int8 (8-bit integers on the CPU, ~1.2x faster one file at a time where bfloat16 is not native; scores move a little); "
    "default: $VOXTWIN_PRECISION, else auto."
)
# `--synthetic-prior` of `detect score` and `serve` (detect/calibration.py)
SYNTHETIC_PRIOR_HELP = (
    "Share of synthetic speech you expect among the files, 0-1 exclusive (Bayes' prior of p_synthetic; default: the "
    "detector's, 0.5). Lower it for an inbox of mostly real speech: more real files come out `real`, and more fakes too "
    "(README, `detect score`, --synthetic-prior)."
)


def check_synthetic_prior(value: float | None) -> float | None:
    """typer callback: a prior of 0 or 1 would make every verdict certain whatever the audio says."""
    if value is not None and not 0 < value < 1:
        raise typer.BadParameter(f"must be between 0 and 1 (exclusive), got {value}")
    return value


def out_console() -> Console:
    return Console(soft_wrap=False, width=200)


def err_console() -> Console:
    return Console(stderr=True)


def progress(items: Iterable, description: str, *, total: int | None = None) -> Iterable:
    """A rich progress bar on stderr for multi-item work (silent for a single item or when not a terminal).
    `total` is needed when `items` is an iterator without a length."""
    total = len(items) if total is None else total
    if total <= 1:
        yield from items
        return
    from rich.progress import track

    yield from track(items, description=description, total=total, console=err_console(), transient=True)


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def error_line(message: object) -> str:
    """One `error: ...` line: the message with its whitespace (newlines included) folded."""
    return f"error: {' '.join(str(message).split())}"


def info_table(rows: list[dict]) -> Table:
    table = Table("file", "format", "codec", "rate (Hz)", "ch", "duration (s)", "loudness (LUFS)", "speech")
    for row in rows:
        if "error" in row:
            table.add_row(row["path"], "[red]error[/red]", "", "", "", "", "", "")
            continue
        lufs = "n/a" if row["loudness_lufs"] is None else f"{row['loudness_lufs']:.1f}"
        table.add_row(
            row["path"], row["format"], row["codec"], str(row["sample_rate"]), str(row["channels"]),
            f"{row['duration_s']:.2f}", lufs, f"{100 * row['speech_ratio']:.0f}%",
        )
    return table


def metrics_table(result: dict) -> Table:
    """Two-column table of a metrics dict; nested per-system values get one row each."""
    table = Table("metric", "value")
    for key, value in result.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                table.add_row(f"{key}[{sub}]", f"{v:.4f}")
        elif isinstance(value, float):
            table.add_row(key, f"{value:.6f}")
        else:
            table.add_row(key, str(value))
    return table


def summary_table(summary: dict) -> Table:
    """A training run: checkpoint, validation EER and the EER on each evaluation set."""
    table = Table("item", "value")
    for key in ("recipe", "model", "checkpoint", "epochs_run"):
        table.add_row(key, str(summary[key]))
    table.add_row("best validation EER", f"{summary['best_valid_eer_percent']:.2f}%")
    for name, result in summary.get("eval", {}).items():
        value = f"{result['eer_percent']:.2f}%" if "eer_percent" in result else "n/a (one class only)"
        table.add_row(f"EER {name}", f"{value}  ({result['scores']})")
    return table
