"""The parameter gaps of issue 18.9 and the prompt checks of 18.6, each refused with the shared message before any work.

``tests/test_validation_generated.py`` probes every declared constraint with its own
``invalid()`` values; this module pins the values the issue found getting through.
"""

from __future__ import annotations

import inspect

import pytest

from lmscope.core import checks
from lmscope.generation import MAX_BEAMS, PROMPT, GenerationOptions
from lmscope.scope import Scope
from lmscope.testing import tiny_scope

GAPS = [
    ("num_beams", 0), ("num_beams", 2.5), ("num_beams", True), ("num_beams", "2"), ("num_beams", 10**6),
    ("n_candidates", 0), ("n_candidates", True), ("n_candidates", 1.0), ("n_candidates", 10**9),
    ("seed", 2**64), ("seed", 2**64 + 1), ("seed", -1), ("seed", 1.5),
    ("temperature", float("inf")), ("temperature", float("nan")), ("temperature", 0),
    ("top_p", 1.5), ("top_p", float("inf")), ("top_p", 0),
    ("max_new_tokens", True), ("max_new_tokens", 0), ("max_new_tokens", 2.0),
    ("activation_dtype", "float64"), ("capture", "everything"), ("layers", [1.5]),
]


@pytest.fixture(scope="module")
def scope():
    return tiny_scope("llama")


@pytest.mark.parametrize("name,value", GAPS, ids=[f"{n}={v!r}" for n, v in GAPS])
def test_generate_refuses_each_gap_with_the_shared_message(scope, name, value):
    constraint = Scope.generate.constraints[name]
    kwargs = {"do_sample": True} if name in ("temperature", "top_p", "seed") else {}
    with pytest.raises(ValueError) as info:
        scope.generate("1, 2, 3,", **kwargs, **{name: value})
    assert str(info.value) == checks.message(name, constraint, value)


def test_generation_options_refuse_the_same_values():
    for name, value in GAPS:
        if name in {f for f in GenerationOptions.__dataclass_fields__}:
            with pytest.raises(ValueError, match=f"^{name} must be"):
                GenerationOptions(**{name: value})
    assert GenerationOptions(num_beams=MAX_BEAMS).num_beams == MAX_BEAMS


def test_generate_and_analyze_declare_every_parameter_but_the_streamer():
    for method, skip in ((Scope.generate, {"self", "streamer"}), (Scope.analyze, {"self"}),
                         (Scope.encode, {"self"})):
        params = set(inspect.signature(method).parameters) - skip
        assert params == set(method.constraints), method.__name__


BAD_PROMPTS = [
    "a\ud800b",                                           # a lone surrogate (what surrogateescape makes of bad UTF-8)
    "\udcff\udcfe",
    b"1, 2, 3,",                                          # bytes: decode them first
    bytearray(b"x"),
    "   ",
    [],
    [{"role": "user", "content": 3}],                     # non-string chat content
    [{"role": "user", "content": None}],
    [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    [{"role": 5, "content": "x"}],
    [{"role": "user", "content": "ok \udc80"}],
    [{"role": "user"}],
    [("user", "hi")],
    {"role": "user", "content": "hi"},                    # one message, not a list of them
]


@pytest.mark.parametrize("prompt", BAD_PROMPTS, ids=[repr(p)[:30] for p in BAD_PROMPTS])
def test_bad_prompts_are_refused_with_the_shared_message_everywhere(scope, prompt):
    for call, name in ((scope.encode, "prompt"), (scope.generate, "prompt"), (scope.analyze, "text")):
        with pytest.raises(ValueError) as info:
            call(prompt)
        assert str(info.value) == checks.message(name, PROMPT, prompt)
    message = checks.message("prompt", PROMPT, prompt)
    message.encode("utf-8")                               # the message itself is valid text (repr escapes)
    assert "valid Unicode" in message and "'content': str" in message


def test_good_prompts_still_work(scope):
    assert scope.encode("h\u00e9llo \u6f22\u5b57 \U0001f368").shape[0] == 1
    assert scope.analyze("1, 2, 3,").n_tokens > 0
    assert PROMPT.accepts([{"role": "user", "content": "hi", "name": "me"}])
