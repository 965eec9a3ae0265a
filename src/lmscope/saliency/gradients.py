"""Gradient methods: gradient × input (the seed's saliency), plain gradient, integrated gradients.

All three share one pattern: per chunk of targets, one forward pass over the positions the
chunk needs (integrated gradients: for a batch of interpolation steps at once), then the
backward passes of its targets over that forward pass (see ``engine.batched_grad``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..core.cancel import checkpoint
from ..core.checks import is_int
from ..core.tokens import token_id
from .engine import Problem, aggregate, batched_grad, place
from .registry import Raw, register

Token = int | str | None            # a token string or id (contrast=, the foil)
Baseline = str | int | np.ndarray   # "zeros", a special token's name, a token id, or embeddings

# Rows (targets x IG steps x positions) of gradients the backward passes over one forward pass may hold,
# when step_batch is not given.
_ROW_BUDGET = 16384


def _gradient_rows(problem: Problem, *, aggregation: str, chunk_size: int, times_input: bool) -> Raw:
    base = problem.base_embeddings()
    spans = problem.spans
    matrix = np.zeros((len(problem.targets), problem.n))
    for rows in problem.chunks(chunk_size):
        checkpoint()        # between chunks: a backward pass runs outside the blocks' forward hooks
        x = base[:, : problem.length(rows)]
        grads = problem.gradients(x, rows)[:, 0]                       # (k, L, hidden)
        scores = aggregate(grads * x if times_input else grads, aggregation)
        for i, row in enumerate(rows):
            place(matrix, row, scores[i], spans[row])
    return Raw(matrix, signed=aggregation == "sum")


# The default score is the log-probability: after normalisation its rows are those of the
# probability, which Ecco and Inseq attribute (d p = p d log p), without the probability's
# underflow for unlikely tokens in half precision; and with contrast= its difference is the
# logit difference of Yin & Neubig. ``score`` and ``contrast`` are read by the engine when it
# builds the Problem; they are declared here so each method's defaults are written once.
@register("grad_x_input", needs={"model", "gradients"}, cost=1)
def grad_x_input(problem: Problem, *, aggregation: str = "l2", score: str = "logprob", contrast: Token = None,
                 chunk_size: int = 8) -> Raw:
    """Gradient of the target's score w.r.t. each input embedding, times that embedding (the seed's saliency).

    With the defaults (aggregation ``"l2"``, normalisation ``"sum"``) a row is
    ``‖∇_{x_i} score · x_i‖₂`` divided by its sum. The default score, the token's
    log-probability, gives the rows of its probability, Ecco's and Inseq's numbers;
    ``score="logit"`` differentiates the logit before the softmax, the seed article's
    formula. With ``aggregation="sum"`` the scores keep their sign (the dot product
    gradient · input).
    """
    return _gradient_rows(problem, aggregation=aggregation, chunk_size=chunk_size, times_input=True)


@register("gradient", needs={"model", "gradients"}, cost=1)
def gradient(problem: Problem, *, aggregation: str = "l2", score: str = "logprob", contrast: Token = None,
             chunk_size: int = 8) -> Raw:
    """The gradient of the target's score w.r.t. each input embedding, aggregated (L2 norm by default)."""
    return _gradient_rows(problem, aggregation=aggregation, chunk_size=chunk_size, times_input=False)


# ---------------------------------------------------------------------------- integrated gradients
def quadrature(integration: str, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Interpolation points in [0, 1] and their weights (sum 1), as Captum's approximation methods."""
    if integration == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return (nodes + 1) / 2, weights / 2
    if integration == "riemann_trapezoid":
        if n_steps < 2:
            raise ValueError("n_steps must be at least 2 for integration='riemann_trapezoid'")
        alphas = np.linspace(0, 1, n_steps)
        weights = np.full(n_steps, 1 / (n_steps - 1))
        weights[[0, -1]] /= 2
        return alphas, weights
    offsets = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}
    alphas = (np.arange(n_steps) + offsets[integration]) / n_steps
    return alphas, np.full(n_steps, 1 / n_steps)


def baseline_embeddings(problem: Problem, baseline: Any) -> torch.Tensor:
    """The baseline ``(1, n, hidden)`` in input-embedding space.

    ``"zeros"``; a special token of the tokenizer (``"pad"``, ``"unk"``, ``"mask"``, ``"eos"``,
    ``"bos"``) or any token id, its embedding at every position; or an array broadcastable
    to ``(n, hidden)``.
    """
    base = problem.base_embeddings()
    if isinstance(baseline, str) and baseline == "zeros":
        return torch.zeros_like(base)
    if isinstance(baseline, str):
        special = getattr(problem.scope.tokenizer, f"{baseline}_token_id", None)
        if special is None:
            raise ValueError(f"baseline={baseline!r}: the tokenizer of {problem.scope.name} has no {baseline} "
                             "token; use baseline='zeros' or a token id")
        return problem.token_embeddings(special, problem.n)
    if is_int(baseline):
        return problem.token_embeddings(token_id(problem.scope.tokenizer, baseline, "baseline"), problem.n)
    tensor = torch.as_tensor(baseline, dtype=base.dtype, device=base.device)
    try:
        return torch.broadcast_to(tensor, base.shape[1:])[None].clone()
    except RuntimeError:
        raise ValueError(f"baseline has shape {tuple(tensor.shape)}; it must broadcast to (positions, hidden) "
                         f"= {tuple(base.shape[1:])}") from None


