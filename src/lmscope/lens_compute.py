"""The logit lens's computation: which lens, which targets and answers, the chunked projection, the figure.

:mod:`lmscope.lens` holds the public call and its results; this module holds the steps
they share. Targets follow the one position rule of :mod:`lmscope.core.checks` (negative
counts from the end) and tokens the one token rule of :mod:`lmscope.core.tokens`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .core.checks import resolve_positions
from .core.figures import figure_and_axes
from .core.finite import require_finite
from .core.tokens import tick_label, token_id

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .core.record import Record

LensFn = Callable[[torch.Tensor], torch.Tensor]
"""A lens: hidden states ``(..., hidden)`` (model dtype and device) to logits ``(..., vocab)``."""

# Logit elements projected at once (positions x vocabulary): 2**23 float32 = 32 MiB per chunk.
CHUNK_ELEMENTS = 2 ** 23

__all__ = ["CHUNK_ELEMENTS", "LensFn", "project", "rank_and_prob", "rank_heatmap", "resolve_answers",
           "resolve_lens", "resolve_position", "resolve_targets", "token_grid"]

NOTHING_BEFORE = "position 0 is predicted by nothing before it"


def resolve_lens(lens: Any, raw: bool, anatomy: Any, n_rows: int) -> tuple[list[LensFn], str]:
    """One callable per row and a name for the lens."""
    if lens is None:
        name = "logit lens, raw (no final norm)" if raw else "logit lens"
        return [partial(anatomy.logits, raw=raw)] * n_rows, name
    if raw:
        raise ValueError("raw=True only changes the default lens; your lens= decides itself whether to apply "
                         "the final norm (anatomy.logits(h, raw=True) skips it)")
    if callable(lens):
        return [lens] * n_rows, getattr(lens, "__name__", type(lens).__name__)
    if isinstance(lens, Sequence) and len(lens) == n_rows and all(callable(f) for f in lens):
        return list(lens), "per-layer lens"
    raise ValueError(f"lens must be a callable from hidden states to logits, or a sequence of {n_rows} of them "
                     f"(one per row, e.g. a tuned lens), got {type(lens).__name__}")


def resolve_targets(run: Record, targets: Any, masked: bool) -> np.ndarray:
    """Positions of the tokens to follow: given (negative counts from the end), or the default for the model."""
    n = run.n_tokens
    tokenizer = run.require_scope().tokenizer
    if targets is None:
        if masked:
            mask_id = getattr(tokenizer, "mask_token_id", None)
            found = np.flatnonzero(run.token_ids == mask_id) if mask_id is not None else np.array([], dtype=np.int64)
            if not len(found):
                raise ValueError("this text has no mask token for a masked LM to predict; put "
                                 f"{getattr(tokenizer, 'mask_token', '[MASK]')} in the text, or pass "
                                 "targets=[positions] to read the predictions there")
            return found.astype(np.int64)
        if n < 2:
            raise ValueError("a one-token text predicts nothing a lens can follow; use a longer text")
        return np.arange(run.n_input if run.n_output else 1, n, dtype=np.int64)
    return resolve_positions(targets, n, name="targets", first=0 if masked else 1, unique=False,
                             why_first="" if masked else NOTHING_BEFORE)


def resolve_position(position: int, n_tokens: int, masked: bool) -> int:
    """One predicted position (``watch``/``top``): as a target, or ``n_tokens`` (the token after a causal text)."""
    if not masked and position == n_tokens:
        return n_tokens
    try:
        return int(resolve_positions(position, n_tokens, name="position", first=0 if masked else 1,
                                     why_first="" if masked else NOTHING_BEFORE)[0])
    except ValueError as error:
        if masked:
            raise
        raise ValueError(f"{error}; or {n_tokens}, the token after the text") from None


def resolve_answers(run: Record, answers: Any, targets: np.ndarray, read: np.ndarray, masked: bool) -> np.ndarray:
    """The token followed at each target: given, the token there (causal) or the model's top prediction (masked)."""
    scope = run.require_scope()
    if answers is not None:
        if isinstance(answers, (str, int, np.integer)):
            answers = [answers]
        if len(answers) != len(targets):
            raise ValueError(f"answers has {len(answers)} entries but there are {len(targets)} targets; "
                             "give one token per target")
        return np.asarray([token_id(scope.tokenizer, a, "answers") for a in answers], dtype=np.int64)
    if not masked:
        return run.token_ids[targets].astype(np.int64)
    anatomy = scope.anatomy
    parameter = next(anatomy.model.parameters())
    h = torch.as_tensor(run.hidden_states[-1, read], device=parameter.device, dtype=parameter.dtype)
    with torch.no_grad():
        return anatomy.logits(h).argmax(-1).cpu().numpy().astype(np.int64)


