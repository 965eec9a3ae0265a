"""The candidates figure: for each generated token, the model's top alternatives as a matplotlib grid."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core.checks import Integer
from .core.figures import check_axes, figure_and_axes
from .core.record import Record
from .core.results import analysis
from .core.tokens import tick_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_candidates"]


@analysis(k=Integer(1), max_steps=Integer(1))
def plot_candidates(run: Record, *, k: int = 5, max_steps: int = 40, ax: Axes | None = None) -> Figure:
    """Grid of steps (columns) × candidate rank (rows): each cell the candidate token, shaded by probability.

    The chosen token's cell is outlined (sampling or beam search may choose a lower rank).
    Shows the first ``max_steps`` steps; ``k`` is capped by the candidates the run kept.
    Drawn on ``ax`` when given, else on a new figure that pyplot does not track.
    """
    check_axes(ax)
    if run.candidate_ids is None:
        if run.scope is not None:
            run.scope.anatomy.require_head("the candidates figure")
        raise ValueError("this run has no candidates: text analysed by a causal LM records none, and a model "
                         "loaded without its LM head (head=False) predicts nothing; use scope.generate(...) or, "
                         "for a masked LM, analyse text with [MASK] tokens")
    positions = run.candidate_positions[:max_steps]
    k = min(k, run.candidate_ids.shape[1])
    ids = run.candidate_ids[: len(positions), :k]
    probs = run.candidate_probs[: len(positions), :k]
    fig, ax = figure_and_axes(ax, min(2.0 + 0.9 * len(positions), 18.0), 0.45 * k + 1.4)
    image = ax.imshow(probs.T, cmap="Purples", vmin=0.0, vmax=1.0, aspect="auto")
    for col, position in enumerate(positions):
        for row in range(k):
            ax.text(col, row, tick_label(run.candidate_tokens[col][row]), ha="center", va="center", fontsize=7,
                    family="monospace", color="white" if probs[col, row] > 0.55 else "black")
            if ids[col, row] == run.token_ids[position]:
                ax.add_patch(_outline(col, row))
    ax.set_xticks(range(len(positions)))
    ax.set_xticklabels([str(p) for p in positions], fontsize=7)
    ax.set_xlabel("position of the generated token")
    ax.set_yticks(range(k))
    ax.set_yticklabels([str(r + 1) for r in range(k)], fontsize=7)
    ax.set_ylabel("candidate rank")
    fig.colorbar(image, ax=ax, label="probability", shrink=0.8)
    ax.set_title(f"Top-{k} candidates per generated token (outlined: the token chosen)", fontsize=9)
    return fig


def _outline(col: int, row: int):
    from matplotlib.patches import Rectangle

    return Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="#e8590c", linewidth=1.5)
