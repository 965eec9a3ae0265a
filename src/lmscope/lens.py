"""Hidden-state evolution: how the prediction of each token forms, layer by layer (logit lens).

The residual stream after every block is read through the model's own head (final norm,
then unembedding) as if the model stopped there (nostalgebraist's *logit lens*). For each
predicted token this gives its rank and probability after every layer: the seed article's
rankings figure, where "1, 2, 3," → " 4, 5, 6" is sure of the commas early and of the
digits only later.

Everything comes from the hidden states captured in the run: no forward pass through the
blocks is repeated. Only the positions that are asked about are projected onto the
vocabulary, in chunks, so memory stays bounded for long texts.

Rows are the model's layers: row ``"layer l"`` reads ``run.hidden_states[l + 1]``, the
residual stream after block ``l``; ``embeddings=True`` adds a first row
``"embeddings"`` (``hidden_states[0]``, the input of block 0). For a causal LM the token at
position ``p`` is predicted from position ``p - 1``; for a masked LM at position ``p``
itself (its ``[MASK]``).

>>> run = scope.generate("1, 2, 3,", max_new_tokens=6)     # doctest: +SKIP
>>> lens = run.lens()                                      # doctest: +SKIP
>>> lens.ranks[:, 1]          # rank of the 2nd produced token after every layer  # doctest: +SKIP
>>> lens.watch(["4", "5"], position=9).ranks               # doctest: +SKIP
>>> lens.plot()                                            # doctest: +SKIP

The steps (resolving targets and tokens, the chunked projection, the figure) are in
:mod:`lmscope.lens_compute`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .core.checks import Flag, Integer, Options, Positions, validated
from .core.record import Record
from .core.results import Result, analysis
from .core.tokens import display_tokens, token_id
from .lens_compute import (
    LensFn,
    project,
    rank_and_prob,
    rank_heatmap,
    resolve_answers,
    resolve_lens,
    resolve_position,
    resolve_targets,
    token_grid,
)
from .views.mixin import HTMLView

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Lens", "LensFn", "Predictions", "Watch", "logit_lens"]

VALUES = Options(("ranks", "probs"), ("the rank of each token, 1 = top", "its probability"))


# ---------------------------------------------------------------------------- public call
@analysis(raw=Flag(), targets=Positions(), top_k=Integer(0), embeddings=Flag())
def logit_lens(run: Record, raw: bool = False, lens: LensFn | Sequence[LensFn] | None = None,
               targets: int | Sequence[int] | None = None, answers: str | int | Sequence[str | int] | None = None,
               top_k: int = 5, embeddings: bool = False) -> Lens:
    """Rank and probability of each predicted token after every layer, from the captured hidden states.

    ``raw``: skip the model's final norm (what Ecco did); by default it is applied, as the
    model itself does before its unembedding. ``lens``: your own map from hidden states to
    logits, one callable for every layer or a sequence of one per row (a tuned lens); it
    receives ``(positions, hidden)`` tensors in the model's dtype and device. ``targets``:
    positions of the tokens to follow (negative counts from the end); default, a causal
    LM's generated tokens (every token after the first for a run with none) and a masked
    LM's ``[MASK]`` positions. ``answers``: the token followed at each target (string or
    id); default, the token there (causal) or the model's own final top prediction
    (masked). ``top_k``: predictions kept per layer and target, for the view.
    ``embeddings``: add a row for the embeddings.
    """
    hidden = run.require("hidden_states")
    scope = run.require_scope()
    anatomy = scope.anatomy
    anatomy.require_head("the logit lens")
    expected = (anatomy.n_layers + 1, run.n_tokens, anatomy.hidden_size)
    if hidden.shape != expected:
        raise ValueError(f"this run's hidden_states have shape {hidden.shape} but the attached model "
                         f"({scope.name}) expects {expected}; attach the model that made the run")
    top_k = min(top_k, anatomy.model.get_output_embeddings().weight.shape[0])
    rows = ([0] if embeddings else []) + list(range(1, anatomy.n_layers + 1))
    labels = (["embeddings"] if embeddings else []) + [f"layer {i}" for i in range(anatomy.n_layers)]
    fns, name = resolve_lens(lens, raw, anatomy, len(rows))
    masked = anatomy.is_masked
    target_positions = resolve_targets(run, targets, masked)
    read = target_positions - (0 if masked else 1)
    answer_ids = resolve_answers(run, answers, target_positions, read, masked)

    result = Lens(run=run, fns=fns, rows=rows, layers=labels, targets=target_positions,
                  answer_ids=answer_ids, answers=display_tokens(scope.tokenizer, answer_ids.tolist()),
                  ranks=np.zeros((len(rows), len(read)), dtype=np.int64),
                  probs=np.zeros((len(rows), len(read)), dtype=np.float32),
                  top_ids=np.zeros((len(rows), len(read), top_k), dtype=np.int64),
                  top_probs=np.zeros((len(rows), len(read), top_k), dtype=np.float32),
                  raw=raw, lens_name=name, masked=masked)
    for r, c, logits in project(hidden, rows, fns, read, anatomy.model):
        ranks, probs = rank_and_prob(logits, torch.as_tensor(answer_ids[c], device=logits.device)[:, None])
        result.ranks[r, c] = ranks[:, 0]
        result.probs[r, c] = probs[:, 0]
        if top_k:
            top = torch.softmax(logits, dim=-1).topk(top_k, dim=-1)
            result.top_ids[r, c], result.top_probs[r, c] = top.indices.cpu().numpy(), top.values.cpu().numpy()
    return result


# ---------------------------------------------------------------------------- results
@dataclass(eq=False)
class Lens(Result, HTMLView):
    """Rank (1 = top) and probability of each target token after every layer.

    ``ranks`` and ``probs`` are ``(layers, targets)``; row ``i`` is ``layers[i]``, column
    ``j`` the token at position ``targets[j]`` (for a masked LM, ``answers[j]`` at that
    ``[MASK]``). ``top_ids`` / ``top_probs`` ``(layers, targets, top_k)`` are each layer's
    own top predictions there.
    """

    run: Record = field(repr=False)
    fns: list[LensFn] = field(repr=False)
    rows: list[int]                  # hidden_states index each row reads
    layers: list[str]                # row labels
    targets: np.ndarray              # (targets,) positions of the predicted tokens
    answer_ids: np.ndarray           # (targets,) token followed at each target
    answers: list[str]               # display strings of answer_ids
    ranks: np.ndarray                # (layers, targets) int64, 1 = top prediction
    probs: np.ndarray                # (layers, targets) float32
    top_ids: np.ndarray              # (layers, targets, top_k)
    top_probs: np.ndarray            # (layers, targets, top_k)
    raw: bool = False
    lens_name: str = "logit lens"
    masked: bool = False

    @property
    def tokens(self) -> list[str]:
        """Display strings of every token of the run."""
        return self.run.tokens

    @property
    def top_tokens(self) -> list[list[list[str]]]:
        """Display strings of ``top_ids``, ``[layer][target][k]``."""
        tok = self.run.require_scope().tokenizer
        return [[display_tokens(tok, row) for row in layer] for layer in self.top_ids.tolist()]

    def first_top_layer(self) -> np.ndarray:
        """Per target, the first row where it ranks 1 (-1 if never): when the model "knows" it."""
        top = self.ranks == 1
        return np.where(top.any(axis=0), top.argmax(axis=0), -1)

    # ------------------------------------------------------------------ more questions
    @analysis(position=Integer(none=True))
    def watch(self, tokens: str | int | Sequence[str | int], *, position: int | None = None) -> Watch:
        """Rank and probability of chosen tokens after every layer, as the prediction at ``position``.

        ``tokens``: strings as the tokenizer shows them (each must be a single token) or ids.
        ``position``: the position being predicted, as in ``targets`` (default the first
        target; negative counts from the end); a causal LM may also name
        ``len(run.tokens)``, the token after the text.
        """
        position = self._position(position)
        tokenizer = self.run.require_scope().tokenizer
        if isinstance(tokens, (str, int, np.integer)):
            tokens = [tokens]
        ids = np.asarray([token_id(tokenizer, t, "tokens") for t in tokens], dtype=np.int64)
        if len(ids) == 0:
            raise ValueError("tokens is empty; pass one or more tokens to watch, e.g. watch([' 4', ' 5'], position=9)")
        ranks = np.zeros((len(self.rows), len(ids)), dtype=np.int64)
        probs = np.zeros((len(self.rows), len(ids)), dtype=np.float32)
        for r, _c, logits in self._project([position]):
            rk, pr = rank_and_prob(logits, torch.as_tensor(ids, device=logits.device).expand(len(r), -1))
            ranks[r], probs[r] = rk, pr
        return Watch(tokens=display_tokens(tokenizer, ids.tolist()), token_ids=ids, position=position,
                     layers=list(self.layers), ranks=ranks, probs=probs)

    @analysis(k=Integer(1), position=Integer(none=True))
    def top(self, k: int = 5, *, position: int | None = None) -> Predictions:
        """The ``k`` most likely tokens after every layer, as the prediction at ``position`` (see :meth:`watch`)."""
        position = self._position(position)
        scope = self.run.require_scope()
        k = min(k, scope.anatomy.model.get_output_embeddings().weight.shape[0])
        ids = np.zeros((len(self.rows), k), dtype=np.int64)
        probs = np.zeros((len(self.rows), k), dtype=np.float32)
        for r, _c, logits in self._project([position]):
            top = torch.softmax(logits, dim=-1).topk(k, dim=-1)
            ids[r], probs[r] = top.indices.cpu().numpy(), top.values.cpu().numpy()
        return Predictions(position=position, layers=list(self.layers), token_ids=ids, probs=probs,
                           tokens=[display_tokens(scope.tokenizer, row) for row in ids.tolist()])

    # ------------------------------------------------------------------ export and views
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: the lens view's contract plus the followed tokens and settings."""
        from .views.schema import to_plain

        data = self.view_data()
        data.update(answers=list(self.answers), answer_ids=self.answer_ids.tolist(), raw=self.raw,
                    lens=self.lens_name)
        return to_plain(data)

    def to_frame(self) -> pd.DataFrame:
        """One row per (layer, target): layer, position, token, rank, prob."""
        import pandas as pd

        n_layers, n_targets = self.ranks.shape
        return pd.DataFrame({
            "layer": np.repeat(self.layers, n_targets),
            "position": np.tile(self.targets, n_layers),
            "token": np.tile(np.asarray(self.answers, dtype=object), n_layers),
            "rank": self.ranks.ravel(),
            "prob": self.probs.ravel(),
        })

    def view_data(self) -> dict[str, Any]:
        """The ``lens`` explorable: ranks and probabilities per layer and target, each cell's top predictions."""
        tops = self.top_tokens
        top = [[[{"token": t, "prob": float(p)} for t, p in zip(tops[r][j], self.top_probs[r, j])]
                for j in range(len(self.targets))] for r in range(len(self.rows))]
        caption = (f"Rank of each {'masked token’s top prediction' if self.masked else 'produced token'} after "
                   f"every layer ({self.lens_name}).")
        if self.masked:
            caption += " Followed: " + ", ".join(f"{a!r} at {p}" for a, p in zip(self.answers, self.targets.tolist()))
        return {"kind": "lens", "tokens": self.run.token_table(), "targets": self.targets.tolist(),
                "layers": list(self.layers), "ranks": self.ranks.tolist(), "probs": self.probs.tolist(), "top": top,
                "title": "Hidden-state evolution", "caption": caption}

    @validated(values=VALUES)
    def plot(self, ax: Axes | None = None, *, values: str = "ranks") -> Figure:
        """The seed's rankings figure: layers down, predicted tokens across, numbers in cells, log colour.

        ``values="probs"`` shows probabilities instead of ranks. Drawn on ``ax`` when given.
        """
        return rank_heatmap(self.ranks if values == "ranks" else self.probs, self.layers, self.answers, ax=ax,
                            values=values,
                            title=f"Rank of each {'prediction' if self.masked else 'produced token'} after every layer")

    def __repr__(self) -> str:
        return (f"Lens({self.lens_name!r}, layers={len(self.layers)}, targets={self.answers!r}, "
                f"last-layer ranks={self.ranks[-1].tolist() if len(self.rows) else []})")

    # ------------------------------------------------------------------ internals
    def _position(self, position: int | None) -> int:
        if position is None:
            if not len(self.targets):
                raise ValueError("this lens has no targets; pass position=")
            return int(self.targets[0])
        return resolve_position(position, self.run.n_tokens, self.masked)

    def _project(self, positions: Sequence[int]):
        """Logits of every row at the hidden states that predict ``positions``."""
        read = np.asarray(positions, dtype=np.int64) - (0 if self.masked else 1)
        return project(self.run.require("hidden_states"), self.rows, self.fns, read,
                       self.run.require_scope().anatomy.model)


