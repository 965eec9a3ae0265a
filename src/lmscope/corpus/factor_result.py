"""The result of a corpus's streaming NMF: factors over layers x neurons and each factor's top positions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.figures import check_axes
from ..factors.components import FactorComponents

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass(eq=False)
class CorpusFactors(FactorComponents):
    """Streaming NMF factors of a corpus and each factor's top examples.

    ``components[f]``: factor ``f``'s weight on every neuron of ``layers`` (concatenated,
    as in :class:`lmscope.factors.Factors`; :meth:`neuron` converts a column).
    ``top_values[:, f]`` / ``top_index[:, f]``: its ``k`` strongest positions (global token
    indices, strongest first; ``corpus.top_examples(factor=f)`` shows them in context).
    ``mean_activity`` and ``dominant_count``: per factor, over every counted position.
    """

    components: np.ndarray              # (n, len(layers) * n_neurons)
    layers: list[int]
    n_neurons: int
    top_values: np.ndarray              # (k, n)
    top_index: np.ndarray               # (k, n), -1 where fewer positions exist
    mean_activity: np.ndarray           # (n,)
    dominant_count: np.ndarray          # (n,)
    random_state: int | None = 0
    epochs: int = 1
    steps: int = 0                      # MiniBatchNMF updates made
    labels: list[str] | None = None     # optional factor names

    def factor_columns(self) -> dict[str, Any]:
        """``tokens`` (counted positions where each factor dominates) and ``mean_activity``."""
        return {"tokens": self.dominant_count, "mean_activity": self.mean_activity}

    def to_frame(self) -> pd.DataFrame:
        """One row per factor: the :meth:`stats` table (default ``mass``)."""
        return self.stats()

    def to_dict(self) -> dict[str, Any]:
        """Layers, labels, per-factor statistics and top positions as plain data (components stay numpy)."""
        return {"layers": list(self.layers), "n_neurons": self.n_neurons, "labels": self.factor_labels(),
                "mean_activity": self.mean_activity.tolist(), "dominant_count": self.dominant_count.tolist(),
                "top_index": self.top_index.T.tolist(),
                "top_values": [[None if np.isneginf(v) else float(v) for v in row] for row in self.top_values.T],
                "stats": self.stats().reset_index().to_dict(orient="records"),
                "random_state": self.random_state, "epochs": self.epochs, "steps": self.steps}

    def plot(self, ax: Axes | None = None) -> Figure:
        """Heatmap of where each factor's weight lies across layers (see :meth:`plot_layers`)."""
        check_axes(ax)
        return self.plot_layers(ax)

    def __repr__(self) -> str:
        return (f"CorpusFactors(n={self.n_factors}, layers={self.layers}, epochs={self.epochs}, "
                f"steps={self.steps})")
