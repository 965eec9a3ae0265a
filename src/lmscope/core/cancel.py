"""Cooperative cancellation: long work asks :func:`checkpoint` between chunks whether anyone still wants it.

The caller that can tell (the explorer: has the client gone? is the server stopping?)
wraps the work in :func:`cancellable`; every :func:`checkpoint` inside it, on the same
thread, raises :class:`Cancelled` once ``should_stop()`` is true. Outside any
:func:`cancellable` block a checkpoint costs one context-variable read and never stops.

>>> with cancellable(client_gone.is_set):    # doctest: +SKIP
...     explain(scope, prompt, choice)       # stops at the next checkpoint once the client has gone
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

__all__ = ["Cancelled", "cancellable", "checkpoint", "stopping"]


class Cancelled(Exception):
    """Work stopped because nobody is waiting for it any more (the client left, the server is stopping)."""


_SHOULD_STOP: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar("lmscope_should_stop",
                                                                                        default=None)


@contextlib.contextmanager
def cancellable(should_stop: Callable[[], bool]) -> Iterator[None]:
    """Within the block (this thread or task), :func:`checkpoint` raises :class:`Cancelled` once ``should_stop()``."""
    token = _SHOULD_STOP.set(should_stop)
    try:
        yield
    finally:
        _SHOULD_STOP.reset(token)


def stopping() -> bool:
    """Whether the work running here has been asked to stop."""
    should_stop = _SHOULD_STOP.get()
    return should_stop is not None and bool(should_stop())


def checkpoint(why: str = "the client went away") -> None:
    """Raise :class:`Cancelled` if the work running here has been asked to stop; call it between chunks."""
    if stopping():
        raise Cancelled(why)
