"""The registry of saliency methods by name: each method is one function over a Problem.

A method module registers its functions with :func:`register`, declaring the options it
takes (with defaults) and what it needs; :func:`~lmscope.saliency.compute_saliency`
validates a call against that declaration before any work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Raw:
    """What a method returns: unnormalised scores ``(targets, positions)``, 0 outside each row's span."""

    matrix: np.ndarray
    signed: bool
    deltas: np.ndarray | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodSpec:
    """One registered method: its function, options with defaults, and what it needs."""

    name: str
    compute: Callable[..., Raw]
    options: dict[str, Any]
    gradients: bool = False      # needs gradients through the model
    contrast: bool = False       # takes contrast= (a foil token)
    captum: bool = False         # needs the optional captum package

    @property
    def summary(self) -> str:
        doc = (self.compute.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


_METHODS: dict[str, MethodSpec] = {}


def register(name: str, *, options: dict[str, Any], gradients: bool = False, contrast: bool = False,
             captum: bool = False) -> Callable[[Callable[..., Raw]], Callable[..., Raw]]:
    """Decorator adding a method under ``name``."""
    def add(fn: Callable[..., Raw]) -> Callable[..., Raw]:
        _METHODS[name] = MethodSpec(name, fn, dict(options), gradients, contrast, captum)
        return fn
    return add


def get(name: Any) -> MethodSpec:
    """The method registered as ``name``, or an error listing the valid names."""
    if not isinstance(name, str) or name not in _METHODS:
        raise ValueError(f"unknown saliency method {name!r}; choose from: {', '.join(_METHODS)}")
    return _METHODS[name]


def names() -> list[str]:
    return list(_METHODS)
