"""Score many files on all CPU cores: one forked worker process per job, threads where fork is unsafe.

Threads barely overlap here: decoding (PyAV), the loudness filter and most of the numpy glue hold the GIL, so two
threads on two cores scored a folder of messages only ~1.1x faster than one. Forked workers share nothing but the
loaded detector (inherited, copy-on-write) and take ~1.8x (benchmarks/score.py). Fork is used only on Linux, where
it is the platform's default and safe with torch on the CPU; macOS and Windows use threads.

The workers are started before the first result is asked for, so a progress bar's thread started afterwards is
never copied into them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterator, TypeVar

import torch

log = logging.getLogger(__name__)
Source = TypeVar("Source")
Result = TypeVar("Result")

_worker_score: Callable | None = None  # set in each forked worker: the parent's score function, inherited


def can_fork() -> bool:
    """Linux, and not inside a daemonic process (e.g. a multiprocessing.Pool worker), which may not have children."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


def _start_worker(score: Callable, threads: int) -> None:
    global _worker_score
    torch.set_num_threads(threads)  # first, before any torch op in the child
    _worker_score = score


def _score_in_worker(source):
    return _worker_score(source)


def score_in_parallel(score: Callable[[Source], Result], sources: list[Source], jobs: int, *, processes: bool | None = None) -> Iterator[Result]:
    """`score(source)` for every source, `jobs` at a time, yielded in input order. `score` must catch its own
    errors (a Detector's score_file reports a bad file in its Result). processes=None: forked processes where
    can_fork(), else threads. If a worker process dies (a crash in a native decoder), the files not yet scored are
    scored in this process, one by one."""
    cores = os.cpu_count() or 1
    threads_each = max(1, min(torch.get_num_threads(), cores) // jobs)
    use_processes = can_fork() if processes is None else processes
    if use_processes:
        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker, initargs=(score, threads_each))
        try:
            futures = [pool.submit(_score_in_worker, source) for source in sources]  # forks the workers now
        except OSError as exc:  # no more processes or memory for them: threads still work
            log.warning("cannot start scoring workers (%s); using threads", exc)
            pool.shutdown(wait=False, cancel_futures=True)
        else:
            return _collect(pool, futures, score, sources)
    return _threaded(score, sources, jobs, threads_each)


def _collect(pool: ProcessPoolExecutor, futures: list[Future], score: Callable, sources: list) -> Iterator:
    try:
        for i, future in enumerate(futures):
            try:
                yield future.result()
            except BrokenProcessPool:
                log.warning("a scoring worker died; scoring the remaining %d files in this process", len(sources) - i)
                yield from map(score, sources[i:])
                return
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _threaded(score: Callable, sources: list, jobs: int, threads_each: int) -> Iterator:
    threads = torch.get_num_threads()
    torch.set_num_threads(threads_each)
    try:
        with ThreadPoolExecutor(jobs) as pool:
            yield from pool.map(score, sources)
    finally:
        torch.set_num_threads(threads)
