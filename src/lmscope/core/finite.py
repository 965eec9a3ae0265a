"""Non-finite numbers (NaN, inf) stop an analysis with an error that says where they appeared.

A model with NaN weights, or a half-precision overflow, turns scores, gradients and
activations into NaN; left alone that becomes an all-zero saliency or a blank view with no
warning. The capture pass, saliency and the lens check what they compute with
:func:`require_finite` (one reduction per chunk, cheap next to the pass that made it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

FIX = ("the model's weights may hold NaN/inf, or half precision overflowed: load it in float32 "
       "(lmscope.load(model, dtype='float32')) and check its weights")


class NonFiniteError(ValueError):
    """An analysis met NaN or infinite values; the message names where (what, layer, positions)."""


def _finite(values: Any) -> Any:
    """Elementwise finiteness of a torch tensor or numpy array, without importing torch here."""
    if hasattr(values, "isfinite") and callable(values.isfinite):
        return values.isfinite()
    return np.isfinite(np.asarray(values))


def require_finite(values: Any, where: str, *, axis: int | None = None, offset: int = 0, fix: str = FIX) -> None:
    """Raise :class:`NonFiniteError` naming ``where`` if ``values`` (a torch tensor or numpy array) holds NaN or inf.

    With ``axis``, the message also lists the indexes along that axis (plus ``offset``,
    e.g. token positions) holding them.
    """
    ok = _finite(values)
    if bool(ok.all()):
        return
    found = ""
    if axis is not None:
        flags = ok.cpu().numpy() if hasattr(ok, "cpu") else np.asarray(ok)
        other = tuple(i for i in range(flags.ndim) if i != axis % flags.ndim)
        bad = (np.flatnonzero(~flags.all(axis=other)) + offset).tolist()
        found = f" at positions {bad[:10]}{' ...' if len(bad) > 10 else ''}"
    raise NonFiniteError(f"{where} hold NaN or inf values{found}; {fix}")
