"""Options declared on a dataclass: each field carries its constraint and a one-line description.

:class:`lmscope.generation.GenerationOptions` and :class:`lmscope.report.ViewChoice` are
declared this way, so the Python API, the CLI's flags and the explorer's request fields
are all built from one declaration and checked with one constraint each.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .checks import Constraint


def option(default: Any, constraint: Constraint, doc: str) -> Any:
    """A dataclass field with its constraint and a one-line description (for CLI help and the API schema)."""
    return dataclasses.field(default=default, metadata={"check": constraint, "doc": doc})


def constraints_of(cls: Any) -> dict[str, Constraint]:
    """The constraints declared with :func:`option` on the fields of a dataclass."""
    return {f.name: f.metadata["check"] for f in dataclasses.fields(cls) if "check" in f.metadata}


def docs_of(cls: Any) -> dict[str, str]:
    """Each field's one-line description."""
    return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(cls)}


def check_fields(obj: Any) -> None:
    """Check (and normalise) every declared field of a frozen dataclass, in declaration order."""
    for name, constraint in constraints_of(type(obj)).items():
        object.__setattr__(obj, name, constraint.check(name, getattr(obj, name)))
