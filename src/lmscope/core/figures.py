"""Matplotlib helpers every result's ``plot(ax=None)`` shares: figures that pyplot does not track."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    """A matplotlib Figure not tracked by pyplot (no double display in notebooks, no global state)."""
    import matplotlib.pyplot  # noqa: F401  - lets notebook front-ends register how to show figures
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def figure_and_axes(ax: Axes | None, width: float, height: float) -> tuple[Figure, Axes]:
    """``ax``'s figure and ``ax``, or a new untracked figure of ``width`` x ``height`` with one axes."""
    if ax is not None:
        return ax.figure, ax
    figure = new_figure(width, height)
    return figure, figure.add_subplot()


def tick_rotation(labels: Sequence[str]) -> int:
    """Upright labels when every token is short, vertical otherwise."""
    return 0 if all(len(label) <= 2 for label in labels) else 90


def check_axes(ax: Any) -> None:
    """``ax=`` must be a matplotlib Axes or None."""
    if ax is None:
        return
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")


def split_axes(ax: Axes, nrows: int, ncols: int, *, what: str, **gridspec: Any) -> tuple[Figure, Any]:
    """``ax``'s figure and a ``nrows`` x ``ncols`` grid over the cell ``ax`` held (``ax`` is removed).

    For plots of several panels drawn where the caller asked (``plot(ax=...)``). ``what``
    names the plot in the error when ``ax`` is not a grid cell (``fig.add_axes``).
    """
    cell = ax.get_subplotspec()
    if cell is None:
        raise ValueError(f"ax must be a grid cell (from fig.add_subplot or fig.subplots): {what} splits ax's cell "
                         "into its panels; pass ax=None for a new figure")
    figure = ax.figure
    ax.remove()
    return figure, cell.subgridspec(nrows, ncols, **gridspec)
