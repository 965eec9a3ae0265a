"""What a run's and a corpus's factors share: components over the FFN neurons of several layers,
which neurons contribute to each factor, and the statistics and plot built on them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.checks import Real, check, is_int
from ..core.figures import check_axes, figure_and_axes
from ..core.results import Result

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MASS = 0.9
"""Default share of a factor's total component weight that its contributing neurons carry."""
MASS_RANGE = Real(0, 1, lo_open=True)


# ---------------------------------------------------------------------- contribution statistics
def contributing(components: np.ndarray, mass: float = MASS) -> np.ndarray:
    """Boolean ``(factors, neurons)``: the fewest neurons whose weights carry ``mass`` of each factor's total.

    A neuron *contributes* to a factor when it is among the strongest neurons of that
    factor's component that together hold ``mass`` (default 90%) of the sum of its absolute
    weights. This counts the neurons a factor is really made of, whatever the scale of a
    few outsized neurons (a threshold at a fraction of the largest weight would count
    almost none on models with massive activations).
    """
    mass = check("mass", mass, MASS_RANGE)
    weights = np.abs(components.astype(np.float64))
    out = np.zeros(weights.shape, dtype=bool)
    for f, row in enumerate(weights):
        total = row.sum()
        if total <= 0:
            continue
        order = np.argsort(-row, kind="stable")
        count = int(np.searchsorted(np.cumsum(row[order]), mass * total * (1 - 1e-12))) + 1
        out[f, order[:min(count, len(row))]] = True
    return out


def contribution_stats(components: np.ndarray, *, mass: float = MASS, labels: list[str] | None = None,
                       extra: dict[str, Any] | None = None) -> pd.DataFrame:
    """Per factor: contributing neurons, their share of all factorised neurons, and pairwise overlaps."""
    import pandas as pd

    sets = contributing(components, mass)
    n_factors, n_total = sets.shape
    common = sets.astype(np.int64) @ sets.T.astype(np.int64)
    table = {"neurons": sets.sum(axis=1), "share": sets.sum(axis=1) / n_total}
    for j in range(n_factors):
        table[f"common_{j}"] = common[:, j]
    frame = pd.DataFrame(table, index=pd.RangeIndex(n_factors, name="factor"))
    if labels is not None:
        frame.insert(0, "label", labels)
    for name, values in (extra or {}).items():
        frame[name] = values
    frame.attrs.update(mass=mass, n_neurons=n_total)
    return frame


# ---------------------------------------------------------------------- the shared base
class FactorComponents(Result):
    """Factors as weights over the FFN neurons of several layers: what a run's and a corpus's factors share.

    A subclass holds ``components`` ``(n_factors, len(layers) * n_neurons)`` (layers
    concatenated in ``layers`` order: column ``i`` is neuron ``i % n_neurons`` of layer
    ``layers[i // n_neurons]``), ``layers``, ``n_neurons`` and optional ``labels``. Per-factor
    columns of its own join the :meth:`stats` table through :meth:`factor_columns`.
    """

    components: np.ndarray
    layers: list[int]
    n_neurons: int
    labels: list[str] | None

    @property
    def n_factors(self) -> int:
        return len(self.components)

    def neuron(self, column: int) -> tuple[int, int]:
        """``(layer, neuron)`` of column ``column`` of :attr:`components`."""
        if not is_int(column) or not 0 <= column < self.components.shape[1]:
            raise ValueError(f"column must be in 0..{self.components.shape[1] - 1}, got {column!r}")
        return self.layers[column // self.n_neurons], int(column % self.n_neurons)

    def layer_components(self) -> np.ndarray:
        """Components as ``(n_factors, layers, neurons)``."""
        return self.components.reshape(self.n_factors, len(self.layers), self.n_neurons)

    def layer_weights(self) -> np.ndarray:
        """``(n_factors, layers)``: the share of each factor's absolute weight that lies in each layer."""
        weights = np.abs(self.layer_components().astype(np.float64)).sum(axis=2)
        totals = weights.sum(axis=1, keepdims=True)
        return np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)

    def factor_labels(self) -> list[str]:
        """Display names: :attr:`labels` if set, else "factor i"."""
        if self.labels is not None:
            return list(self.labels)
        return [f"factor {f}" for f in range(self.n_factors)]

    def factor_columns(self) -> dict[str, Any]:
        """Per-factor columns the result adds to :meth:`stats` (name -> one value per factor)."""
        return {}

    def overlap(self, *, mass: float = MASS) -> np.ndarray:
        """``(n_factors, n_factors)`` counts of neurons contributing to both factors (diagonal: to each)."""
        sets = contributing(self.components, mass).astype(np.int64)
        return sets @ sets.T

    def stats(self, *, mass: float = MASS) -> pd.DataFrame:
        """Per factor: label, contributing neurons (count, share of all factorised FFN neurons) and overlaps.

        A neuron contributes to a factor when it is among the fewest neurons whose
        absolute component weights add up to ``mass`` (default 0.9) of the factor's total
        (:func:`contributing`). Columns: ``label``, ``neurons``, ``share`` (of ``len(layers) *
        n_neurons``), ``common_j`` (neurons shared with factor ``j``), then the result's own
        (:meth:`factor_columns`).
        """
        return contribution_stats(self.components, mass=mass, labels=self.factor_labels(),
                                  extra=self.factor_columns())

    def plot_layers(self, ax: Axes | None = None) -> Figure:
        """Heatmap: the share of each factor's weight in each layer (where in the model a factor lives)."""
        check_axes(ax)
        shares = self.layer_weights()
        fig, ax = figure_and_axes(ax, min(3.0 + 0.25 * len(self.layers), 14.0), 0.35 * self.n_factors + 1.4)
        image = ax.imshow(shares, aspect="auto", interpolation="nearest", cmap="Purples", vmin=0)
        ax.set_yticks(range(self.n_factors), self.factor_labels(), fontsize=8)
        step = max(1, len(self.layers) // 16)
        ax.set_xticks(range(0, len(self.layers), step), [str(x) for x in self.layers[::step]], fontsize=8)
        ax.set_xlabel("layer")
        fig.colorbar(image, ax=ax, label="share of the factor's weight")
        ax.set_title(f"Where {self.n_factors} factors' weights lie, over {len(self.layers)} layers", fontsize=9)
        return fig


