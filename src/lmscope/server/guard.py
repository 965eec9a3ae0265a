"""ASGI middleware of the explorer: body size, time, encoding and Host checks, and JSON answers for
unexpected failures."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("lmscope.server")


class Guard:
    """ASGI middleware: refuse bodies over ``max_bytes`` (413), bodies not sent within ``timeout`` seconds (408),
    JSON bodies that are not UTF-8 (422) and, if given, unknown Host headers (400), as JSON;
    turn any unexpected exception into a 500 JSON answer without a trace."""

    def __init__(self, app, *, max_bytes: int, allowed_hosts: Sequence[str] | None, timeout: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
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
                await send_json(send, 400, {"detail": f"Host {host!r} is not served here; open the explorer at "
                                                       "http://127.0.0.1:<port>/ (this guards against DNS rebinding)"})
                return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await send_json(send, 413, {"detail": f"the request body is larger than {self.max_bytes} bytes"})
            return
        # Read the body (bounded) before the app sees it, so chunked uploads are limited too.
        chunks, size, more = [], 0, True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                await send_json(send, 408, {"detail": f"the request body did not arrive within {self.timeout:g} s"},
                                close=True)
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_json(send, 413, {"detail": f"the request body is larger than {self.max_bytes} bytes"})
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = not_utf8(body) if "json" in headers.get("content-type", "") else None
        if problem:
            await send_json(send, 422, {"detail": problem})
            return
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
                await send_json(send, 500, {"detail": f"internal error ({type(exc).__name__}); see the server log"})


def not_utf8(body: bytes) -> str | None:
    """Why a JSON request body is not UTF-8 text (JSON's only encoding on the wire), or None."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (f"the request body is not UTF-8 (byte {body[exc.start]:#04x} at offset {exc.start}); send JSON "
                "encoded as UTF-8")
    return None


async def send_json(send, status: int, payload: dict[str, Any], *, close: bool = False) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": headers + ([(b"connection", b"close")] if close else [])})
    await send({"type": "http.response.body", "body": body})
