"""Can a file's recording quality align unseen pages' scores? Quality-conditioned score normalisation, leave-one-source-out.

Per page the vote ranks fakes below real speech well (mean per-page EER ~17 % as recorded) but one threshold over all
pages does not (pooled ~36 %): each unseen page's real speech lands at its own score level, and a user has one
threshold. Speaker recognition meets the same problem with quality measure functions: the score shift that a
recording's conditions cause is modelled and taken out. Here that shift is learnt from real speech only, so the
normaliser cannot learn that a condition means "fake":

- six covariates per file, measured as the detector sees it in each channel (16 kHz, -23 LUFS, trimmed;
  `recording_quality`): noise floor, dynamic range, 99 % spectral roll-off, spectral tilt below 4 kHz, the power share
  above 4 kHz, log duration;
- for each held-out source S and channel, a ridge regression (alpha 1, standardised covariates) of the out-of-fold
  log-odds of the REAL files of every other source on their covariates; S's files then read s - w . covariates, w
  the fitted slopes in the covariates' units (no intercept: it would be each fold's own constant). S's own files
  never enter its fit.

Reads `fusion_loso.py --scores-out` (nothing is refitted) and prints, per channel, mean per-page and pooled EER, pages
over 35 %, verdicts at prior 0.5 (Platt maps fitted on the other sources' normalised scores, as the studies do), and
a page bootstrap of the pooled difference. The covariates are cached in runs/detector_v2/quality-CHANNEL.npz.

    python recipes/detector_v2/quality_normalisation.py runs/detector_v2/s68-A-scores.npz \\
        --model "score-mean distillmos+spectral, fine-mean" [--channels clean telephone_8k] [--json runs/detector_v2/s68-qn-A.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from front_ends import frame_levels_db  # noqa: I001  (this folder is on sys.path when the script runs)
from frontends_loso import read_manifest
from fusion_loso import read_scores
from layers_loso import printed_results, read_cache, study_wave
from study_options import DEFAULT_DATA
from voxtwin.audio_band import FRAME, FramePower

SAMPLE_RATE = 16_000
COVARIATES = ("noise_floor_db", "dynamic_range_db", "rolloff_khz", "tilt_db_per_khz", "high_share_db", "log_duration_s")
RIDGE_ALPHA = 1.0


def recording_quality(wav: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The six COVARIATES of one standardised 16 kHz file: what its recording conditions look like, not what was said.
    Its frames are voxtwin/audio_band.py's (FramePower: 32 ms, Hann, no overlap), the detector's own long-term spectrum."""
    wav = np.asarray(wav, dtype=np.float32)
    if len(wav) < FRAME:
        wav = np.pad(wav, (0, FRAME - len(wav)))
    level = frame_levels_db(wav)
    floor, loud = np.percentile(level, [10, 90])
    spectrum = FramePower().update(wav).astype(np.float64).mean(0) + 1e-12
    freqs_khz = np.fft.rfftfreq(FRAME, 1 / sample_rate) / 1000
    cumulative = np.cumsum(spectrum) / spectrum.sum()
    rolloff = freqs_khz[min(int(np.searchsorted(cumulative, 0.99)), len(freqs_khz) - 1)]
    low = (freqs_khz >= 0.1) & (freqs_khz <= 4.0)
    tilt = np.polyfit(freqs_khz[low], 10 * np.log10(spectrum[low]), 1)[0]
    high_share = 10 * np.log10(spectrum[freqs_khz > 4.0].sum() / spectrum.sum())
    return np.array([floor, loud - floor, rolloff, tilt, high_share, np.log(len(wav) / sample_rate + 1e-3)])


