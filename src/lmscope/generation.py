"""How to generate, declared once: the options :meth:`lmscope.Scope.generate` takes.

:class:`GenerationOptions` holds each option's default, constraint and one-line
description. ``Scope.generate`` takes its keyword defaults from :data:`GENERATION` and
checks its arguments with the same constraints; the CLI's flags and the explorer's request
fields are built from it too (through :mod:`lmscope.report`), so a bad value gets the same
message everywhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .core.checks import Constraint, Flag, Integer, Real, valid_unicode
from .core.options import check_fields, option

MAX_BEAMS = 32          # each beam is a whole sequence in memory; more than this is a typo or a DoS
MAX_CANDIDATES = 1000   # top-k candidates stored per predicted token


@dataclass(frozen=True)
class Prompt(Constraint):
    """A prompt: non-empty valid Unicode text, or chat messages whose role and content are such strings.

    Bytes are refused (decode them first: ``data.decode("utf-8")``), and so are strings with
    lone surrogates (``"\\ud800"``, what ``surrogateescape`` makes of invalid UTF-8), which
    a tokenizer cannot encode.
    """

    none: bool = False

    def describe(self) -> str:
        return ("a non-empty string or a non-empty list of {'role': str, 'content': str} chat messages, "
                "as valid Unicode text (bytes decoded, no lone surrogates)")

    def accepts(self, value: Any) -> bool:
        if isinstance(value, str):
            return bool(value.strip()) and valid_unicode(value)
        if isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Sequence) or not value:
            return False
        return all(isinstance(m, Mapping) and {"role", "content"} <= set(m)
                   and all(isinstance(m[key], str) and valid_unicode(m[key]) for key in ("role", "content"))
                   for m in value)

    def invalid(self) -> list[Any]:
        return ["", "a\ud800b", b"text", 3, [], [{"role": "user", "content": 3}], [{"role": "user"}],
                [{"role": "user", "content": "\udcff"}], None]


PROMPT = Prompt()
"""What :meth:`lmscope.Scope.generate`, ``analyze`` and ``encode`` accept as the text."""


@dataclass(frozen=True)
class GenerationOptions:
    """How :meth:`lmscope.Scope.generate` generates; every field is checked when the object is made."""

    max_new_tokens: int = option(20, Integer(1), "tokens to generate")
    do_sample: bool = option(False, Flag(), "sample instead of greedy decoding")
    temperature: float = option(1.0, Real(0, lo_open=True), "sampling temperature")
    top_k: int | None = option(None, Integer(1, none=True), "sample from the K most likely tokens")
    top_p: float | None = option(None, Real(0, 1, lo_open=True, none=True), "nucleus sampling threshold")
    num_beams: int = option(1, Integer(1, MAX_BEAMS), "beam search with this many beams")
    seed: int | None = option(None, Integer(0, 2**32 - 1, none=True), "random seed for sampling (reproducible)")

    def __post_init__(self) -> None:
        check_fields(self)

    def kwargs(self) -> dict[str, Any]:
        """The options as keyword arguments of :meth:`lmscope.Scope.generate`."""
        return dataclasses.asdict(self)


GENERATION = GenerationOptions()
"""The defaults, read by ``Scope.generate``'s signature."""
