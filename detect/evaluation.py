"""Metrics of score files: the function behind `voxtwin detect metrics`."""

from __future__ import annotations

from pathlib import Path

from detect import metrics
from detect.scorefile import read_asv_scores, read_cm_scores


def score_file_metrics(
    scores: Path, *, asv_scores: Path | None = None, protocol: Path | None = None, metric_format: str = "asvspoof2019", per_system: bool = False
) -> dict:
    """All metrics of `metric_format` for a CM score file (plus t-DCF etc. when ASV scores are given)."""
    cm = read_cm_scores(scores, protocol=protocol)
    asv = read_asv_scores(asv_scores) if asv_scores else None
    result = {"scores": str(scores), "format": metric_format, **metrics.summarize(cm.bonafide, cm.spoof, metric_format=metric_format, asv=asv)}
    if per_system:
        result["per_system_eer_percent"] = {
            system: 100 * metrics.eer(cm.bonafide, spoof)[0] for system, spoof in cm.by_system().items()
        }
    return result