@dataclass(eq=False)
class Watch(Result):
    """Rank and probability of chosen tokens after every layer at one predicted position."""

    tokens: list[str]
    token_ids: np.ndarray       # (watched,)
    position: int               # the position being predicted
    layers: list[str]
    ranks: np.ndarray           # (layers, watched), 1 = top
    probs: np.ndarray           # (layers, watched)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {"tokens": list(self.tokens), "token_ids": self.token_ids.tolist(), "position": self.position,
                "layers": list(self.layers), "ranks": self.ranks.tolist(), "probs": self.probs.tolist()}

    def to_frame(self) -> pd.DataFrame:
        """One row per (layer, watched token): layer, token, token_id, rank, prob."""
        import pandas as pd

        n_layers, n_tokens = self.ranks.shape
        return pd.DataFrame({
            "layer": np.repeat(self.layers, n_tokens),
            "token": np.tile(np.asarray(self.tokens, dtype=object), n_layers),
            "token_id": np.tile(self.token_ids, n_layers),
            "rank": self.ranks.ravel(),
            "prob": self.probs.ravel(),
        })

    @validated(values=VALUES)
    def plot(self, ax: Axes | None = None, *, values: str = "ranks") -> Figure:
        """Heatmap like :meth:`Lens.plot`, one column per watched token."""
        return rank_heatmap(self.ranks if values == "ranks" else self.probs, self.layers, self.tokens, ax=ax,
                            values=values, title=f"Watched tokens at position {self.position}")


