"""The small base every result shares: ``to_dict()``, ``to_frame()``, ``plot(ax=None)``, ``info``.

A result is plain data (numpy arrays and the tokens they describe). Its ``info`` holds the
parameters of the call that produced it, defaults included, so a saved figure or table can
say how it was made. Results that show as an explorable also implement the public view
protocol, ``view_data()`` (see :mod:`lmscope.views`), which any user class can implement too.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .checks import Constraint, checked_calls

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

F = TypeVar("F", bound=Callable[..., Any])


class Result:
    """Base of lmscope's results; subclasses implement the three exports."""

    _info: dict[str, Any]

    @property
    def info(self) -> dict[str, Any]:
        """The parameters of the call that produced this result (defaults included)."""
        return dict(getattr(self, "_info", None) or {})

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready data."""
        raise NotImplementedError(f"{type(self).__name__} does not implement to_dict()")

    def to_frame(self) -> pd.DataFrame:
        """The result as a pandas DataFrame (one row per item it describes)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement to_frame()")

    def plot(self, ax: Axes | None = None) -> Figure:
        """A static matplotlib figure (drawn on ``ax`` when given); pyplot's global state is not touched."""
        raise NotImplementedError(f"{type(self).__name__} does not implement plot()")


def with_info(result: Any, info: dict[str, Any]) -> Any:
    """Attach the call's parameters to ``result`` (a :class:`Result`) and return it."""
    if isinstance(result, Result):
        result._info = {k: _plain(v) for k, v in info.items()}
    return result


def analysis(**constraints: Constraint) -> Callable[[F], F]:
    """Declare an analysis: its parameters' constraints are checked before any work, and the
    result's ``info`` records the call's parameters (the first argument, the data, left out).

    The declaration stays on the function as ``fn.constraints`` for the CLI, the explorer
    and the tests (see :func:`lmscope.core.checks.validated`).
    """
    def record_info(bound: inspect.BoundArguments, result: Any) -> Any:
        parameters = bound.signature.parameters
        first = next(iter(parameters))
        info = {k: v for k, v in bound.arguments.items() if k != first}
        for name, parameter in parameters.items():       # **options: its entries, not the dict
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                info.update(info.pop(name, None) or {})
        return with_info(result, info)

    return lambda fn: checked_calls(fn, constraints, after=record_info)


INFO_ITEMS = 100
"""Lists and arrays longer than this show in ``info`` as their length, so a result never holds its inputs."""
INFO_CHARS = 200
"""Strings longer than this show in ``info`` as their length (a corpus's texts, a long prompt)."""


def _plain(value: Any) -> Any:
    """Parameters as shown in ``info``: short plain values kept, long ones, arrays and objects summarised."""
    if isinstance(value, str) and len(value) > INFO_CHARS:
        return f"<{len(value)} characters>"
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple, range)):
        if len(value) > INFO_ITEMS or any(isinstance(v, str) and len(v) > INFO_CHARS for v in value):
            return f"<{len(value)} items>"
        if all(v is None or isinstance(v, (str, int, float, bool)) for v in value):
            return list(value)
    if hasattr(value, "tolist") and getattr(value, "size", INFO_ITEMS + 1) <= INFO_ITEMS:
        return value.tolist()
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    return f"<{type(value).__name__}>"


def delegate(fn: Callable[..., Any]) -> Any:
    """A method that calls ``fn(self, ...)``, with ``fn``'s own signature and docstring.

    ``Run.lens = delegate(logit_lens)`` makes ``help(run.lens)`` list the lens's parameters
    while each default stays written once, on the analysis.
    """
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())

    @functools.wraps(fn)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(self, *args, **kwargs)

    own = params[0].replace(name="self", annotation=inspect.Parameter.empty)
    method.__signature__ = signature.replace(parameters=[own, *params[1:]])  # type: ignore[attr-defined]
    return method
