"""The web explorer's ASGI app (FastAPI): a page to type prompts and a small JSON API over one model.

Routes: ``GET /`` the explorer page; ``GET /api/info`` the model and the limits;
``POST /api/explain`` one JSON answer; ``POST /api/stream`` the same work as NDJSON
lines (``queued``, ``start``, ``token`` per generated token, ``stage``, then ``result`` or
``error``); ``GET /static/…`` the page's scripts and styles, served from the package;
``/openapi.json`` and ``/docs`` describe the API.

One :class:`~lmscope.Scope` serves every request. Model work runs on one dedicated worker
thread, so requests queue (in arrival order) instead of interleaving hooks, and the event
loop stays free to stream tokens and answer other requests. Requests are checked before
they queue: body size, JSON shape, prompt length, and the generation and view options with
the library's own constraints (:mod:`lmscope.server.request`); a bad request gets a 4xx JSON
``{"detail": ...}``, and an unexpected failure a 500 JSON without a stack trace (the trace
goes to the server log). The work itself is :func:`lmscope.report.explain`.
"""

from __future__ import annotations

import asyncio
import functools
import html
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from ..report import Cancelled, TokenStreamer, explain, saliency_summaries
from .guard import Guard
from .request import ErrorResponse, ExplainRequest, ExplainResponse, Limits, Plan, plan
from .worker import Busy, ModelWorker

if TYPE_CHECKING:  # pragma: no cover
    from ..scope import Scope

log = logging.getLogger("lmscope.server")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


# ---------------------------------------------------------------------------- static files
_STATIC = {
    "lmscope.js": ("lmscope.views", "application/javascript"),
    "lmscope.css": ("lmscope.views", "text/css"),
    "explorer.js": ("lmscope.server", "application/javascript"),
    "explorer.css": ("lmscope.server", "text/css"),
}
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@functools.cache
def _static(name: str) -> bytes:
    package, _ = _STATIC[name]
    return resources.files(package).joinpath("static", name).read_bytes()


def _page(scope: Scope) -> str:
    template = resources.files("lmscope.server").joinpath("static", "explorer.html").read_text(encoding="utf-8")
    return template.replace("{{model}}", html.escape(scope.name, quote=True))


