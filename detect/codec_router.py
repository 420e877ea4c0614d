"""Fit distillmos-student-codec-routed's second head and its router on the recipe's cached window statistics.

The recipe already holds what both need: the training files as recorded and one augmented copy per
`augmented_copies` entry, each file's augmentation known (frozen_head.picked_augmentation). The clean head is the
hidden-layer head fitted on every part but the copies whose augmentations are all lossy (the codec copy); the router
is a class-balanced logistic regression, lossy (a codec or telephone pick) against the rest (as recorded, noise,
RawBoost, gain), fitted on every file's windows whatever its source, since it tells channels apart, not classes.
"""

from __future__ import annotations

import copy as copying

import numpy as np

from detect.frozen_head import WindowStats, fit_head, picked_augmentation, standardised
from detect.models.codec_routed_mlp import LOSSY_AUGMENTATIONS

ROUTER_C = 0.1  # fixed before any number (session notes of 2026-12-05, study S6)
BOUNDARY_MARGIN = 1e-3  # log-odds the lossy_recall bias goes past its boundary window (fit_router)


def lossy_rows(part: WindowStats, copy: dict | None, *, seed_offset: int) -> np.ndarray:
    """(N,) bool: which windows of one part (None = the files as recorded) went through a lossy channel."""
    if copy is None:
        return np.zeros(len(part.owner), dtype=bool)
    files = np.unique(part.owner)
    lossy_file = {int(i): picked_augmentation(copy, int(i), seed_offset=seed_offset)[0] in LOSSY_AUGMENTATIONS for i in files}
    return np.array([lossy_file[int(i)] for i in part.owner], dtype=bool)


def fit_clean_head(model, parts: list[WindowStats], copies: list[dict], files: np.ndarray | None, bonafide: np.ndarray,
                   valid: WindowStats, valid_bonafide: np.ndarray) -> dict:
    """Fit the head of the parts that are not all-lossy copies (the files in `files`, None = all) into model's clean
    head; `bonafide` is per file of `files`. Returns fit_head's record."""
    kept = [("as recorded" if c is None else "-".join(c["augment"]), p) for p, c in zip(parts, [None, *copies])
            if c is None or not set(c["augment"]) <= LOSSY_AUGMENTATIONS]
    stats = WindowStats.concat([p for _, p in kept])
    if files is not None:
        stats = stats.subset(files)
    fitted = copying.deepcopy(model)
    record = fit_head(fitted, stats, bonafide, valid, valid_bonafide)
    model.take_clean_head(fitted)
    return record | {"parts": [label for label, _ in kept]}


def fit_router(model, parts: list[WindowStats], copies: list[dict], *, seed_offset: int, lossy_recall: float | None = None) -> dict:
    """Fit model's router on every window of every part (the inherited standardisation); returns its training
    accuracy on each class of windows. lossy_recall: raise the bias until at least this share of the lossy training
    windows is routed lossy (r >= 0.5; None: the class-balanced fit's own bias), so that doubt goes to the robust head."""
    from sklearn.linear_model import LogisticRegression

    lossy = np.concatenate([lossy_rows(p, c, seed_offset=seed_offset) for p, c in zip(parts, [None, *copies])])
    x = standardised(model, np.concatenate([p.stats for p in parts]), model.mean.numpy(), model.scale.numpy())
    router = LogisticRegression(C=ROUTER_C, max_iter=3000, class_weight="balanced").fit(x, lossy.astype(int))
    logits = router.decision_function(x)
    # the bias goes BOUNDARY_MARGIN past the window at the quantile: exactly on it, float32 scoring (the model's) can put that
    # window and its ties a hair under 0.5 and the share just under lossy_recall (seen on a new host: 99.89 % for 99.9)
    shift = 0.0 if lossy_recall is None else max(0.0, -float(np.quantile(logits[lossy], 1 - lossy_recall, method="lower")) + BOUNDARY_MARGIN)
    model.set_router(router.coef_[0], router.intercept_[0] + shift)
    called_lossy = logits + shift >= 0
    return {"C": ROUTER_C, "lossy_recall": lossy_recall, "bias_shift": shift, "n_windows": int(len(lossy)), "n_lossy": int(lossy.sum()),
            "train_lossy_called_lossy_percent": 100 * float(called_lossy[lossy].mean()),
            "train_recorded_called_recorded_percent": 100 * float((~called_lossy[~lossy]).mean())}
