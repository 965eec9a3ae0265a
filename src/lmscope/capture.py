"""Hooks that record FFN activations, residual-stream states and attentions in one forward pass.

Everything is captured from a single teacher-forced pass over the final sequence, and only
what was asked for. Hooks live inside :func:`hooks`, a context manager that removes them
even when the forward pass raises.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .anatomy import Anatomy
from .core.checks import Constraint, names_in
from .core.finite import require_finite
from .core.record import Record

CAPTURABLE = ("activations", "hidden_states", "attentions")
DEFAULT_CAPTURE = ("activations", "hidden_states")


@contextmanager
def hooks(pairs: Iterable[tuple[nn.Module, str, Callable]]) -> Iterator[None]:
    """Install ``(module, "pre"|"post", fn)`` hooks for the duration of the block, always removed."""
    handles = []
    try:
        for module, kind, fn in pairs:
            if kind == "pre":
                handles.append(module.register_forward_pre_hook(fn, with_kwargs=True))
            else:
                handles.append(module.register_forward_hook(fn))
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def eager_attention(model: nn.Module, needed: bool) -> Iterator[None]:
    """Temporarily switch to eager attention: fused kernels (sdpa, flash) hide the weights."""
    current = getattr(model.config, "_attn_implementation", "eager")
    if not needed or current == "eager":
        yield
        return
    if not hasattr(model, "set_attn_implementation"):
        raise ValueError(f"this model uses {current!r} attention, which hides attention weights; "
                         "load it with attn_implementation='eager' to capture attentions")
    model.set_attn_implementation("eager")
    try:
        yield
    finally:
        model.set_attn_implementation(current)


def _first(output):
    return output[0] if isinstance(output, (tuple, list)) else output


@dataclass
class Captured:
    """Raw tensors from one pass, batch first; the run object turns them into numpy."""

    logits: torch.Tensor | None = None                     # (batch, kept positions, vocab)
    activations: dict[int, torch.Tensor] = field(default_factory=dict)   # layer -> (batch, pos, neurons)
    hidden_states: dict[int, torch.Tensor] = field(default_factory=dict)  # 0 = block input .. n_layers
    attentions: dict[int, torch.Tensor] = field(default_factory=dict)    # layer -> (batch, heads, q, k)


@dataclass(frozen=True)
class Captures(Constraint):
    """What a pass may record: one name or a collection of names from :data:`CAPTURABLE` (or none)."""

    def describe(self) -> str:
        return f"a name or a list of names from {names_in(CAPTURABLE)} (or an empty list)"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, str):
            return value in CAPTURABLE
        if isinstance(value, (bytes, dict)) or not isinstance(value, Iterable):
            return False
        return all(isinstance(v, str) and v in CAPTURABLE for v in value)

    def normalise(self, value: Any) -> tuple[str, ...]:
        return (value,) if isinstance(value, str) else tuple(value)

    def invalid(self) -> list[Any]:
        return ["logits", ("activations", "logits"), 3, None]


CAPTURE = Captures()


def _accepts_logits_to_keep(model: nn.Module) -> bool:
    return "logits_to_keep" in inspect.signature(model.forward).parameters


def run_forward(anatomy: Anatomy, input_ids: torch.Tensor, *, attention_mask: torch.Tensor | None = None,
                capture: Iterable[str] = DEFAULT_CAPTURE, layers: list[int] | None = None,
                logits_from: int | None = None, extra_inputs: dict | None = None) -> Captured:
    """One teacher-forced forward pass recording what ``capture`` asks for.

    ``logits_from``: keep logits only from this position on (None: keep none), so long texts
    do not hold a (positions x vocabulary) matrix nobody asked for.
    """
    model = anatomy.model
    capture = set(capture)
    layers = list(range(anatomy.n_layers)) if layers is None else layers
    got = Captured()
    blocks = anatomy.blocks
    pairs: list[tuple[nn.Module, str, Callable]] = []

    if "activations" in capture:
        for layer in layers:
            def save_act(_m, args, kwargs, layer=layer):
                x = args[0] if args else next(iter(kwargs.values()))
                # Some families (OPT) flatten (batch, positions) before the FFN.
                got.activations[layer] = x.detach().reshape(*input_ids.shape, -1)
            pairs.append((anatomy.ffn(layer), "pre", save_act))

    if "hidden_states" in capture:
        def save_input(_m, args, kwargs):
            x = args[0] if args else kwargs["hidden_states"]
            got.hidden_states[0] = x.detach()
        pairs.append((blocks[0], "pre", save_input))
        for i, block in enumerate(blocks):
            def save_out(_m, _args, output, i=i):
                got.hidden_states[i + 1] = _first(output).detach()
            pairs.append((block, "post", save_out))

    want_attn = "attentions" in capture
    kwargs = dict(extra_inputs or {})
    if attention_mask is not None:
        kwargs["attention_mask"] = attention_mask
    if want_attn:
        kwargs["output_attentions"] = True
    if _accepts_logits_to_keep(model):
        # Project only the positions whose logits are used onto the vocabulary.
        n_keep = input_ids.shape[1] - logits_from if logits_from is not None else 1
        kwargs["logits_to_keep"] = max(n_keep, 1)
    with eager_attention(model, want_attn), hooks(pairs), torch.no_grad():
        out = model(input_ids=input_ids, **kwargs)
    if want_attn:
        if out.attentions is None or len(out.attentions) != anatomy.n_layers:
            raise RuntimeError("the model did not return attention weights; load it with attn_implementation='eager'")
        got.attentions = {layer: out.attentions[layer].detach() for layer in layers}
    if logits_from is not None:
        n_keep = input_ids.shape[1] - logits_from
        got.logits = out.logits[:, -n_keep:].detach() if n_keep else out.logits[:, :0].detach()
    return got


def store_captures(record: Record, got: Captured, *, capture: tuple[str, ...], layers: list[int], n_layers: int,
                   logits_from: int | None = None, activation_dtype: str = "float32") -> Record:
    """Put what one pass of batch size 1 captured into ``record`` as numpy, after checking it is finite.

    The one place a forward pass becomes a record's arrays, for runs and corpus documents
    alike. A NaN or inf stops it with the first place (in layer order) where it appeared;
    activations stored as float16 are checked again after the cast, which can overflow.
    """
    _require_finite(got, capture, layers, n_layers, logits_from)
    if "activations" in capture:
        stacked = np.stack([got.activations[layer][0].float().cpu().numpy().T for layer in layers])
        with np.errstate(over="ignore"):        # an overflow to inf is refused just below, with its fix
            record.activations = stacked.astype(np.float16 if activation_dtype == "float16" else np.float32,
                                                copy=False)
        require_finite(record.activations, "activations stored as float16 (beyond its range of +-65504)",
                       axis=2, fix="keep activation_dtype='float32'")
        record.activation_layers = list(layers)
    if "hidden_states" in capture:
        record.hidden_states = np.stack([got.hidden_states[i][0].float().cpu().numpy() for i in range(n_layers + 1)])
    if "attentions" in capture:
        record.attentions = np.stack([got.attentions[layer][0].float().cpu().numpy() for layer in layers])
        record.attention_layers = list(layers)
    return record


def _require_finite(got: Captured, capture: tuple[str, ...], layers: list[int], n_layers: int,
                    logits_from: int | None) -> None:
    """Stop with the first place (in layer order) where the capture pass produced NaN or inf."""
    if "hidden_states" in capture:
        require_finite(got.hidden_states[0][0], "the embeddings (hidden_states[0])", axis=0)
    for layer in range(n_layers):
        if "activations" in capture and layer in layers:
            require_finite(got.activations[layer][0], f"activations of layer {layer}", axis=0)
        if "hidden_states" in capture:
            require_finite(got.hidden_states[layer + 1][0], f"hidden states after layer {layer}", axis=0)
        if "attentions" in capture and layer in layers:
            require_finite(got.attentions[layer][0], f"attention weights of layer {layer}", axis=1)
    if got.logits is not None:
        require_finite(got.logits[0], "the model's output logits", axis=0, offset=logits_from or 0)
