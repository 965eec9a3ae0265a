"""The view data contracts on the Python side: conversion to JSON data and validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import views_data as vd

from lmscope.views import KINDS, ViewDataError, validate_view
from lmscope.views.schema import problems, to_plain

GOOD = {
    "saliency": vd.shakespeare,
    "factors": vd.counting_factors,
    "lens": vd.lens,
    "activations": vd.activations,
    "candidates": vd.candidates,
    "combined": vd.combined,
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_valid_synthetic_data(kind):
    plain = validate_view(GOOD[kind]())
    assert plain["kind"] == kind


def test_to_plain_converts_numpy_and_rounds_floats():
    data = {"a": np.array([[0.123456789, 1.0]], dtype=np.float32), "b": np.int64(3), "c": (1, 2),
            "d": np.float64(2.0 / 3.0), "e": [True, None, "x"]}
    plain = to_plain(data)
    assert plain == {"a": [[0.123457, 1.0]], "b": 3, "c": [1, 2], "d": 0.666667, "e": [True, None, "x"]}
    assert type(plain["b"]) is int
    assert to_plain(2.0 / 3.0, digits=None) == 2.0 / 3.0
    with pytest.raises(TypeError, match="cannot put a set into view data"):
        to_plain({"x": {1, 2}})


def messages(data) -> str:
    with pytest.raises(ViewDataError) as err:
        validate_view(data)
    return str(err.value)


def test_not_a_view():
    assert "view data must be an object, got a list of length 2" in messages([1, 2])
    assert ('kind must be one of "saliency", "factors", "lens", "activations", "candidates", "combined", '
            'got "gallery"') in messages({"kind": "gallery"})


def test_token_list_problems_are_named():
    d = vd.shakespeare()
    d["tokens"][1]["position"] = 5
    d["tokens"][2]["type"] = "prompt"
    d["tokens"][3]["token"] = 7
    d["tokens"][4]["token_id"] = "x"
    msg = messages(d)
    assert "tokens[1].position must be 1 (its index), got 5" in msg
    assert 'tokens[2].type must be one of "input", "output", got "prompt"' in msg
    assert "tokens[3].token must be a string, got 7" in msg
    assert "tokens[4].token_id must be an integer" in msg
    assert "tokens is empty; expected at least 1 entry" in messages({**vd.shakespeare(), "tokens": []})


def test_saliency_problems():
    assert "targets[1] must be an integer in [0, 8], got 9" in messages({**vd.shakespeare(), "targets": [7, 9]})
    assert "attributions has 1 entry; expected 2, one per entry of targets" in messages(
        {**vd.shakespeare(), "attributions": vd.shakespeare()["attributions"][:1]})
    bad = vd.shakespeare()
    bad["attributions"][1][2] = math.nan
    assert "attributions[1][2] must be a number, got NaN" in messages(bad)
    bad["attributions"][1][2] = -math.inf
    assert "attributions[1][2] must be a number, got -Infinity" in messages(bad)
    assert 'variant must be one of "minimal", "detailed", null, got "full"' in messages(
        {**vd.shakespeare(), "variant": "full"})
    assert "title must be a string" in messages({**vd.shakespeare(), "title": 3})


def test_factors_problems():
    d = vd.counting_factors()
    assert "dominant[1] must be an integer in [-1, 2]" in messages({**d, "dominant": [0, 3] + d["dominant"][2:]})
    assert "dominant has 2 entries; expected 18, one per entry of tokens" in messages({**d, "dominant": [0, 1]})
    assert "excluded[0] must be an integer in [0, 17], got 18" in messages({**d, "excluded": [18]})
    assert "labels has 1 entry; expected 3, one per entry of factors" in messages({**d, "labels": ["a"]})
    assert "factors[0] has 2 entries; expected 18, one per entry of tokens" in messages({**d, "factors": [[1, 2]] * 3})


def test_lens_problems():
    d = vd.lens()
    ranks = np.array(d["ranks"])
    ranks[0, 0] = 0
    assert "ranks[0][0] must be an integer >= 1, got 0" in messages({**d, "ranks": ranks})
    probs = np.array(d["probs"])
    probs[2, 1] = 1.5
    assert "probs[2][1] must be a number in [0, 1], got 1.5" in messages({**d, "probs": probs})
    assert "ranks has 6 entries; expected 2, one per entry of layers" in messages({**d, "layers": ["a", "b"]})
    top = d["top"]
    top[1][2] = [{"token": 5, "prob": 0.2}]
    assert "top[1][2][0].token must be a string, got 5" in messages({**d, "top": top})


def test_activations_problems():
    d = vd.activations(rows=4)
    assert "row_labels has 1 entry; expected 4, one per entry of values" in messages({**d, "row_labels": ["a"]})
    assert "clusters[2] is 0 again after other values; equal entries must be contiguous" in messages(
        {**d, "clusters": [0, 1, 0, 0]})
    assert problems({**to_plain(d), "clusters": None}) == []


def test_candidates_problems():
    d = vd.candidates()
    d["steps"][0]["position"] = 10
    d["steps"][1]["chosen"] = {"token": "a", "prob": 0.3}
    msg = messages(d)
    assert "steps[0].position must be an integer in [0, 9], got 10" in msg
    assert "steps[1].chosen.token_id is missing; expected an integer" in msg


def test_problems_are_bounded_and_listed_one_per_line():
    d = vd.random_saliency(5, 5)
    for t in d["tokens"]:
        t["type"] = "other"
    with pytest.raises(ViewDataError) as err:
        validate_view(d)
    assert len(err.value.problems) == 10
    assert str(err.value).startswith("invalid 'saliency' view data:\n  - tokens[0].type")
    many = vd.random_saliency(30, 5)
    for t in many["tokens"]:
        t["type"] = "other"
    with pytest.raises(ViewDataError) as err:
        validate_view(many)
    assert len(err.value.problems) == 12


def test_combined_checks_the_fields_of_both_kinds():
    d = vd.combined()
    n = len(d["tokens"])
    d["attributions"] = d["attributions"][:-1]
    d["dominant"] = d["dominant"] + [0]
    d["labels"] = ["only one"]
    msg = messages(d)
    assert f"attributions has {len(d['targets']) - 1} entries; expected {len(d['targets'])}" in msg
    assert f"dominant has {n + 1} entries; expected {n}, one per entry of tokens" in msg
    assert "labels has 1 entry; expected 3, one per entry of factors" in msg
    d = vd.combined()
    del d["factors"]
    assert "factors is missing; expected a list (one row per factor, one entry per token)" in messages(d)
    d = vd.combined()
    d["targets"][0] = n
    assert f"targets[0] must be an integer in [0, {n - 1}], got {n}" in messages(d)
