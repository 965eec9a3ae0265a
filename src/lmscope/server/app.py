"""The web explorer's ASGI app (FastAPI): a page to type prompts and a small JSON API over one model.

Routes: ``GET /`` the explorer page; ``GET /api/info`` the model and the limits;
``POST /api/explain`` one JSON answer; ``POST /api/stream`` the same work as NDJSON
lines (``queued``, ``start``, ``token`` per generated token, ``stage``, then ``result`` or
``error``); ``GET /static/…`` the page's scripts and styles, served from the package;
``/openapi.json`` and ``/docs`` describe the API.

One :class:`~lmscope.Scope` serves every request. Model work runs on one dedicated worker
thread, so requests queue (in arrival order) instead of interleaving hooks, and the event
loop stays free to stream tokens and answer other requests. Requests are checked before
they queue: body size, JSON shape, prompt length, ``max_new_tokens``, view options; a bad
request gets a 4xx JSON ``{"detail": ...}``, and an unexpected failure a 500 JSON without
a stack trace (the trace goes to the server log).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import html
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from .explain import Cancelled, Generation, TokenStreamer, ViewChoice, check_choice, explain

if TYPE_CHECKING:  # pragma: no cover
    from ..scope import Scope

log = logging.getLogger("lmscope.server")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
DEFAULT_NEW_TOKENS = 20


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; larger requests are refused with 413 or 422."""

    max_prompt_chars: int = 4000        # prompt, or all chat messages together
    max_new_tokens: int = 200
    max_body_bytes: int = 64 * 1024     # whole request body
    max_factors: int = 16
    max_messages: int = 32
    max_queue: int = 64                 # requests waiting for the model before 503


# ---------------------------------------------------------------------------- request schema
class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="forbid", strict=True)
    role: Literal["system", "user", "assistant"]
    content: str


class ExplainRequest(BaseModel):
    """A prompt (or chat messages) to run, how to generate, and which views to compute."""

    model_config = ConfigDict(extra="forbid", strict=True)
    prompt: str | None = Field(None, description="Text to continue (or to analyse with mode='analyze').")
    messages: list[Message] | None = Field(None, description="Chat messages, rendered with the chat template.")
    mode: Literal["generate", "analyze"] = Field("generate", description="Generate a continuation or read text.")
    max_new_tokens: int | None = Field(None, ge=1, description="Tokens to generate (default 20, or the server's "
                                                              "limit if lower; ignored with mode='analyze').")
    do_sample: bool = False
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    temperature: float = Field(1.0, gt=0, le=10)
    top_k: int | None = Field(None, ge=1)
    top_p: float | None = Field(None, gt=0, le=1)
    num_beams: int = Field(1, ge=1, le=8)
    saliency: str | None = Field("grad_x_input", description="A saliency method name, or null for none.")
    factors: int | None = Field(None, ge=1, description="Number of NMF factors of FFN activations, or null.")
    factor_layers: list[int] | None = Field(None, description="Layers to factorise (default: all).")
    lens: bool = Field(False, description="Logit lens: rank of each produced token after every layer.")
    candidates: bool = Field(True, description="Top-k candidates of every generated token.")


class ExplainResponse(BaseModel):
    """The run's tokens and settings, and the view data the page renders with the lmscope bundle."""

    model: str
    text: str
    output_text: str
    n_input: int
    tokens: list[dict[str, Any]]
    settings: dict[str, Any]
    views: list[dict[str, Any]]
    timings: dict[str, float]


class ErrorResponse(BaseModel):
    detail: Any


# ---------------------------------------------------------------------------- the model worker
class Busy(Exception):
    """Too many requests are already waiting for the model."""


