"""Score corpora on a Ray cluster (`--engine ray`): shards of files, each scored by a pool of Ray actors that load
the detector once, streamed back in input order, with finished shards kept on disk so a stopped run resumes.

    results = score_files_on_ray(["a.opus", "b.m4a"], model="fast")        # Results, in input order
    scores = score_trials_on_ray("runs/x/best.safetensors", trials)        # one float (or None) per trial

Without an address a local Ray starts on this machine; `address="ray://head:10001"` or `"auto"` joins a cluster
started with `ray start --head`. A run's shards live in a folder keyed by a digest of what is scored and how
(~/.cache/voxtwin/ray-runs/DIGEST, or $VOXTWIN_RAY_RUNS): `resume=True` keeps the finished ones and scores only the
rest; a worker process that dies mid-shard is restarted and the shard retried (max_restarts, max_task_retries).
Scores equal the local engine's: the actors run the same Detector code (one torch thread each).
"""

from __future__ import annotations

import hashlib
import logging
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from voxtwin.errors import VoxtwinError

DEFAULT_SHARD_SIZE = 64
RESTARTS = 2  # a dead actor is restarted this often, and its shard retried as often
CRASH_ONCE_ENV = "VOXTWIN_RAY_CRASH_ONCE"  # fault injection for the tests: a marker path; the first shard scored dies
STALL_ENV = "VOXTWIN_RAY_STALL_S"  # seconds to wait for the next shard before giving up (a hung pool; finished shards are kept)
DEFAULT_STALL_S = 3600.0  # one shard (64 files) of hour-long recordings on one slow core still fits


class RayEngineError(VoxtwinError):
    """Ray is not installed, the cluster cannot be reached, or a run folder is unusable."""


def _ray():
    try:
        import ray
    except ImportError:
        raise RayEngineError('--engine ray needs Ray: pip install -e ".[cluster]"') from None
    return ray


def _check_reachable(address: str) -> None:
    """A host:port (or ray://host:port) address must accept a TCP connection within 5 s; Ray itself would retry for
    minutes, printing its own log lines."""
    import socket

    target = address.split("://", 1)[-1]
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except OSError as exc:
        raise RayEngineError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc.__class__.__name__}); start one with `ray start --head` or leave out --address for a local Ray") from None


