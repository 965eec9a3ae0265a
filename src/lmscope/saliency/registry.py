"""The registry of saliency methods: the single source of what each method takes and needs.

A method is one function ``fn(problem, *, option=default, ...)`` over a
:class:`~lmscope.saliency.engine.Problem`. :func:`register` reads its options and their
defaults from that signature (the keyword-only parameters after ``problem``), takes what
the method needs (``needs=``, a subset of :data:`NEEDS`), and gives each option the
constraint of :data:`CONSTRAINTS` under its name (one constraint per option name, shared
by every method that takes it). From this one declaration come the checks and error
messages of ``run.saliency``, the signature ``help(run.saliency)`` shows, what a run
must capture (:func:`lmscope.saliency.capture_for`) and the metadata the CLI and the
explorer list (:func:`lmscope.saliency.method_info`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..core.checks import Constraint, Either, Flag, Integer, Options, Real, Text, message

# What a method can need: gradients through the model (refused on quantized or integer
# weights), attention weights (read from the run when it captured them), the model itself
# run again (a run attached to its scope), the optional Captum package.
NEEDS = ("gradients", "attentions", "model", "captum")

SCORES = ("logit", "logprob", "prob")
AGGREGATIONS = ("l2", "sum", "mean_abs")
NORMALIZATIONS = ("sum", "max", "none")
INTEGRATIONS = ("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle")
BASELINE_TOKENS = ("pad", "unk", "mask", "eos", "bos")
ERASURE_MODES = ("replace", "drop")


@dataclass(frozen=True)
class Embeddings(Constraint):
    """An array (numpy or torch) of input embeddings; its shape is checked against the model later."""

    none: bool = False

    def describe(self) -> str:
        return self._or_none("an array of shape (hidden,) or (positions, hidden)")

    def accepts(self, value: Any) -> bool:
        import torch

        return isinstance(value, (np.ndarray, torch.Tensor))

    def invalid(self) -> list[Any]:
        return [[0.0, 1.0], "zeros"]


# One constraint per option name: the same name means the same thing in every method.
BASELINE = Either((Options(("zeros", *BASELINE_TOKENS)), Integer(0), Embeddings()))
CONSTRAINTS: dict[str, Constraint] = {
    "normalize": Options(NORMALIZATIONS, ("absolute values of a row sum to 1", "largest magnitude 1",
                                          "raw scores")),
    "score": Options(SCORES, ("the token's logit before the softmax, the seed article's formula",
                              "its log-probability, Ecco's and Inseq's rows", "its probability")),
    "aggregation": Options(AGGREGATIONS, ("L2 norm over the embedding", "signed sum, e.g. gradient · input",
                                          "mean absolute value")),
    "contrast": Either((Text(), Integer(0)), none=True),
    "chunk_size": Integer(1),
    "n_steps": Integer(1),
    "baseline": BASELINE,
    "integration": Options(INTEGRATIONS),
    "step_batch": Integer(1, none=True),
    "reuse_prefix": Flag(),
    "mode": Options(ERASURE_MODES, ("the baseline embedding at the erased position", "the token removed")),
    "batch_size": Integer(1),
    "layer": Either((Integer(), Options(("mean",), ("the average over layers",)))),
    "head": Integer(0, none=True),
    "residual": Flag(),
    "n_samples": Integer(1),
    "stdevs": Real(0),
    "random_state": Integer(none=True),
}
# What each option is for, one line each (CLI help, the explorer's method form).
HELP: dict[str, str] = {
    "normalize": "how each row is scaled",
    "score": "what is attributed: the target token's logit, log-probability or probability",
    "aggregation": "how a token's attribution vector (one value per embedding dimension) becomes one score",
    "contrast": "a foil token (string or id): explain why the target rather than the foil",
    "chunk_size": "targets per forward pass, whose backward passes share it",
    "n_steps": "interpolation steps between the baseline and the input",
    "baseline": "the reference input: 'zeros', a special token's embedding ('pad', 'unk', 'mask', 'eos', "
                "'bos'), a token id, or an array of embeddings",
    "integration": "the quadrature rule over the interpolation steps (Captum's names)",
    "step_batch": "interpolation steps per forward pass (None: as many as fit a fixed budget)",
    "reuse_prefix": "run the sequence once through a KV cache that keeps its graph (causal LMs)",
    "mode": "erase a token by replacing its embedding with the baseline, or by dropping it",
    "batch_size": "perturbed inputs per forward pass",
    "layer": "the layer whose attention is read, or 'mean' for the average over layers",
    "head": "one attention head, or None for the average over heads",
    "residual": "mix in the residual connection (0.5 * A + 0.5 * I) at every layer",
    "n_samples": "random samples drawn per target",
    "stdevs": "standard deviation of the noise added to each sample",
    "random_state": "seed of the sampling (None: not seeded)",
}
COMMON = ("targets", "normalize")     # every method's options, taken by compute_saliency itself


@dataclass
class Raw:
    """What a method returns: unnormalised scores ``(targets, positions)``, 0 outside each row's span."""

    matrix: np.ndarray
    signed: bool
    deltas: np.ndarray | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Option:
    """One option of a method: its name, default (from the method's signature) and constraint."""

    name: str
    default: Any
    constraint: Constraint
    annotation: Any = inspect.Parameter.empty

    @property
    def help(self) -> str:
        """What the option is for, in one line."""
        return HELP.get(self.name, "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{name, default, help, allowed, choices?}`` (choices for fixed sets of strings)."""
        out = {"name": self.name, "default": self.default, "help": self.help,
               "allowed": self.constraint.describe()}
        choices = _choices(self.constraint)
        if choices:
            out["choices"] = choices
        return out


@dataclass(frozen=True)
class Method:
    """One registered method: its function, its options (from the signature) and what it needs."""

    name: str
    compute: Callable[..., Raw]
    options: tuple[Option, ...]
    needs: frozenset[str]
    cost: float             # work per token relative to grad_x_input, for request budgets (explorer)

    @property
    def summary(self) -> str:
        """The first line of the method's docstring."""
        doc = (self.compute.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.compute.__doc__ or "")

    @property
    def defaults(self) -> dict[str, Any]:
        """Option name -> default, in signature order."""
        return {o.name: o.default for o in self.options}

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.options)

    def allowed(self) -> str:
        """Every option this method takes, common ones first, for error messages."""
        return ", ".join((*COMMON, *self.option_names))

    def bind(self, given: dict[str, Any]) -> dict[str, Any]:
        """``given`` options checked against this method, with its defaults filled in.

        An option this method does not take is an error listing the ones it does; a value
        gets the shared message of its constraint. ``None`` for an option whose default
        differs between methods (``score``, ``chunk_size``, ``n_samples``) means this
        method's default.
        """
        unknown = sorted(set(given) - set(self.option_names))
        if unknown:
            raise ValueError(f"saliency method {self.name!r} does not take {unknown}; its options are: "
                             f"{self.allowed()}")
        values = self.defaults
        varying = varying_defaults()
        for option in self.options:
            if option.name not in given:
                continue
            value = given[option.name]
            if option.name in varying:          # None: this method's default, and the message says so
                if value is None:
                    continue
                values[option.name] = replace(option.constraint, none=True).check(option.name, value)
            else:
                values[option.name] = option.constraint.check(option.name, value)
        return values

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metadata: name, summary, needs, options with defaults and descriptions."""
        return {"name": self.name, "summary": self.summary, "needs": sorted(self.needs), "cost": self.cost,
                "options": [o.to_dict() for o in self.options]}


_METHODS: dict[str, Method] = {}


def register(name: str, *, needs: Iterable[str], cost: float) -> Callable[[Callable[..., Raw]], Callable[..., Raw]]:
    """Decorator adding a method under ``name``; its options come from its signature.

    ``cost`` is its work per token relative to gradient x input at its default options
    (measured on the tiny Llama at 38 tokens, one thread: grad_x_input 0.033 s, gradient 0.019,
    integrated_gradients 0.27, erasure 0.013, attention 0.004, attention_flow 0.12, deeplift
    0.69, gradient_shap 0.23, lime 2.1; sampling methods grow faster than linearly with length).

    Every keyword-only parameter after ``problem`` is an option and must have a default and a
    constraint in :data:`CONSTRAINTS`.
    """
    needs = frozenset(needs)
    if not needs <= set(NEEDS):
        raise TypeError(f"saliency method {name!r}: needs {sorted(needs - set(NEEDS))} are not among {NEEDS}")

    def add(fn: Callable[..., Raw]) -> Callable[..., Raw]:
        params = list(inspect.signature(fn, eval_str=True).parameters.values())[1:]
        options = []
        for p in params:
            if p.kind is not inspect.Parameter.KEYWORD_ONLY or p.default is inspect.Parameter.empty:
                raise TypeError(f"saliency method {name!r}: option {p.name!r} must be keyword-only with a default")
            if p.name not in CONSTRAINTS or p.name not in HELP:
                raise TypeError(f"saliency method {name!r}: option {p.name!r} needs a constraint in CONSTRAINTS "
                                "and a line in HELP")
            options.append(Option(p.name, p.default, CONSTRAINTS[p.name], p.annotation))
        _METHODS[name] = Method(name, fn, tuple(options), needs, float(cost))
        return fn
    return add


METHOD = "method"


def get(name: Any) -> Method:
    """The method registered as ``name``, or the shared error listing the valid names."""
    if not isinstance(name, str) or name not in _METHODS:
        raise ValueError(message(METHOD, method_constraint(), name))
    return _METHODS[name]


def method_constraint() -> Options:
    """``method=``: one of the registered names (:func:`methods` describes each)."""
    return Options(tuple(_METHODS))


def names() -> list[str]:
    return list(_METHODS)


def methods() -> list[Method]:
    return list(_METHODS.values())


def without(need: str) -> list[str]:
    """Names of the methods that do not need ``need`` (e.g. the gradient-free ones)."""
    return [m.name for m in _METHODS.values() if need not in m.needs]


def varying_defaults() -> set[str]:
    """Options whose default differs between the methods that take them (``None`` picks the method's)."""
    seen: dict[str, set[str]] = {}
    for method in _METHODS.values():
        for option in method.options:
            seen.setdefault(option.name, set()).add(repr(option.default))
    return {name for name, defaults in seen.items() if len(defaults) > 1}


def union() -> list[Option]:
    """Every method-specific option once, in first-registered order; varying defaults shown as None."""
    varying = varying_defaults()
    out: dict[str, Option] = {}
    for method in _METHODS.values():
        for option in method.options:
            if option.name not in out:
                if option.name in varying:   # None: the method's own default
                    out[option.name] = Option(option.name, None, replace(option.constraint, none=True),
                                              option.annotation | None)
                else:
                    out[option.name] = option
    return list(out.values())


def _choices(constraint: Constraint) -> list[str]:
    if isinstance(constraint, Options):
        return list(constraint.values)
    if isinstance(constraint, Either):
        return [v for c in constraint.options for v in _choices(c)]
    return []
