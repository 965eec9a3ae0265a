"""Hostile request bodies get a 422 JSON answer, never a 500: JSON NaN/Infinity literals (which
Python's JSON reader accepts), lone surrogates, bytes that are not UTF-8; /docs (Swagger from a
CDN) is off and /openapi.json describes the API."""

from __future__ import annotations

import httpx
import pytest

from lmscope.server import create_app, running
from lmscope.testing import tiny_scope


@pytest.fixture(scope="module")
def url():
    with running(create_app(tiny_scope("llama"))) as base:
        yield base


BODIES = [
    (b'{"prompt": NaN}', "valid string"),
    (b'{"prompt": "a", "evil": Infinity}', "Extra inputs"),
    (b'{"messages": [{"role": "user", "content": -Infinity}]}', "valid string"),
    (b'{"prompt": "a", "temperature": NaN, "do_sample": true}', "temperature must be a number > 0; got nan"),
    (b'{"prompt": "a", "max_new_tokens": Infinity}', "max_new_tokens must be a positive integer; got inf"),
    (b'{"prompt": "\\ud800 x"}', "prompt holds a lone surrogate"),
    (b'{"messages": [{"role": "user", "content": "ok \\udc00"}]}', "messages[0].content holds a lone surrogate"),
    (b'{"prompt": "a", "evil": "\\ud800"}', "Extra inputs"),
    (b'{"prompt": "\xff\xfe text"}', "the request body is not UTF-8 (byte 0xff at offset 12)"),
]


@pytest.mark.parametrize("path", ["/api/explain", "/api/stream"])
@pytest.mark.parametrize("body, detail", BODIES, ids=[b.decode("latin-1")[:40] for b, _ in BODIES])
def test_hostile_bodies_get_422_json(url, path, body, detail):
    response = httpx.post(url + path, content=body, headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    assert detail in str(response.json()["detail"])


def test_a_surrogate_pair_is_text(url):
    response = httpx.post(url + "/api/explain", content=b'{"prompt": "ice \\ud83c\\udf68", "max_new_tokens": 2}',
                          headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == 200 and response.json()["text"].startswith("ice \U0001F368")


def test_docs_are_off_and_openapi_is_served(url):
    assert httpx.get(url + "/docs").status_code == 404
    assert httpx.get(url + "/redoc").status_code == 404
    assert "/api/explain" in httpx.get(url + "/openapi.json").json()["paths"]