class ModelWorker:
    """Runs model work on one thread, one job at a time, in arrival order; the lock guards the scope's hooks."""

    def __init__(self, scope: Scope, *, max_queue: int, lock: threading.Lock | None = None) -> None:
        self.scope = scope
        self.max_queue = max_queue
        self.lock = lock or threading.Lock()
        self.pending = 0
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

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------------------- middleware
class Guard:
    """ASGI middleware: refuse bodies over ``max_bytes`` (413) and, if given, unknown Host headers (400), as JSON;
    turn any unexpected exception into a 500 JSON answer without a trace."""

    def __init__(self, app, *, max_bytes: int, allowed_hosts: Sequence[str] | None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.allowed_hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.allowed_hosts is not None:
            host = headers.get("host", "")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.lower() not in self.allowed_hosts:
                await _send_json(send, 400, {"detail": f"Host {host!r} is not served here; open the explorer at "
                                                       "http://127.0.0.1:<port>/ (this guards against DNS rebinding)"})
                return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await _send_json(send, 413, {"detail": f"the request body is larger than {self.max_bytes} bytes"})
            return
        # Read the body (bounded) before the app sees it, so chunked uploads are limited too.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_json(send, 413, {"detail": f"the request body is larger than {self.max_bytes} bytes"})
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        started = False

        async def watch(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, replay, watch)
        except Exception as exc:  # noqa: BLE001 - the client gets JSON without the trace; the log gets the trace
            log.exception("request %s %s failed", scope.get("method"), scope.get("path"))
            if not started:
                await _send_json(send, 500, {"detail": f"internal error ({type(exc).__name__}); see the server log"})


async def _send_json(send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


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

    def check(req: ExplainRequest) -> None:
        """Refuse what the limits or the model cannot take, before queueing (422)."""
        if (req.prompt is None) == (req.messages is None):
            raise HTTPException(422, "pass exactly one of 'prompt' (a string) or 'messages' (chat messages)")
        if req.prompt is not None:
            chars = len(req.prompt)
            if not req.prompt.strip():
                raise HTTPException(422, "the prompt is empty; type some text")
        else:
            if not req.messages:
                raise HTTPException(422, "messages is empty; pass at least one {role, content} message")
            if len(req.messages) > limits.max_messages:
                raise HTTPException(422, f"too many messages ({len(req.messages)}); the limit is {limits.max_messages}")
            chars = sum(len(m.content) for m in req.messages)
        if chars > limits.max_prompt_chars:
            raise HTTPException(422, f"the prompt has {chars} characters; the limit is {limits.max_prompt_chars}")
        if req.max_new_tokens is None:
            req.max_new_tokens = min(DEFAULT_NEW_TOKENS, limits.max_new_tokens)
        if req.mode == "generate" and req.max_new_tokens > limits.max_new_tokens:
            raise HTTPException(422, f"max_new_tokens={req.max_new_tokens} is over the limit of "
                                     f"{limits.max_new_tokens}")
        if req.factors is not None and req.factors > limits.max_factors:
            raise HTTPException(422, f"factors={req.factors} is over the limit of {limits.max_factors}")
        if req.mode == "generate" and scope.is_masked:
            raise HTTPException(422, f"{scope.name} is a masked LM and does not generate; use mode='analyze'")
        try:
            check_choice(scope, _choice(req))
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

    def job(req: ExplainRequest, emit: Callable[[dict[str, Any]], None] | None = None,
            gone: threading.Event | None = None) -> dict[str, Any]:
        """The model work of one request (runs on the worker thread)."""
        if gone is not None and gone.is_set():
            raise Cancelled("the client went away before its turn")
        prompt = req.prompt if req.prompt is not None else [m.model_dump() for m in req.messages]
        streamer = None
        if emit is not None:
            emit({"event": "start"})
            if req.mode == "generate" and req.num_beams == 1:   # transformers streams greedy/sampling only
                streamer = TokenStreamer(scope.tokenizer, lambda i, t: emit({"event": "token", "token": t,
                                                                             "token_id": i}),
                                         cancelled=gone.is_set if gone is not None else (lambda: False))
        step = (lambda name: emit({"event": "stage", "stage": name})) if emit is not None else None
        result = explain(scope, prompt, _choice(req), generation=_generation(req), mode=req.mode,
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
        """The model served, the saliency methods and the request limits."""
        from ..saliency import saliency_methods

        return {"model": scope.name, "masked": scope.is_masked, "n_layers": scope.n_layers,
                "context_length": scope.context_length,
                "chat": bool(getattr(scope.tokenizer, "chat_template", None)),
                "saliency_methods": saliency_methods(), "limits": asdict(limits), "version": _version()}

    @app.post("/api/explain", response_model=ExplainResponse, responses=errors)
    async def explain_endpoint(req: ExplainRequest) -> Response:
        """Run the prompt and return the tokens and the chosen views in one JSON answer."""
        check(req)
        future, _ = submit(lambda: _json(job(req)))    # serialised on the worker, not the event loop
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
        check(req)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        gone = threading.Event()

        def emit(event: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        def work() -> None:
            try:
                emit({"event": "result", **job(req, emit, gone)})
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


def _choice(req: ExplainRequest) -> ViewChoice:
    return ViewChoice(saliency=req.saliency or None, factors=req.factors, factor_layers=req.factor_layers,
                      lens=req.lens, candidates=req.candidates)


def _generation(req: ExplainRequest) -> Generation:
    return Generation(max_new_tokens=req.max_new_tokens, do_sample=req.do_sample, seed=req.seed,
                      temperature=req.temperature, top_k=req.top_k, top_p=req.top_p, num_beams=req.num_beams)


def _version() -> str:
    from .. import __version__
    return __version__