@register("integrated_gradients", needs={"model", "gradients"}, cost=10)
def integrated_gradients(problem: Problem, *, aggregation: str = "l2", score: str = "logit", contrast: Token = None,
                         chunk_size: int = 6, n_steps: int = 50, baseline: Baseline = "zeros",
                         integration: str = "gausslegendre", step_batch: int | None = None,
                         reuse_prefix: bool = False) -> Raw:
    """Integrated gradients (Sundararajan et al. 2017) from a baseline to the input embeddings.

    ``n_steps`` interpolation points (Gauss-Legendre by default, as Captum) are batched
    into the forward pass; each chunk of targets gets one forward pass over the positions
    it needs and one backward pass per target (or one batched pass, for small graphs). With
    ``reuse_prefix=True`` (causal LMs) the sequence instead runs forward once, chunk after
    chunk through a KV cache that keeps its autograd graph: no position is recomputed, but
    on CPU the backward passes through its small segments (matrix products of fewer rows)
    cost as much as the forward passes saved (SmolLM2, 30 targets, 50 steps: 47.9-49.1 s
    with it against 46.7-47.1 s without, alternating in one process), so it is off by
    default. The completeness delta (attributions summed over positions and embedding
    dimensions minus the score difference between input and baseline) is reported per
    target in ``Saliency.deltas``; it shrinks as ``n_steps`` grows.
    """
    alphas, weights = quadrature(integration, n_steps)
    chunks = problem.chunks(chunk_size)
    cuts = [problem.length(rows) for rows in chunks]
    if reuse_prefix and problem.prefix_reuse_works(cuts):
        totals = _ig_reusing_prefix(problem, baseline, chunks, cuts, alphas, weights, step_batch or max(
            1, min(n_steps, _ROW_BUDGET // (chunk_size * cuts[-1]))))
    else:
        totals = _ig_per_chunk(problem, baseline, chunks, alphas, weights, step_batch)
    base, reference = problem.base_embeddings(), baseline_embeddings(problem, baseline)
    spans = problem.spans
    k_all = len(problem.targets)
    everything = np.arange(k_all)
    length = problem.length(everything)
    with torch.no_grad():   # every target's score at the input and at the baseline, from one pass
        ends = problem.read_scores(problem.hidden(torch.cat([base, reference])[:, :length]), everything).float()
    differences = (ends[0] - ends[1]).cpu().numpy().astype(np.float64)
    matrix, deltas = np.zeros((k_all, problem.n)), np.zeros(k_all)
    for rows, total in zip(chunks, totals):
        diff = (base - reference)[0, :total.shape[1]].float()
        attributions = diff * total                                            # (k, L, hidden)
        deltas[rows] = attributions.sum((1, 2)).cpu().numpy() - differences[rows]
        scores = aggregate(attributions, aggregation)
        for i, row in enumerate(rows):
            place(matrix, row, scores[i], spans[row])
    return Raw(matrix, signed=aggregation == "sum", deltas=deltas, extras={"score_differences": differences})


def _steps(n_steps: int, per_batch: int, alphas: np.ndarray, weights: np.ndarray, like: torch.Tensor):
    """Batches of (alphas, weights) as tensors."""
    for start in range(0, n_steps, per_batch):
        yield (torch.as_tensor(alphas[start:start + per_batch], dtype=like.dtype, device=like.device),
               torch.as_tensor(weights[start:start + per_batch], dtype=torch.float32, device=like.device))


def _ig_per_chunk(problem: Problem, baseline: Any, chunks: list[np.ndarray], alphas: np.ndarray,
                  weights: np.ndarray, step_batch: int | None) -> list[torch.Tensor]:
    """Weighted gradient sums ``(k, L, hidden)`` per chunk, one forward pass per chunk and step batch."""
    base, reference = problem.base_embeddings(), baseline_embeddings(problem, baseline)
    totals = []
    for rows in chunks:
        length = problem.length(rows)
        x, b = base[:, :length], reference[:, :length]
        per_batch = step_batch or max(1, min(len(alphas), _ROW_BUDGET // (len(rows) * length)))
        total = torch.zeros(len(rows), length, x.shape[-1], dtype=torch.float32, device=x.device)
        for a, w in _steps(len(alphas), per_batch, alphas, weights, x):
            grads = problem.gradients(b + a[:, None, None] * (x - b), rows)      # (k, steps, L, hidden)
            total += torch.einsum("ksld,s->kld", grads.float(), w)
        totals.append(total)
    return totals


def _ig_reusing_prefix(problem: Problem, baseline: Any, chunks: list[np.ndarray], cuts: list[int],
                       alphas: np.ndarray, weights: np.ndarray, per_batch: int) -> list[torch.Tensor]:
    """Weighted gradient sums per chunk from one forward pass over the sequence per step batch.

    Chunk ``c``'s positions run through the model with the KV cache of the chunks before
    (graph kept), then one backward pass batched over chunk ``c``'s targets reaches every
    earlier position through the cache.
    """
    length = cuts[-1]
    base = problem.base_embeddings()[:, :length]
    reference = baseline_embeddings(problem, baseline)[:, :length]
    totals = [torch.zeros(len(rows), cut, base.shape[-1], dtype=torch.float32, device=base.device)
              for rows, cut in zip(chunks, cuts)]
    for a, w in _steps(len(alphas), per_batch, alphas, weights, base):
        points = reference + a[:, None, None] * (base - reference)              # (steps, L, hidden)
        cache, leaves, start = problem.new_cache(), [], 0
        for rows, cut, total in zip(chunks, cuts, totals):
            leaf = points[:, start:cut].detach().requires_grad_(True)
            leaves.append(leaf)
            hidden = problem.segment_hidden(leaf, start, cache)
            scores = problem.read_scores(hidden, rows, shift=start).sum(0)       # (k,)
            grads = torch.cat(batched_grad(scores, leaves, problem.scope, retain_graph=True), dim=2)
            total += torch.einsum("ksld,s->kld", grads.float(), w)
            start = cut
        del cache, leaves
    return totals
