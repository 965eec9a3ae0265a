"""How alike the layers' hidden states are: linear CKA and SVCCA between every pair of layers.

Each layer is one matrix, positions x hidden (``run.hidden_states[i]``; row 0 is the
embeddings, row ``l + 1`` the residual stream after block ``l``). Two layers are alike when
they arrange the same positions the same way, whatever basis each uses.

- **Linear CKA** (Kornblith et al., 2019): ``||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)``
  for centred ``X``, ``Y``; invariant to rotation and to scaling, 1 on the diagonal. Computed
  from Gram matrices built a block of positions at a time, so memory stays bounded for long
  texts and no layer pair is formed twice.
- **SVCCA** (Raghu et al., 2017): keep each layer's top singular directions (``variance``
  of its variance), then the mean canonical correlation between the two kept subspaces.
  CCA fits ``dims`` directions to the positions, so it needs many more positions than
  kept dimensions: each layer keeps at most ``(positions - 1) // 2`` directions, and a short
  text still overstates similarity. Prefer CKA for one prompt; use SVCCA on long text.

Position 0 is left out by default: most models park an outsized "attention sink" state
there that dominates any comparison. Needs only the captured hidden states (no model),
so it also works on a run loaded from disk.

>>> sim = run.layer_similarity(method="cka")     # doctest: +SKIP
>>> sim.matrix.shape                             # (layers + 1, layers + 1)   # doctest: +SKIP
>>> sim.plot()                                   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .core.checks import Flag, Options, Real, resolve_positions, validated
from .core.figures import figure_and_axes
from .core.record import Record
from .core.results import Result, analysis

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

METHODS = ("cka", "svcca")
METHOD = Options(METHODS, ("linear CKA", "mean canonical correlation of the top singular directions"))
VARIANCE = Real(0, 1, lo_open=True)
# Gram entries held at once (layers x block x positions), float64: 2**23 = 64 MiB.
CHUNK_ELEMENTS = 2 ** 23

__all__ = ["LayerSimilarity", "layer_similarity", "linear_cka", "svcca"]


@analysis(method=METHOD, embeddings=Flag(), variance=VARIANCE)
def layer_similarity(run: Record, method: str = "cka", *, embeddings: bool = True,
                     positions: Sequence[int] | slice | None = None, variance: float = 0.99) -> LayerSimilarity:
    """Similarity of every pair of layers' hidden states over the run's positions.

    ``method``: ``"cka"`` (linear CKA) or ``"svcca"``. ``embeddings``: include the
    embeddings as the first row. ``positions``: which positions to compare over; default
    every position but the first, where models park an outsized "attention sink" state
    (in SmolLM2 about 100x the norm of the others from layer 10 on) that would make every
    middle layer look identical; pass ``slice(None)`` to keep it (negative positions count
    from the end). ``variance``: for SVCCA, the share of each layer's variance its kept
    directions must explain.
    """
    hidden = run.require("hidden_states")
    chosen = _positions(positions, hidden.shape[1])
    rows = list(range(hidden.shape[0])) if embeddings else list(range(1, hidden.shape[0]))
    labels = (["embeddings"] if embeddings else []) + [f"layer {i}" for i in range(hidden.shape[0] - 1)]
    states = hidden[rows][:, chosen].astype(np.float64)
    dims = None
    if method == "cka":
        matrix = _cka_matrix(states)
    else:
        matrix, dims = _svcca_matrix(states, variance)
    return LayerSimilarity(matrix=matrix, layers=labels, method=method, positions=chosen,
                           tokens=[run.tokens[p] for p in chosen.tolist()], dims=dims)


@dataclass(eq=False)
class LayerSimilarity(Result):
    """A symmetric ``(layers, layers)`` similarity matrix with its row labels."""

    matrix: np.ndarray          # (layers, layers), 1 on the diagonal
    layers: list[str]
    method: str
    positions: np.ndarray       # positions compared over
    tokens: list[str]           # the tokens at those positions
    dims: np.ndarray | None = None  # SVCCA: directions kept per layer

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        out = {"kind": "layer_similarity", "method": self.method, "layers": list(self.layers),
               "matrix": self.matrix.tolist(), "positions": self.positions.tolist(), "tokens": list(self.tokens)}
        if self.dims is not None:
            out["dims"] = self.dims.tolist()
        return out

    def to_frame(self) -> pd.DataFrame:
        """The matrix as a DataFrame labelled by layer on both axes."""
        import pandas as pd

        return pd.DataFrame(self.matrix, index=self.layers, columns=self.layers)

    @validated(numbers=Flag(none=True))
    def plot(self, ax: Axes | None = None, *, numbers: bool | None = None) -> Figure:
        """Heatmap of the matrix (0..1), on ``ax`` when given; ``numbers`` in cells by default up to 16 layers."""
        n = len(self.layers)
        side = min(12.0, max(3.5, 0.32 * n + 2.0))
        fig, ax = figure_and_axes(ax, side + 0.8, side)
        image = ax.imshow(self.matrix, cmap="Purples", vmin=0, vmax=1, interpolation="nearest")
        short = ["emb" if label == "embeddings" else label.removeprefix("layer ") for label in self.layers]
        step = max(1, n // 16)
        ax.set_xticks(range(0, n, step), short[::step])
        ax.set_yticks(range(0, n, step), short[::step])
        ax.set_xlabel("layer")
        ax.set_ylabel("layer")
        if numbers if numbers is not None else n <= 16:
            for i in range(n):
                for j in range(n):
                    v = self.matrix[i, j]
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if v > 0.6 else "#222")
        name = {"cka": "Linear CKA", "svcca": "SVCCA"}[self.method]
        ax.set_title(f"{name} between layers ({len(self.positions)} positions)", fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        return fig

    def __repr__(self) -> str:
        return f"LayerSimilarity({self.method!r}, layers={len(self.layers)}, positions={len(self.positions)})"


# ---------------------------------------------------------------------------- two matrices
def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA between two representations of the same samples, ``(samples, features)`` each."""
    return float(_cka_pair(*_same_samples(x, y)))


