"""The web explorer's API on a tiny model, served by uvicorn on a free loopback port in a thread:
answers equal the library's, tokens stream before the result, concurrent requests queue without
corrupting each other, and bad requests get 4xx JSON errors."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import lmscope.server
from lmscope.server import Limits, create_app, running
from lmscope.report import GenerationOptions, ViewChoice, explain
from lmscope.testing import tiny_scope
from lmscope.views.html import bundle_js

LIMITS = Limits(max_prompt_chars=300, max_new_tokens=16, max_body_bytes=4096, max_factors=4)


@pytest.fixture(scope="module")
def scope():
    return tiny_scope("llama")


@pytest.fixture(scope="module")
def url(scope):
    with running(create_app(scope, limits=LIMITS)) as base:
        yield base


@pytest.fixture
def client(url):
    with httpx.Client(base_url=url, timeout=120) as c:
        yield c


def stream_events(client: httpx.Client, body: dict, on_event=None) -> list[dict]:
    events = []
    with client.stream("POST", "/api/stream", json=body) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("application/x-ndjson")
        for line in response.iter_lines():
            if line:
                events.append(json.loads(line))
                if on_event:
                    on_event(events[-1])
    return events


# ---------------------------------------------------------------------------- page and schema
def test_openapi_describes_the_json_api(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/explain", "/api/stream", "/api/info"} <= set(spec["paths"])
    request = spec["components"]["schemas"]["ExplainRequest"]["properties"]
    assert {"prompt", "messages", "max_new_tokens", "saliency", "factors", "lens"} <= set(request)


def test_page_uses_the_packaged_bundle_and_nothing_external(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert '<script src="/static/lmscope.js">' in html and '<script src="/static/explorer.js">' in html
    assert "https://" not in html and "http://" not in html
    assert client.get("/static/lmscope.js").text == bundle_js()
    script = client.get("/static/explorer.js")
    assert script.headers["content-type"].startswith("application/javascript")
    assert "http" not in script.text.replace("https://", "x")  # no absolute URLs at all
    assert client.get("/static/../app.py").status_code == 404


def test_info_reports_model_and_limits(client, scope):
    info = client.get("/api/info").json()
    assert info["model"] == scope.name and info["n_layers"] == 2 and info["chat"] is True
    assert info["limits"]["max_new_tokens"] == 16
    assert "grad_x_input" in info["saliency_methods"]


# ---------------------------------------------------------------------------- answers
def test_explain_equals_the_library(client, scope):
    body = {"prompt": "1, 2, 3,", "max_new_tokens": 5, "factors": 2, "lens": True}
    got = client.post("/api/explain", json=body)
    assert got.status_code == 200, got.text
    expected = explain(scope, "1, 2, 3,", ViewChoice(factors=2, lens=True),
                       generation=GenerationOptions(max_new_tokens=5)).to_dict()
    data = got.json()
    assert data["tokens"] == expected["tokens"]
    assert data["views"] == expected["views"]
    assert [v["kind"] for v in data["views"]] == ["candidates", "saliency", "factors", "lens"]


def test_stream_sends_tokens_before_the_result(client, hold_saliency):
    release, waited = hold_saliency.release, hold_saliency.waited

    def on_event(event):                 # saliency only goes on once a token has reached the client
        if event["event"] == "token":
            release.set()

    events = stream_events(client, {"prompt": "1, 2, 3,", "max_new_tokens": 6}, on_event)
    assert waited == [True], "no token reached the client before the capture and saliency were done"
    kinds = [e["event"] for e in events]
    assert kinds[:3] == ["queued", "start", "stage"] and kinds[-1] == "result"
    assert kinds.index("token") < kinds.index("result")
    result = events[-1]
    streamed = [e["token_id"] for e in events if e["event"] == "token"]
    assert streamed == [t["token_id"] for t in result["tokens"][result["n_input"]:]]
    # token events carry display strings (a lone byte shows as <0xBB>) and the text each adds as the
    # tokenizer decodes it: the streamed text is the result's output text
    assert [e["token"] for e in events if e["event"] == "token"] == \
        [t["token"] for t in result["tokens"][result["n_input"]:]]
    assert "".join(e["text"] for e in events if e["event"] in ("token", "text")) == result["output_text"]


def test_chat_and_analyze_modes(client):
    chat = client.post("/api/explain", json={"messages": [{"role": "user", "content": "hi"}], "max_new_tokens": 3,
                                             "saliency": None})
    assert chat.status_code == 200, chat.text
    assert chat.json()["text"].startswith("<user>hi\n<assistant>")
    assert chat.json()["settings"]["prompt"] == [{"role": "user", "content": "hi"}]
    read = client.post("/api/explain", json={"prompt": "The quick brown fox", "mode": "analyze"}).json()
    assert read["output_text"] == "" and read["n_input"] == len(read["tokens"])
    assert [v["kind"] for v in read["views"]] == ["saliency"]


def test_eight_concurrent_requests_each_equal_the_request_alone(url, client):
    bodies = [{"prompt": p, "max_new_tokens": 4 + i % 3, "factors": 2 if i % 2 else None, "lens": i % 3 == 0,
               "do_sample": i >= 4, "seed": i} for i, p in enumerate(
        ["1, 2, 3,", "The quick brown", "William Shakespeare was", "Austria, Belgium,",
         "<item>one</item>", "Hello world!", "1, 2, 3,", "The lazy dog"])]

    def strip(data):
        return {k: v for k, v in data.items() if k not in ("timings", "event")}

    alone = [strip(client.post("/api/explain", json=b).json()) for b in bodies]

    def call(i):
        with httpx.Client(base_url=url, timeout=120) as c:
            if i % 2:
                return strip(stream_events(c, bodies[i])[-1])
            response = c.post("/api/explain", json=bodies[i])
            assert response.status_code == 200, response.text
            return strip(response.json())

    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(call, range(8)))
    for i in range(8):
        assert together[i] == alone[i], f"request {i} differs when run concurrently"


def test_event_loop_answers_while_the_model_is_busy(url, client, hold_saliency):
    release, entered = hold_saliency.release, hold_saliency.entered
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(lambda: httpx.post(url + "/api/explain", json={"prompt": "1, 2,", "max_new_tokens": 2},
                                              timeout=120))
        assert entered.wait(60)
        assert client.get("/api/info", timeout=10).status_code == 200      # not stuck behind the model
        bad = client.post("/api/explain", json={"prompt": ""}, timeout=10)  # refused before queueing
        assert bad.status_code == 422
        release.set()
        assert busy.result().status_code == 200


def test_a_full_queue_answers_503(scope, hold_saliency):
    release, entered = hold_saliency.release, hold_saliency.entered
    with running(create_app(scope, limits=Limits(max_queue=1))) as base, ThreadPoolExecutor(1) as pool:
        first = pool.submit(lambda: httpx.post(base + "/api/explain", json={"prompt": "1,", "max_new_tokens": 1},
                                               timeout=120))
        assert entered.wait(60)
        refused = httpx.post(base + "/api/explain", json={"prompt": "1,", "max_new_tokens": 1}, timeout=10)
        assert refused.status_code == 503 and "busy" in refused.json()["detail"]
        release.set()
        assert first.result().status_code == 200


# ---------------------------------------------------------------------------- bad requests
def chunked(data: bytes):
    for i in range(0, len(data), 1000):
        yield data[i:i + 1000]


BAD = [
    ("invalid JSON", b'{"prompt": ', 422),
    ("not an object", b"[1, 2]", 422),
    ("wrong type", json.dumps({"prompt": 5}).encode(), 422),
    ("string for a number", json.dumps({"prompt": "a", "max_new_tokens": "5"}).encode(), 422),
    ("unknown field", json.dumps({"prompt": "a", "evil": True}).encode(), 422),
    ("empty prompt", json.dumps({"prompt": "  "}).encode(), 422),
    ("neither prompt nor messages", json.dumps({"max_new_tokens": 3}).encode(), 422),
    ("both prompt and messages", json.dumps({"prompt": "a", "messages": [{"role": "user", "content": "b"}]}).encode(),
     422),
    ("bad role", json.dumps({"messages": [{"role": "root", "content": "b"}]}).encode(), 422),
    ("prompt too long", json.dumps({"prompt": "x" * 301}).encode(), 422),
    ("messages too long", json.dumps({"messages": [{"role": "user", "content": "x" * 200}] * 2}).encode(), 422),
    ("max_new_tokens over the limit", json.dumps({"prompt": "a", "max_new_tokens": 17}).encode(), 422),
    ("max_new_tokens zero", json.dumps({"prompt": "a", "max_new_tokens": 0}).encode(), 422),
    ("unknown saliency", json.dumps({"prompt": "a", "saliency": "magic"}).encode(), 422),
    ("too many factors", json.dumps({"prompt": "a", "factors": 5}).encode(), 422),
    ("layer out of range", json.dumps({"prompt": "a", "factors": 2, "factor_layers": [9]}).encode(), 422),
    ("body over the limit", json.dumps({"prompt": "x" * 5000}).encode(), 413),
    ("longer than the model's context", json.dumps({"prompt": "1, 2, " * 40, "max_new_tokens": 16}).encode(), 400),
]


@pytest.mark.parametrize("path", ["/api/explain", "/api/stream"])
@pytest.mark.parametrize("name, body, status", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_get_4xx_json(client, path, name, body, status):
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    if path == "/api/stream" and status == 400:      # found by the model once streaming began: an error event
        events = [json.loads(line) for line in response.text.splitlines()]
        assert events[-1]["event"] == "error" and events[-1]["status"] == 400
        assert "context" in events[-1]["detail"]
        return
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert "detail" in response.json() and "Traceback" not in response.text


def test_chunked_oversize_body_and_unknown_routes_and_hosts(client):
    response = client.post("/api/explain", content=chunked(b'{"prompt": "' + b"x" * 6000 + b'"}'),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["detail"].startswith("the request body is larger")
    for response, status in ((client.get("/api/nothing"), 404), (client.get("/api/explain"), 405),
                             (client.get("/api/info", headers={"host": "attacker.example"}), 400)):
        assert response.status_code == status
        assert response.headers["content-type"] == "application/json" and "detail" in response.json()


def test_unexpected_failures_are_500_json_without_internals(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal state /home/user/x.py")

    monkeypatch.setattr(lmscope.server.app, "explain", broken)
    response = client.post("/api/explain", json={"prompt": "a"})
    assert response.status_code == 500 and response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": "internal error (RuntimeError); see the server log"}
    events = stream_events(client, {"prompt": "a"})
    assert events[-1] == {"event": "error", "status": 500, "detail": "internal error (RuntimeError); see the server log"}


def test_masked_models_analyze_only(tiny_scopes):
    with running(create_app(tiny_scopes("bert"))) as base:
        refused = httpx.post(base + "/api/explain", json={"prompt": "The [MASK] fox"}, timeout=60)
        assert refused.status_code == 422 and "masked LM" in refused.json()["detail"]
        read = httpx.post(base + "/api/explain", json={"prompt": "The quick [MASK] fox", "mode": "analyze"},
                          timeout=60).json()
        assert [v["kind"] for v in read["views"]] == ["candidates", "saliency"]


# ---------------------------------------------------------------------------- serving
def test_serve_binds_loopback_and_warns_on_other_hosts(scope, monkeypatch, capsys):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    lmscope.server.serve(scope)
    assert calls[-1]["host"] == "127.0.0.1" and capsys.readouterr().err == ""
    lmscope.server.serve(scope, host="0.0.0.0", port=9000)
    assert calls[-1]["host"] == "0.0.0.0" and calls[-1]["port"] == 9000
    assert "warning: serving on 0.0.0.0" in capsys.readouterr().err
    assert lmscope.server.is_loopback("127.0.0.1") and lmscope.server.is_loopback("::1")
    assert not lmscope.server.is_loopback("0.0.0.0") and not lmscope.server.is_loopback("192.168.1.5")


@pytest.mark.real_model
def test_real_model_counts_on_through_the_server(smol):
    with running(create_app(smol)) as base:
        data = httpx.post(base + "/api/explain", json={"prompt": "1, 2, 3,", "max_new_tokens": 6}, timeout=300).json()
    assert data["output_text"].startswith(" 4, 5,")
    saliency = data["views"][1]
    assert saliency["kind"] == "saliency" and saliency["targets"][0] == data["n_input"]
