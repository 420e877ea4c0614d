"""Does a head catch Tortoise by the band its files lack? Scored through a channel it never trained on.

Tortoise's files hold nothing above ~5.5 kHz (the band-limit section of the README). The spectrum's head alone
catches that page (experts_or_loso.py) where heads reading the CNN's statistics call it real. If it does so by the
missing band, it will also accuse real speech that lost its top band in a codec or a narrow-band chain. Out of fold
(the studies' folds; hidden-layer heads on the sources that hold real speech, fitted as recorded and through the 8 kHz
telephone band), every file is also scored through `band_limited` (voxtwin/codec.py: a low-pass at 3.5-7.5 kHz drawn
per file), which no head is fitted on. Reported per head: the share of real files above the 95th percentile of the
*other* pages' as-recorded real files (~5 % as recorded by construction), as recorded and band-limited; and the EER
of Tortoise's fakes as recorded against the real files as recorded and band-limited.

    python recipes/detector_v2/bandwidth_cue_diagnostic.py --threads 2 --json runs/detector_v2/bandwidth-cue.json
"""

from __future__ import annotations

import json

import numpy as np

from detect.metrics import eer
from detect.paired_sources import training_sources
from detect.window_mlp_head import MLPHeadSettings

from experts_or_loso import EXPERTS, MODEL  # noqa: I001  (this folder is on sys.path when the script runs)
from fusion_loso import MODELS, all_front_ends
from layers_loso import out_of_fold
from study_options import start, study_parser

PROBE = "band_limited"
PAGE = "tortoise_examples"


def real_share_above_other_pages(spoof: np.ndarray, reference: np.ndarray, labels: np.ndarray, sources: np.ndarray) -> float:
    """% of real files whose spoof score exceeds the 95th percentile of the other sources' real files' `reference`
    scores (as recorded), each source against its own threshold."""
    above = []
    for source in np.unique(sources[labels == 0]):
        threshold = np.percentile(reference[(sources != source) & (labels == 0)], 95)
        above.append(spoof[(sources == source) & (labels == 0)] > threshold)
    return round(100 * float(np.mean(np.concatenate(above))), 1)


def main() -> None:
    parser = study_parser(__doc__, channels=["clean", "telephone_8k"])
    args = parser.parse_args()
    rows, labels, sources = start(args)
    models = [MODEL]
    features = {ch: all_front_ends(rows, args.data, args.cache, ch, models) for ch in args.channels}
    probe = {PROBE: all_front_ends(rows, args.data, args.cache, PROBE, models)}
    if args.features_only:
        return
    heads = {"fused features (baseline)": MODELS[MODEL], **EXPERTS}
    results = {}
    for name, columns in heads.items():
        bona = out_of_fold(features, columns, labels, sources, c=args.c, head="mlp", mlp=MLPHeadSettings(),
                           train_sources=training_sources("real-bearing", labels == 1, sources), scored_only=probe)
        spoof = {ch: -s for ch, s in bona.items()}
        fakes = spoof["clean"][(sources == PAGE) & (labels == 1)]
        results[name] = {
            "real_above_other_pages_95th_pct": {ch: real_share_above_other_pages(spoof[ch], spoof["clean"], labels, sources) for ch in ("clean", PROBE)},
            f"{PAGE}_eer_vs_real": {ch: round(100 * eer(-spoof[ch][labels == 0], -fakes)[0], 1) for ch in ("clean", PROBE)},
        }
        print(f"{name:28s} real files above the other pages' 95th percentile: as recorded {results[name]['real_above_other_pages_95th_pct']['clean']} %, "
              f"band-limited {results[name]['real_above_other_pages_95th_pct'][PROBE]} %; Tortoise (as recorded) against real files as recorded "
              f"{results[name][f'{PAGE}_eer_vs_real']['clean']} %, band-limited {results[name][f'{PAGE}_eer_vs_real'][PROBE]} %", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"channels": args.channels, "probe": PROBE, "results": results}, indent=1))


if __name__ == "__main__":
    main()