@validated(variance=VARIANCE)
def svcca(x: np.ndarray, y: np.ndarray, variance: float = 0.99) -> float:
    """SVCCA between two representations of the same samples, ``(samples, features)`` each.

    Each keeps at most ``(samples - 1) // 2`` directions, so CCA cannot match them trivially.
    """
    x, y = _same_samples(x, y)
    cap = max(1, (x.shape[0] - 1) // 2)
    bases = [_kept_basis(m - m.mean(0), variance, cap) for m in (x, y)]
    return float(_mean_cca(bases[0], bases[1]))


# ---------------------------------------------------------------------------- internals
def _positions(positions: Sequence[int] | slice | None, n: int) -> np.ndarray:
    """Sorted unique positions: default all but the first, a slice, or a list (negative counts from the end)."""
    if positions is None:
        chosen = np.arange(1, n)
    elif isinstance(positions, slice):
        chosen = np.arange(n)[positions]
    else:
        chosen = resolve_positions(positions, n)
    if len(chosen) < 3:
        raise ValueError(f"comparing layers needs at least 3 positions, got {len(chosen)}; "
                         "use a longer text or more positions")
    return chosen.astype(np.int64)


def _same_samples(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must be (samples, features) with the same samples, got {x.shape} and {y.shape}")
    if x.shape[0] < 3:
        raise ValueError(f"need at least 3 samples, got {x.shape[0]}")
    return x, y


def _cka_pair(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(0), y - y.mean(0)
    cross = np.linalg.norm(y.T @ x) ** 2
    denom = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return cross / denom if denom > 0 else 0.0


def _cka_matrix(states: np.ndarray) -> np.ndarray:
    """Linear CKA of every pair of ``states`` ``(layers, positions, features)``.

    HSIC(l, m) = <K_l, K_m> with centred Gram matrices K = Xc Xc^T; accumulated over blocks
    of Gram rows so at most ``CHUNK_ELEMENTS`` entries are held.
    """
    n_layers, n, _ = states.shape
    centred = states - states.mean(axis=1, keepdims=True)
    hsic = np.zeros((n_layers, n_layers))
    block = max(1, CHUNK_ELEMENTS // (n_layers * n))
    for start in range(0, n, block):
        gram = np.einsum("lbd,lnd->lbn", centred[:, start:start + block], centred, optimize=True)
        flat = gram.reshape(n_layers, -1)
        hsic += flat @ flat.T
    scale = np.sqrt(np.clip(np.diag(hsic), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        cka = hsic / np.outer(scale, scale)
    cka[~np.isfinite(cka)] = 0.0
    np.fill_diagonal(cka, 1.0)
    return cka


def _kept_basis(centred: np.ndarray, variance: float, cap: int | None = None) -> np.ndarray:
    """Orthonormal basis (samples, k) of the top singular directions explaining ``variance``."""
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    energy = s ** 2
    total = energy.sum()
    if total <= 0:
        return u[:, :0]
    k = int(np.searchsorted(np.cumsum(energy) / total, variance - 1e-12) + 1)
    k = min(k, int((s > s[0] * 1e-10).sum()))
    if cap is not None:
        k = min(k, cap)
    return u[:, :max(k, 1)]


def _mean_cca(a: np.ndarray, b: np.ndarray) -> float:
    """Mean canonical correlation between two orthonormal bases of centred samples."""
    if a.shape[1] == 0 or b.shape[1] == 0:
        return 0.0
    corr = np.linalg.svd(a.T @ b, compute_uv=False)
    return float(np.clip(corr, 0, 1).mean())


def _svcca_matrix(states: np.ndarray, variance: float) -> tuple[np.ndarray, np.ndarray]:
    n_layers, n, _ = states.shape
    cap = max(1, (n - 1) // 2)
    bases = [_kept_basis(layer - layer.mean(0), variance, cap) for layer in states]
    out = np.eye(n_layers)
    for i in range(n_layers):
        for j in range(i + 1, n_layers):
            out[i, j] = out[j, i] = _mean_cca(bases[i], bases[j])
    return out, np.asarray([b.shape[1] for b in bases], dtype=np.int64)
