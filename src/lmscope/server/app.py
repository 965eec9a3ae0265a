"""The web explorer's ASGI app (FastAPI): a page to type prompts and a small JSON API over one model.

Routes: ``GET /`` the explorer page; ``GET /api/info`` the model and the limits;
``POST /api/explain`` one JSON answer; ``POST /api/stream`` the same work as NDJSON
lines (``queued``, ``start``, ``token`` per generated token, ``stage``, then ``result`` or
``error``); ``GET /static/…`` the page's scripts and styles, served from the package;
``/openapi.json`` describes the API (there is no ``/docs`` page: Swagger UI would load its
scripts from a CDN, which the explorer never does).

One :class:`~lmscope.Scope` serves every request. Model work runs on one dedicated worker
thread, so requests queue (in arrival order) instead of interleaving hooks, and the event
loop stays free to stream tokens and answer other requests. Requests are checked before
they queue: body size, JSON shape, prompt length, and the generation and view options with
the library's own constraints and a cost budget (:mod:`lmscope.server.request`); a bad request gets a 4xx JSON
``{"detail": ...}``, and an unexpected failure a 500 JSON without a stack trace (the trace
goes to the server log). The work itself is :func:`lmscope.report.explain`.

Work nobody waits for is not done: a request whose client disconnects (``/api/explain`` and
``/api/stream`` alike) is skipped if still queued, and stops at its next checkpoint (the
model's next block, the next stage) if running; when the server stops, running work stops the
same way and its client gets a 503.
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

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from ..report import Cancelled, TokenStreamer, explain, saliency_summaries
from .guard import Guard
from .request import ErrorResponse, ExplainRequest, ExplainResponse, Limits, Plan, plan
from .worker import Busy, ModelWorker

if TYPE_CHECKING:  # pragma: no cover
    from ..scope import Scope

log = logging.getLogger("lmscope.server")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
STOPPING = "the explorer is shutting down; the request was stopped, try again once it is back"


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
    app = FastAPI(title="lmscope explorer", version=_version(), docs_url=None, redoc_url=None,
                  description="Run a prompt through a language model and get saliency, factors and logit-lens "
                              "views of why it wrote what it wrote.")
    app.state.scope, app.state.limits, app.state.worker = scope, limits, worker
    app.add_middleware(Guard, max_bytes=limits.max_body_bytes, allowed_hosts=allowed_hosts,
                       timeout=limits.request_timeout)
    app.router.add_event_handler("shutdown", worker.shutdown)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    errors = {400: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 422: {"model": ErrorResponse},
              503: {"model": ErrorResponse}}

    def job(work: Plan, gone: threading.Event, emit: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """The model work of one request (runs on the worker thread); stops once ``gone`` or the server stops."""
        def cancelled() -> bool:
            return gone.is_set() or worker.stopping.is_set()

        if cancelled():
            raise Cancelled("the client went away before its turn")
        streamer = None
        if emit is not None:
            emit({"event": "start"})
            if work.streams:
                streamer = TokenStreamer(scope.tokenizer, lambda i, d, t: emit(
                    {"event": "token", "token": d, "token_id": i, "text": t} if i is not None else
                    {"event": "text", "text": t}), cancelled=cancelled)
        step = (lambda name: emit({"event": "stage", "stage": name})) if emit is not None else None
        result = explain(scope, work.prompt, work.choice, generation=work.generation, mode=work.mode,
                         streamer=streamer, step=step, cancelled=cancelled)
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
    async def explain_endpoint(req: ExplainRequest, request: Request) -> Response:
        """Run the prompt and return the tokens and the chosen views in one JSON answer."""
        checked = plan(req, scope, limits)
        gone = threading.Event()
        future, _ = submit(lambda: _json(job(checked, gone)))    # serialised on the worker, not the event loop
        watch = asyncio.ensure_future(_until_disconnect(request, gone))
        try:
            body = await future
        except ValueError as exc:           # the library's own checks (e.g. too long for the context)
            raise HTTPException(400, str(exc)) from None
        except Cancelled:
            if not worker.stopping.is_set():
                return Response(status_code=499)    # nobody is listening: nginx's "client closed request"
            raise HTTPException(503, STOPPING) from None
        finally:
            watch.cancel()
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
                emit({"event": "result", **job(checked, gone, emit)})
            except Cancelled:
                if worker.stopping.is_set() and not gone.is_set():
                    emit({"event": "error", "status": 503, "detail": STOPPING})
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


async def _invalid_request(_request: Request, exc: RequestValidationError) -> Response:
    """Pydantic's 422 field list, as strict ASCII JSON: the values it echoes may be NaN/Infinity (which Python's
    JSON reader accepts and JSON has no literal for) or lone surrogates (which UTF-8 cannot encode)."""
    body = json.dumps({"detail": _finite(jsonable_encoder(exc.errors()))}, allow_nan=False, separators=(",", ":"))
    return Response(body.encode(), status_code=422, media_type="application/json")


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats as their JSON-reader spelling (``"NaN"``, ``"Infinity"``)."""
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        return json.dumps(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


async def _until_disconnect(request: Request, gone: threading.Event) -> None:
    """Set ``gone`` when the client disconnects (the body has been read, so the next message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    gone.set()


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _line(event: dict[str, Any]) -> bytes:
    return _json(event) + b"\n"


def _version() -> str:
    from .. import __version__
    return __version__
