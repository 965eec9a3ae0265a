"""The JSON contracts of the explorables: conversion to plain JSON data, and validation.

The contract is written once, as one JSON Schema (2020-12) per view kind in
``lmscope/views/schemas/`` (``saliency.schema.json`` ...; ``view.schema.json`` dispatches on
``kind``, ``common.schema.json`` holds the token list). This module checks data by
interpreting those files (:mod:`lmscope.views.contract`); the browser bundle's validator
(``js/src/validate.ts``) interprets the same files with the same messages, and its
TypeScript types are generated from them, so a view that passes here renders there.

Every view is one JSON object with a ``kind`` and the token list common to all views,
``tokens: [{token, token_id, type: "input"|"output", position}]`` (``Run.token_table()``):

- ``saliency``: ``targets`` (positions of explained tokens), ``attributions`` (one row per
  target, one entry per token; a causal model's rows are 0 from the target on, a
  bidirectional model's may be nonzero on both sides of it), optional ``variant`` ("minimal" | "detailed") and
  ``method``.
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

Any view may carry ``title`` and ``caption``; an optional field may be absent or null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from . import contract

KINDS: tuple[str, ...] = contract.kinds()
"""The view kinds the bundle can render (the ``kind`` enum of ``schemas/view.schema.json``)."""

MAX_ERRORS = contract.MAX_ERRORS


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


def problems(data: object) -> list[str]:
    """Every problem with plain view data (see :func:`to_plain`), as readable messages; [] if it can render."""
    return [msg for _, msg in contract.check(data)]


def validate_view(data: object, *, digits: int | None = 6) -> dict[str, Any]:
    """``data`` as plain JSON data (see :func:`to_plain`), checked against its kind's contract.

    Raises :class:`ViewDataError` naming every field that is wrong (NaN and infinity included).
    """
    plain = to_plain(data, digits)
    found = problems(plain)
    if found:
        raise ViewDataError(plain.get("kind") if isinstance(plain, Mapping) else None, found)
    return plain
