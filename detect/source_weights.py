"""Training weights that give every source (a corpus or a generator's demo page) the same say within its class.

Sources differ a hundredfold in size. With class weights alone, a head learns the few largest pages and calls their
quirks "synthetic"; unseen generators then look like none of them. Weighting each source equally within its class
(and the two classes equally overall) lowered the leave-one-source-out EER of the DistillMOS + spectral head
(recipes/detector_v2/README.md, "Every source the same weight?").
"""

from __future__ import annotations

import numpy as np

WEIGHTINGS = ("class", "source")


def source_balanced_weights(sources: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One weight per training row: every source in a class has the same total weight, and the two classes have the
    same total weight (mean weight 1).

    Args:
        sources: (N,) source name of each row.
        labels: (N,) 0/1 class of each row.

    Returns:
        (N,) float64 weights.
    """
    sources, labels = np.asarray(sources), np.asarray(labels)
    weights = np.zeros(len(sources))
    present = [label for label in np.unique(labels)]
    for label in present:
        in_class = labels == label
        _, inverse, counts = np.unique(sources[in_class], return_inverse=True, return_counts=True)
        weights[in_class] = 1.0 / (counts[inverse] * len(counts))
    return weights * len(weights) / len(present)
