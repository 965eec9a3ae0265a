"""How to generate, declared once: the options :meth:`lmscope.Scope.generate` takes.

:class:`GenerationOptions` holds each option's default, constraint and one-line
description. ``Scope.generate`` takes its keyword defaults from :data:`GENERATION` and
checks its arguments with the same constraints; the CLI's flags and the explorer's request
fields are built from it too (through :mod:`lmscope.report`), so a bad value gets the same
message everywhere.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .core.checks import Flag, Integer, Real
from .core.options import check_fields, option


@dataclass(frozen=True)
class GenerationOptions:
    """How :meth:`lmscope.Scope.generate` generates; every field is checked when the object is made."""

    max_new_tokens: int = option(20, Integer(1), "tokens to generate")
    do_sample: bool = option(False, Flag(), "sample instead of greedy decoding")
    temperature: float = option(1.0, Real(0, lo_open=True), "sampling temperature")
    top_k: int | None = option(None, Integer(1, none=True), "sample from the K most likely tokens")
    top_p: float | None = option(None, Real(0, 1, lo_open=True, none=True), "nucleus sampling threshold")
    num_beams: int = option(1, Integer(1), "beam search with this many beams")
    seed: int | None = option(None, Integer(0, 2**32 - 1, none=True), "random seed for sampling (reproducible)")

    def __post_init__(self) -> None:
        check_fields(self)

    def kwargs(self) -> dict[str, Any]:
        """The options as keyword arguments of :meth:`lmscope.Scope.generate`."""
        return dataclasses.asdict(self)


GENERATION = GenerationOptions()
"""The defaults, read by ``Scope.generate``'s signature."""
