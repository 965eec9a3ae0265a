"""Input saliency: for each explained token, how much each earlier token mattered.

>>> run = scope.generate("William Shakespeare was born in the year", max_new_tokens=4)  # doctest: +SKIP
>>> sal = run.saliency()                       # gradient x input, Ecco's and Inseq's rows # doctest: +SKIP
>>> sal.matrix                                 # (targets, positions), rows sum to 1       # doctest: +SKIP
>>> run.saliency("integrated_gradients", n_steps=50).deltas                                # doctest: +SKIP
>>> run.saliency("grad_x_input", contrast=" 1565")   # why this token rather than " 1565"  # doctest: +SKIP

Methods live in one module per family (``gradients``, ``erasure``, ``attention``,
``captum_methods``) and register by name; :func:`saliency_methods` lists them. The shared
engine (:mod:`lmscope.saliency.engine`) runs one forward pass per chunk of targets and
one backward pass batched over the chunk, never a pass per token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import gradients, erasure, attention, captum_methods  # noqa: F401, I001 - registers the methods, in this order
from .engine import check_gradients, grad_mode, make_problem
from .registry import get, names
from .result import Saliency

if TYPE_CHECKING:  # pragma: no cover
    from ..core.record import Record as Run

NORMALIZATIONS = ("sum", "max", "none")
_COMMON = ("targets", "normalize")

__all__ = ["NORMALIZATIONS", "Saliency", "capture_for", "compute_saliency", "saliency_methods"]


def saliency_methods() -> list[str]:
    """Names of every saliency method, for ``run.saliency(name)``."""
    return names()


def capture_for(method: str) -> tuple[str, ...]:
    """What a run must capture so ``method`` reads it instead of running the model again."""
    return ("attentions",) if method in ("attention", "attention_rollout", "attention_flow") else ()


def normalize_rows(matrix: np.ndarray, how: str) -> np.ndarray:
    """Scale each row: ``"sum"`` (absolute values sum to 1), ``"max"`` (largest magnitude 1), ``"none"``.

    A row of zeros (nothing to attribute) stays zero.
    """
    if how == "none":
        return matrix.copy()
    if how == "sum":
        scale = np.abs(matrix).sum(1, keepdims=True)
    elif how == "max":
        scale = np.abs(matrix).max(1, keepdims=True)
    else:
        raise ValueError(f"normalize={how!r} is not known; choose from {NORMALIZATIONS}")
    return np.divide(matrix, scale, out=np.zeros_like(matrix), where=scale > 0)


def compute_saliency(run: Run, method: str = "grad_x_input", **options: Any) -> Saliency:
    """Saliency of ``run``'s target tokens by ``method`` (see :func:`saliency_methods`).

    Options every method takes: ``targets`` (positions to explain; default every generated
    token, or every mask token of a masked LM, or every position of analysed text) and
    ``normalize`` (``"sum"`` default, ``"max"``, ``"none"``). Gradient methods also take
    ``aggregation`` (``"l2"`` default, ``"sum"`` signed, ``"mean_abs"``), ``score``
    (``"logprob"``, ``"prob"`` or ``"logit"``; each method has its default: the
    log-probability for gradient and gradient x input, whose rows are Ecco's and Inseq's;
    the logit for integrated gradients), ``contrast`` (a foil token string
    or id: explain target rather than foil) and ``chunk_size`` (targets per forward
    pass, whose backward passes share it). The docs list each method's own options.
    """
    spec = get(method)
    allowed = (*_COMMON, *spec.options)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"saliency method {method!r} does not take {unknown}; its options are: "
                         f"{', '.join(allowed)}")
    values = {**spec.options, **options}
    normalize = values.pop("normalize", "sum")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize={normalize!r} is not known; choose from {NORMALIZATIONS}")
    aggregation = values.get("aggregation")
    if "aggregation" in spec.options:
        from .engine import AGGREGATIONS
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation={aggregation!r} is not known; choose from {AGGREGATIONS}")
    scope = run.require_scope()
    if spec.captum:
        captum_methods.require_captum(method)
    if spec.gradients:
        check_gradients(scope, method)
    targets = values.pop("targets", None)
    problem = make_problem(run, targets, score=values.get("score") or "logit", contrast=values.get("contrast"))
    with grad_mode():
        raw = spec.compute(problem, **values)
    matrix = normalize_rows(raw.matrix, normalize)
    shown = {k: v for k, v in values.items() if k not in ("contrast",) and _plain(v)}
    return Saliency(
        matrix=matrix, targets=problem.targets.copy(), method=method, tokens=list(run.tokens),
        token_ids=np.asarray(run.token_ids).copy(), n_input=run.n_input,
        target_ids=problem.target_ids.cpu().numpy(), signed=raw.signed, normalize=normalize,
        score=values.get("score"), foil_ids=None if problem.foil_ids is None else problem.foil_ids.cpu().numpy(),
        deltas=raw.deltas, options=shown, extras=dict(raw.extras), causal=problem.causal)


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))
