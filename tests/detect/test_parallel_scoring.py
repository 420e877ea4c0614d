import os

import pytest

from detect.parallel_scoring import can_fork, score_in_parallel


def _square_with_pid(x):
    return x * x, os.getpid()


@pytest.mark.skipif(not can_fork(), reason="forked workers are used on Linux only")
def test_processes_keep_input_order_and_run_outside_this_process():
    results = list(score_in_parallel(_square_with_pid, list(range(12)), jobs=2, processes=True))
    assert [value for value, _ in results] == [x * x for x in range(12)]
    assert os.getpid() not in {pid for _, pid in results}


def test_threads_keep_input_order():
    results = list(score_in_parallel(_square_with_pid, list(range(12)), jobs=3, processes=False))
    assert results == [(x * x, os.getpid()) for x in range(12)]


@pytest.mark.skipif(not can_fork(), reason="forked workers are used on Linux only")
def test_a_dead_worker_leaves_the_rest_to_this_process():
    parent = os.getpid()

    def dies_in_a_worker(x):
        if os.getpid() != parent and x == 5:
            os._exit(1)  # what a crash in a native decoder looks like from here
        return x * x

    assert list(score_in_parallel(dies_in_a_worker, list(range(10)), jobs=2, processes=True)) == [x * x for x in range(10)]


def test_workers_that_cannot_start_leave_the_work_to_threads(monkeypatch):
    def no_more_processes(*args, **kwargs):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr("multiprocessing.context.ForkProcess._Popen", staticmethod(no_more_processes))
    assert list(score_in_parallel(_square_with_pid, list(range(6)), jobs=2, processes=True)) == [(x * x, os.getpid()) for x in range(6)]


def _score_in_a_daemon(queue):
    queue.put([value for value, _ in score_in_parallel(_square_with_pid, list(range(4)), jobs=2)])


@pytest.mark.skipif(not can_fork(), reason="forked workers are used on Linux only")
def test_inside_a_daemonic_process_threads_are_used():
    import multiprocessing

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_score_in_a_daemon, args=(queue,), daemon=True)
    child.start()
    assert queue.get(timeout=60) == [0, 1, 4, 9]
    child.join(timeout=60)
    assert child.exitcode == 0
