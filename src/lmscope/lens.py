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
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .core.tokens import display_tokens, tick_label
from .views.mixin import HTMLView

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

    from .core.record import Record as Run

LensFn = Callable[[torch.Tensor], torch.Tensor]
"""A lens: hidden states ``(..., hidden)`` (model dtype and device) to logits ``(..., vocab)``."""

# Logit elements projected at once (positions x vocabulary): 2**23 float32 = 32 MiB per chunk.
CHUNK_ELEMENTS = 2 ** 23

__all__ = ["Lens", "LensFn", "Predictions", "Watch", "logit_lens"]


# ---------------------------------------------------------------------------- public call
def logit_lens(run: Run, raw: bool = False, lens: LensFn | Sequence[LensFn] | None = None,
               targets: Sequence[int] | None = None, answers: Sequence[str | int] | None = None,
               top_k: int = 5, embeddings: bool = False) -> Lens:
    """Rank and probability of each predicted token after every layer, from the captured hidden states.

    ``raw``: skip the model's final norm (what Ecco did); by default it is applied, as the
    model itself does before its unembedding. ``lens``: your own map from hidden states to
    logits, one callable for every layer or a sequence of one per row (a tuned lens); it
    receives ``(positions, hidden)`` tensors in the model's dtype and device. ``targets``:
    positions of the tokens to follow; default, a causal LM's generated tokens (every token
    after the first for a run with none) and a masked LM's ``[MASK]`` positions.
    ``answers``: the token followed at each target (string or id); default, the token there
    (causal) or the model's own final top prediction (masked). ``top_k``: predictions kept
    per layer and target, for the view. ``embeddings``: add a row for the embeddings.
    """
    hidden = run.require("hidden_states")
    scope = run.require_scope()
    anatomy = scope.anatomy
    expected = (anatomy.n_layers + 1, run.n_tokens, anatomy.hidden_size)
    if hidden.shape != expected:
        raise ValueError(f"this run's hidden_states have shape {hidden.shape} but the attached model "
                         f"({scope.name}) expects {expected}; attach the model that made the run")
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0:
        raise ValueError(f"top_k must be a non-negative integer, got {top_k!r}")
    if not isinstance(raw, bool):
        raise ValueError(f"raw must be True or False, got {raw!r}")
    top_k = min(top_k, anatomy.model.get_output_embeddings().weight.shape[0])
    rows = ([0] if embeddings else []) + list(range(1, anatomy.n_layers + 1))
    labels = (["embeddings"] if embeddings else []) + [f"layer {i}" for i in range(anatomy.n_layers)]
    fns, name = _resolve_lens(lens, raw, anatomy, len(rows))
    masked = anatomy.is_masked
    target_positions = _resolve_targets(run, targets, masked)
    read = target_positions - (0 if masked else 1)
    answer_ids = _resolve_answers(run, answers, target_positions, read, masked)

    result = Lens(run=run, fns=fns, rows=rows, layers=labels, targets=target_positions,
                  answer_ids=answer_ids, answers=display_tokens(scope.tokenizer, answer_ids.tolist()),
                  ranks=np.zeros((len(rows), len(read)), dtype=np.int64),
                  probs=np.zeros((len(rows), len(read)), dtype=np.float32),
                  top_ids=np.zeros((len(rows), len(read), top_k), dtype=np.int64),
                  top_probs=np.zeros((len(rows), len(read), top_k), dtype=np.float32),
                  raw=raw, lens_name=name, masked=masked)
    for r, c, logits in result._project(read):
        ranks, probs = _rank_and_prob(logits, torch.as_tensor(answer_ids[c], device=logits.device)[:, None])
        result.ranks[r, c] = ranks[:, 0]
        result.probs[r, c] = probs[:, 0]
        if top_k:
            top = torch.softmax(logits, dim=-1).topk(top_k, dim=-1)
            result.top_ids[r, c], result.top_probs[r, c] = top.indices.cpu().numpy(), top.values.cpu().numpy()
    return result


