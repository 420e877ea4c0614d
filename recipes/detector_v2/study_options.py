"""The options and start-up every leave-one-source-out study in this folder shares: where the data and the feature
caches are, which channels, the logistic regression's C, threads, caches only, and where the JSON results go; and
the hidden-layer head's seeds, for the studies that fit that head."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from voxtwin.acoustic_conditions import CONDITIONS
from voxtwin.codec import AUGMENTATION_CHANNELS, CHANNELS

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[2] / "shared" / "data"
CHANNEL_CHOICES = [*CHANNELS, *AUGMENTATION_CHANNELS, *CONDITIONS]  # what a study's files can be passed through


def study_parser(doc: str, *, channels: list[str] | None, prior: bool = True) -> argparse.ArgumentParser:
    """A parser with the shared options; `channels` is the --channels default (None: the study has no such option),
    `prior` adds --prior for studies that report calibrated verdicts."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=Path("runs/detector_v2"))
    if channels is not None:
        parser.add_argument("--channels", nargs="+", default=channels, choices=CHANNEL_CHOICES)
    parser.add_argument("--c", type=float, default=0.01, help="inverse L2 strength of the logistic regression(s)")
    if prior:
        parser.add_argument("--prior", type=float, default=0.5, help="share of synthetic speech the calibrated probabilities assume")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--features-only", action="store_true", help="compute the caches and stop")
    parser.add_argument("--json", type=Path)
    return parser


def add_seeds_option(parser: argparse.ArgumentParser, *, note: str = "") -> None:
    """--seeds: the seeds whose hidden-layer heads' log-odds are averaged (the shipped head's by default); `note`
    prefixes the help (e.g. "with --head mlp: ")."""
    from detect.window_mlp_head import MLPHeadSettings

    shipped = " ".join(map(str, MLPHeadSettings.seeds))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(MLPHeadSettings.seeds), metavar="SEED",
                        help=f"{note}the seeds whose hidden-layer heads' log-odds are averaged ({shipped}: the shipped head's)")


def start(args: argparse.Namespace) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """Set torch's threads and read the manifest: (rows, labels with 1 = spoof, sources)."""
    from frontends_loso import read_manifest  # noqa: I001  (this folder is on sys.path when a study runs)

    torch.set_num_threads(args.threads)
    return read_manifest(args.data)


def save_results(args: argparse.Namespace, results: dict, *, files: int, **settings) -> None:
    """Write results and the settings that made them to --json (nothing without it)."""
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        chosen = {"c": args.c, **({"prior": args.prior} if hasattr(args, "prior") else {}), **({"channels": args.channels} if hasattr(args, "channels") else {})}
        args.json.write_text(json.dumps({**chosen, **settings, "files": files, "results": results}, indent=1))