def project(hidden: np.ndarray, rows: Sequence[int], fns: Sequence[LensFn], read: np.ndarray,
            model: Any) -> Iterator[tuple[np.ndarray, np.ndarray, torch.Tensor]]:
    """``(rows, columns, float32 logits)``: every (row, read position) pair, a bounded number at a time.

    Row ``r`` reads ``hidden[rows[r]]`` through ``fns[r]``. Pairs that share a lens are
    projected together: one product with the unembedding over many rows is far faster
    than many small ones.
    """
    parameter = next(model.parameters())
    vocab = model.get_output_embeddings().weight.shape[0]
    step = max(1, CHUNK_ELEMENTS // vocab)
    groups: dict[int, list[int]] = {}
    for r, fn in enumerate(fns):
        groups.setdefault(id(fn), []).append(r)
    index = np.asarray(rows)
    with torch.no_grad():
        for members in groups.values():
            fn = fns[members[0]]
            pair_rows = np.repeat(np.asarray(members, dtype=np.int64), len(read))
            pair_cols = np.tile(np.arange(len(read), dtype=np.int64), len(members))
            for start in range(0, len(pair_rows), step):
                r, c = pair_rows[start:start + step], pair_cols[start:start + step]
                h = hidden[index[r], read[c]]
                logits = fn(torch.as_tensor(h, device=parameter.device, dtype=parameter.dtype)).float()
                if not bool(logits.isfinite().all()):
                    bad = ~logits.isfinite().all(-1).cpu().numpy()
                    pairs = sorted({(int(index[i]), int(read[j])) for i, j in zip(r[bad], c[bad])})
                    require_finite(logits, "logit lens logits (hidden_states row, read position) "
                                           f"{pairs[:10]}{' ...' if len(pairs) > 10 else ''}")
                yield r, c, logits


def rank_and_prob(logits: torch.Tensor, ids: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Rank (1 + how many tokens score strictly higher) and softmax probability of ``ids`` ``(rows, m)``
    in each row of ``logits`` ``(rows, vocab)``."""
    chosen = logits.gather(-1, ids)
    ranks = (logits.unsqueeze(1) > chosen.unsqueeze(-1)).sum(-1) + 1
    probs = torch.log_softmax(logits, dim=-1).gather(-1, ids).exp()
    return ranks.cpu().numpy(), probs.cpu().numpy()


def _compact(rank: int) -> str:
    return str(rank) if rank < 10_000 else f"{rank // 1000}k"


def rank_heatmap(data: np.ndarray, rows: list[str], cols: list[str], *, ax: Axes | None, values: str,
                 title: str) -> Figure:
    """Layers x tokens heatmap with the number in every cell; ranks on a log colour scale, rank 1 darkest.

    Drawn on ``ax`` when given, else on a new figure that pyplot does not track.
    """
    import matplotlib
    from matplotlib.colors import LogNorm, Normalize

    n_rows, n_cols = data.shape
    fig, ax = figure_and_axes(ax, max(3.0, 0.62 * n_cols + 1.6), max(2.5, 0.36 * n_rows + 1.2))
    if values == "ranks":
        norm = LogNorm(vmin=1, vmax=max(2, int(data.max(initial=1))))
        cmap = matplotlib.colormaps["Purples_r"]
        text = [[_compact(int(v)) for v in row] for row in data]
    else:
        norm = Normalize(vmin=0, vmax=1)
        cmap = matplotlib.colormaps["Purples"]
        text = [[f"{v:.2f}" for v in row] for row in data]
    image = ax.imshow(data, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(n_cols), [tick_label(c) for c in cols])
    ax.set_yticks(range(n_rows), rows)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    size = 8 if n_cols <= 20 else 6
    for i in range(n_rows):
        for j in range(n_cols):
            r, g, b, _ = cmap(norm(data[i, j]))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=size, color="white" if dark else "#222")
    ax.set_title(title, fontsize=10, pad=20)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="rank (log)" if values == "ranks" else "probability")
    return fig


def token_grid(tokens: list[list[str]], probs: np.ndarray, rows: list[str], *, ax: Axes | None,
               title: str) -> Figure:
    """Rows x rank grid, each cell a predicted token shaded by its probability (``Predictions.plot``)."""
    n_rows, k = probs.shape
    fig, ax = figure_and_axes(ax, max(3.0, 0.9 * k + 2.0), max(2.5, 0.36 * n_rows + 1.2))
    image = ax.imshow(probs, cmap="Purples", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    for i in range(n_rows):
        for j in range(k):
            ax.text(j, i, tick_label(tokens[i][j]), ha="center", va="center", fontsize=7, family="monospace",
                    color="white" if probs[i, j] > 0.55 else "#222")
    ax.set_xticks(range(k), [str(j + 1) for j in range(k)])
    ax.set_yticks(range(n_rows), rows)
    ax.set_xlabel("rank")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_title(title, fontsize=10, pad=20)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="probability")
    return fig
