"""FFN neuron activations of one run: heatmaps of a layer's neurons and k-means clusters of them.

The seed article's three activation figures: the activations of the first N neurons of a
layer for one token, the same over every token, and the neurons of a layer clustered with
k-means so that neurons that fire together sit together. Values are the FFN's
post-nonlinearity activations (the input of its down projection) captured in the run.

Which activation stands for a token follows ``mode`` (see
:meth:`lmscope.core.record.Record.source_positions`): ``"seed"`` (default) shows an output token with
the activation *that produced it* (the previous position), ``"response"`` with the
model's response to the token itself.

>>> run = scope.generate("1, 2, 3,", max_new_tokens=12)    # doctest: +SKIP
>>> run.neuron_activations(layer=4, neurons=400).plot()     # doctest: +SKIP
>>> cl = run.clusters(layer=4, k=5); cl.order, cl.labels    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .core.checks import MODE, Integer, Positions, resolve_count, resolve_positions, validated
from .core.figures import figure_and_axes, new_figure, split_axes, tick_rotation
from .core.record import ActivationMode, Record
from .core.results import Result, analysis
from .core.tokens import tick_label
from .views.mixin import HTMLView

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Clusters", "NeuronActivations", "cluster_neurons", "neuron_activations"]



def _one_layer(run: Record, layer: int) -> int:
    return run.captured_layers([layer], name="layer")[0]


def _heatmap(ax, values: np.ndarray, tokens: Sequence[str], *, cmap: str = "Purples") -> Any:
    """Neurons x tokens with only positive values coloured (white at and below zero), as in the seed.

    The colour scale tops out at the 99th percentile of the positive values, so that a few
    outsized activations do not wash out the rest (they show at full colour).
    """
    import matplotlib

    colormap = matplotlib.colormaps[cmap].with_extremes(under="white")
    positive = values[values > 0]
    top = float(np.percentile(positive, 99)) if positive.size else 1.0
    image = ax.imshow(values, aspect="auto", interpolation="nearest", cmap=colormap,
                      vmin=top * 1e-6, vmax=top)
    labels = [tick_label(t) for t in tokens]
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(labels, rotation=tick_rotation(labels), fontsize=7, family="monospace")
    ax.xaxis.tick_top()
    return image


def _reading(mode: str) -> str:
    return "activation that produced each output token" if mode == "seed" else "response to each token"


def _token_rows(run: Record, positions: np.ndarray) -> list[dict[str, Any]]:
    table = run.token_table()
    return [table[p] for p in positions]


def _view_tokens(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Token rows re-indexed 0..n-1 (views index tokens by their place in the list)."""
    return [dict(t, position=i) for i, t in enumerate(tokens)]