def cached_quality(rows: list[dict], root: Path, cache: Path, channel: str) -> np.ndarray:
    """(files, 6) covariates in `channel`, computed once and cached (~15 s for 2,417 files as recorded, ~30 s through the telephone band, on an idle host)."""
    path = cache / f"quality-{channel}.npz"
    cached = read_cache(path, len(rows))
    if cached is not None:
        return cached["covariates"]
    started = time.time()
    out = np.stack([recording_quality(study_wave(root, row, channel)) for row in rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, covariates=out, owner=np.arange(len(rows)))
    print(f"covariates, {channel}: {len(rows)} files in {time.time() - started:.0f} s", flush=True)
    return out


def normalised(scores: np.ndarray, covariates: np.ndarray, labels: np.ndarray, sources: np.ndarray, columns: list[int] | None = None,
               *, centred: bool = False) -> np.ndarray:
    """Each file's score less the shift its covariates predict, the shift learnt from the real files of the other sources:
    s - w . covariates, with w the regression's slopes in the covariates' own units. Slopes only: an intercept or a
    centring on the training files would be each fold's own constant (it moves with the page held out) and would
    misalign the pages again. centred (a diagnostic, added after the rule's run): s - w . (covariates - their mean over
    every file), one reference for all folds (labels unused), so that a fold's slopes do not also shift its page by
    w . (the covariates' absolute level)."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    x = covariates if columns is None else covariates[:, columns]
    if centred:
        x = x - x.mean(0)
    out = np.array(scores, dtype=np.float64)
    for source in np.unique(sources):
        held = sources == source
        train = ~held & (labels == 0)
        scaler = StandardScaler().fit(x[train])
        ridge = Ridge(alpha=RIDGE_ALPHA).fit(scaler.transform(x[train]), scores[train])
        out[held] = scores[held] - x[held] @ (ridge.coef_ / scaler.scale_)
    return out


def pooled_bootstrap(baseline: dict[str, np.ndarray], candidate: dict[str, np.ndarray], labels: np.ndarray, sources: np.ndarray, *,
                     draws: int = 2000, seed: int = 0) -> dict[str, dict]:
    """{channel or "mean": pooled EER difference (candidate - baseline, points) and its 95 % interval over resampled
    sources} (every source, real-only corpora included, drawn with replacement; the same draws for every channel)."""
    from detect.metrics import eer

    def pooled(s: np.ndarray, idx: np.ndarray) -> float:
        return 100 * eer(s[idx][labels[idx] == 0], s[idx][labels[idx] == 1])[0]

    channels = list(baseline)
    names = np.unique(sources)
    members = [np.flatnonzero(sources == name) for name in names]
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(draws):
        idx = np.concatenate([members[k] for k in rng.integers(0, len(names), len(names))])
        if labels[idx].min() != labels[idx].max():
            rows.append([pooled(candidate[ch], idx) - pooled(baseline[ch], idx) for ch in channels])
    rows = np.array(rows)
    rows = np.column_stack([rows, rows.mean(1)])
    everything = np.arange(len(labels))
    whole = [pooled(candidate[ch], everything) - pooled(baseline[ch], everything) for ch in channels]
    whole.append(float(np.mean(whole)))
    return {name: {"mean": float(whole[k]), "low": float(np.percentile(rows[:, k], 2.5)), "high": float(np.percentile(rows[:, k], 97.5)), "draws": len(rows)}
            for k, name in enumerate([*channels, "mean"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scores", type=Path, help="a fusion_loso.py --scores-out file")
    parser.add_argument("--model", default="score-mean distillmos+spectral, fine-mean")
    parser.add_argument("--channels", nargs="+", default=["clean", "telephone_8k"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=Path("runs/detector_v2"))
    parser.add_argument("--prior", type=float, default=0.5)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    scores, labels, sources = read_scores(args.scores)
    if args.model not in scores or any(ch not in scores[args.model] for ch in args.channels):
        raise SystemExit(f"error: {args.scores} holds no {args.model!r} scores in {', '.join(args.channels)} (models: {', '.join(scores)})")
    rows, manifest_labels, manifest_sources = read_manifest(args.data)
    if len(rows) != len(labels) or (manifest_sources != sources).any():
        raise SystemExit(f"error: {args.scores} was scored on another manifest than {args.data / 'manifest.csv'}")
    covariates = {ch: cached_quality(rows, args.data, args.cache, ch) for ch in args.channels}
    base = {ch: scores[args.model][ch] for ch in args.channels}
    variants = {"baseline": base, "all six": {ch: normalised(base[ch], covariates[ch], labels, sources) for ch in args.channels}}
    variants["all six, centred"] = {ch: normalised(base[ch], covariates[ch], labels, sources, centred=True) for ch in args.channels}
    for k, name in enumerate(COVARIATES):  # diagnostics, never a choice
        variants[f"{name} alone"] = {ch: normalised(base[ch], covariates[ch], labels, sources, [k]) for ch in args.channels}
    results = {}
    for name, by_channel in variants.items():
        results[name] = printed_results(name, by_channel, labels, sources, prior=args.prior, calibrated_on=args.channels)
        means = [np.mean([r[key] for r in results[name].values()]) for key in ("mean_source_eer", "pooled_eer")]
        print(f"{'':32s} two-channel means, per page / pooled: {means[0]:5.2f} / {means[1]:5.2f}", flush=True)
        if name != "baseline":
            intervals = pooled_bootstrap(base, by_channel, labels, sources, draws=args.draws)
            results[name]["pooled_against_baseline"] = intervals
            print(f"{'':32s} pooled - baseline: " + "  ".join(f"{ch} {r['mean']:+.2f} [{r['low']:+.2f}, {r['high']:+.2f}]" for ch, r in intervals.items()), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"scores": str(args.scores), "model": args.model, "covariates": COVARIATES, "ridge_alpha": RIDGE_ALPHA,
                                         "results": results}, indent=1))


if __name__ == "__main__":
    main()
