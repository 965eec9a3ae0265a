"""Every parameter constraint in one place: integers, reals, choices, flags, layers, positions.

Two halves, in the spirit of scikit-learn's parameter validation:

- **Constraints** (:class:`Integer`, :class:`Real`, :class:`Options`, :class:`Flag`,
  :class:`Layers`, :class:`Positions`, :class:`Text`) say what a parameter may be without
  knowing the model or the text. :func:`validated` declares them on a public function,
  checks every call before any work, and keeps the declaration on the function
  (``fn.constraints``) so the CLI, the explorer and the tests read the same rules. A
  constraint can also generate values that break it (:meth:`Constraint.invalid`), which is
  how the tests probe every public entry point.
- **Resolvers** (:func:`resolve_layers`, :func:`resolve_positions`) finish the job once the
  model or the text is known: ranges, negative indexes (always counted from the end), what
  was captured.

The same bad value gets the same message from the Python API, the CLI and the explorer,
because all three call these.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])


def is_int(value: Any) -> bool:
    """A true integer (Python or numpy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    """A finite-or-not real number (int or float, Python or numpy), not a bool."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)))


class Constraint:
    """What one parameter may be; :meth:`check` returns the value normalised or raises ``ValueError``."""

    none: bool = False

    def describe(self) -> str:
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def normalise(self, value: Any) -> Any:
        return value

    def check(self, name: str, value: Any) -> Any:
        """``value`` normalised, or ``ValueError`` naming ``name``, what it must be and what it got."""
        if value is None and self.none:
            return None
        if not self.accepts(value):
            raise ValueError(message(name, self, value))
        return self.normalise(value)

    def invalid(self) -> list[Any]:
        """Values that break the constraint (for tests that probe every entry point)."""
        raise NotImplementedError

    def _or_none(self, text: str) -> str:
        return f"{text}, or None" if self.none else text


def message(name: str, constraint: Constraint, value: Any) -> str:
    """The one wording of a parameter error, shared by the API, the CLI and the explorer."""
    return f"{name} must be {constraint.describe()}; got {value!r}"


@dataclass(frozen=True)
class Integer(Constraint):
    """An integer in ``[lo, hi]`` (either bound may be open-ended with None)."""

    lo: int | None = None
    hi: int | None = None
    none: bool = False

    def describe(self) -> str:
        if self.lo is not None and self.hi is not None:
            text = f"an integer from {self.lo} to {self.hi}"
        elif self.lo is not None:
            text = "a positive integer" if self.lo == 1 else f"an integer >= {self.lo}"
        elif self.hi is not None:
            text = f"an integer <= {self.hi}"
        else:
            text = "an integer"
        return self._or_none(text)

    def accepts(self, value: Any) -> bool:
        return (is_int(value) and (self.lo is None or value >= self.lo)
                and (self.hi is None or value <= self.hi))

    def normalise(self, value: Any) -> int:
        return int(value)

    def invalid(self) -> list[Any]:
        out: list[Any] = ["3", 2.5, True]
        if self.lo is not None:
            out.append(self.lo - 1)
        if self.hi is not None:
            out.append(self.hi + 1)
        if not self.none:
            out.append(None)
        return out


@dataclass(frozen=True)
class Real(Constraint):
    """A finite real number in a range; ``lo_open``/``hi_open`` exclude the bound itself."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    none: bool = False

    def describe(self) -> str:
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {self.lo:g}")
        if self.hi is not None:
            parts.append(f"{'<' if self.hi_open else '<='} {self.hi:g}")
        text = "a number" + (" " + " and ".join(parts) if parts else "")
        return self._or_none(text)

    def accepts(self, value: Any) -> bool:
        if not is_real(value) or not math.isfinite(float(value)):
            return False
        v = float(value)
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            return False
        return not (self.hi is not None and (v >= self.hi if self.hi_open else v > self.hi))

    def normalise(self, value: Any) -> float:
        return float(value)

    def invalid(self) -> list[Any]:
        out: list[Any] = ["0.5", float("nan"), True]
        if self.lo is not None:
            out.append(self.lo if self.lo_open else self.lo - 1)
        if self.hi is not None:
            out.append(self.hi if self.hi_open else self.hi + 1)
        if not self.none:
            out.append(None)
        return out


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of strings; ``meanings`` (same order) explain each choice in the error."""

    values: tuple[str, ...]
    meanings: tuple[str, ...] = ()
    none: bool = False

    def describe(self) -> str:
        if self.meanings:
            listed = ", ".join(f"{v!r} ({m})" for v, m in zip(self.values, self.meanings))
        else:
            listed = ", ".join(repr(v) for v in self.values)
        return self._or_none(f"one of {listed}")

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def invalid(self) -> list[Any]:
        out: list[Any] = ["not-a-choice", 1]
        if not self.none:
            out.append(None)
        return out


@dataclass(frozen=True)
class Flag(Constraint):
    """``True`` or ``False`` (not 0/1, not a string: ``"False"`` would read as true)."""

    none: bool = False

    def describe(self) -> str:
        return self._or_none("True or False")

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def normalise(self, value: Any) -> bool:
        return bool(value)

    def invalid(self) -> list[Any]:
        return ["yes", 2] + ([] if self.none else [None])


@dataclass(frozen=True)
class Text(Constraint):
    """A string; ``empty=False`` refuses blank ones."""

    empty: bool = False
    none: bool = False

    def describe(self) -> str:
        return self._or_none("a string of valid Unicode" if self.empty else "a non-empty string of valid Unicode")

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and (self.empty or bool(value.strip())) and valid_unicode(value)

    def invalid(self) -> list[Any]:
        return [3, "a\ud800b"] + ([] if self.empty else [""]) + ([] if self.none else [None])


def valid_unicode(text: str) -> bool:
    """No lone surrogates (what a broken decode or a JSON ``"\\ud800"`` leaves), which no tokenizer can encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Indexes(Constraint):
    """Integer indexes: one int, a list/tuple/range/array of ints, or None for the default.

    Only the shape is checked here; :func:`resolve_layers` / :func:`resolve_positions`
    check the range once the model or text is known (negative counts from the end).
    """

    what: str = "indexes"
    none: bool = True

    def describe(self) -> str:
        return self._or_none(f"an int or a non-empty list of ints ({self.what})")

    def accepts(self, value: Any) -> bool:
        if is_int(value):
            return True
        if isinstance(value, (str, bytes, dict)) or not isinstance(value, (Sequence, range, np.ndarray)):
            return False
        items = list(value)
        return bool(items) and all(is_int(v) for v in items)

    def normalise(self, value: Any) -> list[int]:
        return [int(value)] if is_int(value) else [int(v) for v in value]

    def invalid(self) -> list[Any]:
        return ["0", [], [1.5], [True]]


def Layers(none: bool = True) -> Indexes:  # noqa: N802 - reads as a constraint like the classes above
    """Layer indexes (negative counts from the last layer)."""
    return Indexes("layer indexes", none)


def Positions(none: bool = True) -> Indexes:  # noqa: N802
    """Token positions (negative counts from the last token)."""
    return Indexes("token positions", none)


@dataclass(frozen=True)
class Either(Constraint):
    """Any of several constraints (e.g. an int N or a list of indices)."""

    options: tuple[Constraint, ...]
    none: bool = False

    def describe(self) -> str:
        return self._or_none(" or ".join(c.describe() for c in self.options))

    def accepts(self, value: Any) -> bool:
        return any(c.accepts(value) or (value is None and c.none) for c in self.options)

    def normalise(self, value: Any) -> Any:
        for c in self.options:
            if c.accepts(value):
                return c.normalise(value)
        return value

    def invalid(self) -> list[Any]:
        return [v for c in self.options for v in c.invalid() if not self.accepts(v) and not (v is None and self.none)]


# ---------------------------------------------------------------------- declaring constraints
def validated(**constraints: Constraint) -> Callable[[F], F]:
    """Declare ``constraints`` on a public function: every call is checked before its body runs.

    The declaration stays on the function as ``fn.constraints`` (name -> constraint) for the
    CLI, the explorer and the tests. The body receives normalised values (``numpy.int64(3)``
    arrives as ``3``).
    """
    return lambda fn: checked_calls(fn, constraints)


def checked_calls(fn: F, constraints: dict[str, Constraint],
                  after: Callable[[inspect.BoundArguments, Any], Any] | None = None) -> F:
    """``fn`` with each call's arguments (defaults filled in) checked first; ``after(bound, result)`` may
    replace the result (``core.results.analysis`` records the call's parameters on it)."""
    signature = inspect.signature(fn)
    unknown = set(constraints) - set(signature.parameters)
    if unknown:
        raise TypeError(f"{fn.__qualname__} declares constraints on unknown parameters {sorted(unknown)}")

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            if name in constraints:
                bound.arguments[name] = constraints[name].check(name, value)
        result = fn(*bound.args, **bound.kwargs)
        return result if after is None else after(bound, result)

    checked.constraints = dict(constraints)  # type: ignore[attr-defined]
    return checked  # type: ignore[return-value]


def check(name: str, value: Any, constraint: Constraint) -> Any:
    """Check one value where a decorator does not fit (dataclass fields, CLI arguments)."""
    return constraint.check(name, value)


# ---------------------------------------------------------------------- resolving with context
MODES = ("seed", "response")
MODE = Options(MODES, ("an output token reads the position that produced it",
                       "every token reads its own position"))


def resolve_layers(layers: Any, n_layers: int, *, name: str = "layers",
                   captured: Sequence[int] | None = None) -> list[int]:
    """``layers=`` as sorted unique indices of a model with ``n_layers`` layers.

    None means every layer (every captured one when ``captured`` is given). Negative
    indexes count from the last layer. With ``captured``, layers not captured get an error
    that says how to capture them.
    """
    if layers is None:
        return sorted(captured) if captured is not None else list(range(n_layers))
    values = Layers(none=False).check(name, layers)
    out: set[int] = set()
    for layer in values:
        if not -n_layers <= layer < n_layers:
            raise ValueError(f"{name}: layer {layer} is out of range: this model has {n_layers} layers "
                             f"(0..{n_layers - 1}); negative indexes count from the last")
        out.add(layer % n_layers)
    if captured is not None:
        missing = sorted(out - set(captured))
        if missing:
            raise ValueError(f"{name}: layers {missing} were not captured (captured: {sorted(captured)}); "
                             "generate or analyse again with layers=None or layers including them")
    return sorted(out)


def resolve_positions(positions: Any, n_tokens: int, *, name: str = "positions", first: int = 0,
                      unique: bool = True, why_first: str = "") -> np.ndarray:
    """``positions=`` as token positions of an ``n_tokens`` sequence; negative counts from the end.

    Positions below ``first`` are refused (a causal target needs a token before it;
    ``why_first`` says so in the error). ``unique`` sorts and removes repeats (targets);
    otherwise the order is kept (columns of a view). None is the caller's to default.
    """
    values = Positions(none=False).check(name, positions)
    out = []
    for value in values:
        position = value + n_tokens if value < 0 else value
        if not first <= position < n_tokens:
            why = f" ({why_first})" if why_first else ""
            raise ValueError(f"{name}: position {value} is outside the sequence: it has {n_tokens} tokens, so "
                             f"positions run from {first}{why} to {n_tokens - 1} (negative counts from the end)")
        out.append(position)
    if unique:
        out = sorted(set(out))
    return np.asarray(out, dtype=np.int64)


def resolve_count(name: str, value: Any, available: int, what: str) -> np.ndarray:
    """An int N (the first N of ``available``) or a list of indices into ``available`` items."""
    if is_int(value):
        Integer(1).check(name, value)
        return np.arange(min(int(value), available))
    ids = Indexes(what, none=False).check(name, value)
    bad = [i for i in ids if not 0 <= i < available]
    if bad:
        raise ValueError(f"{name} must be {what} in 0..{available - 1} (or an int N for the first N); "
                         f"got {bad[0]!r}")
    return np.asarray(ids, dtype=np.int64)


def names_in(choices: Iterable[str]) -> str:
    """``'a', 'b', 'c'`` for error messages."""
    return ", ".join(repr(c) for c in choices)

