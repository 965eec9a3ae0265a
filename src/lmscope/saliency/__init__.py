"""Input saliency: for each explained token, how much each earlier token mattered.

>>> run = scope.generate("William Shakespeare was born in the year", max_new_tokens=4)  # doctest: +SKIP
>>> sal = run.saliency()                       # gradient x input, Ecco's and Inseq's rows # doctest: +SKIP
>>> sal.matrix                                 # (targets, positions), rows sum to 1       # doctest: +SKIP
>>> run.saliency("integrated_gradients", n_steps=50).deltas                                # doctest: +SKIP
>>> run.saliency("grad_x_input", contrast=" 1565")   # why this token rather than " 1565"  # doctest: +SKIP

Methods live in one module per family (``gradients``, ``erasure``, ``attention``,
``captum_methods``) and register by name with their options in their own signatures
(:mod:`lmscope.saliency.registry`); :func:`methods` and :func:`method_info` describe them,
for people and for the CLI and the explorer. The shared engine
(:mod:`lmscope.saliency.engine`) runs one forward pass per chunk of targets and one backward
pass batched over the chunk, never a pass per token.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import gradients, erasure, attention, captum_methods  # noqa: F401, I001 - registers the methods, in this order
from ..core.checks import Positions
from ..core.record import Record
from ..core.results import with_info
from .engine import grad_mode
from .prepare import check_needs, make_problem
from .registry import COMMON, CONSTRAINTS, NORMALIZATIONS, Method, get, method_constraint, names, union
from .registry import methods as _registered
from .result import Saliency

__all__ = ["NORMALIZATIONS", "Method", "Saliency", "capture_for", "compute_saliency", "method_info", "methods",
           "saliency_methods"]

DEFAULT_METHOD = "grad_x_input"


def saliency_methods() -> list[str]:
    """Names of every saliency method, for ``run.saliency(name)``."""
    return names()


def methods() -> list[Method]:
    """Every registered method (name, summary, options with defaults and constraints, needs), in order."""
    return _registered()


def method_info(name: str) -> Method:
    """One method's metadata: ``.name``, ``.summary``, ``.options`` (name, default, constraint), ``.needs``;
    ``.to_dict()`` gives it as JSON for the explorer."""
    return get(name)


def capture_for(method: str) -> tuple[str, ...]:
    """What a run must capture so ``method`` reads it instead of running the model again."""
    return ("attentions",) if "attentions" in get(method).needs else ()


def normalize_rows(matrix: np.ndarray, how: str) -> np.ndarray:
    """Scale each row: ``"sum"`` (absolute values sum to 1), ``"max"`` (largest magnitude 1), ``"none"``.

    A row of zeros (nothing to attribute) stays zero.
    """
    how = CONSTRAINTS["normalize"].check("normalize", how)
    if how == "none":
        return matrix.copy()
    scale = np.abs(matrix).sum(1, keepdims=True) if how == "sum" else np.abs(matrix).max(1, keepdims=True)
    return np.divide(matrix, scale, out=np.zeros_like(matrix), where=scale > 0)


def compute_saliency(run: Record, method: str = DEFAULT_METHOD, *, targets: int | Sequence[int] | None = None, normalize: str = "sum",
                     **options: Any) -> Saliency:
    """Saliency of ``run``'s target tokens by ``method``: how much each token mattered to each explained one.

    ``targets``: positions to explain (negative counts from the end); default every generated
    token, or every mask token of a masked LM, or every position from 1 of analysed text.
    ``normalize``: ``"sum"`` (absolute values of a row sum to 1), ``"max"`` or ``"none"``.
    The other options belong to the methods listed below; one the method does not take is an
    error listing those it does. An option shown as ``None`` whose default differs between
    methods (``score``, ``chunk_size``, ``n_samples``) takes the method's own default.
    """
    spec = get(method)
    normalize = CONSTRAINTS["normalize"].check("normalize", normalize)
    Positions().check("targets", targets)
    every = compute_saliency.constraints  # type: ignore[attr-defined]
    for name, value in options.items():   # a bad value gets its shared message whichever method it is for
        if name in every:
            every[name].check(name, value)
    values = spec.bind(options)
    check_needs(spec, run.require_scope())
    problem = make_problem(run, targets, score=values.get("score", "logit"), contrast=values.get("contrast"))
    with grad_mode():
        raw = spec.compute(problem, **values)
    sal = Saliency(
        matrix=normalize_rows(raw.matrix, normalize), targets=problem.targets.copy(), method=method,
        tokens=list(run.tokens), token_ids=np.asarray(run.token_ids).copy(), n_input=run.n_input,
        target_ids=problem.target_ids.cpu().numpy(), signed=raw.signed, normalize=normalize,
        score=values.get("score"), foil_ids=None if problem.foil_ids is None else problem.foil_ids.cpu().numpy(),
        deltas=raw.deltas, extras=dict(raw.extras), causal=problem.causal)
    return with_info(sal, {"method": method, "targets": targets, "normalize": normalize, **values})


def _signature() -> inspect.Signature:
    """``compute_saliency``'s signature as ``help()`` shows it: the common parameters, then every
    method's options once, each default as its method declares it (None where they differ)."""
    KW = inspect.Parameter.KEYWORD_ONLY
    own = inspect.signature(compute_saliency, eval_str=True).parameters
    params = [own["run"], own["method"], *(own[name] for name in COMMON)]
    params += [inspect.Parameter(o.name, KW, default=o.default, annotation=o.annotation) for o in union()]
    return inspect.Signature(params, return_annotation=Saliency)


def _methods_doc() -> str:
    """The per-method part of ``compute_saliency``'s docstring, written from the registry."""
    lines = ["", "Methods (``method=``) and their options, with that method's defaults:", ""]
    for spec in _registered():
        lines.append(f"- ``{spec.name}`` ({', '.join(sorted(spec.needs))}): {spec.summary}")
        shown = ", ".join(f"{o.name}={o.default!r}" for o in spec.options) or "no options of its own"
        lines.extend(textwrap.wrap(shown, 92, initial_indent="  ", subsequent_indent="  "))
    return "\n".join(lines)


compute_saliency.__signature__ = _signature()  # type: ignore[attr-defined]
compute_saliency.__doc__ = inspect.cleandoc(compute_saliency.__doc__ or "") + "\n" + _methods_doc()
compute_saliency.constraints = {  # type: ignore[attr-defined]
    "method": method_constraint(), "targets": Positions(), "normalize": CONSTRAINTS["normalize"],
    **{o.name: o.constraint for o in union()}}
