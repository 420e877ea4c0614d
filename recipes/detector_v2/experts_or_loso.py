"""Must an attack fool two experts? The CNN's and the spectrum's heads trained apart and joined by OR.

In the fusion study the spectrum's statistics alone caught Tortoise (30.5 % as recorded) while every head reading
DistillMOS's (or its student's) statistics inverted it (92-99 %): fed both, one head leans on the CNN half, whose
confident "real" overrides what the spectral half sees. Here each half gets its own hidden-layer head (the shipped
kind: real-bearing sources, as recorded and through the 8 kHz telephone band), and a file is as synthetic as the more
alarmed of the two says (OR). To put the heads on one scale, each held-out source's scores are normalised by the
*other* sources' real files' out-of-fold scores (source_filter_expert_loso.normalised_by_other_reals: (x - median) /
(95th percentile - median)). Rows: the fused-feature baseline as every study reports it, the same baseline
normalised that way (so a gain of the OR row is not the normalisation's), each expert alone, OR (the maximum), and
the mean of the two (information).

    python recipes/detector_v2/experts_or_loso.py --threads 2 --json runs/detector_v2/experts-or.json
    python recipes/detector_v2/experts_or_loso.py --threads 2 --seeds 3 4 5 --json runs/detector_v2/experts-or-seeds-345.json
"""

from __future__ import annotations

import numpy as np

from detect.paired_sources import training_sources
from detect.window_mlp_head import MLPHeadSettings

from fusion_loso import MODELS, all_front_ends  # noqa: I001  (this folder is on sys.path when the script runs)
from layers_loso import out_of_fold, printed_results
from source_filter_expert_loso import normalised_by_other_reals
from study_options import add_seeds_option, save_results, start, study_parser

MODEL = "wide-student+spectral"  # `default`'s features; its two halves are the experts
EXPERTS = {"CNN (wide student)": ("wide-student",), "spectrum": ("spectral",)}


def or_rows(baseline: dict[str, np.ndarray], experts: dict[str, dict[str, np.ndarray]], labels: np.ndarray, sources: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """{row: {channel: bona fide score}} from out-of-fold bona fide log-odds: the baseline raw and normalised, each
    expert normalised, their maximum spoof score (OR) and mean."""
    z = {name: {ch: normalised_by_other_reals(-s, labels, sources) for ch, s in scores.items()} for name, scores in experts.items()}
    channels = list(baseline)
    first, second = list(z.values())
    return {
        "fused features (baseline)": baseline,
        "fused features, normalised by other pages' real files": {ch: -normalised_by_other_reals(-baseline[ch], labels, sources) for ch in channels},
        **{f"{name} alone, normalised": {ch: -zs[ch] for ch in channels} for name, zs in z.items()},
        "OR: max of the two experts": {ch: -np.maximum(first[ch], second[ch]) for ch in channels},
        "mean of the two experts": {ch: -(first[ch] + second[ch]) / 2 for ch in channels},
    }


def main() -> None:
    parser = study_parser(__doc__, channels=["clean", "telephone_8k"])
    add_seeds_option(parser)
    args = parser.parse_args()
    rows, labels, sources = start(args)
    features = {ch: all_front_ends(rows, args.data, args.cache, ch, [MODEL]) for ch in args.channels}
    if args.features_only:
        return
    fit = lambda columns: out_of_fold(features, columns, labels, sources, c=args.c, head="mlp", mlp=MLPHeadSettings(seeds=tuple(args.seeds)),  # noqa: E731
                                      train_sources=training_sources("real-bearing", labels == 1, sources))
    baseline = fit(MODELS[MODEL])
    experts = {name: fit(columns) for name, columns in EXPERTS.items()}
    results = {name: printed_results(name, scores, labels, sources, prior=args.prior) for name, scores in or_rows(baseline, experts, labels, sources).items()}
    save_results(args, results, files=len(rows), head="mlp", train_on="real-bearing", seeds=args.seeds)


if __name__ == "__main__":
    main()
