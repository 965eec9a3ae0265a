"""Attention-based saliency: raw attention, attention rollout and attention flow (Abnar & Zuidema 2020).

All three read the attention weights of one forward pass (fused kernels such as sdpa hide
them, so the pass runs with eager attention, restored afterwards). Rollout and flow treat
each layer as mixing positions by ``0.5 * A + 0.5 * I`` (attention averaged over heads plus
the residual connection, rows renormalised): rollout multiplies these matrices from the
first layer up; flow finds the maximum flow from the target's read position at the top to
each input position at the bottom of the layered graph whose edge capacities they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..capture import run_forward
from .engine import Problem
from .registry import Raw, register

# Attention flow runs on integer capacities: weights are scaled by this and rounded.
FLOW_SCALE = 1 << 20


def _attentions(problem: Problem) -> np.ndarray:
    """Attention weights ``(layers, heads, L, L)`` as float64 over the positions the targets need."""
    length = problem.length(np.arange(len(problem.targets)))
    ids = problem.ids[:length][None]
    try:
        got = run_forward(problem.anatomy, ids, capture=("attentions",), layers=None, logits_from=None)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"attention saliency needs the model's attention weights, which {problem.scope.name} "
                         f"does not expose as loaded ({exc}); load it with attn_implementation='eager', "
                         "or use a gradient method such as 'grad_x_input'") from exc
    return np.stack([got.attentions[layer][0].double().cpu().numpy() for layer in range(problem.anatomy.n_layers)])


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


def _check_residual(residual: Any) -> bool:
    if not isinstance(residual, bool):
        raise ValueError(f"residual must be True or False, got {residual!r}")
    return residual


@register("attention", options={"layer": -1, "head": None})
def attention(problem: Problem, *, layer: int | str, head: int | None, **_: Any) -> Raw:
    """Attention weights from the target's read position: ``layer`` (index, default last, or ``"mean"``), heads averaged or one ``head``."""
    attn = _attentions(problem)
    n_layers, n_heads = attn.shape[:2]
    if isinstance(layer, str):
        if layer != "mean":
            raise ValueError(f"layer={layer!r} is not known; pass a layer index (0..{n_layers - 1}, negative from "
                             "the end) or 'mean' for the average over layers")
        chosen = attn.mean(0)
    elif isinstance(layer, (int, np.integer)) and not isinstance(layer, bool) and -n_layers <= layer < n_layers:
        chosen = attn[int(layer)]
    else:
        raise ValueError(f"layer={layer!r} is out of range: this model has {n_layers} layers (0..{n_layers - 1}), "
                         "or pass 'mean'")
    if head is None:
        weights = chosen.mean(0)
    elif isinstance(head, (int, np.integer)) and not isinstance(head, bool) and 0 <= head < n_heads:
        weights = chosen[int(head)]
    else:
        raise ValueError(f"head={head!r} is out of range: this model has {n_heads} heads (0..{n_heads - 1}); "
                         "None averages them")
    return Raw(_rows(problem, weights), signed=False)


@register("attention_rollout", options={"residual": True})
def attention_rollout(problem: Problem, *, residual: bool, **_: Any) -> Raw:
    """Attention rollout (Abnar & Zuidema 2020): head-averaged attention plus residual, multiplied across layers."""
    mixing = _mixing(_attentions(problem), _check_residual(residual))
    rollout = mixing[0]
    for layer_mix in mixing[1:]:
        rollout = layer_mix @ rollout
    return Raw(_rows(problem, rollout), signed=False)


@register("attention_flow", options={"residual": True})
def attention_flow(problem: Problem, *, residual: bool, **_: Any) -> Raw:
    """Attention flow (Abnar & Zuidema 2020): maximum flow through the layers' attention graph to each input.

    Solved with SciPy's ``maximum_flow`` on integer capacities (weights x 2^20, rounded),
    one flow problem per (target, input position).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    mixing = _mixing(_attentions(problem), _check_residual(residual))  # (layers, L, L)
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
    return Raw(matrix, signed=False)


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
