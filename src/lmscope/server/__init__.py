"""The local web explorer: ``lmscope serve``, or from Python ``create_app(scope)`` / :func:`serve`.

It needs the ``serve`` extra (FastAPI and uvicorn): ``pip install 'lmscope[serve]'``. The
work it serves is :mod:`lmscope.report`, which the CLI uses without any web package.

>>> from lmscope.server import create_app, running
>>> app = create_app(lmscope.load())                  # doctest: +SKIP
>>> with running(app) as url:                          # a free loopback port, in a thread
...     print(url)                                     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

SERVE_EXTRA = "pip install 'lmscope[serve]'"


try:
    from .app import LOOPBACK_HOSTS, Limits, create_app
except ModuleNotFoundError as exc:  # pragma: no cover - exercised in a subprocess without fastapi
    if exc.name not in ("fastapi", "starlette", "pydantic", "uvicorn"):
        raise
    raise ModuleNotFoundError(f"the web explorer needs FastAPI and uvicorn ({exc.name} is missing): "
                              f"{SERVE_EXTRA}", name=exc.name) from exc

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from ..scope import Scope

__all__ = ["SERVE_EXTRA", "Limits", "create_app", "is_loopback", "running", "serve", "stop_work_on_signals",
           "uvicorn_settings"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    return host.strip("[]").lower() in ("localhost", "::1") or host.startswith("127.")


def public_warning(host: str) -> str:
    """The warning printed when the explorer listens beyond this machine."""
    return (f"warning: serving on {host}, which other machines can reach. The explorer has no authentication: "
            "anyone who can connect can run the model. Use --host 127.0.0.1 unless you mean it.")


def serve(scope: Scope, *, host: str = "127.0.0.1", port: int = 8000, limits: Limits | None = None,
          log_level: str = "info") -> None:
    """Run the explorer over ``scope`` with uvicorn until interrupted; warns when ``host`` is not loopback."""
    import uvicorn

    loopback = is_loopback(host)
    if not loopback:
        print(public_warning(host), file=sys.stderr)
    app = create_app(scope, limits=limits, allowed_hosts=LOOPBACK_HOSTS if loopback else None)
    app.router.add_event_handler("startup", lambda: stop_work_on_signals(app))
    uvicorn.run(app, host=host, port=port, log_level=log_level, **uvicorn_settings(app.state.limits))
    if getattr(app.state, "signal", None) == signal.SIGINT:
        raise KeyboardInterrupt       # uvicorn returns normally after Ctrl-C; the caller exits 130 as documented


def uvicorn_settings(limits: Limits) -> dict:
    """uvicorn's settings for the explorer: connection timeouts (idle keep-alive, a request's headers) and a
    short graceful shutdown (running work stops at its next checkpoint, see :func:`stop_work_on_signals`)."""
    from .connection import KEEP_ALIVE_S, timed_h11

    return {"http": timed_h11(limits.request_timeout), "timeout_keep_alive": KEEP_ALIVE_S,
            "timeout_graceful_shutdown": 5}


def stop_work_on_signals(app: FastAPI) -> None:
    """Chain SIGINT/SIGTERM (uvicorn's handlers) with stopping the app's model worker, so Ctrl-C ends a running
    job at its next checkpoint (its client gets a 503) instead of waiting for it; the signal is kept in
    ``app.state.signal``. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return
    worker = app.state.worker
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if callable(previous):
            def handler(signum, frame, previous=previous) -> None:
                app.state.signal = signum
                worker.stop()
                previous(signum, frame)
            signal.signal(sig, handler)


@contextlib.contextmanager
def running(app: FastAPI, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning",
            timeout: float = 30.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a background thread (``port=0``: a free port); yields its base URL."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    settings = uvicorn_settings(app.state.limits) if hasattr(app.state, "limits") else {}
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="on", **settings))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="lmscope-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the explorer did not start on {host}:{bound}")
        time.sleep(0.01)
    try:
        yield f"http://{host if family == socket.AF_INET else f'[{host}]'}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
