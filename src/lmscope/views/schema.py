"""The JSON contracts of the explorables: conversion to plain JSON data, and validation.

Every view is one JSON object with a ``kind`` and the token list common to all views,
``tokens: [{token, token_id, type: "input"|"output", position}]`` (``Run.token_table()``):

- ``saliency``: ``targets`` (positions of explained tokens), ``attributions`` (one row per
  target, one entry per token, 0 at positions >= the target), ``variant``
  ("minimal" | "detailed"), ``method``.
- ``factors``: ``factors`` (n_factors x n_tokens), ``dominant`` (per token, -1 if excluded),
  ``excluded`` (positions), optional ``labels``.
- ``lens``: ``targets``, ``layers`` (row labels), ``ranks`` and ``probs`` (layers x targets),
  ``top`` ([layer][target] -> ``[{token, prob}]``).
- ``activations``: ``values`` (rows x n_tokens), ``row_labels``, optional ``clusters``
  (one per row, each cluster's rows contiguous).
- ``candidates``: ``steps: [{position, chosen: {token, token_id, prob}, top: [...]}]``.
- ``combined``: saliency and factors over the same tokens, their fields side by side:
  ``targets``, ``attributions``, optional ``method`` (as ``saliency``) and ``factors``,
  ``dominant``, ``excluded``, optional ``labels`` (as ``factors``).

Any view may carry ``title`` and ``caption``. The same rules are checked in the browser
(``js/src/validate.ts``), so a view that passes here renders there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

KINDS: tuple[str, ...] = ("saliency", "factors", "lens", "activations", "candidates", "combined")
"""The view kinds the bundle can render."""

MAX_ERRORS = 12


class ViewDataError(ValueError):
    """View data that does not follow its kind's JSON contract; the message lists every problem found."""

    def __init__(self, kind: object, problems: list[str]) -> None:
        self.kind = kind
        self.problems = problems
        what = f"{kind!r} view" if isinstance(kind, str) else "view"
        super().__init__(f"invalid {what} data:\n" + "\n".join(f"  - {p}" for p in problems))


