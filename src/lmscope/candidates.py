"""The candidates figure: for each generated token, the model's top alternatives as a matplotlib grid."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .activations import new_figure, tick_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .run import Run


def plot_candidates(run: Run, *, k: int = 5, max_steps: int = 40) -> Figure:
    """Grid of steps (columns) × candidate rank (rows): each cell the candidate token, shaded by probability.

    The chosen token's cell is outlined (sampling or beam search may choose a lower rank).
    Shows the first ``max_steps`` steps; ``k`` is capped by the candidates the run kept.
    """
    steps = run.candidates
    if not steps:
        raise ValueError("this run has no candidates (text analysed by a causal LM records none); "
                         "use scope.generate(...) or, for a masked LM, analyse text with [MASK] tokens")
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    steps = steps[:max_steps]
    k = min(k, len(steps[0]["top"]))
    probs = np.array([[c["prob"] for c in s["top"][:k]] for s in steps]).T          # (k, steps)
    fig = new_figure(min(2.0 + 0.9 * len(steps), 18.0), 0.45 * k + 1.4)
    ax = fig.add_subplot()
    image = ax.imshow(probs, cmap="Purples", vmin=0.0, vmax=1.0, aspect="auto")
    for col, step in enumerate(steps):
        for row, cand in enumerate(step["top"][:k]):
            ax.text(col, row, tick_label(cand["token"]), ha="center", va="center", fontsize=7,
                    family="monospace", color="white" if cand["prob"] > 0.55 else "black")
            if cand["token_id"] == step["token_id"]:
                ax.add_patch(_outline(col, row))
    ax.set_xticks(range(len(steps)))
    ax.set_xticklabels([str(s["position"]) for s in steps], fontsize=7)
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
