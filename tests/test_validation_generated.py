"""Every declared constraint of every public entry point refuses the values that break it, with the shared message.

In the spirit of scikit-learn's parameter validation tests: nothing here is hand-picked.
Entry points are collected from the package (lmscope's top-level functions, the methods of
``Run``, ``Scope``, ``Corpus`` and the result classes, and every module-level function of
lmscope), each one that declares ``fn.constraints`` (``core.checks.validated`` /
``core.results.analysis``) is called on a tiny model's run once per declared parameter and per
value of ``constraint.invalid()``, and must raise ``ValueError`` with exactly
``core.checks.message(name, constraint, value)``: the wording the CLI and the explorer give too.
An entry point declared by anyone is picked up without editing this file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")

import lmscope  # noqa: E402
from lmscope.core import checks  # noqa: E402
from lmscope.testing import sample_run, tiny_scope  # noqa: E402

# The entry points this file must find (so it cannot pass by finding none). Other declared entry points
# are tested as well when they exist; add yours here once it lands.
REQUIRED = {
    "Run.saliency", "Run.factors", "Scope.generate", "Scope.analyze", "Scope.corpus",
    "Run.neuron_activations", "Run.clusters", "Run.lens", "Run.layer_similarity", "Run.plot",
    "Lens.watch", "Lens.top", "Lens.plot", "Watch.plot", "Clusters.members", "LayerSimilarity.plot",
    "Combined.plot", "lmscope.combined", "lmscope.similarity.svcca",
}

# Entry points whose declared constraints and checks may disagree while their owners rework them; empty
# now that the saliency rework (a8776ae) checks every declared option. Name one here only with its reason.
PENDING: set[str] = set()


@dataclass(frozen=True)
class Entry:
    """One public entry point: its name, the callable as a user calls it, and what it declares."""

    name: str
    call: Callable[..., Any]
    constraints: dict[str, checks.Constraint]
    data: Any = None          # passed as the first argument of a module-level analysis


def _modules() -> Iterator[Any]:
    for info in pkgutil.walk_packages(lmscope.__path__, "lmscope."):
        if not info.name.endswith(".__main__"):
            yield importlib.import_module(info.name)


def _declared(fn: Any) -> dict[str, checks.Constraint] | None:
    found = getattr(fn, "constraints", None)
    return found if isinstance(found, dict) and found else None


def _methods(owner: Any, label: str) -> Iterator[Entry]:
    for name in dir(type(owner)):
        if name.startswith("_") or isinstance(inspect.getattr_static(type(owner), name), property):
            continue
        method = getattr(owner, name)
        if callable(method) and _declared(method):
            yield Entry(f"{label}.{name}", method, _declared(method))


@pytest.fixture(scope="module")
def world():
    """A tiny causal model, a run with every capture, a small corpus and one of every result."""
    scope = tiny_scope("llama")
    run = sample_run(scope)
    results = {"Lens": run.lens(), "Clusters": run.clusters(layer=0, k=2), "NeuronActivations":
               run.neuron_activations(layer=0), "LayerSimilarity": run.layer_similarity(),
               "Factors": run.factors(n=2), "Saliency": run.saliency()}
    results["Watch"] = results["Lens"].watch([","])
    results["Predictions"] = results["Lens"].top(2)
    results["Combined"] = lmscope.combined(results["Saliency"], results["Factors"])
    corpus = scope.corpus(["one two three four", "five six seven eight"], layers=[0], progress=False)
    return {"scope": scope, "run": run, "corpus": corpus, "results": results}


def entry_points(world) -> dict[str, Entry]:
    """Every declared entry point, once each (a Run method and the analysis it delegates to are one)."""
    scope, run, corpus = world["scope"], world["run"], world["corpus"]
    found: dict[str, Entry] = {}
    seen: set[int] = set()

    def add(entry: Entry) -> None:
        key = id(inspect.unwrap(entry.call.__func__ if inspect.ismethod(entry.call) else entry.call))
        if key not in seen:
            seen.add(key)
            found[entry.name] = entry

    for entry in [*_methods(run, "Run"), *_methods(scope, "Scope"), *_methods(corpus, "Corpus")]:
        add(entry)
    for label, result in world["results"].items():
        for entry in _methods(result, label):
            add(entry)
    for name in lmscope.__all__:
        fn = getattr(lmscope, name)
        if inspect.isfunction(fn) and _declared(fn):
            add(Entry(f"lmscope.{name}", fn, _declared(fn)))
    data = {"run": run, "record": run, "scope": scope, "corpus": corpus}
    for module in _modules():
        for name, fn in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != module.__name__:
                continue
            if _declared(fn):
                first = next(iter(inspect.signature(fn).parameters), "")
                add(Entry(f"{module.__name__}.{name}", fn, _declared(fn), data.get(first)))
    return found


# ---------------------------------------------------------------------- calling with one bad value
def valid(constraint: checks.Constraint) -> Any:
    """A value ``constraint`` accepts, for the parameters not under test."""
    if isinstance(constraint, checks.Integer):
        return constraint.lo if constraint.lo is not None else (constraint.hi if constraint.hi is not None else 0)
    if isinstance(constraint, checks.Real):
        lo, hi = constraint.lo, constraint.hi
        return (lo + hi) / 2 if lo is not None and hi is not None else (lo + 1 if lo is not None else
                                                                         (hi - 1 if hi is not None else 0.5))
    if isinstance(constraint, checks.Options):
        return constraint.values[0]
    if isinstance(constraint, checks.Flag):
        return False
    if isinstance(constraint, checks.Text):
        return "text"
    if isinstance(constraint, checks.Indexes):
        return [0]
    if isinstance(constraint, checks.Either):
        return valid(constraint.options[0])
    if constraint.none:
        return None
    for candidate in (None, 0, 1, [0], "text", ("activations",), True, 0.5):   # a constraint of its own kind
        if constraint.accepts(candidate):
            return candidate
    raise AssertionError(f"no valid value known for {constraint!r}; teach valid() about it")


def arguments(entry: Entry, name: str, value: Any) -> tuple[list[Any], dict[str, Any]]:
    """Arguments that set ``name`` to ``value`` and every other required parameter to something acceptable."""
    signature = inspect.signature(entry.call)
    params = list(signature.parameters.values())
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for i, p in enumerate(params):
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name == name:
            given = value
        elif p.default is not p.empty:
            continue
        elif i == 0 and entry.data is not None:
            given = entry.data
        elif p.name in entry.constraints:
            given = valid(entry.constraints[p.name])
        else:
            given = None          # checks run before the body, so the body never sees it
        if p.kind is p.POSITIONAL_ONLY:
            args.append(given)
        else:
            kwargs[p.name] = given
    if name not in signature.parameters:  # declared on **options
        kwargs[name] = value
    return args, kwargs


def cases(world) -> Iterator[tuple[str, str, Any]]:
    for label, entry in sorted(entry_points(world).items()):
        for name, constraint in entry.constraints.items():
            for value in constraint.invalid():
                yield label, name, value


# ---------------------------------------------------------------------- the tests
def test_the_entry_points_this_file_must_cover_are_found(world):
    found = entry_points(world)
    missing = sorted(REQUIRED - set(found))
    assert not missing, f"no declared constraints found on {missing}; found {sorted(found)}"


def test_every_declared_constraint_refuses_its_invalid_values_with_the_shared_message(world):
    entries = entry_points(world)
    failures, n = [], 0
    for label, entry in sorted(entries.items()):
        if label in PENDING:
            continue
        for name, constraint in entry.constraints.items():
            invalid = constraint.invalid()
            assert invalid, f"{label}: {name}'s {constraint!r} generates no invalid values"
            for value in invalid:
                n += 1
                args, kwargs = arguments(entry, name, value)
                expected = checks.message(name, constraint, value)
                try:
                    entry.call(*args, **kwargs)
                except ValueError as error:
                    if str(error) != expected:
                        failures.append(f"{label}({name}={value!r}): {error}\n    expected: {expected}")
                except Exception as error:  # noqa: BLE001 - reported with the others below
                    failures.append(f"{label}({name}={value!r}): {type(error).__name__}: {error}")
                else:
                    failures.append(f"{label}({name}={value!r}) was accepted")
    assert n >= 3 * len(REQUIRED), f"only {n} invalid values were tried"
    assert not failures, f"{len(failures)} of {n} invalid values:\n" + "\n".join(failures)


def test_valid_values_pass_every_constraint(world):
    """The helper above must itself give accepted values, or the other test could blame the wrong parameter."""
    for entry in entry_points(world).values():
        for name, constraint in entry.constraints.items():
            constraint.check(name, valid(constraint))


def test_pending_entry_points_exist(world):
    """The pending list names real entry points, so it cannot hide a typo."""
    assert PENDING <= set(entry_points(world))
