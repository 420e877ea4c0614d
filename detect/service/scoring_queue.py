"""A bounded queue in front of the model: one scoring at a time per worker process, a fixed number waiting, the
rest refused at once (503 + Retry-After) instead of piling up until every request times out."""

from __future__ import annotations

import asyncio
from typing import Callable, TypeVar

T = TypeVar("T")


class QueueFull(Exception):
    pass


class ScoringTimeout(Exception):
    pass


class ScoringQueue:
    def __init__(self, *, waiting_limit: int, timeout_s: float) -> None:
        self.waiting_limit = waiting_limit
        self.timeout_s = timeout_s
        self.waiting = 0
        self.running = 0
        self._slot = asyncio.Semaphore(1)  # torch already spreads one scoring over the cores

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` in a thread when the model is free; QueueFull if too many wait, ScoringTimeout past the limit.
        (A timed-out scoring finishes in its thread before the next one starts: threads cannot be killed.)"""
        if self._slot.locked() and self.waiting >= self.waiting_limit:
            raise QueueFull
        self.waiting += 1
        try:
            await self._slot.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        task = asyncio.ensure_future(asyncio.to_thread(work))

        def release(_):
            self.running -= 1
            self._slot.release()

        task.add_done_callback(release)
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.timeout_s)
        except asyncio.TimeoutError:
            raise ScoringTimeout from None