# ---------------------------------------------------------------------------- results
@dataclass(eq=False)
class Lens(HTMLView):
    """Rank (1 = top) and probability of each target token after every layer.

    ``ranks`` and ``probs`` are ``(layers, targets)``; row ``i`` is ``layers[i]``, column
    ``j`` the token at position ``targets[j]`` (for a masked LM, ``answers[j]`` at that
    ``[MASK]``). ``top_ids`` / ``top_probs`` ``(layers, targets, top_k)`` are each layer's
    own top predictions there.
    """

    run: Run = field(repr=False)
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
        tok = self.run.scope.tokenizer
        return [[display_tokens(tok, row) for row in layer] for layer in self.top_ids.tolist()]

    def first_top_layer(self) -> np.ndarray:
        """Per target, the first row where it ranks 1 (-1 if never): when the model "knows" it."""
        top = self.ranks == 1
        return np.where(top.any(axis=0), top.argmax(axis=0), -1)

    # ------------------------------------------------------------------ more questions
    def watch(self, tokens: str | int | Sequence[str | int], *, position: int | None = None) -> Watch:
        """Rank and probability of chosen tokens after every layer, as the prediction at ``position``.

        ``tokens``: strings as the tokenizer shows them (each must be a single token) or ids.
        ``position``: the position being predicted, as in ``targets`` (default the first
        target); a causal LM may also name ``len(run.tokens)``, the token after the text.
        """
        position = self._check_position(position)
        if isinstance(tokens, (str, int, np.integer)):
            tokens = [tokens]
        ids = np.asarray([_single_token(self.run.scope.tokenizer, t, "tokens") for t in tokens], dtype=np.int64)
        if len(ids) == 0:
            raise ValueError("tokens is empty; pass one or more tokens to watch, e.g. watch([' 4', ' 5'], position=9)")
        ranks = np.zeros((len(self.rows), len(ids)), dtype=np.int64)
        probs = np.zeros((len(self.rows), len(ids)), dtype=np.float32)
        for r, _c, logits in self._project(self._read([position])):
            rk, pr = _rank_and_prob(logits, torch.as_tensor(ids, device=logits.device).expand(len(r), -1))
            ranks[r], probs[r] = rk, pr
        return Watch(tokens=display_tokens(self.run.scope.tokenizer, ids.tolist()), token_ids=ids, position=position,
                     layers=list(self.layers), ranks=ranks, probs=probs)

    def top(self, k: int = 5, *, position: int | None = None) -> Predictions:
        """The ``k`` most likely tokens after every layer, as the prediction at ``position`` (see :meth:`watch`)."""
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        position = self._check_position(position)
        k = min(k, self.run.scope.anatomy.model.get_output_embeddings().weight.shape[0])
        ids = np.zeros((len(self.rows), k), dtype=np.int64)
        probs = np.zeros((len(self.rows), k), dtype=np.float32)
        for r, _c, logits in self._project(self._read([position])):
            top = torch.softmax(logits, dim=-1).topk(k, dim=-1)
            ids[r], probs[r] = top.indices.cpu().numpy(), top.values.cpu().numpy()
        tok = self.run.scope.tokenizer
        return Predictions(position=position, layers=list(self.layers), token_ids=ids, probs=probs,
                           tokens=[display_tokens(tok, row) for row in ids.tolist()])

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

    def plot(self, ax=None, *, values: str = "ranks") -> Figure:
        """The seed's rankings figure: layers down, predicted tokens across, numbers in cells, log colour.

        ``values="probs"`` shows probabilities instead of ranks.
        """
        return _heatmap(self._values(values), self.layers, self.answers, ax=ax, values=values,
                        title=f"Rank of each {'prediction' if self.masked else 'produced token'} after every layer")

    def _values(self, values: str) -> np.ndarray:
        if values not in ("ranks", "probs"):
            raise ValueError(f"values={values!r} is not known; choose 'ranks' or 'probs'")
        return self.ranks if values == "ranks" else self.probs

    def __repr__(self) -> str:
        return (f"Lens({self.lens_name!r}, layers={len(self.layers)}, targets={self.answers!r}, "
                f"last-layer ranks={self.ranks[-1].tolist() if len(self.rows) else []})")

    # ------------------------------------------------------------------ internals
    def _check_position(self, position: int | None) -> int:
        n = self.run.n_tokens
        if position is None:
            if not len(self.targets):
                raise ValueError("this lens has no targets; pass position=")
            return int(self.targets[0])
        lo, hi = (0, n - 1) if self.masked else (1, n)
        if not isinstance(position, (int, np.integer)) or isinstance(position, bool) or not lo <= position <= hi:
            what = ("0 .. last position" if self.masked else
                    "1 .. len(run.tokens), the position of the token being predicted")
            raise ValueError(f"position={position!r} is outside the sequence of {n} tokens; choose {lo}..{hi} "
                             f"({what})")
        return int(position)

    def _read(self, positions: Sequence[int]) -> np.ndarray:
        """Positions whose hidden state predicts ``positions``."""
        return np.asarray(positions, dtype=np.int64) - (0 if self.masked else 1)

    def _project(self, read: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, torch.Tensor]]:
        """``(rows, columns, float32 logits)``: every (row, read position) pair, a bounded number at a time.

        Pairs that share a lens are projected together: one product with the unembedding over
        many rows is far faster than many small ones.
        """
        hidden = self.run.hidden_states
        model = self.run.scope.anatomy.model
        parameter = next(model.parameters())
        vocab = model.get_output_embeddings().weight.shape[0]
        step = max(1, CHUNK_ELEMENTS // vocab)
        groups: dict[int, list[int]] = {}
        for r, fn in enumerate(self.fns):
            groups.setdefault(id(fn), []).append(r)
        with torch.no_grad():
            for members in groups.values():
                fn = self.fns[members[0]]
                rows = np.repeat(np.asarray(members, dtype=np.int64), len(read))
                cols = np.tile(np.arange(len(read), dtype=np.int64), len(members))
                for start in range(0, len(rows), step):
                    r, c = rows[start:start + step], cols[start:start + step]
                    h = hidden[np.asarray(self.rows)[r], read[c]]
                    logits = fn(torch.as_tensor(h, device=parameter.device, dtype=parameter.dtype))
                    yield r, c, logits.float()


@dataclass(eq=False)
class Watch:
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

    def plot(self, ax=None, *, values: str = "ranks") -> Figure:
        """Heatmap like :meth:`Lens.plot`, one column per watched token."""
        if values not in ("ranks", "probs"):
            raise ValueError(f"values={values!r} is not known; choose 'ranks' or 'probs'")
        return _heatmap(self.ranks if values == "ranks" else self.probs, self.layers, self.tokens, ax=ax,
                        values=values, title=f"Watched tokens at position {self.position}")


@dataclass(eq=False)
class Predictions:
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

    def __repr__(self) -> str:
        lines = [f"{layer:>12}: " + "  ".join(f"{t!r} {p:.2f}" for t, p in zip(ts, ps))
                 for layer, ts, ps in zip(self.layers, self.tokens, self.probs)]
        return f"Predictions(position={self.position})\n" + "\n".join(lines)


# ---------------------------------------------------------------------------- helpers
def _resolve_lens(lens, raw: bool, anatomy, n_rows: int) -> tuple[list[LensFn], str]:
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


def _resolve_targets(run: Run, targets: Sequence[int] | None, masked: bool) -> np.ndarray:
    """Positions of the tokens to follow, validated."""
    n = run.n_tokens
    if targets is None:
        if masked:
            mask_id = getattr(run.scope.tokenizer, "mask_token_id", None)
            found = np.flatnonzero(run.token_ids == mask_id) if mask_id is not None else np.array([], dtype=np.int64)
            if not len(found):
                raise ValueError("this text has no mask token for a masked LM to predict; put "
                                 f"{getattr(run.scope.tokenizer, 'mask_token', '[MASK]')} in the text, or pass "
                                 "targets=[positions] to read the predictions there")
            return found.astype(np.int64)
        if n < 2:
            raise ValueError("a one-token text predicts nothing a lens can follow; use a longer text")
        return np.arange(run.n_input if run.n_output else 1, n, dtype=np.int64)
    lo = 0 if masked else 1
    if isinstance(targets, (int, np.integer)):
        targets = [targets]
    out = []
    for t in targets:
        if not isinstance(t, (int, np.integer)) or isinstance(t, bool) or not lo <= t < n:
            why = "" if masked else " (position 0 is predicted by nothing before it)"
            raise ValueError(f"targets must be positions {lo}..{n - 1} of the {n}-token sequence{why}, got {t!r}")
        out.append(int(t))
    if not out:
        raise ValueError("targets is empty; pass positions of tokens to follow, or None for the default")
    return np.asarray(out, dtype=np.int64)


def _resolve_answers(run: Run, answers, targets: np.ndarray, read: np.ndarray, masked: bool) -> np.ndarray:
    """The token followed at each target: given, the token there (causal) or the model's top prediction (masked)."""
    if answers is not None:
        if isinstance(answers, (str, int, np.integer)):
            answers = [answers]
        if len(answers) != len(targets):
            raise ValueError(f"answers has {len(answers)} entries but there are {len(targets)} targets; "
                             "give one token per target")
        return np.asarray([_single_token(run.scope.tokenizer, a, "answers") for a in answers], dtype=np.int64)
    if not masked:
        return run.token_ids[targets].astype(np.int64)
    anatomy = run.scope.anatomy
    parameter = next(anatomy.model.parameters())
    h = torch.as_tensor(run.hidden_states[-1, read], device=parameter.device, dtype=parameter.dtype)
    with torch.no_grad():
        return anatomy.logits(h).argmax(-1).cpu().numpy().astype(np.int64)


_DISPLAY_MAPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _display_map(tokenizer) -> dict[str, int]:
    """Display string -> id for the whole vocabulary (built once per tokenizer, on demand)."""
    if tokenizer not in _DISPLAY_MAPS:
        mapping: dict[str, int] = {}
        for i, shown in enumerate(display_tokens(tokenizer, range(len(tokenizer)))):
            mapping.setdefault(shown, i)
        _DISPLAY_MAPS[tokenizer] = mapping
    return _DISPLAY_MAPS[tokenizer]


def _single_token(tokenizer, token: str | int, name: str) -> int:
    """The id of one token given as an id or as a string; errors say how a string splits.

    A string is matched first to the token that *shows* as it (``run.tokens``, ``lens.top``
    display tokens this way), so SentencePiece continuation pieces such as ``","`` are found
    even though the tokenizer would read the bare string as ``["▁", ","]``; else the
    tokenizer's own reading is used when it is one token.
    """
    n = len(tokenizer)
    if isinstance(token, (int, np.integer)) and not isinstance(token, bool):
        if not 0 <= token < n:
            raise ValueError(f"{name}: token id {token} is outside the vocabulary (0..{n - 1})")
        return int(token)
    if not isinstance(token, str) or not token:
        raise ValueError(f"{name} must hold token strings or ids, got {token!r}")
    ids = tokenizer(token, add_special_tokens=False)["input_ids"]
    if len(ids) == 1 and display_tokens(tokenizer, ids)[0] == token:
        return int(ids[0])
    found = _display_map(tokenizer).get(token)
    if found is not None:
        return found
    if len(ids) == 1:
        return int(ids[0])
    pieces = display_tokens(tokenizer, ids)
    if not pieces:
        raise ValueError(f"{name}: {token!r} tokenizes to nothing; pass a visible token")
    raise ValueError(f"{name}: {token!r} is not one token: the tokenizer splits it into {len(pieces)} tokens "
                     f"{pieces!r}; pass single tokens, e.g. {pieces[-1]!r}")


def _rank_and_prob(logits: torch.Tensor, ids: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Rank (1 + how many tokens score strictly higher) and softmax probability of ``ids`` ``(rows, m)``
    in each row of ``logits`` ``(rows, vocab)``."""
    chosen = logits.gather(-1, ids)
    ranks = (logits.unsqueeze(1) > chosen.unsqueeze(-1)).sum(-1) + 1
    probs = torch.log_softmax(logits, dim=-1).gather(-1, ids).exp()
    return ranks.cpu().numpy(), probs.cpu().numpy()


def _compact(rank: int) -> str:
    return str(rank) if rank < 10_000 else f"{rank // 1000}k"


def _heatmap(data: np.ndarray, rows: list[str], cols: list[str], *, ax, values: str, title: str) -> Figure:
    """Layers x tokens heatmap with the number in every cell; ranks on a log colour scale, rank 1 darkest."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm, Normalize

    n_rows, n_cols = data.shape
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(3.0, 0.62 * n_cols + 1.6), max(2.5, 0.36 * n_rows + 1.2)))
    else:
        fig = ax.figure
    if values == "ranks":
        norm = LogNorm(vmin=1, vmax=max(2, int(data.max(initial=1))))
        cmap = plt.get_cmap("Purples_r")
        text = [[_compact(int(v)) for v in row] for row in data]
    else:
        norm = Normalize(vmin=0, vmax=1)
        cmap = plt.get_cmap("Purples")
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
    fig.tight_layout()
    return fig