def connect(address: str | None = None, *, num_cpus: int | None = None):
    """The ray module, initialised: a local Ray on this machine without `address`, else the cluster there."""
    ray = _ray()
    if not ray.is_initialized():
        if address:
            _check_reachable(address)
        # Ray's own notices ("token authentication is enabled ...") would land on our stderr; errors still raise
        for name in ("ray", "ray._private.authentication.authentication_token_setup"):
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            ray.init(address=address or None, num_cpus=None if address else num_cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                     configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayEngineError(f"cannot start or reach Ray{f' at {address}' if address else ''}: {' '.join(str(exc).split())[:300]}") from None
    return ray


def runs_dir() -> Path:
    return Path(os.environ.get("VOXTWIN_RAY_RUNS") or Path.home() / ".cache" / "voxtwin" / "ray-runs")


class ShardStore:
    """Finished shards of one run as JSON files; without resume the folder starts empty."""

    def __init__(self, key: dict[str, Any], *, resume: bool) -> None:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]
        self.folder = runs_dir() / digest
        if not resume and self.folder.exists():
            shutil.rmtree(self.folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RayEngineError(f"{self.folder}: cannot create the run folder ({exc.strerror})") from None

    def _path(self, index: int) -> Path:
        return self.folder / f"shard_{index:06d}.json"

    def load(self, index: int, items: list) -> list | None:
        path = self._path(index)
        if not path.is_file():
            return None
        stored = json.loads(path.read_text())
        return stored["results"] if stored.get("items") == [str(i) for i in items] else None

    def save(self, index: int, items: list, results: list) -> None:
        tmp = self._path(index).with_suffix(".part")
        tmp.write_text(json.dumps({"items": [str(i) for i in items], "results": results}))
        os.replace(tmp, self._path(index))

    def finished(self) -> int:
        return len(list(self.folder.glob("shard_*.json")))


def _maybe_crash(index: int) -> None:
    marker = os.environ.get(CRASH_ONCE_ENV)
    if marker and not os.path.exists(marker):
        Path(marker).write_text(f"died while scoring shard {index}\n")
        os._exit(1)


class FileScorer:
    """A Ray actor: the detector loaded once; scores a shard of files into Result dicts."""

    def __init__(self, model: str | None, device: str, hop_s: float, watermark_key: bytes | None, precision: str = "auto", synthetic_prior: float | None = None) -> None:
        import torch

        from detect.detector import Detector

        torch.set_num_threads(1)
        self.detector = Detector.load(model, device=device, hop_s=hop_s, watermark_key=watermark_key, precision=precision, synthetic_prior=synthetic_prior)

    def score(self, index: int, sources: list) -> list[dict]:
        _maybe_crash(index)
        return [self.detector.score_file(source if isinstance(source, bytes) else Path(source)).to_dict() for source in sources]


class TrialScorer:
    """A Ray actor: a training checkpoint loaded once; scores a shard of files as `voxtwin detect eval` does."""

    def __init__(self, checkpoint: str, device: str, cache_dir: str) -> None:
        import torch

        from detect.checkpoints import load_detector
        from detect.data import WaveformCache
        from detect.train import DEFAULT_CROP_SAMPLES
        from voxtwin.device import resolve_device

        torch.set_num_threads(1)
        self.device = resolve_device(device)
        self.model, meta, _ = load_detector(checkpoint, map_location=self.device)
        self.crop = meta.get("training", {}).get("config", {}).get("crop_samples", DEFAULT_CROP_SAMPLES)
        self.cache = WaveformCache(Path(cache_dir))

    def score(self, index: int, paths: list[str]) -> list[float | None]:
        from detect.train import score_waves

        _maybe_crash(index)
        waves = [self.cache.load(Path(p)) for p in paths]
        usable = [w for w in waves if w is not None]
        scores = iter(score_waves(self.model, usable, crop_samples=self.crop, device=self.device).tolist() if usable else [])
        return [None if w is None else float(next(scores)) for w in waves]


def stall_timeout(stall_s: float | None = None) -> float:
    """Seconds to wait for the next shard: `stall_s`, else $VOXTWIN_RAY_STALL_S, else one hour."""
    if stall_s is None:
        raw = os.environ.get(STALL_ENV, "")
        try:
            stall_s = float(raw) if raw else DEFAULT_STALL_S
        except ValueError:
            raise RayEngineError(f"{STALL_ENV} must be a number of seconds, not {raw!r}") from None
    if not stall_s > 0:
        raise RayEngineError(f"the wait for a shard must be positive, got {stall_s:g} s")
    return stall_s


def _in_order(pool, count: int, stall_s: float) -> Iterator[list]:
    """The pool's results in submission order; TimeoutError when the next one takes longer than `stall_s`."""
    for _ in range(count):
        yield pool.get_next(timeout=stall_s)


def _actor_device(device: str, num_gpus_per_worker: float) -> str:
    """Actors given GPUs score on CUDA unless a device was named; CPU actors use `device` as given."""
    return "cuda" if num_gpus_per_worker and device == "cpu" else device


def _shards(items: list, size: int) -> list[tuple[int, list]]:
    return [(i, items[start : start + size]) for i, start in enumerate(range(0, len(items), size))]


def run_sharded(actor_class: type, init_args: tuple, items: list, *, key: dict, resume: bool, shard_size: int, jobs: int, num_gpus_per_worker: float,
                address: str | None, on_shard: Callable[[int, int], None] | None = None, stall_s: float | None = None) -> Iterator[Any]:
    """Every item's result, in input order, as shards finish: stored shards first read back, the rest scored by
    `jobs` actors (0 = one per CPU of the cluster). When no shard arrives for `stall_s` seconds ($VOXTWIN_RAY_STALL_S,
    default one hour) the run stops with a one-line error instead of waiting forever; its finished shards stay on disk."""
    if shard_size < 1:
        raise RayEngineError(f"shard size must be >= 1, got {shard_size}")
    stall_s = stall_timeout(stall_s)
    shards = _shards(items, shard_size)
    store = ShardStore({**key, "shard_size": shard_size, "items": [str(i) for i in items]}, resume=resume)
    stored = {i: store.load(i, part) for i, part in shards}
    todo = [(i, part) for i, part in shards if stored[i] is None]
    scored: Iterator[list] = iter(())
    if todo:
        ray = connect(address)
        from ray.util import ActorPool

        workers = jobs or max(1, int(ray.cluster_resources().get("CPU", 1)))
        remote = ray.remote(num_cpus=1, num_gpus=num_gpus_per_worker, max_restarts=RESTARTS, max_task_retries=RESTARTS)(actor_class)
        if os.environ.get(CRASH_ONCE_ENV):
            remote = remote.options(runtime_env={"env_vars": {CRASH_ONCE_ENV: os.environ[CRASH_ONCE_ENV]}})
        actors = [remote.remote(*init_args) for _ in range(min(workers, len(todo)))]
        pool = ActorPool(actors)
        for shard in todo:
            pool.submit(lambda actor, shard: actor.score.remote(*shard), shard)
        scored = _in_order(pool, len(todo), stall_s)
    done = 0
    for i, part in shards:
        results = stored[i]
        if results is None:
            try:
                results = next(scored)
            except TimeoutError:
                for actor in actors:  # a stuck actor would hold its CPU (or GPU) until the driver exits
                    ray.kill(actor, no_restart=True)
                raise RayEngineError(f"no shard came back from Ray within {stall_s:g} s (shard {i} of {len(shards)}); the {done} finished shards are kept: "
                                     f"rerun with --resume, or allow longer with {STALL_ENV}=SECONDS") from None
            except Exception as exc:  # a shard that failed after every retry
                raise RayEngineError(f"shard {i} failed on Ray after {RESTARTS} retries: {exc.__class__.__name__}: {' '.join(str(exc).split())[:300]}") from None
            store.save(i, part, results)
        done += 1
        if on_shard:
            on_shard(done, len(shards))
        yield from results


def score_files_on_ray(sources: Iterable, *, model: str | None = None, device: str = "cpu", hop_s: float = 1.0, watermark_key: bytes | None = None,
                       resume: bool = False, shard_size: int = DEFAULT_SHARD_SIZE, jobs: int = 0, num_gpus_per_worker: float = 0.0,
                       address: str | None = None, on_shard: Callable[[int, int], None] | None = None, precision: str | None = None,
                       synthetic_prior: float | None = None) -> Iterator:
    """`Detector.score_files` on Ray: Results in input order. precision: the name each actor resolves on its own
    machine (auto: bf16 only where that machine runs it natively)."""
    from detect.detector import Result, shipped_or_path
    from voxtwin.precision import requested_precision

    sources = [s if isinstance(s, bytes) else str(s) for s in sources]
    weights = shipped_or_path(model).with_suffix(".json")
    precision = requested_precision(precision)
    key = {"kind": "score", "model": str(model), "model_sha": hashlib.sha256(weights.read_bytes()).hexdigest() if weights.is_file() else "", "hop_s": hop_s,
           "watermark_key": hashlib.sha256(watermark_key or b"").hexdigest(), "precision": precision}
    if synthetic_prior is not None:  # runs started without one keep resuming
        key["synthetic_prior"] = synthetic_prior
    device = _actor_device(device, num_gpus_per_worker)
    for data in run_sharded(FileScorer, (model, device, hop_s, watermark_key, precision, synthetic_prior), sources, key=key, resume=resume, shard_size=shard_size, jobs=jobs,
                            num_gpus_per_worker=num_gpus_per_worker, address=address, on_shard=on_shard):
        yield Result.from_dict(data)


def score_trials_on_ray(checkpoint: Path, trials: list, *, device: str = "cpu", resume: bool = False, shard_size: int = DEFAULT_SHARD_SIZE, jobs: int = 0,
                        num_gpus_per_worker: float = 0.0, address: str | None = None, on_shard: Callable[[int, int], None] | None = None) -> list[float | None]:
    """The bona fide score of each trial (None: unreadable), as `voxtwin detect eval` computes them locally."""
    from detect.train import default_cache_dir

    checkpoint = Path(checkpoint).resolve()
    meta = checkpoint.with_suffix(".json")
    key = {"kind": "eval", "checkpoint_sha": hashlib.sha256(meta.read_bytes()).hexdigest() if meta.is_file() else str(checkpoint)}
    device = _actor_device(device, num_gpus_per_worker)
    paths = [str(Path(t.path).resolve()) for t in trials]
    return list(run_sharded(TrialScorer, (str(checkpoint), device, str(default_cache_dir())), paths, key=key, resume=resume, shard_size=shard_size, jobs=jobs,
                            num_gpus_per_worker=num_gpus_per_worker, address=address, on_shard=on_shard))
