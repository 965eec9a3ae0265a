"""The result of a saliency call: a (targets x positions) matrix and the tokens it describes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.figures import check_axes, figure_and_axes
from ..core.record import token_table
from ..core.results import Result
from ..core.tokens import tick_label
from ..views.mixin import HTMLView

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass(eq=False)
class Saliency(Result, HTMLView):
    """How much each earlier token mattered to each explained (target) token.

    ``matrix[i, p]`` is the attribution of position ``p`` to the token at ``targets[i]``.
    In a causal model row ``i`` covers the positions before ``targets[i]`` and is exactly 0
    from the target on; in a bidirectional model (attention probed both ways at load,
    ``anatomy.bidirectional``: masked LMs, encoders) it covers every position. Rows are normalised as
    asked (``normalize="sum"``: absolute values sum to 1). ``signed`` says whether scores
    can be negative (``aggregation="sum"``, erasure, LIME ...). ``deltas`` holds integrated
    gradients' completeness delta per target (before normalisation). ``info`` holds the
    call's parameters, each method default filled in.

    >>> sal = run.saliency()                       # doctest: +SKIP
    >>> sal.matrix.shape, sal.targets              # doctest: +SKIP
    """

    matrix: np.ndarray                 # (n_targets, n_positions)
    targets: np.ndarray                # (n_targets,) positions of the explained tokens
    method: str
    tokens: list[str]                  # every token of the run
    token_ids: np.ndarray              # (n_positions,)
    n_input: int
    target_ids: np.ndarray             # (n_targets,) the token each target is explained as
    signed: bool = False
    normalize: str = "sum"
    score: str | None = None           # "logit" | "logprob" | "prob" for model-score methods
    foil_ids: np.ndarray | None = None  # contrastive saliency: the foil token per target
    deltas: np.ndarray | None = None   # integrated gradients: completeness delta per target
    extras: dict[str, Any] = field(default_factory=dict)
    causal: bool = True                # not anatomy.bidirectional (probed at load): False -> rows cover every position
    variant: str = "minimal"           # how the explorable shows it: "minimal" | "detailed"
    _info: dict[str, Any] = field(default_factory=dict, repr=False)   # see Result.info; kept by replace()

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def token_types(self) -> list[str]:
        return ["input" if p < self.n_input else "output" for p in range(self.n_tokens)]

    def row(self, target: int) -> np.ndarray:
        """The attributions to the target at position ``target`` (over the positions its row covers)."""
        hits = np.flatnonzero(self.targets == target)
        if not len(hits):
            raise ValueError(f"position {target} is not a target of this saliency; targets: {self.targets.tolist()}")
        return self.matrix[hits[0], : self._span(int(hits[0]))]

    def _span(self, i: int) -> int:
        return int(self.targets[i]) if self.causal else self.n_tokens

    def token_table(self) -> list[dict[str, Any]]:
        """``[{token, token_id, type, position}]``: the token list of every view."""
        return token_table(self.tokens, self.token_ids, self.n_input)

    def to_dict(self) -> dict[str, Any]:
        """The seed explorables' data: ``{"tokens": [{token, token_id, type, value, position}], "attributions"}``.

        ``attributions[i]`` lists the scores of the positions target ``i`` covers (the
        tokens before it, in a causal model); a token's ``value`` is its score for the last
        target, as in Ecco. ``targets``, ``method`` and ``signed`` are added for clarity.
        """
        last = self.matrix[-1] if len(self.targets) else np.zeros(self.n_tokens)
        tokens = [dict(entry, value=float(last[entry["position"]])) for entry in self.token_table()]
        rows = [self.matrix[i, : self._span(i)].tolist() for i in range(len(self.targets))]
        out: dict[str, Any] = {"tokens": tokens, "attributions": rows, "targets": self.targets.tolist(),
                               "method": self.method, "signed": self.signed}
        if self.deltas is not None:
            out["deltas"] = self.deltas.tolist()
        return out

    def to_frame(self) -> pd.DataFrame:
        """The matrix as a DataFrame: one row per target, one column per position, both labelled by token."""
        import pandas as pd

        index = pd.MultiIndex.from_arrays([self.targets, [self.tokens[t] for t in self.targets]],
                                          names=["target", "target_token"])
        columns = pd.MultiIndex.from_arrays([np.arange(self.n_tokens), self.tokens], names=["position", "token"])
        return pd.DataFrame(self.matrix, index=index, columns=columns)

    def plot(self, ax: Axes | None = None, *, cmap: str | None = None, annotate: bool | None = None) -> Figure:
        """A heatmap of the matrix (targets down, positions across), on ``ax`` or a new Figure pyplot does not track."""
        check_axes(ax)
        fig, ax = figure_and_axes(ax, min(2 + 0.45 * self.n_tokens, 40), min(1.5 + 0.35 * max(len(self.targets), 1), 40))
        outside = self._outside()
        data = np.ma.masked_array(self.matrix, mask=outside)
        if self.signed:
            bound = float(np.abs(self.matrix).max()) or 1.0
            image = ax.imshow(data, cmap=cmap or "RdBu_r", vmin=-bound, vmax=bound, aspect="auto")
        else:
            image = ax.imshow(data, cmap=cmap or "viridis", vmin=0, aspect="auto")
        ax.set_xticks(range(self.n_tokens), [tick_label(t) for t in self.tokens], rotation=90, fontsize=8)
        ax.set_yticks(range(len(self.targets)), [f"{tick_label(self.tokens[t])} @{t}" for t in self.targets], fontsize=8)
        ax.set_xlabel("attributed token (position)")
        ax.set_ylabel("explained token")
        ax.set_title(f"saliency: {self.method}")
        if annotate if annotate is not None else self.matrix.size <= 400:
            for (i, p), value in np.ndenumerate(self.matrix):
                if not outside[i, p]:
                    ax.text(p, i, f"{value:.2f}", ha="center", va="center", fontsize=6, color="white")
        fig.colorbar(image, ax=ax, fraction=0.03)
        return fig

    def _outside(self) -> np.ndarray:
        """True where a position lies outside its row's span."""
        spans = np.array([self._span(i) for i in range(len(self.targets))])
        return np.arange(self.n_tokens)[None, :] >= spans[:, None]

    def view_data(self) -> dict[str, Any]:
        """Data of the saliency explorable: full-length rows, 0 outside each row's span.

        A causal row is 0 from its target on; a bidirectional model's row keeps the tokens on
        both sides of the target (the explorable tints them all).
        """
        rows = np.where(self._outside(), 0.0, self.matrix)
        return {"kind": "saliency", "tokens": self.token_table(), "targets": self.targets.tolist(),
                "attributions": rows.tolist(), "variant": self.variant, "method": self.method}

    def __repr__(self) -> str:
        extra = f", foil={self.foil_ids[0]}" if self.foil_ids is not None else ""
        return (f"Saliency(method={self.method!r}, targets={self.targets.tolist()}, "
                f"positions={self.n_tokens}, signed={self.signed}{extra})")
