"""One bad value, one message, three doors: the Python API, the CLI (exit 2, before any model
loads) and the explorer (HTTP 422). The bad values are generated from the declared constraints
(``constraint.invalid()``) of every generation and view option, not picked by hand."""

from __future__ import annotations

import json
import math

import pytest
from fastapi.testclient import TestClient

import lmscope
from lmscope.cli import main
from lmscope.cli.options import GENERATION_FLAGS, _number
from lmscope.core.checks import Flag, Indexes, Integer, Real, message
from lmscope.report import MODE, GenerationOptions, ViewChoice, constraints_of, explain
from lmscope.server import create_app
from lmscope.testing import tiny_scope

OPTIONS = [(cls, name, constraint) for cls in (GenerationOptions, ViewChoice)
           for name, constraint in constraints_of(cls).items()]
CASES = [(cls, name, constraint, value) for cls, name, constraint in OPTIONS for value in constraint.invalid()]
IDS = [f"{name}={value!r}" for _, name, _, value in CASES]
VIEW_FLAGS = {"saliency": "--saliency", "factors": "--factors", "factor_layers": "--layers"}
SWITCHES = {"do_sample": "--sample", "lens": "--lens", "candidates": "--no-candidates"}
NEEDS = {"factor_layers": {"factors": 2}}      # factor_layers is only meaningful with factors


@pytest.fixture(scope="module")
def scope():
    return tiny_scope("llama")


@pytest.fixture(scope="module")
def client(scope):
    with TestClient(create_app(scope, allowed_hosts=None)) as c:
        yield c


def expected(name, constraint, value) -> str:
    return message(name, constraint, value)


def cli_args(name, constraint, value) -> list[str] | None:
    """``value`` as the CLI's words, or None when the command line cannot carry it as this value.

    A string "3" is a valid ``--max-new-tokens 3`` (the shell has only text), None is the flag left out,
    True/False are switches: those values only exist in Python and JSON.
    """
    if isinstance(constraint, Flag) or value is None or isinstance(value, bool):
        return None
    if isinstance(constraint, Indexes):
        if not isinstance(value, list) or not value or any(isinstance(v, bool) for v in value):
            return None
        words = [str(v) for v in value]
        return words if [_number(w) for w in words] == value else None
    if isinstance(constraint, (Integer, Real)):
        text = str(value)
        parsed = _number(text)
        same = parsed == value or (isinstance(value, float) and math.isnan(value) and isinstance(parsed, float)
                                   and math.isnan(parsed))
        return [text] if same and type(parsed) is type(value) else None
    return [value] if isinstance(value, str) and value not in ("none", "") else None


def test_every_option_is_probed_through_every_door():
    """Each option has invalid values, and every option that takes a value reaches the CLI with one."""
    names = {name for _, name, _ in OPTIONS}
    assert names == {"max_new_tokens", "do_sample", "temperature", "top_k", "top_p", "num_beams", "seed",
                     "saliency", "factors", "factor_layers", "lens", "candidates"}
    for _, name, constraint in OPTIONS:
        assert constraint.invalid(), name
        if name in SWITCHES:
            assert isinstance(constraint, Flag)
        else:
            assert any(cli_args(name, constraint, v) for v in constraint.invalid()), f"{name} never reaches the CLI"
    assert set(GENERATION_FLAGS) | set(VIEW_FLAGS) | set(SWITCHES) == names


@pytest.mark.parametrize("cls, name, constraint, value", CASES, ids=IDS)
def test_the_api_raises_the_message(scope, cls, name, constraint, value):
    want = expected(name, constraint, value)
    with pytest.raises(ValueError) as raised:
        cls(**NEEDS.get(name, {}), **{name: value})
    assert str(raised.value) == want
    if cls is GenerationOptions:                 # Scope.generate checks its own keyword arguments the same way
        with pytest.raises(ValueError) as raised:
            scope.generate("1, 2,", **{name: value})
        assert str(raised.value) == want


CLI_CASES = [(name, constraint, value, cli_args(name, constraint, value)) for _, name, constraint, value in CASES
             if cli_args(name, constraint, value) is not None]


@pytest.mark.parametrize("name, constraint, value, words", CLI_CASES, ids=[f"{c[0]}={c[2]!r}" for c in CLI_CASES])
def test_the_cli_exits_2_with_the_message_before_loading(name, constraint, value, words, capsys, monkeypatch):
    loads = []
    monkeypatch.setattr(lmscope, "load", lambda *a, **k: loads.append(a) or pytest.fail("loaded a model"))
    flag = GENERATION_FLAGS[name][0][0] if name in GENERATION_FLAGS else VIEW_FLAGS[name]
    extra = ["--factors", "2"] if name in NEEDS else []
    code = main(["explain", "hi", *extra, flag, *words])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and loads == []
    assert f"argument {flag}" in err and expected(name, constraint, value) in err


@pytest.mark.parametrize("cls, name, constraint, value", CASES, ids=IDS)
def test_the_explorer_answers_422_with_the_message(client, cls, name, constraint, value):
    body = {"prompt": "1, 2,", **NEEDS.get(name, {}), name: value}
    response = client.post("/api/explain", content=json.dumps(body), headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": expected(name, constraint, value)}


@pytest.mark.parametrize("value", MODE.invalid())
def test_mode_has_one_message_in_the_api_and_the_explorer(scope, client, value):
    with pytest.raises(ValueError) as raised:
        explain(scope, "1, 2,", mode=value)
    assert str(raised.value) == message("mode", MODE, value)
    response = client.post("/api/explain", content=json.dumps({"prompt": "a", "mode": value}),
                           headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json() == {"detail": message("mode", MODE, value)}


def test_layer_ranges_have_one_message_after_the_model_is_known(scope, client, tmp_path, capsys):
    """Ranges need n_layers: the API, the explorer and the CLI (after loading, still exit 2) agree."""
    with pytest.raises(ValueError) as raised:
        explain(scope, "1, 2,", ViewChoice(factors=2, factor_layers=[5]))
    want = str(raised.value)
    assert want.startswith("factor_layers: layer 5 is out of range: this model has 2 layers")
    response = client.post("/api/explain", json={"prompt": "1, 2,", "factors": 2, "factor_layers": [5]})
    assert response.status_code == 422 and response.json() == {"detail": want}
    model, tokenizer = scope.model, scope.tokenizer
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    capsys.readouterr()
    code = main(["explain", "1, 2,", "--model", str(tmp_path), "--factors", "2", "--layers", "5", "-q"])
    assert code == 2 and capsys.readouterr().err.strip() == f"lmscope explain: error: {want}"
