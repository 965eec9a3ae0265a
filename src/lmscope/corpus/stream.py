"""The corpus through the model: right-padded batches of segments, their forward passes, and one document's capture.

Texts of a batch are padded on the right and the model gets the attention mask, so every
real token sees exactly what it would alone; padded positions never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

from ..capture import CAPTURE, run_forward, store_captures
from ..core.checks import resolve_layers
from ..core.record import ModelLink, Record
from .data import CorpusData


def pad_id(tokenizer: Any) -> int:
    """The id that pads a batch: the tokenizer's pad token, else its end-of-text token, else 0."""
    for name in ("pad_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if isinstance(value, int):
            return value
    return 0


def make_batches(corpus: CorpusData, batch_size: int, pad: int) -> Iterator[tuple[np.ndarray, ...]]:
    """Right-padded batches of segments, longest first: ``(input_ids, attention_mask, counted, global index)``.

    ``counted`` marks the positions that count: real tokens, not padding, not before the
    segment's ``count_from`` (window overlap), and not a text's first position when the
    corpus excludes it.
    """
    segments = corpus.segments
    order = np.argsort(-(segments[:, 2] - segments[:, 1]), kind="stable")
    exclude_first = corpus.exclude_first
    for begin in range(0, len(order), batch_size):
        chosen = segments[order[begin:begin + batch_size]]
        lengths = chosen[:, 2] - chosen[:, 1]
        width = int(lengths.max())
        input_ids = np.full((len(chosen), width), pad, dtype=np.int64)
        mask = np.zeros((len(chosen), width), dtype=np.int64)
        counted = np.zeros((len(chosen), width), dtype=bool)
        gidx = np.zeros((len(chosen), width), dtype=np.int64)
        for row, (doc, start, end, count_from) in enumerate(chosen.tolist()):
            base = int(corpus.doc_offsets[doc]) + start
            input_ids[row, :end - start] = corpus.ids[base:base + end - start]
            mask[row, :end - start] = 1
            counted[row, count_from:end - start] = True
            if exclude_first and start == 0:
                counted[row, 0] = False
            gidx[row] = base + np.arange(width)
        yield input_ids, mask, counted, gidx


def forward_batches(scope: ModelLink, corpus: CorpusData, *, layers: list[int], batch_size: int, desc: str,
                    progress: bool) -> Iterator[tuple[torch.Tensor, torch.Tensor, dict[int, torch.Tensor]]]:
    """Run the model over the corpus batch by batch: ``(counted (flat bool), global index (flat), activations)``."""
    from tqdm.auto import tqdm

    device = scope.device
    pad = pad_id(scope.tokenizer)
    total = int((corpus.segments[:, 2] - corpus.segments[:, 1]).sum())
    with tqdm(total=total, desc=desc, unit="tok", disable=not progress, leave=False) as bar:
        for input_ids, mask, counted, gidx in make_batches(corpus, batch_size, pad):
            got = run_forward(scope.anatomy, torch.as_tensor(input_ids, device=device),
                              attention_mask=torch.as_tensor(mask, device=device), capture=("activations",),
                              layers=layers, logits_from=None)
            yield (torch.as_tensor(counted.reshape(-1), device=device),
                   torch.as_tensor(gidx.reshape(-1), device=device), got.activations)
            bar.update(int(mask.sum()))


def factor_rows(acts: dict[int, torch.Tensor], layers: list[int], valid: torch.Tensor) -> np.ndarray:
    """Counted positions as rows of every layer's neurons side by side, clipped at zero, for NMF."""
    flat = [acts[layer].reshape(valid.numel(), -1)[valid] for layer in layers]
    return torch.cat(flat, dim=1).clamp_(min=0).float().cpu().numpy()


def capture_document(scope: ModelLink, record: Record, capture: Iterable[str], layers: Any) -> Record:
    """``record`` (one document's tokens) with what ``capture`` names filled in by one forward pass alone.

    The document is read unpadded, as :meth:`lmscope.scope.Scope.analyze` would read it;
    ``layers`` (None: every layer) applies to activations and attentions.
    """
    capture = CAPTURE.check("capture", capture)
    layers = resolve_layers(layers, scope.n_layers)
    context = scope.context_length
    if context is not None and record.n_tokens > context:
        raise ValueError(f"this document has {record.n_tokens} tokens but {scope.name} reads at most {context}; "
                         "capture a shorter document (its windows were read separately by the corpus)")
    ids = torch.as_tensor(record.token_ids, device=scope.device)[None]
    got = run_forward(scope.anatomy, ids, capture=capture, layers=layers, logits_from=None)
    return store_captures(record, got, capture=capture, layers=layers, n_layers=scope.n_layers)