def to_plain(value: Any, digits: int | None = 6) -> Any:
    """``value`` as plain JSON types (dict, list, str, int, float, bool, None).

    Numpy arrays and scalars (and anything else with ``tolist()``, such as torch tensors)
    become lists and numbers; tuples become lists; floats are rounded to ``digits``
    significant digits (``None`` keeps them exact) so that large views stay small.
    """
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if digits is None or not math.isfinite(value):
            return float(value)
        return float(f"{value:.{digits}g}")
    if isinstance(value, Mapping):
        return {str(k): to_plain(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if digits is not None and value and all(type(x) is float for x in value):
            fmt = f".{digits}g"
            return [float(format(x, fmt)) if math.isfinite(x) else x for x in value]
        return [to_plain(v, digits) for v in value]
    raise TypeError(f"cannot put a {type(value).__name__} into view data; use numbers, strings, lists or dicts")


class _Checker:
    """Collects problems (at most MAX_ERRORS) while walking one view's data."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, msg: str) -> None:
        if len(self.problems) < MAX_ERRORS:
            self.problems.append(msg)

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_ERRORS

    def int_list(self, d: Mapping[str, Any], key: str, lo: float, hi: float,
                 length: int | None = None) -> list[int] | None:
        v = d.get(key)
        if not isinstance(v, list):
            self.add(f"{key} must be a list of integers, got {_describe(v)}")
            return None
        if length is not None and len(v) != length:
            self.add(f"{key} has {len(v)} entries; expected {length}")
            return None
        for i, x in enumerate(v):
            if self.full:
                break
            if not _is_int(x) or not lo <= x < hi:
                upper = "" if hi == math.inf else f", {int(hi) - 1}"
                self.add(f"{key}[{i}] must be an integer in [{lo}{upper}], got {_describe(x)}")
        return v

    def str_list(self, d: Mapping[str, Any], key: str, length: int | None = None) -> None:
        v = d.get(key)
        if not isinstance(v, list):
            self.add(f"{key} must be a list of strings, got {_describe(v)}")
            return
        if length is not None and len(v) != length:
            self.add(f"{key} has {len(v)} entries; expected {length}")
        for i, x in enumerate(v):
            if not isinstance(x, str):
                self.add(f"{key}[{i}] must be a string, got {_describe(x)}")
                break

    def matrix(self, d: Mapping[str, Any], key: str, rows: int | None, cols: int | None, what: str,
               check: Any = None) -> list[list[float]] | None:
        m = d.get(key)
        if not isinstance(m, list):
            self.add(f"{key} must be a list of rows ({what}), got {_describe(m)}")
            return None
        if rows is not None and len(m) != rows:
            self.add(f"{key} has {len(m)} rows; expected {rows} ({what})")
            return None
        for r, row in enumerate(m):
            if self.full:
                break
            if not isinstance(row, list):
                self.add(f"{key}[{r}] must be a list, got {_describe(row)}")
                continue
            if cols is not None and len(row) != cols:
                self.add(f"{key}[{r}] has {len(row)} entries; expected {cols} ({what})")
                continue
            for c, x in enumerate(row):
                if not _is_num(x):
                    self.add(f"{key}[{r}][{c}] must be a finite number, got {_describe(x)}")
                    break
                msg = check(x) if check else None
                if msg:
                    self.add(f"{key}[{r}][{c}] {msg}")
                    break
        return m


def _is_int(x: object) -> bool:
    """An integer, or an integral float (JSON and the browser do not tell 3.0 from 3)."""
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


def _is_num(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _describe(v: object) -> str:
    if v is None:
        return "None"
    if isinstance(v, list):
        return f"a list of length {len(v)}"
    if isinstance(v, str):
        return repr(v if len(v) <= 40 else v[:40] + "…")
    if isinstance(v, (int, float)):
        return repr(v)
    return f"a {type(v).__name__}"


def _tokens(d: Mapping[str, Any], c: _Checker) -> int:
    tokens = d.get("tokens")
    if not isinstance(tokens, list):
        c.add(f"tokens must be a list of {{token, token_id, type, position}}, got {_describe(tokens)}")
        return -1
    if not tokens:
        c.add("tokens is empty; a view needs at least one token")
        return -1
    for i, t in enumerate(tokens):
        if c.full:
            break
        if not isinstance(t, Mapping):
            c.add(f"tokens[{i}] must be a dict, got {_describe(t)}")
            continue
        if not isinstance(t.get("token"), str):
            c.add(f"tokens[{i}].token must be a string, got {_describe(t.get('token'))}")
        if not _is_int(t.get("token_id")):
            c.add(f"tokens[{i}].token_id must be an integer, got {_describe(t.get('token_id'))}")
        if t.get("type") not in ("input", "output"):
            c.add(f"tokens[{i}].type must be 'input' or 'output', got {_describe(t.get('type'))}")
        if not _is_int(t.get("position")) or t.get("position") != i:
            c.add(f"tokens[{i}].position must be {i} (its index), got {_describe(t.get('position'))}")
    return len(tokens)


def _saliency(d: Mapping[str, Any], n: int, c: _Checker) -> None:
    targets = c.int_list(d, "targets", 0, n)
    if targets is not None:
        c.matrix(d, "attributions", len(targets), n, "one row per target, one entry per token")
    if d.get("variant") not in (None, "minimal", "detailed"):
        c.add(f"variant must be 'minimal' or 'detailed', got {_describe(d.get('variant'))}")
    if d.get("method") is not None and not isinstance(d.get("method"), str):
        c.add(f"method must be a string, got {_describe(d.get('method'))}")


def _factors(d: Mapping[str, Any], n: int, c: _Checker) -> None:
    f = c.matrix(d, "factors", None, n, "one row per factor, one entry per token")
    k = len(f) if f is not None else 0
    if f is not None and k == 0:
        c.add("factors is empty; expected at least one factor")
    c.int_list(d, "dominant", -1, k, length=n)
    c.int_list(d, "excluded", 0, n)
    if d.get("labels") is not None:
        c.str_list(d, "labels", length=k)


def _lens(d: Mapping[str, Any], n: int, c: _Checker) -> None:
    targets = c.int_list(d, "targets", 0, n)
    c.str_list(d, "layers")
    layers = d.get("layers")
    n_layers = len(layers) if isinstance(layers, list) else 0
    if isinstance(layers, list) and not layers:
        c.add("layers is empty; expected at least one layer")
    if targets is None or c.full:
        return
    t = len(targets)
    c.matrix(d, "ranks", n_layers, t, "layers x targets",
             lambda x: None if _is_int(x) and x >= 1 else f"must be an integer rank >= 1, got {x!r}")
    c.matrix(d, "probs", n_layers, t, "layers x targets",
             lambda x: None if 0 <= x <= 1 else f"must be a probability in [0, 1], got {x!r}")
    top = d.get("top")
    if not isinstance(top, list) or len(top) != n_layers:
        c.add(f"top must be a list with one entry per layer ({n_layers}), got {_describe(top)}")
        return
    for li, row in enumerate(top):
        if c.full:
            break
        if not isinstance(row, list) or len(row) != t:
            c.add(f"top[{li}] must have one list of predictions per target ({t}), got {_describe(row)}")
            continue
        for j, preds in enumerate(row):
            if not isinstance(preds, list):
                c.add(f"top[{li}][{j}] must be a list of {{token, prob}}, got {_describe(preds)}")
                continue
            for p, x in enumerate(preds):
                if not (isinstance(x, Mapping) and isinstance(x.get("token"), str) and _is_num(x.get("prob"))):
                    c.add(f"top[{li}][{j}][{p}] must be {{token: str, prob: number}}, got {_describe(x)}")
                    break


def _activations(d: Mapping[str, Any], n: int, c: _Checker) -> None:
    v = c.matrix(d, "values", None, n, "one row per neuron, one entry per token")
    rows = len(v) if v is not None else 0
    c.str_list(d, "row_labels", length=rows)
    if d.get("clusters") is None:
        return
    clusters = c.int_list(d, "clusters", -math.inf, math.inf, length=rows)
    if clusters is None:
        return
    seen: set[int] = set()
    for i, k in enumerate(clusters):
        if i > 0 and k == clusters[i - 1]:
            continue
        if k in seen:
            c.add(f"clusters: rows of cluster {k} are not contiguous (row {i}); sort rows by cluster")
            return
        seen.add(k)


def _candidate(x: object, where: str, c: _Checker) -> None:
    if not (isinstance(x, Mapping) and isinstance(x.get("token"), str) and _is_int(x.get("token_id"))
            and _is_num(x.get("prob"))):
        c.add(f"{where} must be {{token: str, token_id: int, prob: number}}, got {_describe(x)}")


def _candidates(d: Mapping[str, Any], n: int, c: _Checker) -> None:
    steps = d.get("steps")
    if not isinstance(steps, list):
        c.add(f"steps must be a list of {{position, chosen, top}}, got {_describe(steps)}")
        return
    for i, s in enumerate(steps):
        if c.full:
            break
        if not isinstance(s, Mapping):
            c.add(f"steps[{i}] must be a dict, got {_describe(s)}")
            continue
        pos = s.get("position")
        if not _is_int(pos) or not 0 <= pos < n:
            c.add(f"steps[{i}].position must be an integer in [0, {n - 1}], got {_describe(pos)}")
        _candidate(s.get("chosen"), f"steps[{i}].chosen", c)
        top = s.get("top")
        if not isinstance(top, list):
            c.add(f"steps[{i}].top must be a list, got {_describe(top)}")
            continue
        for j, x in enumerate(top):
            _candidate(x, f"steps[{i}].top[{j}]", c)


def _combined(d: Mapping[str, Any], n: int, c: _Checker) -> None:
    _saliency(d, n, c)
    if not c.full:
        _factors(d, n, c)


_KIND_CHECKS = {
    "saliency": _saliency,
    "factors": _factors,
    "lens": _lens,
    "activations": _activations,
    "candidates": _candidates,
    "combined": _combined,
}


def problems(data: object) -> list[str]:
    """Every problem with plain view data (see :func:`to_plain`), as readable messages; [] if it can render."""
    c = _Checker()
    if not isinstance(data, Mapping):
        c.add(f"view data must be a dict, got {_describe(data)}")
        return c.problems
    kind = data.get("kind")
    if kind not in _KIND_CHECKS:
        c.add(f"kind must be one of {', '.join(KINDS)}; got {_describe(kind)}")
        return c.problems
    for key in ("title", "caption"):
        if data.get(key) is not None and not isinstance(data.get(key), str):
            c.add(f"{key} must be a string, got {_describe(data.get(key))}")
    n = _tokens(data, c)
    if n >= 0 and not c.full:
        _KIND_CHECKS[kind](data, n, c)
    return c.problems


def validate_view(data: object, *, digits: int | None = 6) -> dict[str, Any]:
    """``data`` as plain JSON data (see :func:`to_plain`), checked against its kind's contract.

    Raises :class:`ViewDataError` naming every field that is wrong (NaN and infinity included).
    """
    plain = to_plain(data, digits)
    found = problems(plain)
    if found:
        raise ViewDataError(plain.get("kind") if isinstance(plain, Mapping) else None, found)
    return plain
