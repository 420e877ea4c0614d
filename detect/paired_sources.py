"""The sources (pages, corpora) that hold both real and synthetic files.

A demo page's real and synthetic files share its recording chain, loudness and codec, so within such a page only
the synthesis itself can separate them; a real-only corpus and a fake-only page differ in everything at once, and
a head fitted on them can learn the channel instead. Fitting only on pages with both classes is the
leave-one-source-out study's best training set so far, but not in the default detector's own protocol, which offers
it as `[head] train_sources = "paired"` (recipes/detector_v2/README.md, "Only pages that hold both classes?").
"""

from __future__ import annotations

import numpy as np


def sources_with_both_classes(is_spoof, sources) -> set[str]:
    """Names of the sources among `sources` (one per file) that hold files of both classes (`is_spoof`, one per file)."""
    is_spoof, sources = np.asarray(is_spoof, dtype=bool), np.asarray(sources).astype(str)
    if is_spoof.shape != sources.shape:
        raise ValueError("one class and one source per file")
    return {str(s) for s in np.unique(sources) if is_spoof[sources == s].any() and not is_spoof[sources == s].all()}
