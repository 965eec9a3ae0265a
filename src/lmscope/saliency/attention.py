"""Attention-based saliency: raw attention, attention rollout and attention flow (Abnar & Zuidema 2020).

All three read attention weights: the run's own, when it captured them for the layers a
method needs (``capture=("attentions", ...)``, as the explorer does), else those of one
forward pass over the run's tokens (fused kernels such as sdpa hide them, so that pass
runs with eager attention, restored afterwards). Both give the same numbers: the capture
is the same pass. Rollout and flow treat
each layer as mixing positions by ``0.5 * A + 0.5 * I`` (attention averaged over heads plus
the residual connection, rows renormalised): rollout multiplies these matrices from the
first layer up; flow finds the maximum flow from the target's read position at the top to
each input position at the bottom of the layered graph whose edge capacities they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..capture import run_forward
from ..core.checks import resolve_layers
from .engine import Problem
from .registry import Raw, register

# Attention flow runs on integer capacities: weights are scaled by this and rounded.
FLOW_SCALE = 1 << 20


def attention_weights(problem: Problem, layers: list[int]) -> tuple[np.ndarray, str]:
    """Attention weights ``(len(layers), heads, n, n)`` as float64, and where they came from.

    ``"captured"``: the run's own weights, when it captured every layer in ``layers``;
    ``"model"``: one forward pass over the run's tokens, stored as a capture stores them
    (float32), so both sources give identical matrices.
    """
    captured, have = problem.attentions, problem.attention_layers
    if captured is not None and captured.shape[-1] == problem.n and set(layers) <= set(have):
        return captured[[have.index(layer) for layer in layers]].astype(np.float64), "captured"
    try:
        got = run_forward(problem.anatomy, problem.ids[None], capture=("attentions",), layers=layers,
                          logits_from=None)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"attention saliency needs the model's attention weights, which {problem.scope.name} "
                         f"does not expose as loaded ({exc}); load it with attn_implementation='eager', "
                         "or use a gradient method such as 'grad_x_input'") from exc
    weights = np.stack([got.attentions[layer][0].float().cpu().numpy() for layer in layers])
    return weights.astype(np.float64), "model"


def _all_layers(problem: Problem) -> tuple[np.ndarray, str]:
    return attention_weights(problem, list(range(problem.anatomy.n_layers)))


def _mixing(attentions: np.ndarray, residual: bool) -> np.ndarray:
    """Per layer, the head-averaged attention, with the residual connection mixed in if asked."""
    mixed = attentions.mean(1)                                          # (layers, L, L)
    if residual:
        mixed = 0.5 * mixed + 0.5 * np.eye(mixed.shape[-1])[None]
        mixed = mixed / mixed.sum(-1, keepdims=True)
    return mixed


def _rows(problem: Problem, per_read: np.ndarray) -> np.ndarray:
    """Scatter rows indexed by read position into the (targets, positions) matrix, within each span."""
    matrix = np.zeros((len(problem.targets), problem.n))
    for i, (read, span) in enumerate(zip(problem.reads, problem.spans)):
        matrix[i, :span] = per_read[read, :span]
    return matrix


@register("attention", needs={"attentions"}, cost=0.1)
def attention(problem: Problem, *, layer: int | str = -1, head: int | None = None) -> Raw:
    """Attention weights from the target's read position: ``layer`` (index, default last, or ``"mean"``), heads averaged or one ``head``."""
    n_layers = problem.anatomy.n_layers
    if layer == "mean":
        attn, source = _all_layers(problem)
        chosen = attn.mean(0)
    else:
        attn, source = attention_weights(problem, resolve_layers(layer, n_layers, name="layer"))
        chosen = attn[0]
    n_heads = chosen.shape[0]
    if head is not None and head >= n_heads:
        raise ValueError(f"head: head {head} is out of range: this model has {n_heads} heads "
                         f"(0..{n_heads - 1}); None averages them")
    weights = chosen.mean(0) if head is None else chosen[head]
    return Raw(_rows(problem, weights), signed=False, extras={"attention_source": source})


@register("attention_rollout", needs={"attentions"}, cost=0.1)
def attention_rollout(problem: Problem, *, residual: bool = True) -> Raw:
    """Attention rollout (Abnar & Zuidema 2020): head-averaged attention plus residual, multiplied across layers."""
    attn, source = _all_layers(problem)
    mixing = _mixing(attn, residual)
    rollout = mixing[0]
    for layer_mix in mixing[1:]:
        rollout = layer_mix @ rollout
    return Raw(_rows(problem, rollout), signed=False, extras={"attention_source": source})


@register("attention_flow", needs={"attentions"}, cost=4)
def attention_flow(problem: Problem, *, residual: bool = True) -> Raw:
    """Attention flow (Abnar & Zuidema 2020): maximum flow through the layers' attention graph to each input.

    Solved with SciPy's ``maximum_flow`` on integer capacities (weights x 2^20, rounded),
    one flow problem per (target, input position).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    attn, origin = _all_layers(problem)
    mixing = _mixing(attn, residual)                                    # (layers, n, n)
    n_layers = mixing.shape[0]
    capacities = np.rint(mixing * FLOW_SCALE).astype(np.int32)
    matrix = np.zeros((len(problem.targets), problem.n))
    graphs: dict[int, Any] = {}
    for i, (read, span) in enumerate(zip(problem.reads, problem.spans)):
        # In a causal model only positions up to the read position can carry flow to it.
        width = int(read) + 1 if problem.causal else problem.n
        if width not in graphs:
            graphs[width] = _flow_graph(capacities[:, :width, :width], csr_matrix)
        graph = graphs[width]
        source = n_layers * width + int(read)                  # top layer, read position
        for position in range(span):
            flow = maximum_flow(graph, source, position)       # bottom layer = node ids 0..width-1
            matrix[i, position] = flow.flow_value / FLOW_SCALE
    return Raw(matrix, signed=False, extras={"attention_source": origin})


def _flow_graph(capacities: np.ndarray, csr_matrix) -> Any:
    """Layered graph: node ``l * width + p`` is position ``p`` entering layer ``l`` (``l = n_layers`` is the top).

    An edge from position ``i`` above layer ``l`` to position ``j`` below it has capacity
    equal to how much ``i`` attends to ``j`` in that layer.
    """
    n_layers, width, _ = capacities.shape
    rows, cols, data = [], [], []
    for layer in range(n_layers):
        upper, lower = np.nonzero(capacities[layer])
        rows.append((layer + 1) * width + upper)
        cols.append(layer * width + lower)
        data.append(capacities[layer][upper, lower])
    size = (n_layers + 1) * width
    return csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size),
                      dtype=np.int32)