# ---------------------------------------------------------------------- heatmap of a layer
@dataclass(eq=False)
class NeuronActivations(Result, HTMLView):
    """Activations of chosen neurons of one layer at chosen tokens (the seed's heatmaps).

    ``values[i, j]`` is neuron ``neurons[i]`` at token ``positions[j]``, read per ``mode``.
    """

    layer: int
    neurons: np.ndarray                 # (rows,) neuron indices within the layer
    positions: np.ndarray               # (columns,) token positions in the run
    tokens: list[dict[str, Any]]        # token table rows of those positions
    values: np.ndarray                  # (rows, columns)
    mode: str = "seed"
    n_neurons: int = 0                  # neurons in the layer, for captions

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: the layer, neurons, positions, their tokens and the values."""
        return {"layer": self.layer, "neurons": self.neurons.tolist(), "positions": self.positions.tolist(),
                "tokens": [dict(t) for t in self.tokens], "values": self.values.tolist(), "mode": self.mode,
                "n_neurons": self.n_neurons}

    def to_frame(self) -> pd.DataFrame:
        """One row per (neuron, token): neuron, position, token, value."""
        import pandas as pd

        rows, cols = self.values.shape
        return pd.DataFrame({"neuron": np.repeat(self.neurons, cols), "position": np.tile(self.positions, rows),
                             "token": [t["token"] for t in self.tokens] * rows, "value": self.values.ravel()})

    def plot(self, ax: Axes | None = None, *, cmap: str = "Purples") -> Figure:
        """Heatmap, neurons as rows and tokens as columns; only positive values coloured, darker = stronger.

        Drawn on ``ax`` when given, else on a new figure that pyplot does not track.
        """
        rows, cols = self.values.shape
        fig, ax = figure_and_axes(ax, min(2.0 + 0.28 * cols, 14.0), min(2.0 + rows * 0.012, 9.0))
        image = _heatmap(ax, self.values, [t["token"] for t in self.tokens], cmap=cmap)
        ax.set_ylabel("neuron")
        if rows <= 40:
            ax.set_yticks(range(rows))
            ax.set_yticklabels([str(n) for n in self.neurons], fontsize=6)
        fig.colorbar(image, ax=ax, shrink=0.6, extend="max", label="activation (> 0)")
        ax.set_title(self._caption(), fontsize=9)
        return fig

    def _caption(self) -> str:
        return f"Layer {self.layer}: {len(self.neurons)} of {self.n_neurons} FFN neurons, {_reading(self.mode)}"

    def view_data(self) -> dict[str, Any]:
        """The ``activations`` view: one row per neuron, one column per token."""
        return {"kind": "activations", "tokens": _view_tokens(self.tokens), "values": self.values,
                "row_labels": [f"L{self.layer} n{n}" for n in self.neurons.tolist()],
                "title": f"FFN activations, layer {self.layer}", "caption": self._caption()}


# ``neurons`` (an int N for the first N, or a list of indices) is checked by resolve_count: no declarable
# constraint tells a count from a one-element index list yet.
@analysis(layer=Integer(), positions=Positions(), mode=MODE)
def neuron_activations(run: Record, *, layer: int, neurons: int | Sequence[int] | None = 400,
                       positions: Iterable[int] | int | None = None,
                       mode: ActivationMode = "seed") -> NeuronActivations:
    """Activations of the first ``neurons`` neurons (or those listed) of ``layer`` at ``positions``.

    ``neurons=400`` and every token give the seed's "first 400 neurons" figure; one
    position (``positions=[p]``, negative counts from the end) gives its single-token
    column. ``mode`` picks which position stands for an output token (see
    :meth:`lmscope.core.record.Record.source_positions`).
    """
    layer = _one_layer(run, layer)
    acts = run.token_activations(mode, layers=[layer])[0]          # (neurons, tokens)
    ids = np.arange(acts.shape[0]) if neurons is None else resolve_count("neurons", neurons, acts.shape[0], "neuron indices")
    cols = np.arange(run.n_tokens) if positions is None else resolve_positions(positions, run.n_tokens, unique=False)
    values = np.asarray(acts[np.ix_(ids, cols)], dtype=np.float32)
    return NeuronActivations(layer=layer, neurons=ids, positions=cols, tokens=_token_rows(run, cols),
                             values=values, mode=mode, n_neurons=acts.shape[0])


# ---------------------------------------------------------------------- clusters
@dataclass(eq=False)
class Clusters(Result, HTMLView):
    """k-means clusters of one layer's neurons by their activations across the tokens.

    ``labels[i]`` is the cluster of neuron ``neurons[i]``; clusters are numbered by size,
    0 the largest. ``order`` sorts neurons by cluster, then by mean activation (highest
    first): ``values[order]`` is the seed's clustered heatmap.
    """

    layer: int
    neurons: np.ndarray                 # (rows,) neuron indices within the layer
    tokens: list[dict[str, Any]]        # the run's token table
    values: np.ndarray                  # (rows, tokens), neurons in index order
    labels: np.ndarray                  # (rows,) cluster of each neuron
    order: np.ndarray                   # (rows,) row order grouping clusters
    centers: np.ndarray                 # (k, tokens) mean activation of each cluster's neurons
    mode: str = "seed"
    random_state: int | None = 0
    sizes: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.sizes = np.bincount(self.labels, minlength=len(self.centers))

    @property
    def k(self) -> int:
        return len(self.centers)

    @validated(cluster=Integer(0))
    def members(self, cluster: int) -> np.ndarray:
        """Neuron indices (within the layer) of ``cluster``, strongest first."""
        Integer(0, self.k - 1).check("cluster", cluster)
        return self.neurons[self.order[self.labels[self.order] == cluster]]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: per neuron its cluster, the row order, the centres and the values."""
        return {"layer": self.layer, "neurons": self.neurons.tolist(), "tokens": [dict(t) for t in self.tokens],
                "values": self.values.tolist(), "labels": self.labels.tolist(), "order": self.order.tolist(),
                "centers": self.centers.tolist(), "sizes": self.sizes.tolist(), "mode": self.mode,
                "random_state": self.random_state}

    def to_frame(self) -> pd.DataFrame:
        """One row per neuron, in index order: neuron, cluster, row (its place in the sorted heatmap), mean."""
        import pandas as pd

        row = np.empty(len(self.order), dtype=np.int64)
        row[self.order] = np.arange(len(self.order))
        return pd.DataFrame({"neuron": self.neurons, "cluster": self.labels, "row": row,
                             "mean": self.values.mean(axis=1)})

    def plot(self, ax: Axes | None = None, *, cmap: str = "Purples") -> Figure:
        """The cluster-sorted heatmap: neurons grouped by cluster (coloured strip on the left), tokens as columns.

        Drawn in ``ax``'s place when given (split into the strip and the heatmap), else on a
        new figure that pyplot does not track.
        """
        import matplotlib

        rows, cols = self.values.shape
        if ax is None:
            fig = new_figure(min(2.6 + 0.28 * cols, 14.0), min(2.5 + rows * 0.004, 9.0))
            strip, ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 40]}, sharey=True)
        else:
            fig, grid = split_axes(ax, 1, 2, what="Clusters.plot (cluster strip and heatmap)",
                                   width_ratios=[1, 40], wspace=0.02)
            strip = fig.add_subplot(grid[0])
            ax = fig.add_subplot(grid[1], sharey=strip)
            ax.tick_params(labelleft=False)
        palette = matplotlib.colormaps["tab10"]
        sorted_labels = self.labels[self.order]
        strip.imshow(sorted_labels[:, None], aspect="auto", interpolation="nearest", cmap=palette,
                     vmin=0, vmax=9)
        strip.set_xticks([])
        strip.set_ylabel("neurons, grouped by cluster")
        starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
        strip.set_yticks(starts + self.sizes[sorted_labels[starts]] / 2 - 0.5)
        strip.set_yticklabels([f"{c} ({self.sizes[c]})" for c in sorted_labels[starts]], fontsize=7)
        image = _heatmap(ax, self.values[self.order], [t["token"] for t in self.tokens], cmap=cmap)
        for s in starts[1:]:
            ax.axhline(s - 0.5, color="0.3", linewidth=0.6)
        ax.tick_params(left=False)
        fig.colorbar(image, ax=ax, shrink=0.6, extend="max", label="activation (> 0)")
        fig.suptitle(self._caption(), fontsize=9)
        return fig

    def _caption(self) -> str:
        return (f"Layer {self.layer}: {len(self.neurons)} FFN neurons in {self.k} k-means clusters "
                f"(largest first), {_reading(self.mode)}")

    def view_data(self) -> dict[str, Any]:
        """The ``activations`` view with rows sorted by cluster and each row's cluster."""
        return {"kind": "activations", "tokens": self.tokens, "values": self.values[self.order],
                "row_labels": [f"L{self.layer} n{n}" for n in self.neurons[self.order].tolist()],
                "clusters": self.labels[self.order], "title": f"Neuron clusters, layer {self.layer}",
                "caption": self._caption()}


