"""The explorer's model worker: model work on one thread, one job at a time, in arrival order."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..scope import Scope


class Busy(Exception):
    """Too many requests are already waiting for the model."""


class ModelWorker:
    """Runs model work on one thread, one job at a time, in arrival order; the lock guards the scope's hooks."""

    def __init__(self, scope: Scope, *, max_queue: int, lock: threading.Lock | None = None) -> None:
        self.scope = scope
        self.max_queue = max_queue
        self.lock = lock or threading.Lock()
        self.pending = 0
        self.stopping = threading.Event()       # set when the server stops: running work ends at its next checkpoint
        self._count = threading.Lock()
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lmscope-model")

    def _call(self, fn: Callable[[], Any]) -> Any:
        with self.lock:
            return fn()

    def _done(self, _future: concurrent.futures.Future) -> None:
        with self._count:
            self.pending -= 1

    def submit(self, fn: Callable[[], Any]) -> tuple[asyncio.Future, int]:
        """Queue ``fn``; returns an awaitable future and how many jobs are ahead of it. Raises :class:`Busy`."""
        with self._count:
            if self.pending >= self.max_queue:
                raise Busy
            ahead = self.pending
            self.pending += 1
        future = self._executor.submit(self._call, fn)
        future.add_done_callback(self._done)
        return asyncio.wrap_future(future), ahead

    def stop(self) -> None:
        """Ask the running job to stop at its next checkpoint and skip the queued ones (the server is stopping)."""
        self.stopping.set()

    def shutdown(self) -> None:
        self.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)
