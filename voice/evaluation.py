"""`voxtwin voice eval`: judge a list of clones with the project's offline judges (voice/judges.py).

LIST.csv columns: `output` (the clone), `reference` (a recording of the target voice, ideally not the one that
was enrolled), and `text` (what was said) or `source` (the converted recording, transcribed by Whisper as the
reference text); optional `seconds` (processing time, for the real-time factor) and `backend` (which backend made
the clone: the means are then also given per backend, to compare backends on your own references). Relative paths
are relative to the CSV's folder.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import numpy as np

from voice import judges
from voxtwin import audio
from voxtwin.errors import VoxtwinError

METRICS = ("speaker_similarity", "wer", "distillmos", "rtf")


def judge(output: np.ndarray, reference: np.ndarray, *, text: str, sample_rate: int = 16_000) -> dict:
    """Speaker similarity to `reference`, WER against `text`, DistillMOS; all at 16 kHz."""
    hypothesis = judges.transcribe(output, sample_rate)
    return {
        "speaker_similarity": round(judges.speaker_similarity(output, sample_rate, reference, sample_rate), 4),
        "wer": round(judges.word_error_rate(hypothesis, text), 4),
        "distillmos": round(judges.distill_mos(output, sample_rate), 3),
        "transcript": hypothesis,
    }


def _real_time_factor(seconds: str | None, duration_s: float, output: str) -> float | None:
    """The `seconds` cell (processing time) over the clip's duration; an empty cell gives None. Errors name `output`."""
    if seconds is None or not str(seconds).strip():
        return None
    try:
        value = float(seconds)
    except ValueError:
        raise VoxtwinError(f"{output}: seconds: {seconds!r} is not a number (the processing time in seconds)") from None
    if not np.isfinite(value) or value < 0:
        raise VoxtwinError(f"{output}: seconds: {seconds!r} must be a non-negative number of seconds")
    return round(value / duration_s, 4)


def evaluate_listing(path: str | os.PathLike) -> tuple[list[dict], dict]:
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise VoxtwinError(f"{path}: cannot read the list ({exc.__class__.__name__})") from None
    if not rows or not {"output", "reference"} <= set(rows[0]) or not ({"text", "source"} & set(rows[0])):
        raise VoxtwinError(f"{path}: needs a header with columns output, reference, and text or source")
    results = []
    for row in rows:
        resolve = lambda name: (path.parent / row[name]) if not os.path.isabs(row[name]) else Path(row[name])  # noqa: E731
        started = time.perf_counter()
        try:
            output, _ = audio.load(resolve("output"), 16_000)
            rtf = _real_time_factor(row.get("seconds"), len(output) / 16_000, row["output"])  # a bad cell fails before the judges run
            reference, _ = audio.load(resolve("reference"), 16_000)
            text = (row.get("text") or "").strip()
            if not text:
                text = judges.transcribe(audio.load(resolve("source"), 16_000)[0], 16_000)
            result = {"output": row["output"], **judge(output, reference, text=text), "error": None, "rtf": rtf}
            if row.get("backend"):
                result["backend"] = row["backend"].strip()
        except VoxtwinError as exc:
            results.append({"output": row.get("output"), "error": " ".join(str(exc).split())})
            continue
        result["judge_s"] = round(time.perf_counter() - started, 2)
        results.append(result)
    return results, mean_scores(results)


def mean_scores(results: list[dict]) -> dict:
    means = {}
    for metric in METRICS:
        values = [r[metric] for r in results if r.get(metric) is not None]
        means[metric] = round(float(np.mean(values)), 4) if values else None
    means["n"] = sum(1 for r in results if r.get("error") is None)
    return means


def means_by_backend(results: list[dict]) -> dict[str, dict]:
    """{backend: means} over the judged rows that name a backend (empty without a `backend` column)."""
    names = sorted({r["backend"] for r in results if r.get("backend") and not r.get("error")})
    return {name: mean_scores([r for r in results if r.get("backend") == name]) for name in names}


def results_table(rows: list[dict], means: dict, by_backend: dict[str, dict] | None = None):
    from rich.table import Table

    table = Table(title="Clone evaluation")
    for column in ("output", "similarity", "WER %", "DistillMOS", "RTF"):
        table.add_column(column)
    fmt = lambda v, scale=1.0, digits=3: "-" if v is None else f"{v * scale:.{digits}f}"  # noqa: E731
    for r in rows:
        if r.get("error"):
            table.add_row(str(r["output"]), f"error: {r['error']}", "", "", "")
        else:
            table.add_row(r["output"], fmt(r["speaker_similarity"]), fmt(r["wer"], 100, 1), fmt(r["distillmos"], 1, 2), fmt(r["rtf"]))
    for label, m in [("mean", means)] + [(f"mean, {name} ({m['n']})", m) for name, m in (by_backend or {}).items()]:
        table.add_row(label, fmt(m["speaker_similarity"]), fmt(m["wer"], 100, 1), fmt(m["distillmos"], 1, 2), fmt(m["rtf"]))
    return table
