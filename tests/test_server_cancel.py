"""Work nobody waits for is not done: a client that disconnects from /api/explain or /api/stream
has its queued work skipped and its running work stopped at the next checkpoint, so the next
request is served promptly; requests over the cost budget are refused with 422."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from lmscope.report import Cancelled, ViewChoice, explain, explain_cost, saliency_cost
from lmscope.saliency import saliency_methods
from lmscope.server import Limits, create_app, running
from lmscope.testing import tiny_scope

HEAVY = {"prompt": " ".join(map(str, range(45))), "mode": "analyze", "saliency": "lime"}   # ~10 s alone
SMALL = {"prompt": "1, 2,", "max_new_tokens": 2, "saliency": None}


@pytest.fixture(scope="module")
def scope():
    return tiny_scope("llama")


def drop_after(url: str, path: str, body: dict, seconds: float) -> None:
    """Send ``body`` and close the connection after ``seconds`` without reading the answer."""
    try:
        httpx.post(url + path, json=body, timeout=seconds)
    except httpx.TimeoutException:
        pass


@pytest.mark.parametrize("path", ["/api/explain", "/api/stream"])
def test_dropped_heavy_requests_do_not_delay_the_next_one(scope, path):
    with running(create_app(scope, limits=Limits(max_cost=1e9))) as url:
        drops = [threading.Thread(target=drop_after, args=(url, path, HEAVY, 0.5)) for _ in range(3)]
        for t in drops:
            t.start()
        for t in drops:
            t.join()
        start = time.perf_counter()
        answer = httpx.post(url + "/api/explain", json=SMALL, timeout=120)
        waited = time.perf_counter() - start
    assert answer.status_code == 200, answer.text
    # Three heavy requests run one after another would take half a minute; dropped, they take a
    # block's forward pass each to stop (the bound leaves room for a busy CI machine).
    assert waited < 8, f"the next request waited {waited:.1f} s behind dropped work"


def test_cancelled_explain_stops_inside_a_stage(scope):
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    start = time.perf_counter()
    with pytest.raises(Cancelled):
        explain(scope, HEAVY["prompt"], ViewChoice(saliency="lime"), mode="analyze", cancelled=stop.is_set)
    assert time.perf_counter() - start < 5
    # with a cancelled() that stays false the result is the plain one
    out = explain(scope, "1, 2,", ViewChoice(saliency="grad_x_input"), mode="analyze", cancelled=lambda: False)
    plain = explain(scope, "1, 2,", ViewChoice(saliency="grad_x_input"), mode="analyze")
    assert (out.results[-1][1].matrix == plain.results[-1][1].matrix).all()
    assert not scope.anatomy.blocks[0]._forward_pre_hooks       # the checkpoints are removed afterwards


def test_every_method_has_a_cost_and_heavy_requests_get_422(scope):
    assert all(saliency_cost(name) > 0 for name in saliency_methods())
    assert explain_cost(10, ViewChoice(saliency="lime")) > explain_cost(10, ViewChoice(saliency="grad_x_input"))
    with running(create_app(scope, limits=Limits(max_cost=500))) as url:
        refused = httpx.post(url + "/api/explain", json=HEAVY, timeout=30)
        assert refused.status_code == 422
        assert "over the limit of 500" in refused.json()["detail"] and "lime" in refused.json()["detail"]
        assert httpx.post(url + "/api/stream", json=HEAVY, timeout=30).status_code == 422
        assert httpx.post(url + "/api/explain", json=SMALL, timeout=60).status_code == 200


def test_stalled_connections_are_closed(scope):
    with running(create_app(scope, limits=Limits(request_timeout=1.0))) as url:
        host, port = url.removeprefix("http://").split(":")
        silent = socket.create_connection((host, int(port)))
        half = socket.create_connection((host, int(port)))
        half.sendall(b"POST /api/explain HTTP/1.1\r\nHost: 127.0.0.1\r\n")       # headers never finish
        slow = socket.create_connection((host, int(port)))
        slow.sendall(b"POST /api/explain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"prompt\"")                      # body never finishes
        for sock in (silent, half, slow):
            sock.settimeout(10)
        assert silent.recv(100) == b"" and half.recv(100) == b""                   # closed by the server
        answer = slow.recv(1000)
        assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in answer
        for sock in (silent, half, slow):
            sock.close()
