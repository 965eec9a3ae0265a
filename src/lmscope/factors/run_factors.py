"""A run's factors: :func:`factorize` (NMF or PCA over the tokens of one record) and its result :class:`Factors`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..core.checks import MODE, Either, Integer, Layers, Options, Positions, check, resolve_positions
from ..core.figures import check_axes, new_figure, split_axes, tick_rotation
from ..core.record import ActivationMode, Record
from ..core.results import analysis
from ..core.tokens import tick_label
from ..views.mixin import HTMLView
from .components import MASS, FactorComponents

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Method = Literal["nmf", "pca"]
METHODS = ("nmf", "pca")
METHOD = Options(METHODS, ("non-negative, the seed's choice", "signed, centred"))
EXCLUDE = Either((Options(("first",), ("the tokens that read the first position, the attention sink",)),
                  Positions(none=False)), none=True)
FIRST_TOKEN_SHARE = 0.5
"""A factor is the first-token factor when at least this share of its activity falls on the first position."""


# ---------------------------------------------------------------------- result
@dataclass(eq=False)
class Factors(FactorComponents, HTMLView):
    """A factorisation of a run's FFN activations into ``n`` factors (components as in :class:`FactorComponents`).

    ``token_activity[f, t]``: how much factor ``f`` fires at token ``t`` (NaN at excluded
    tokens). ``dominant[t]``: the factor that fires most at token ``t`` (largest absolute
    score for PCA), -1 where excluded.
    """

    tokens: list[dict[str, Any]]        # the run's token table
    token_activity: np.ndarray          # (n_factors, tokens), NaN where excluded
    components: np.ndarray              # (n_factors, len(layers) * n_neurons)
    dominant: np.ndarray                # (tokens,) int, -1 where excluded
    excluded: list[int]                 # token positions left out of the factorisation
    layers: list[int]
    n_neurons: int                      # neurons per layer
    method: str = "nmf"
    mode: str = "seed"
    random_state: int | None = 0
    error: float = float("nan")         # NMF: relative reconstruction error ||X - WH|| / ||X||
    explained_variance_ratio: np.ndarray | None = None   # PCA only
    labels: list[str] | None = None     # optional factor names, shown by views and plots
    first_token_factor: int | None = field(default=None)

    @property
    def token_strings(self) -> list[str]:
        return [t["token"] for t in self.tokens]

    def factor_labels(self) -> list[str]:
        """Display names: :attr:`labels` if set, else "factor i" ("first token" for the first-token factor)."""
        if self.labels is not None:
            return list(self.labels)
        return ["first token" if f == self.first_token_factor else f"factor {f}" for f in range(self.n_factors)]

    def factor_columns(self) -> dict[str, Any]:
        """``tokens`` (how many tokens each factor dominates) and ``peak`` (the token where it fires most)."""
        included = self.dominant >= 0
        counts = np.bincount(self.dominant[included], minlength=self.n_factors)
        peaks = []
        for row in self.token_activity:
            scores = np.where(np.isnan(row), -np.inf, np.abs(row) if self.method == "pca" else row)
            p = int(np.argmax(scores))
            peaks.append(f"{p}:{self.tokens[p]['token']!r}")
        return {"tokens": counts, "peak": peaks}

    def describe(self, *, mass: float = MASS) -> str:
        """The stats as sentences, like the seed's "5,449 neurons (30% of the 18,432 …)"."""
        frame = self.stats(mass=mass)
        total = len(self.layers) * self.n_neurons
        lines = []
        for f, row in frame.iterrows():
            lines.append(f"{row['label']}: {row['neurons']:,} neurons ({row['share']:.0%} of the {total:,} FFN "
                         f"neurons in {len(self.layers)} layer{'s' * (len(self.layers) > 1)}), dominant at "
                         f"{row['tokens']} tokens, peak at {row['peak']}")
        for i in range(self.n_factors):
            for j in range(i + 1, self.n_factors):
                lines.append(f"{frame.loc[i, 'label']} and {frame.loc[j, 'label']} have "
                             f"{frame.loc[i, f'common_{j}']:,} neurons in common")
        return "\n".join(lines)

    def top_tokens(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` tokens where each factor fires most (largest absolute score for PCA), excluded tokens skipped.

        Columns: ``factor``, ``rank`` (0 = strongest), ``position``, ``token``, ``type``, ``activity``.
        """
        import pandas as pd

        k = check("k", k, Integer(1))
        rows = []
        for f, row in enumerate(self.token_activity):
            scores = np.abs(row) if self.method == "pca" else row
            valid = np.flatnonzero(~np.isnan(row))
            best = valid[np.argsort(-scores[valid], kind="stable")[:k]]
            for rank, p in enumerate(best.tolist()):
                rows.append({"factor": f, "rank": rank, "position": p, "token": self.tokens[p]["token"],
                             "type": self.tokens[p]["type"], "activity": float(row[p])})
        return pd.DataFrame(rows, columns=["factor", "rank", "position", "token", "type", "activity"])

    def to_dict(self) -> dict[str, Any]:
        """Tokens and factor activity in the ``factors`` view's JSON shape (0 where excluded)."""
        return {"kind": "factors", "tokens": self.tokens,
                "factors": np.nan_to_num(self.token_activity, nan=0.0).tolist(),
                "dominant": self.dominant.tolist(), "excluded": list(self.excluded),
                "labels": self.factor_labels()}

    def to_frame(self) -> pd.DataFrame:
        """One row per token: ``position``, ``token``, ``type``, ``dominant`` (-1 if left out), then each
        factor's activity in a column named by its label (NaN where left out)."""
        import pandas as pd

        frame = pd.DataFrame({"position": [t["position"] for t in self.tokens], "token": self.token_strings,
                              "type": [t["type"] for t in self.tokens], "dominant": self.dominant})
        for label, row in zip(self.factor_labels(), self.token_activity):
            frame[label] = row
        return frame

    def view_data(self) -> dict[str, Any]:
        """The ``factors`` explorable: sparklines per factor beside the text tinted by dominant factor."""
        return dict(self.to_dict(), title=f"{self.n_factors} {self.method.upper()} factors of FFN activations, "
                                          f"{self._where()}", caption=self._caption())

    def _where(self) -> str:
        return f"layer {self.layers[0]}" if len(self.layers) == 1 else f"{len(self.layers)} layers"

    def _caption(self) -> str:
        reading = ("input tokens show the model's response to them, output tokens the activation that produced "
                   "them" if self.mode == "seed" else "every token shows the model's response to it")
        left = f"; left out: positions {self.excluded}" if self.excluded else ""
        return f"{reading}{left}"

    def plot(self, ax: Axes | None = None, *, max_tokens: int = 80) -> Figure:
        """Sparklines: one row per factor (its activity over the tokens), tokens tinted by dominant factor below.

        The rows are several axes. Without ``ax`` they fill a new figure (untracked by
        pyplot). With ``ax`` (an axes made by ``add_subplot``/``subplots``), ``ax`` is
        replaced by the rows, stacked in the cell it occupied, and ``ax``'s figure is
        returned; an axes not placed on a grid (``fig.add_axes``) cannot be split and is
        refused. Long texts show their first ``max_tokens`` token labels; the sparklines
        cover every token.
        """
        import matplotlib

        check_axes(ax)
        max_tokens = check("max_tokens", max_tokens, Integer(1))
        n, t = self.token_activity.shape
        if ax is None:
            fig = new_figure(min(3.0 + 0.22 * t, 16.0), 0.9 * n + 1.4)
            axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
            fig.suptitle(f"{n} {self.method.upper()} factors, {self._where()} (token labels coloured by "
                         "dominant factor)", fontsize=9)
        else:
            fig, grid = split_axes(ax, n, 1, what="Factors.plot (one row per factor)", hspace=0.05)
            axes = [fig.add_subplot(grid[0])]
            axes += [fig.add_subplot(grid[f], sharex=axes[0]) for f in range(1, n)]
            axes[0].set_title(f"{n} {self.method.upper()} factors, {self._where()}", fontsize=9)
            for upper in axes[:-1]:
                upper.tick_params(labelbottom=False)
        palette = matplotlib.colormaps["tab10"]
        x = np.arange(t)
        labels = self.factor_labels()
        first_output = next((i for i, tok in enumerate(self.tokens) if tok["type"] == "output"), t)
        for f, row_ax in enumerate(axes):
            row = self.token_activity[f]
            color = palette(f % 10)
            row_ax.plot(x, row, color=color, linewidth=1.2)
            row_ax.fill_between(x, 0, np.nan_to_num(row), where=~np.isnan(row), color=color, alpha=0.25)
            if first_output < t:
                row_ax.axvspan(first_output - 0.5, t - 0.5, color="0.93", zorder=0)
            row_ax.set_ylabel(labels[f], rotation=0, ha="right", va="center", fontsize=8, color=color)
            row_ax.set_yticks([])
            for side in ("top", "right", "left"):
                row_ax.spines[side].set_visible(False)
        shown = min(t, max_tokens)
        axes[-1].set_xticks(range(shown))
        ticks = [tick_label(s) for s in self.token_strings[:shown]]
        axes[-1].set_xticklabels(ticks, rotation=tick_rotation(ticks), fontsize=8, family="monospace")
        for tick, d in zip(axes[-1].get_xticklabels(), self.dominant[:shown]):
            tick.set_color(palette(int(d) % 10) if d >= 0 else "0.6")
            tick.set_fontweight("bold" if d >= 0 else "normal")
        axes[-1].set_xlim(-0.5, t - 0.5)
        return fig

    def __repr__(self) -> str:
        layers = self.layers
        span = f"{layers[0]}..{layers[-1]}" if len(layers) > 2 and layers == list(range(layers[0], layers[-1] + 1)) \
            else str(layers)
        return (f"Factors(method={self.method!r}, n={self.n_factors}, layers={span}, tokens={len(self.tokens)}, "
                f"excluded={self.excluded}, mode={self.mode!r})")


# ---------------------------------------------------------------------- computation
def _excluded_tokens(exclude: Any, sources: np.ndarray) -> list[int]:
    """Token positions ``exclude`` (already shape-checked) leaves out: "first", None or positions."""
    if exclude is None:
        return []
    if isinstance(exclude, str):
        return np.flatnonzero(sources == 0).tolist()
    return resolve_positions(exclude, len(sources), name="exclude").tolist()


@analysis(n=Integer(1), layers=Layers(), method=METHOD, exclude=EXCLUDE, mode=MODE,
          random_state=Integer(0, none=True), max_iter=Integer(1))
def factorize(run: Record, n: int = 2, *, layers: Iterable[int] | int | None = None, method: Method = "nmf",
              exclude: str | Iterable[int] | None = "first", mode: ActivationMode = "seed",
              random_state: int | None = 0, max_iter: int = 1000) -> Factors:
    """Decompose the FFN activations of ``layers`` (default: every captured layer) into ``n`` factors.

    ``method="nmf"`` (scikit-learn ``NMF``, ``init="nndsvda"``): **activations are clipped
    at zero first**, because NMF needs non-negative input (FFN non-linearities such as
    SwiGLU also produce negative values, which NMF does not see). ``method="pca"``
    (scikit-learn ``PCA``) takes the raw, centred values; its scores and weights are
    signed. ``exclude`` leaves tokens out: ``"first"`` (default) the tokens that read the
    first position, the attention sink (see the module docs); ``None`` keeps every
    token; or a list of token positions. ``mode`` is which position stands for each
    token (see :meth:`lmscope.core.record.Record.source_positions`): ``"seed"`` (default) an output
    token takes the activation of the position that produced it, ``"response"`` its own.

    Each distinct position is one row of the factorised matrix (in ``"seed"`` mode the
    last input and first output token share one row, so it is not counted twice); tokens
    then read their position's factor activity. ``random_state`` makes NMF reproducible.
    """
    from sklearn.decomposition import NMF, PCA

    layers = run.captured_layers(layers)
    acts = run.token_activations(mode, layers=layers)               # (L, N, tokens)
    n_layers, n_neurons, n_tokens = acts.shape
    sources = run.source_positions(mode)
    excluded = _excluded_tokens(exclude, sources)
    included = np.setdiff1d(np.arange(n_tokens), excluded)
    if not len(included):
        raise ValueError(f"exclude={exclude!r} leaves no tokens to factorise; exclude fewer positions")
    positions, first = np.unique(sources[included], return_index=True)
    if n > len(positions):
        raise ValueError(f"n={n} is larger than the {len(positions)} token positions being factorised; choose "
                         f"n <= {len(positions)}, or generate/analyse a longer text")
    if n > n_layers * n_neurons:
        raise ValueError(f"n={n} is larger than the {n_layers * n_neurons} neurons being factorised; choose "
                         f"n <= {n_layers * n_neurons} or factorise more layers")
    data = acts[:, :, included[first]].reshape(n_layers * n_neurons, len(positions)).T.astype(np.float32)

    ratio, error = None, float("nan")
    if method == "nmf":
        data = np.clip(data, 0, None)
        if not data.any():
            raise ValueError("every activation left in is <= 0, so NMF (which clips at zero) has nothing to "
                             "factorise; use method='pca' or other layers")
        model = NMF(n_components=n, init="nndsvda", random_state=random_state, max_iter=max_iter)
        scores = model.fit_transform(data)
        error = float(model.reconstruction_err_ / np.linalg.norm(data))
    else:
        model = PCA(n_components=n, random_state=random_state)
        scores = model.fit_transform(data)
        ratio = model.explained_variance_ratio_.astype(np.float32)
    components = model.components_.astype(np.float32)

    row_of = np.full(run.n_tokens, -1)
    row_of[positions] = np.arange(len(positions))
    activity = np.full((n, n_tokens), np.nan, dtype=np.float32)
    activity[:, included] = scores[row_of[sources[included]]].T
    strength = np.abs(activity[:, included]) if method == "pca" else activity[:, included]
    dominant = np.full(n_tokens, -1, dtype=np.int64)
    dominant[included] = np.argmax(strength, axis=0)
    return Factors(tokens=run.token_table(), token_activity=activity, components=components, dominant=dominant,
                   excluded=excluded, layers=layers, n_neurons=n_neurons, method=method, mode=mode,
                   random_state=random_state, error=error, explained_variance_ratio=ratio,
                   first_token_factor=_first_token_factor(activity, sources, method))


def _first_token_factor(activity: np.ndarray, sources: np.ndarray, method: str) -> int | None:
    """The factor with at least FIRST_TOKEN_SHARE of its activity at the first position, if the first is kept."""
    positions, first = np.unique(sources, return_index=True)    # one column per position, counted once
    if not len(positions) or positions[0] != 0 or np.isnan(activity[:, first[0]]).any():
        return None
    values = activity[:, first]
    weights = np.nan_to_num(np.abs(values) if method == "pca" else np.clip(values, 0, None))
    totals = weights.sum(axis=1)
    shares = np.divide(weights[:, 0], totals, out=np.zeros_like(totals), where=totals > 0)
    best = int(np.argmax(shares))
    return best if shares[best] >= FIRST_TOKEN_SHARE else None
