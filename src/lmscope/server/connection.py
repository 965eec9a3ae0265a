"""Connection timeouts uvicorn lacks: a connection that does not send a request's headers in time is closed.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive`` seconds, but only
after a response: a client that connects and then sends nothing, or half a request line,
holds its connection (and a file descriptor) forever. :func:`timed_h11` gives uvicorn an
HTTP protocol that closes such a connection after ``seconds``; the request body's own
deadline is :class:`lmscope.server.guard.Guard`'s.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

KEEP_ALIVE_S = 5            # idle keep-alive connections are closed after this (uvicorn's setting)


def timed_h11(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections that wait more than ``seconds`` for a request's headers."""

    class TimedH11Protocol(H11Protocol):
        header_timeout = seconds

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._idle_since = time.monotonic()
            self._header_timer = self.loop.call_later(self.header_timeout, self._check_headers)

        def on_response_complete(self) -> None:
            self._idle_since = time.monotonic()
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            timer: Any = getattr(self, "_header_timer", None)
            if timer is not None:
                timer.cancel()
            super().connection_lost(exc)

        def _check_headers(self) -> None:
            """Close the connection if it is still waiting for a request's headers after the timeout."""
            if self.transport.is_closing():
                return
            waited = time.monotonic() - self._idle_since
            if self.conn.their_state is h11.IDLE and waited >= self.header_timeout:
                self.transport.close()
                return
            delay = self.header_timeout - waited if self.conn.their_state is h11.IDLE else self.header_timeout
            self._header_timer = self.loop.call_later(max(delay, 0.05), self._check_headers)

    return TimedH11Protocol