# ---------------------------------------------------------------------------- the app
def create_app(scope: Scope, *, limits: Limits | None = None, allowed_hosts: Sequence[str] | None = LOOPBACK_HOSTS,
               lock: threading.Lock | None = None) -> FastAPI:
    """The explorer app over ``scope``: the page, the JSON API, limits, one model worker.

    ``allowed_hosts`` lists the Host header names served (default: loopback names, which
    blocks DNS-rebinding pages); ``None`` serves any (needed behind another host name).
    ``lock`` is held around every model call: pass one to share the scope with other code.
    """
    limits = limits or Limits()
    worker = ModelWorker(scope, max_queue=limits.max_queue, lock=lock)
    app = FastAPI(title="lmscope explorer", version=_version(),
                  description="Run a prompt through a language model and get saliency, factors and logit-lens "
                              "views of why it wrote what it wrote.")
    app.state.scope, app.state.limits, app.state.worker = scope, limits, worker
    app.add_middleware(Guard, max_bytes=limits.max_body_bytes, allowed_hosts=allowed_hosts)
    app.router.add_event_handler("shutdown", worker.shutdown)
    errors = {400: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 422: {"model": ErrorResponse},
              503: {"model": ErrorResponse}}

    def job(work: Plan, emit: Callable[[dict[str, Any]], None] | None = None,
            gone: threading.Event | None = None) -> dict[str, Any]:
        """The model work of one request (runs on the worker thread)."""
        if gone is not None and gone.is_set():
            raise Cancelled("the client went away before its turn")
        streamer = None
        if emit is not None:
            emit({"event": "start"})
            if work.streams:
                streamer = TokenStreamer(scope.tokenizer, lambda i, t: emit({"event": "token", "token": t,
                                                                             "token_id": i}),
                                         cancelled=gone.is_set if gone is not None else (lambda: False))
        step = (lambda name: emit({"event": "stage", "stage": name})) if emit is not None else None
        result = explain(scope, work.prompt, work.choice, generation=work.generation, mode=work.mode,
                         streamer=streamer, step=step)
        return result.to_dict()

    def submit(fn: Callable[[], Any]) -> tuple[asyncio.Future, int]:
        try:
            return worker.submit(fn)
        except Busy:
            raise HTTPException(503, f"the model is busy: {limits.max_queue} requests are already waiting; "
                                     "try again shortly") from None

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(_page(scope), headers={"Content-Security-Policy": _CSP,
                                                   "X-Content-Type-Options": "nosniff",
                                                   "Referrer-Policy": "no-referrer"})

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in _STATIC:
            raise HTTPException(404, f"no static file {name!r}")
        return Response(_static(name), media_type=_STATIC[name][1],
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})

    @app.get("/api/info")
    async def info() -> dict[str, Any]:
        """The model served, the saliency methods (with their one-line summaries) and the request limits."""
        methods = saliency_summaries()
        return {"model": scope.name, "masked": scope.is_masked, "n_layers": scope.n_layers,
                "context_length": scope.context_length,
                "chat": bool(getattr(scope.tokenizer, "chat_template", None)),
                "saliency_methods": list(methods), "saliency_summaries": methods, "limits": asdict(limits),
                "version": _version()}

    @app.post("/api/explain", response_model=ExplainResponse, responses=errors)
    async def explain_endpoint(req: ExplainRequest) -> Response:
        """Run the prompt and return the tokens and the chosen views in one JSON answer."""
        checked = plan(req, scope, limits)
        future, _ = submit(lambda: _json(job(checked)))    # serialised on the worker, not the event loop
        try:
            body = await future
        except ValueError as exc:           # the library's own checks (e.g. too long for the context)
            raise HTTPException(400, str(exc)) from None
        # The data is plain JSON already (validate_view): skip FastAPI's re-validation of a large answer.
        return Response(body, media_type="application/json")

    @app.post("/api/stream", responses={200: {"content": {"application/x-ndjson": {}},
                                              "description": "NDJSON events, one JSON object per line"}, **errors})
    async def stream_endpoint(req: ExplainRequest) -> StreamingResponse:
        """The same work as ``/api/explain``, streamed as NDJSON events while it happens.

        Events: ``{"event": "queued", "ahead": n}``, ``{"event": "start"}``, ``{"event": "token",
        "token", "token_id"}`` per generated token, ``{"event": "stage", "stage"}``, then
        ``{"event": "result", ...the /api/explain answer}`` or ``{"event": "error", "status", "detail"}``.
        """
        checked = plan(req, scope, limits)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        gone = threading.Event()

        def emit(event: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        def work() -> None:
            try:
                emit({"event": "result", **job(checked, emit, gone)})
            except Cancelled:
                pass
            except ValueError as exc:
                emit({"event": "error", "status": 400, "detail": str(exc)})
            except Exception as exc:  # noqa: BLE001 - reported to the client without a trace, logged here
                log.exception("streamed request failed")
                emit({"event": "error", "status": 500,
                      "detail": f"internal error ({type(exc).__name__}); see the server log"})
            finally:
                emit(None)

        future, ahead = submit(work)

        async def lines():
            try:
                yield _line({"event": "queued", "ahead": ahead})
                while (event := await events.get()) is not None:
                    yield _line(event)
            finally:
                gone.set()          # a client that left stops generation and skips its queued work

        future.add_done_callback(lambda f: f.cancelled() and events.put_nowait(None))
        return StreamingResponse(lines(), media_type="application/x-ndjson",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _line(event: dict[str, Any]) -> bytes:
    return _json(event) + b"\n"


def _version() -> str:
    from .. import __version__
    return __version__
