"""Human- and machine-readable output of `voxtwin detect score`: table, CSV, and a plot per file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from rich.table import Table

from detect.detector import REAL_THRESHOLD, SYNTHETIC_THRESHOLD, Result

CSV_COLUMNS = ["path", "p_synthetic", "verdict", "speech_s", "duration_s", "flags", "n_segments", "max_segment_p_synthetic", "watermark_found", "error"]
VERDICT_STYLE = {"synthetic": "bold red", "real": "green", "uncertain": "yellow", "error": "red"}


def results_table(results: list[Result]) -> Table:
    table = Table("file", "verdict", "p_synthetic", "speech (s)", "segments", "flags")
    for r in results:
        style = VERDICT_STYLE.get(r.verdict, "")
        p = "-" if r.p_synthetic is None else f"{r.p_synthetic:.3f}"
        segments = "" if not r.segments else f"{len(r.segments)} (max {max(s.p_synthetic for s in r.segments):.2f})"
        notes = r.error or ", ".join(r.flags)
        if r.watermark and r.watermark.get("found"):
            notes = ", ".join(filter(None, [notes, "voxtwin watermark"]))
        table.add_row(r.path, f"[{style}]{r.verdict}[/{style}]", p, f"{r.speech_s:.1f}", segments, notes)
    return table


def results_csv(results: list[Result]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        writer.writerow({
            "path": r.path, "p_synthetic": "" if r.p_synthetic is None else r.p_synthetic, "verdict": r.verdict, "speech_s": r.speech_s,
            "duration_s": r.duration_s, "flags": ";".join(r.flags), "n_segments": len(r.segments),
            "max_segment_p_synthetic": max((s.p_synthetic for s in r.segments), default=""),
            "watermark_found": "" if r.watermark is None else r.watermark.get("found"), "error": r.error or "",
        })
    return out.getvalue()


def plot_formats() -> dict[str, str]:
    """Image formats matplotlib can write here: extension (no dot) -> description."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backend_bases import FigureCanvasBase

    return FigureCanvasBase.get_supported_filetypes()


def check_plot_path(out: Path) -> Path:
    """Refuse, before any scoring, a plot path whose image format matplotlib cannot write. (A folder that cannot be
    written is reported after the results are printed, so no scoring is lost.)"""
    from voxtwin.output_paths import OutputPathError

    formats = plot_formats()
    if out.suffix.lower().lstrip(".") not in formats:
        raise OutputPathError(f"{out}: cannot write a {out.suffix or 'file without an extension'} image; use one of {', '.join('.' + f for f in sorted(formats))}")
    return out


def plot_result(result: Result, wav: np.ndarray, sample_rate: int, out: Path) -> Path:
    """Waveform, log-mel spectrogram and per-window p_synthetic with the verdict thresholds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from voxtwin.features import LogMelSpec, build_features

    t = np.arange(len(wav)) / sample_rate
    n_fft = 1024 if sample_rate > 24_000 else 512
    spec = LogMelSpec(sample_rate=sample_rate, n_fft=n_fft, win_length=n_fft, hop_length=sample_rate // 100, n_mels=80)
    mel = build_features(spec)(torch.from_numpy(wav)[None])[0].numpy()
    fig, axes = plt.subplots(3, 1, figsize=(11, 7), sharex=True, gridspec_kw={"height_ratios": [1, 1.4, 1]})
    axes[0].plot(t, wav, linewidth=0.4, color="0.3")
    axes[0].set_ylabel("waveform")
    axes[1].imshow(mel, origin="lower", aspect="auto", extent=[0, len(wav) / sample_rate, 0, mel.shape[0]], cmap="magma")
    axes[1].set_ylabel("log-mel band")
    ax = axes[2]
    for seg in result.segments:
        color = "tab:red" if seg.p_synthetic >= SYNTHETIC_THRESHOLD else ("tab:green" if seg.p_synthetic <= REAL_THRESHOLD else "tab:orange")
        ax.hlines(seg.p_synthetic, seg.start_s, seg.end_s, color=color, linewidth=3, alpha=0.7)
    ax.axhline(SYNTHETIC_THRESHOLD, color="tab:red", linestyle="--", linewidth=0.8, label=f"synthetic >= {SYNTHETIC_THRESHOLD}")
    ax.axhline(REAL_THRESHOLD, color="tab:green", linestyle="--", linewidth=0.8, label=f"real <= {REAL_THRESHOLD}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("p_synthetic")
    ax.set_xlabel("time (s)")
    ax.legend(loc="upper right", fontsize=8)
    p = "n/a" if result.p_synthetic is None else f"{result.p_synthetic:.2f}"
    fig.suptitle(f"{Path(result.path).name}: {result.verdict} (p_synthetic {p}, {result.speech_s:.1f} s of speech)")
    fig.tight_layout()
    from voxtwin.output_paths import writable_file, writing

    try:
        writable_file(out, what="plot")
        with writing(out, what="plot"):
            fig.savefig(out, dpi=110)
    finally:
        plt.close(fig)
    return out
