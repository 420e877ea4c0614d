"""The sources (pages, corpora) that hold both real and synthetic files.

A demo page's real and synthetic files share its recording chain, loudness and codec, so within such a page only
the synthesis itself can separate them; a real-only corpus and a fake-only page differ in everything at once, and
a head fitted on them can learn the channel instead. Fitting only on pages with both classes is the
leave-one-source-out study's best training set so far, but not in the default detector's own protocol, which offers
it as `[head] train_sources = "paired"` (recipes/detector_v2/README.md, "Only pages that hold both classes?"). Of
the two kinds of single-class source, the fake-only pages are the ones that mislead the head ("real-bearing" keeps
the real-only corpora and drops them; "Which single-class sources mislead the head?").
"""

from __future__ import annotations

import numpy as np


def sources_with_both_classes(is_spoof, sources) -> set[str]:
    """Names of the sources among `sources` (one per file) that hold files of both classes (`is_spoof`, one per file)."""
    is_spoof, sources = _checked(is_spoof, sources)
    return {str(s) for s in np.unique(sources) if is_spoof[sources == s].any() and not is_spoof[sources == s].all()}


def sources_with_synthetic(is_spoof, sources) -> set[str]:
    """Names of the sources that hold at least one synthetic file: every source but the real-only corpora."""
    is_spoof, sources = _checked(is_spoof, sources)
    return {str(s) for s in np.unique(sources[is_spoof])}


def sources_with_real(is_spoof, sources) -> set[str]:
    """Names of the sources that hold at least one real file: every source but the fake-only pages."""
    is_spoof, sources = _checked(is_spoof, sources)
    return {str(s) for s in np.unique(sources[~is_spoof])}


TRAIN_SOURCE_CHOICES = ("all", "paired", "real-bearing", "spoof-bearing")


def training_sources(choice: str, is_spoof, sources) -> set[str] | None:
    """The sources a head is fitted on: None for "all"; "paired": those with both classes; "real-bearing": all but the
    fake-only pages; "spoof-bearing": all but the real-only corpora (recipes/detector_v2/README.md compares them)."""
    picks = {"all": None, "paired": sources_with_both_classes, "real-bearing": sources_with_real, "spoof-bearing": sources_with_synthetic}
    if choice not in picks:
        raise ValueError(f"train_sources must be one of {', '.join(TRAIN_SOURCE_CHOICES)}, not {choice!r}")
    return None if picks[choice] is None else picks[choice](is_spoof, sources)


def _checked(is_spoof, sources) -> tuple[np.ndarray, np.ndarray]:
    is_spoof, sources = np.asarray(is_spoof, dtype=bool), np.asarray(sources).astype(str)
    if is_spoof.shape != sources.shape:
        raise ValueError("one class and one source per file")
    return is_spoof, sources


def paired_emphasis_weights(sources, labels, factor: float) -> np.ndarray:
    """One weight per training row: rows of sources that hold both classes (among these rows) weigh `factor` times
    the others of their class, and the two classes weigh the same in total (mean weight 1). factor 1 gives
    scikit-learn's class_weight="balanced". Unlike fitting on the paired sources only, the real-only corpora stay
    in the fit: they carry most of the real speakers and channels a user's inbox holds."""
    if factor <= 0:
        raise ValueError(f"the paired sources' weight must be positive, not {factor}")
    sources, labels = np.asarray(sources).astype(str), np.asarray(labels)
    paired = np.isin(sources, sorted(sources_with_both_classes(labels != labels.min(), sources)))
    weights = np.where(paired, float(factor), 1.0)
    classes = np.unique(labels)
    for label in classes:
        in_class = labels == label
        weights[in_class] *= len(labels) / (len(classes) * weights[in_class].sum())
    return weights