@analysis(layer=Integer(), k=Integer(1), random_state=Integer(none=True), mode=MODE, n_init=Integer(1))
def cluster_neurons(run: Record, *, layer: int, k: int = 5, random_state: int | None = 0,
                    mode: ActivationMode = "seed", neurons: int | Sequence[int] | None = None,
                    n_init: int = 10) -> Clusters:
    """Group the neurons of ``layer`` with k-means on their activations across the run's tokens.

    Each neuron is a point whose coordinates are its activations at every token (read per
    ``mode``, raw values, as the seed did); scikit-learn's ``KMeans`` with ``random_state``
    makes it reproducible. ``neurons`` limits it to the first N neurons or listed indices.
    Clusters are renumbered by size (0 = largest).
    """
    from sklearn.cluster import KMeans

    layer = _one_layer(run, layer)
    acts = run.token_activations(mode, layers=[layer])[0]
    ids = np.arange(acts.shape[0]) if neurons is None else resolve_count("neurons", neurons, acts.shape[0], "neuron indices")
    values = np.asarray(acts[ids], dtype=np.float32)
    if k > len(ids):
        raise ValueError(f"k={k} is larger than the {len(ids)} neurons being clustered; choose k <= {len(ids)}")
    model = KMeans(n_clusters=k, random_state=random_state, n_init=n_init).fit(values.astype(np.float64))
    raw = model.labels_
    by_size = np.argsort(-np.bincount(raw, minlength=k), kind="stable")
    relabel = np.empty(k, dtype=np.int64)
    relabel[by_size] = np.arange(k)
    labels = relabel[raw]
    centers = model.cluster_centers_[by_size].astype(np.float32)
    order = np.lexsort((-values.mean(axis=1), labels))
    return Clusters(layer=layer, neurons=ids, tokens=run.token_table(), values=values, labels=labels, order=order,
                    centers=centers, mode=mode, random_state=random_state)
