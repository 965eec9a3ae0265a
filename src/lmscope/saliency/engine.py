"""The shared machinery of every saliency method: targets, scores, forward passes, chunks.

A :class:`Problem` fixes what is explained: the token ids, the target positions, the token
each target is explained as (and its foil, for contrastive saliency) and the score read
from the model (its logit, log-probability or probability). Its methods run the model the
way every method needs it:

- the *input embeddings* are the output of the model's input-embedding module
  (``anatomy.embeddings``): gradient methods replace that output with a leaf tensor, so
  whatever the model does after it (GPT-2's position embeddings, OPT's projection) stays
  part of the model. In transformers >= 5 the Gemma families scale by sqrt(hidden) inside
  that module, so for them the input embedding is the scaled one;
- a forward pass stops at the last block's output, and only the hidden states at the
  positions that score a target are projected onto the vocabulary (``anatomy.logits``);
- targets are grouped into chunks of nearby positions: in a causal model a chunk's forward
  pass covers positions up to its last target only, and the backward passes over that one
  forward pass give every target's gradient: batched over the chunk's targets
  (``torch.autograd.grad(..., is_grads_batched=True)``) for small graphs, one per target
  for large ones (see :func:`batched_grad`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ..core.checks import message
from ..core.finite import require_finite
from .registry import CONSTRAINTS, without

if TYPE_CHECKING:  # pragma: no cover
    from ..core.record import ModelLink as Scope

# Largest graph (batch x positions rows in the leaves) whose targets share one vmapped
# backward pass; above it each target gets its own pass (see batched_grad).
VMAP_MAX_ROWS = 512


class _Stop(Exception):
    """Raised by the hook on the last block: the rest of the model (the full vocabulary
    projection at every position) is not needed."""

    def __init__(self, hidden: torch.Tensor):
        super().__init__("stop after the last block")
        self.hidden = hidden


def _first(output: Any) -> torch.Tensor:
    return output[0] if isinstance(output, (tuple, list)) else output


@dataclass
class Problem:
    """What one saliency call explains, with the model calls every method shares."""

    scope: Scope
    ids: torch.Tensor            # (n,) token ids on the model's device
    targets: np.ndarray          # (k,) sorted positions of the explained tokens
    target_ids: torch.Tensor     # (k,) the token each target is explained as
    score: str                   # "logit" | "logprob" | "prob"; each method has its own default
    foil_ids: torch.Tensor | None = None   # (k,) contrastive foil per target, or None
    attentions: np.ndarray | None = field(default=None, repr=False)  # the run's captured weights, if any
    attention_layers: list[int] = field(default_factory=list)        # layers of ``attentions``
    _base: torch.Tensor | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ geometry
    @property
    def anatomy(self):
        return self.scope.anatomy

    @property
    def model(self) -> nn.Module:
        return self.scope.model

    @property
    def causal(self) -> bool:
        """Whether each position sees only the ones before it: probed from the model (``anatomy.bidirectional``)."""
        return not self.anatomy.bidirectional

    @property
    def shifted(self) -> bool:
        """Whether a target is scored from the position before it (a next-token head), not its own (a masked LM's)."""
        return not self.anatomy.is_masked

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])

    @property
    def reads(self) -> np.ndarray:
        """Position whose output scores each target: the one before it (next-token head) or itself (masked)."""
        return self.targets - 1 if self.shifted else self.targets.copy()

    @property
    def spans(self) -> np.ndarray:
        """How many positions each target's row covers: those before it (causal), all (bidirectional)."""
        return self.targets.copy() if self.causal else np.full(len(self.targets), self.n)

    def length(self, rows: np.ndarray) -> int:
        """Positions a forward pass needs to score targets ``rows``: up to the last read (causal)."""
        return int(self.reads[rows].max()) + 1 if self.causal else self.n

    def chunks(self, size: int) -> list[np.ndarray]:
        """Consecutive groups of at most ``size`` targets (targets are sorted by position)."""
        k = len(self.targets)
        return [np.arange(start, min(start + size, k)) for start in range(0, k, size)]

    # ------------------------------------------------------------------ model calls
    def base_embeddings(self) -> torch.Tensor:
        """The input embeddings ``(1, n, hidden)`` of the sequence (embedding module output)."""
        if self._base is None:
            with torch.no_grad():
                self._base = self.anatomy.embeddings(self.ids[None]).detach()
        return self._base

    def token_embeddings(self, token_id: int, length: int) -> torch.Tensor:
        """``(1, length, hidden)``: the input embedding of one token at every position."""
        ids = torch.full((1, length), int(token_id), dtype=self.ids.dtype, device=self.ids.device)
        with torch.no_grad():
            return self.anatomy.embeddings(ids).detach()

    def hidden(self, embeddings: torch.Tensor | None = None, *, ids: torch.Tensor | None = None) -> torch.Tensor:
        """Last block output ``(batch, positions, hidden)`` for the given input embeddings.

        ``embeddings`` ``(batch, L, hidden)`` replace the embedding module's output for the
        first ``L`` positions (the gradient flows back to them); or ``ids`` ``(batch, L)``
        run through the model as they are.
        """
        if ids is None:
            batch, length = embeddings.shape[:2]
            ids = self.ids[:length].expand(batch, length)
        return self._stopped(ids, embeddings, _model_kwargs(self.model))

    # ------------------------------------------------------------------ prefix reuse
    def segment_hidden(self, embeddings: torch.Tensor, start: int, cache: Any) -> torch.Tensor:
        """Last block output for positions ``start .. start + L`` given the KV ``cache`` of the positions before.

        The cache keeps the earlier segments' keys and values *with* their autograd graph,
        so a later target's gradient flows back into earlier positions without running
        their forward pass again.
        """
        batch, length = embeddings.shape[:2]
        ids = self.ids[start:start + length].expand(batch, length)
        return self._stopped(ids, embeddings, {_cache_argument(self.model): cache, "use_cache": True})

    def new_cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=self.model.config)

    def prefix_reuse_works(self, cuts: list[int]) -> bool:
        """Whether running the sequence segment by segment through a KV cache gives the same
        scores as one pass (checked once per call on the real input, no gradients)."""
        if not self.causal or _cache_argument(self.model) is None or len(cuts) < 2:
            return False
        rows = np.arange(len(self.targets))
        length = self.length(rows)
        base = self.base_embeddings()[:, :length]
        try:
            with torch.no_grad():
                cache, parts, start = self.new_cache(), [], 0
                for end in cuts:
                    parts.append(self.segment_hidden(base[:, start:end], start, cache))
                    start = end
                segmented = self.read_scores(torch.cat(parts, dim=1), rows)
                whole = self.read_scores(self.hidden(base), rows)
        except Exception:  # noqa: BLE001 - any family whose cache does not fit this use falls back
            return False
        return bool(torch.allclose(segmented, whole, rtol=1e-4, atol=1e-4 * float(whole.abs().max()) + 1e-5))

    def _stopped(self, ids: torch.Tensor, embeddings: torch.Tensor | None, kwargs: dict[str, Any]) -> torch.Tensor:
        pairs: list[tuple[nn.Module, Callable]] = []
        if embeddings is not None:
            pairs.append((self.anatomy.embeddings, lambda _m, _i, _o: embeddings))

        def stop(_m, _i, output):
            raise _Stop(_first(output))

        pairs.append((self.anatomy.blocks[-1], stop))
        handles = [module.register_forward_hook(fn) for module, fn in pairs]
        try:
            self.model(input_ids=ids, **kwargs)
        except _Stop as stopped:
            hidden = stopped.hidden
        else:  # pragma: no cover - the last block always runs
            raise RuntimeError("the model's forward pass never reached its last block")
        finally:
            for handle in handles:
                handle.remove()
        # Some families (OPT) flatten (batch, positions) inside their blocks.
        return hidden.reshape(ids.shape[0], ids.shape[1], -1)

    def scores(self, hidden_rows: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
        """Score of targets ``rows`` from their hidden states ``(..., len(rows), hidden)``.

        The logit (or log-probability, probability) of the target token, minus the foil's
        when the saliency is contrastive. Only these rows are projected onto the vocabulary,
        and for the logit score only onto the target's (and foil's) row of the head.
        """
        chosen = torch.as_tensor(rows, device=self.target_ids.device)
        ids = self.target_ids[chosen, None]                                   # (k, 1), or (k, 2) with the foil
        if self.foil_ids is not None:
            ids = torch.cat([ids, self.foil_ids[chosen, None]], dim=-1)
        if self.score == "logit":
            picked = self.anatomy.token_logits(hidden_rows, ids)
        else:
            logits = self.anatomy.logits(hidden_rows).float()
            logits = torch.log_softmax(logits, dim=-1) if self.score == "logprob" else torch.softmax(logits, dim=-1)
            picked = logits.gather(-1, ids.expand(*logits.shape[:-1], ids.shape[-1]))
        scores = picked[..., 0] if self.foil_ids is None else picked[..., 0] - picked[..., 1]
        self.require_finite(scores.detach(), "scores", rows)
        return scores

    def require_finite(self, values: torch.Tensor, what: str, rows: np.ndarray) -> None:
        """Stop (once per chunk) when a saliency ``what`` for targets ``rows`` came out NaN or inf."""
        if not bool(values.isfinite().all()):
            targets = self.targets[rows].tolist()
            require_finite(values, f"saliency {what} of {self.scope.name} for targets {targets[:10]}"
                                   f"{' ...' if len(targets) > 10 else ''} ({self.score} score)")

    def read_scores(self, hidden: torch.Tensor, rows: np.ndarray, *, shift: np.ndarray | None = None) -> torch.Tensor:
        """Scores ``(batch, len(rows))`` of targets ``rows`` read from a forward pass's hidden states."""
        reads = self.reads[rows] if shift is None else self.reads[rows] - shift
        positions = torch.as_tensor(reads, device=hidden.device)
        return self.scores(hidden[:, positions], rows)

    # ------------------------------------------------------------------ gradients
    def gradients(self, inputs: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
        """Gradient of each target's score (summed over the batch) w.r.t. ``inputs``.

        ``inputs`` ``(batch, L, hidden)`` are input embeddings (a batch of IG steps, or one
        sequence); returns ``(len(rows), batch, L, hidden)``: one backward pass batched over
        the targets.
        """
        x = inputs.detach().requires_grad_(True)
        with torch.enable_grad():
            scores = self.read_scores(self.hidden(x), rows).sum(0)          # (k,)
            return batched_grad(scores, [x], self.scope)[0]


def batched_grad(scores: torch.Tensor, leaves: list[torch.Tensor], scope: Scope, *,
                 retain_graph: bool = False) -> list[torch.Tensor]:
    """Gradients ``(k, *leaf.shape)`` of each of the ``k`` scores w.r.t. each leaf.

    Small graphs get one backward pass batched over the scores (one-hot output gradients,
    ``is_grads_batched``): there it is up to twice as fast as one pass per score, whose time
    is mostly per-operation overhead. Large graphs (many rows: IG steps x positions) get one
    backward pass per score: they are compute-bound, and the batched pass, which holds
    ``k`` copies of every intermediate gradient, was measured up to 1.5x slower than
    the loop (SmolLM2, 50 steps x 37 positions, 8 scores). Operations without a batching rule
    also fall back to one pass per score.
    """
    if scores.grad_fn is None:
        raise RuntimeError(no_gradient_message(scope))
    k = scores.shape[0]
    rows = sum(leaf[..., 0].numel() for leaf in leaves)
    if k > 1 and rows <= VMAP_MAX_ROWS:
        eye = torch.eye(k, dtype=scores.dtype, device=scores.device)
        try:  # the graph is kept so that the fallback below can still run over it
            return _finite_grads(list(torch.autograd.grad(scores, leaves, grad_outputs=eye, is_grads_batched=True,
                                                          retain_graph=True)), scope)
        except RuntimeError:
            pass
    per_score = [torch.autograd.grad(scores[i], leaves, retain_graph=retain_graph or i < k - 1) for i in range(k)]
    return _finite_grads([torch.stack([grads[j] for grads in per_score]) for j in range(len(leaves))], scope)


def _finite_grads(grads: list[torch.Tensor], scope: Scope) -> list[torch.Tensor]:
    """``grads``, checked once per backward pass: NaN/inf (e.g. a half-precision overflow) is an error."""
    for grad in grads:
        require_finite(grad, f"saliency gradients of {scope.name} (backward pass)")
    return grads


_KWARGS_CACHE: dict[type, dict[str, Any]] = {}


def _model_kwargs(model: nn.Module) -> dict[str, Any]:
    """Keyword arguments that keep a forward pass lean: no KV cache, one logit kept."""
    cls = type(model)
    if cls not in _KWARGS_CACHE:
        params = inspect.signature(model.forward).parameters
        kwargs: dict[str, Any] = {}
        if "use_cache" in params:
            kwargs["use_cache"] = False
        if "logits_to_keep" in params:
            kwargs["logits_to_keep"] = 1
        _KWARGS_CACHE[cls] = kwargs
    return _KWARGS_CACHE[cls]


def no_gradient_message(scope: Scope) -> str:
    """Why there is no gradient, and the methods that need none (from the registry)."""
    return (f"{scope.name} gives no gradient with respect to its input embeddings (quantized or "
            "integer weights, or a forward pass run without autograd); load it in floating point, e.g. "
            "lmscope.load(model_id, dtype='float32'), or use a method that needs no gradients: "
            f"{', '.join(without('gradients'))}")


def _cache_argument(model: nn.Module) -> str | None:
    """The keyword that passes a KV cache to this model's forward (``cache``, formerly ``past_key_values``)."""
    params = inspect.signature(model.forward).parameters
    return next((name for name in ("cache", "past_key_values") if name in params), None)


# ---------------------------------------------------------------------------- rows
def aggregate(vectors: torch.Tensor, how: str) -> torch.Tensor:
    """One score per position from attribution vectors ``(..., positions, hidden)``."""
    if how == "l2":
        return vectors.norm(dim=-1)
    if how == "sum":
        return vectors.sum(-1)
    if how == "mean_abs":
        return vectors.abs().mean(-1)
    raise ValueError(message("aggregation", CONSTRAINTS["aggregation"], how))


def place(matrix: np.ndarray, row: int, values: torch.Tensor | np.ndarray, span: int) -> None:
    """Write a target's scores for its covered positions into ``matrix`` (the rest stays 0)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().float().cpu().numpy()
    matrix[row, :span] = values[:span]


@contextmanager
def grad_mode() -> Iterator[None]:
    """Autograd on, whatever the caller's context (``torch.no_grad`` in a notebook cell)."""
    with torch.inference_mode(False), torch.enable_grad():
        yield
