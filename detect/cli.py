"""`voxtwin detect ...`: countermeasure commands. Each parses its arguments and calls one public function."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from voxtwin import exit_codes
from voxtwin.console import DETECTOR_PRECISION_HELP, SYNTHETIC_PRIOR_HELP, check_synthetic_prior

app = typer.Typer(no_args_is_help=True, help="Detect synthetic or converted speech; train and benchmark countermeasures.")

METRIC_FORMATS = ("asvspoof2019", "asvspoof2021", "asvspoof5")
ENGINES = ("local", "ray")
ENGINE_HELP = "local (this machine's cores) or ray (shards scored by Ray actors; pip install -e '.[cluster]')."
ADDRESS_HELP = "--engine ray: the cluster to join (e.g. ray://head:10001 or auto); default: start a local Ray on this machine."
RESUME_HELP = "--engine ray: keep the shards a stopped run finished and score only the rest."
GPUS_HELP = "--engine ray: GPUs per Ray actor (0 = CPU actors)."
SHARD_HELP = "--engine ray: files per shard (the unit that is retried and kept for --resume)."


def _ray_options(engine: str, *, address: str | None, jobs: int, shard_size: int, resume: bool, num_gpus_per_worker: float) -> dict | None:
    """The keyword arguments of the Ray engine, or None for the local one."""
    if engine not in ENGINES:
        raise typer.BadParameter(f"expected one of {', '.join(ENGINES)}", param_hint="--engine")
    if engine == "local":
        if address or resume or num_gpus_per_worker:
            raise typer.BadParameter("--address, --resume and --num-gpus-per-worker need --engine ray", param_hint="--engine")
        return None
    from detect.ray_engine import connect

    connect(address)  # fail early (Ray missing, cluster unreachable) with one line
    return {"address": address, "jobs": jobs, "shard_size": shard_size, "resume": resume, "num_gpus_per_worker": num_gpus_per_worker}


@app.callback()
def _detect() -> None:
    """Synthetic-speech detection commands."""


@app.command()
def metrics(
    scores: Path = typer.Argument(..., help="CM scores: 'UTT SYSTEM KEY SCORE' or 'UTT SCORE' (with --protocol); higher = more bona fide."),
    asv_scores: Optional[Path] = typer.Option(None, "--asv-scores", help="ASV scores ('... TYPE SCORE', TYPE target/nontarget/spoof) for the t-DCF."),
    protocol: Optional[Path] = typer.Option(None, "--protocol", help="Protocol file giving keys for 2-column scores."),
    metric_format: str = typer.Option("asvspoof2019", "--format", help="asvspoof2019 (legacy t-DCF), asvspoof2021 (revised t-DCF) or asvspoof5 (minDCF, actDCF, Cllr, a-DCF, t-EER)."),
    per_system: bool = typer.Option(False, "--per-system", help="Also report the EER of each attack system."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON object."),
) -> None:
    """EER, t-DCF and the ASVspoof 5 measures of a score file, as the official evaluation code computes them."""
    from detect.evaluation import score_file_metrics
    from voxtwin.console import emit_json

    if metric_format not in METRIC_FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(METRIC_FORMATS)}", param_hint="--format")
    result = score_file_metrics(scores, asv_scores=asv_scores, protocol=protocol, metric_format=metric_format, per_system=per_system)
    if json_out:
        emit_json(result)
    else:
        from voxtwin.console import metrics_table, out_console

        out_console().print(metrics_table(result))


@app.command()
def train(
    recipe: str = typer.Option(..., "--recipe", help="Recipe name (a folder under recipes/) or path to its config.toml."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key, e.g. --set root=/data/LA --set train.epochs=3."),
    json_out: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
) -> None:
    """Train a countermeasure with a recipe, then score the recipe's evaluation sets.

    Progress (loss, validation EER and time of each epoch) goes to stderr; checkpoints go to train.out_dir
    (default runs/RECIPE/MODEL), and a folder holding another model's or config's run is refused.
    """
    import logging

    from detect.recipes import run_recipe
    from voxtwin.console import emit_json

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    train_log = logging.getLogger("detect.train")
    train_log.addHandler(handler)
    train_log.setLevel(logging.INFO)
    try:
        summary = run_recipe(recipe, set_)
    finally:
        train_log.removeHandler(handler)
    if json_out:
        emit_json(summary)
    else:
        from voxtwin.console import out_console, summary_table

        out_console().print(summary_table(summary))


@app.command("eval")
def evaluate(
    model: Path = typer.Option(..., "--model", help="Detector checkpoint (.safetensors with its .json)."),
    dataset: str = typer.Option(..., "--dataset", help="asvspoof2019_la, asvspoof2021_la, asvspoof2021_df, asvspoof5, in_the_wild, wavefake, mlaad or manifest."),
    root: Path = typer.Option(..., "--root", help="The dataset's folder, in its official layout."),
    split: str = typer.Option("eval", "--split", help="train, dev or eval where the dataset has them."),
    out: Optional[Path] = typer.Option(None, "--out", help="Score file to write (default: scores_<dataset>_<split>.txt)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing score file."),
    json_out: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
    engine: str = typer.Option("local", "--engine", help=ENGINE_HELP),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
    jobs: int = typer.Option(0, "--jobs", min=0, max=4096, help="--engine ray: Ray actors; 0 = one per CPU of the cluster."),
    shard_size: int = typer.Option(64, "--shard-size", min=1, max=100_000, help=SHARD_HELP),
    resume: bool = typer.Option(False, "--resume", help=RESUME_HELP),
    num_gpus_per_worker: float = typer.Option(0.0, "--num-gpus-per-worker", min=0.0, max=64.0, help=GPUS_HELP),
) -> None:
    """Score a dataset with a detector: writes the official score file and prints EER (overall and per attack)."""
    from detect.evaluation import evaluate_dataset
    from voxtwin.console import emit_json
    from voxtwin.errors import VoxtwinError
    from voxtwin.output_paths import writable_file

    out = out or Path(f"scores_{dataset}_{split}.txt")
    if out.exists() and not force and not resume:
        raise VoxtwinError(f"{out}: already exists; pass --force to overwrite")
    if out.exists() and not force and resume:
        force = True  # resuming rewrites the score file from the kept shards
    writable_file(out, what="score file")
    ray = _ray_options(engine, address=address, jobs=jobs, shard_size=shard_size, resume=resume, num_gpus_per_worker=num_gpus_per_worker)
    result = evaluate_dataset(model, dataset=dataset, root=root, split=split, scores_out=out, ray=ray)
    if json_out:
        emit_json(result)
    else:
        from voxtwin.console import metrics_table, out_console

        out_console().print(metrics_table(result))




@app.command()
def score(
    paths: list[str] = typer.Argument(..., help="Audio files, folders (searched recursively), glob patterns, or - for standard input."),
    model: Optional[Path] = typer.Option(
        None, "--model", help="Detector checkpoint, or a shipped detector: default (the more accurate) or fast (2-3x the throughput where the CPU has native bfloat16, 5-6x elsewhere; weaker on Opus and telephone audio)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list, one object per file."),
    csv_out: bool = typer.Option(False, "--csv", help="Print CSV, one row per file."),
    plot: Optional[Path] = typer.Option(
        None, "--plot", help="Write waveform, spectrogram and segment scores to this image (.png, .pdf, .svg, ...); with several files one image each: NAME_1.png, NAME_2.png, ... in input order."
    ),
    hop_s: float = typer.Option(1.0, "--hop-s", min=0.1, max=60.0, help="Hop between scoring windows, in seconds (0.1-60)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N (auto: the GPU when there is one)."),
    jobs: int = typer.Option(0, "--jobs", min=0, max=4096, help="Files scored at once on CPU; 0 = one per core (at most 4). --engine ray: Ray actors; 0 = one per CPU of the cluster."),
    key_file: Optional[Path] = typer.Option(None, "--key-file", help="Installation key to verify watermark payloads with; default: this installation's key if it has one."),
    engine: str = typer.Option("local", "--engine", help=ENGINE_HELP),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
    shard_size: int = typer.Option(64, "--shard-size", min=1, max=100_000, help=SHARD_HELP),
    resume: bool = typer.Option(False, "--resume", help=RESUME_HELP),
    num_gpus_per_worker: float = typer.Option(0.0, "--num-gpus-per-worker", min=0.0, max=64.0, help=GPUS_HELP),
    precision: Optional[str] = typer.Option(None, "--precision", help=DETECTOR_PRECISION_HELP),
    synthetic_prior: Optional[float] = typer.Option(None, "--synthetic-prior", callback=check_synthetic_prior, help=SYNTHETIC_PRIOR_HELP),
) -> None:
    """Score voice messages for synthetic or converted speech.

    A file that carries voxtwin's watermark is flagged `voxtwin_watermark` and judged synthetic whatever the model
    says. Exit code: 0 = nothing flagged, 1 = at least one file flagged synthetic, 2 = no file could be read,
    3 = some files could not be read and none of the others was flagged.
    """
    import sys

    from detect.detector import Detector, unreadable_result
    from detect.paths import expand_inputs, usable
    from detect.report import check_plot_path, plot_result, results_csv, results_table
    from voxtwin.console import emit_json, error_line, out_console, progress
    from voxtwin.device import resolve_device
    from voxtwin.errors import VoxtwinError
    from voxtwin.precision import resolve_precision

    if json_out and csv_out:
        raise typer.BadParameter("choose one of --json and --csv")
    if plot is not None:
        check_plot_path(plot)
    resolve_device(device)
    resolve_precision(precision, "cpu")  # a bad name is one clear error before any file is read
    inputs = expand_inputs(paths, stdin=sys.stdin.buffer)
    from voxtwin.watermark.keys import installation_key

    key = installation_key(key_file, create=False)
    ray = _ray_options(engine, address=address, jobs=jobs, shard_size=shard_size, resume=resume, num_gpus_per_worker=num_gpus_per_worker)
    readable = [source for _, source in inputs if usable(source)]
    if ray is not None:
        from detect.ray_engine import score_files_on_ray

        scored = iter(score_files_on_ray(readable, model=None if model is None else str(model), device="cpu" if device == "auto" else device, hop_s=hop_s, watermark_key=key, precision=precision,
                                       synthetic_prior=synthetic_prior, **ray))
        name = ""
    else:
        detector = Detector.load(model, device=device, hop_s=hop_s, watermark_key=key, precision=precision, synthetic_prior=synthetic_prior) if readable else None
        scored = iter(progress(detector.score_files(readable, jobs=jobs), "Scoring", total=len(readable))) if readable else iter(())
        name = detector.name if detector else ""
    results = [next(scored) if usable(source) else unreadable_result(label, source, model=name) for label, source in inputs]
    if json_out:
        emit_json([r.to_dict() for r in results])
    elif csv_out:
        typer.echo(results_csv(results), nl=False)
    else:
        out_console().print(results_table(results))
    for r in results:
        if r.error:
            typer.echo(f"error: {r.error}", err=True)
    plot_failed = False
    if plot is not None:
        from voxtwin import audio

        for i, ((label, source), result) in enumerate(zip(inputs, results), 1):
            if result.error is None:
                try:
                    wav, rate = audio.load(source)
                    plot_result(result, wav, rate, plot if len(results) == 1 else plot.with_name(f"{plot.stem}_{i}{plot.suffix}"))
                except VoxtwinError as exc:  # the results above are already printed
                    typer.echo(error_line(exc), err=True)
                    plot_failed = True
    if plot_failed:
        raise typer.Exit(exit_codes.INPUT_ERROR)
    if any(r.verdict == "synthetic" for r in results):
        raise typer.Exit(exit_codes.FLAGGED)
    if results and all(r.error for r in results):
        raise typer.Exit(exit_codes.INPUT_ERROR)
    if any(r.error for r in results):
        raise typer.Exit(exit_codes.SOME_UNREADABLE)


@app.command()
def watermark(
    paths: list[str] = typer.Argument(..., help="Audio files, folders (searched recursively), glob patterns, or - for standard input."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list, one object per file."),
    key_file: Optional[Path] = typer.Option(None, "--key-file", help="Installation key to verify payloads with; default: this installation's key if it has one."),
) -> None:
    """Read voxtwin's watermark: is the clip a voxtwin clone, and which installation made it.

    `found` is true when the presence pattern's p-value is at most 1e-4 (an analytic bound; see voxtwin/watermark/spread_spectrum.py).
    `verified` is true only when the payload's MAC checks with the installation key. Needs 3 s of audio; the payload
    reads reliably from about 10 s. Exit code: 0 = no watermark found, 1 = found in at least one file, 2 = no file read.
    """
    import sys

    from detect.paths import expand_inputs, usable
    from voxtwin import audio
    from voxtwin.console import emit_json, progress
    from voxtwin.errors import VoxtwinError
    from voxtwin.watermark import detect_watermark_stream
    from voxtwin.watermark.keys import installation_key

    key = installation_key(key_file, create=False)
    rows = []
    for label, source in progress(expand_inputs(paths, stdin=sys.stdin.buffer), "Reading watermarks"):
        try:
            if not usable(source):
                raise source
            rows.append({"path": label, **detect_watermark_stream(audio.iter_blocks(source), key=key).to_dict(), "error": None})
        except VoxtwinError as exc:
            rows.append({"path": label, "found": None, "payload": None, "confidence": None, "p_value": None, "error": " ".join(str(exc).split())})
    if json_out:
        emit_json(rows)
    else:
        for row in rows:
            if row["error"] is None:
                payload = "" if row["payload"] is None else f"  payload {row['payload']} crc_ok={row['payload_crc_ok']} verified={row['verified']}"
                typer.echo(f"{row['path']}: {'FOUND' if row['found'] else 'not found'} (p={row['p_value']:.2g}, z={row['z_score']:.1f}){payload}")
    for row in rows:
        if row["error"]:
            typer.echo(f"error: {row['error']}", err=True)
    if any(row["found"] for row in rows):
        raise typer.Exit(1)
    if rows and all(row["error"] for row in rows):
        raise typer.Exit(exit_codes.INPUT_ERROR)
