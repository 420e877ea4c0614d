"""Which window statistics separate real from synthetic speech the same way on every page?

Within a demo page that holds both classes, real and synthetic files share the recording chain, so the sign of a
statistic's difference (synthetic minus real) there says which way synthesis moves it on that page. A statistic that
moves one way on some pages and the other way on others is reading the pages, not synthesis, and a head that leans on
it fails on a page it never met. `stable_columns` keeps the statistics whose direction agrees on a given share of the
pages (measured leave-one-source-out: recipes/detector_v2/README.md, "Only the statistics that agree across pages?").
"""

from __future__ import annotations

import numpy as np

from detect.paired_sources import sources_with_both_classes


def direction_agreement(x: np.ndarray, is_spoof: np.ndarray, pages: np.ndarray) -> tuple[np.ndarray, int]:
    """(per column of `x`, the larger share of the pages holding both classes on which mean(synthetic) - mean(real)
    has one sign; how many such pages there were). Rows are windows; `is_spoof` and `pages` one per row."""
    x, is_spoof, pages = np.asarray(x, dtype=np.float64), np.asarray(is_spoof, dtype=bool), np.asarray(pages)
    paired = sorted(sources_with_both_classes(is_spoof, pages))
    if not paired:
        raise ValueError("no page holds both classes: the statistics' direction cannot be compared across pages")
    positive = np.zeros(x.shape[1])
    for page in paired:
        on_page = pages == page
        positive += x[on_page & is_spoof].mean(0) > x[on_page & ~is_spoof].mean(0)
    share = positive / len(paired)
    return np.maximum(share, 1 - share), len(paired)


def stable_columns(x: np.ndarray, is_spoof: np.ndarray, pages: np.ndarray, min_agreement: float) -> np.ndarray:
    """Boolean mask of the columns whose direction agrees on at least `min_agreement` of the paired pages."""
    if not 0.5 <= min_agreement <= 1.0:
        raise ValueError(f"min_agreement is a share of pages between 0.5 and 1, got {min_agreement}")
    agreement, _ = direction_agreement(x, is_spoof, pages)
    keep = agreement >= min_agreement - 1e-12
    if not keep.any():
        raise ValueError(f"no statistic agrees in direction on {min_agreement:.0%} of the pages")
    return keep
