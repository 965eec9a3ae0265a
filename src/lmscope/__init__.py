"""lmscope: see why a transformer language model wrote what it wrote.

>>> import lmscope
>>> scope = lmscope.load()                                  # doctest: +SKIP
>>> run = scope.generate("1, 2, 3,", max_new_tokens=6)      # doctest: +SKIP

The public names are imported on first use, so ``import lmscope.cli`` (and Ctrl-C in a
command's first second) does not wait for torch and transformers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
_LAZY = {"Anatomy": ".anatomy", "AnatomyError": ".anatomy", "Run": ".run", "RunFileError": ".run",
         "load_run": ".run", "Scope": ".scope", "load": ".scope", "load_corpus": ".corpus",
         "saliency_methods": ".saliency", "combined": ".views"}
__all__ = ["Anatomy", "AnatomyError", "Run", "RunFileError", "Scope", "combined", "load", "load_corpus", "load_run",
           "saliency_methods"]

if TYPE_CHECKING:  # pragma: no cover
    from .anatomy import Anatomy, AnatomyError
    from .corpus import load_corpus
    from .run import Run, RunFileError, load_run
    from .saliency import saliency_methods
    from .scope import Scope, load
    from .views import combined


def __getattr__(name: str) -> Any:
    """The public names, imported from their modules on first use."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lmscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