@dataclass(eq=False)
class Predictions(Result):
    """The top-k predictions after every layer at one predicted position."""

    position: int
    layers: list[str]
    token_ids: np.ndarray       # (layers, k)
    probs: np.ndarray           # (layers, k)
    tokens: list[list[str]]     # [layer][k]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: per layer, ``[{token, token_id, prob}]``."""
        return {"position": self.position, "layers": list(self.layers),
                "top": [[{"token": t, "token_id": int(i), "prob": float(p)} for t, i, p in zip(ts, ids, ps)]
                        for ts, ids, ps in zip(self.tokens, self.token_ids, self.probs)]}

    def to_frame(self) -> pd.DataFrame:
        """One row per (layer, rank): layer, rank (1 = top), token, token_id, prob."""
        import pandas as pd

        n_layers, k = self.token_ids.shape
        return pd.DataFrame({
            "layer": np.repeat(self.layers, k),
            "rank": np.tile(np.arange(1, k + 1), n_layers),
            "token": [t for row in self.tokens for t in row],
            "token_id": self.token_ids.ravel(),
            "prob": self.probs.ravel(),
        })

    def plot(self, ax: Axes | None = None) -> Figure:
        """Layers down, ranks across: each cell a predicted token, shaded by its probability."""
        return token_grid(self.tokens, self.probs, self.layers, ax=ax,
                          title=f"Top predictions after every layer at position {self.position}")

    def __repr__(self) -> str:
        lines = [f"{layer:>12}: " + "  ".join(f"{t!r} {p:.2f}" for t, p in zip(ts, ps))
                 for layer, ts, ps in zip(self.layers, self.tokens, self.probs)]
        return f"Predictions(position={self.position})\n" + "\n".join(lines)
