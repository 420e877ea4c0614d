"""Does a source-filter expert beside the main head catch NII NSF without costing the neural pages?

vocoded_copies_loso.py added WORLD copies of every real file to the one head's spoof side: the one source-filter
page (NII NSF) got much easier and nearly every neural page harder, because one boundary had to serve both. Here the
copies train a second, separate head (the expert: logistic regression on the same window statistics, the fold's
real windows against the WORLD copies of those very files), and the two are joined by OR: a file is as synthetic as
the more alarmed head says, so the main head's view of neural pages is left as it is.

Protocol as fusion_loso.py (one fold per source of ../shared/data; as recorded and through the 8 kHz telephone band,
for training and test): the main head is the shipped kind (hidden layer, real-bearing sources, DistillMOS +
spectral statistics); the expert never sees a fold's held-out source, its real files or their copies. To put the two
heads on one scale, each held-out source's scores are normalised by the out-of-fold scores of the *other* sources'
real files: z = (x - median) / (95th percentile - median), x a file's spoof score. Rows: main, expert, OR (the
maximum of the two z), and their mean.

    python recipes/detector_v2/vocoded_copies_loso.py --vocoders world --threads 2 --features-only   # the caches (~10 min)
    python recipes/detector_v2/source_filter_expert_loso.py --threads 2 --json runs/detector_v2/source-filter-expert.json
"""

from __future__ import annotations

import numpy as np

from detect.paired_sources import training_sources

from fusion_loso import all_front_ends  # noqa: I001  (this folder is on sys.path when the script runs)
from layers_loso import file_means, out_of_fold, printed_results
from study_options import save_results, start, study_parser
from vocoded_copies_loso import COLUMNS, copies_features


def expert_out_of_fold(features: dict[str, dict], copies: dict[str, dict], labels: np.ndarray, sources: np.ndarray, *, c: float) -> dict[str, np.ndarray]:
    """{channel: per-file spoof log-odds} from a logistic head fitted, per held-out source, on the other sources'
    real windows (label 0) against the WORLD copies of those same files (label 1), every channel at once."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    stack = lambda f: np.hstack([f[name].astype(np.float32) for name in COLUMNS])  # noqa: E731
    x = {ch: stack(features[ch]) for ch in features}
    cx = {ch: stack(copies[ch]) for ch in features}
    owner = {ch: features[ch]["owner"] for ch in features}
    scores = {ch: np.zeros(len(labels)) for ch in features}
    for source in np.unique(sources):
        real = [(sources[owner[ch]] != source) & (labels[owner[ch]] == 0) for ch in features]
        copy = [sources[copies[ch]["owner"]] != source for ch in features]
        fit_x = np.vstack([x[ch][r] for ch, r in zip(features, real)] + [cx[ch][k] for ch, k in zip(features, copy)])
        fit_y = np.concatenate([np.zeros(int(r.sum())) for r in real] + [np.ones(int(k.sum())) for k in copy])
        scaler = StandardScaler().fit(fit_x)
        model = LogisticRegression(C=c, max_iter=300, class_weight="balanced").fit(scaler.transform(fit_x), fit_y)
        held = np.flatnonzero(sources == source)
        for ch in features:
            test = np.flatnonzero(sources[owner[ch]] == source)
            scores[ch][held] = file_means(model.decision_function(scaler.transform(x[ch][test])), owner[ch][test], len(labels))[held]
    return scores


def normalised_by_other_reals(spoof: np.ndarray, labels: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Each source's spoof scores on a common scale fixed by the other sources' real files only:
    (x - their median) / (their 95th percentile - their median)."""
    out = np.zeros_like(spoof, dtype=float)
    for source in np.unique(sources):
        ref = spoof[(sources != source) & (labels == 0)]
        median, tail = np.median(ref), np.percentile(ref, 95)
        out[sources == source] = (spoof[sources == source] - median) / max(tail - median, 1e-9)
    return out


def main() -> None:
    parser = study_parser(__doc__, channels=["clean", "telephone_8k"])
    args = parser.parse_args()
    rows, labels, sources = start(args)
    features = {ch: all_front_ends(rows, args.data, args.cache, ch, ["distillmos+spectral"]) for ch in args.channels}
    copies = copies_features(rows, labels, args.data, args.cache, "world", args.channels)
    if args.features_only:
        return
    train_sources = training_sources("real-bearing", labels == 1, sources)
    main_bona = out_of_fold(features, COLUMNS, labels, sources, c=args.c, train_sources=train_sources, head="mlp")
    expert_spoof = expert_out_of_fold(features, copies, labels, sources, c=args.c)
    z_main = {ch: normalised_by_other_reals(-main_bona[ch], labels, sources) for ch in args.channels}
    z_expert = {ch: normalised_by_other_reals(expert_spoof[ch], labels, sources) for ch in args.channels}
    rows_out = {  # printed_results reads bona fide scores (higher = more real)
        "main (hidden layer)": {ch: -z_main[ch] for ch in args.channels},
        "expert (real vs WORLD copies)": {ch: -z_expert[ch] for ch in args.channels},
        "OR: max of the two": {ch: -np.maximum(z_main[ch], z_expert[ch]) for ch in args.channels},
        "mean of the two": {ch: -(z_main[ch] + z_expert[ch]) / 2 for ch in args.channels},
    }
    results = {name: printed_results(name, scores, labels, sources, prior=args.prior) for name, scores in rows_out.items()}
    save_results(args, results, files=len(rows), main_head="mlp", train_on="real-bearing", expert="logistic, real vs WORLD copies")


if __name__ == "__main__":
    main()
