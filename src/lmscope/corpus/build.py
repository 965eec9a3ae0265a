"""Building a corpus: read the texts, run the model over them in batches, keep every neuron's top examples."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from ..core.checks import Flag, Integer, Layers, Text, resolve_layers
from ..core.record import ModelLink
from ..core.results import analysis
from ..core.tokens import display_tokens
from .result import Corpus
from .stream import forward_batches
from .texts import LONG_TEXTS, LongTexts, read_documents
from .topk import TopK

DEFAULT_MAX_LENGTH = 1024   # when the model does not state its context length
GROUP_COLUMNS = 16384       # neurons whose top examples are merged in one call per batch


@analysis(layers=Layers(), batch_size=Integer(1), k=Integer(1), max_length=Integer(2, none=True),
          long_texts=LONG_TEXTS, stride=Integer(1, none=True), exclude_first=Flag(), text_key=Text(),
          progress=Flag())
def build_corpus(scope: ModelLink, texts: Iterable[str] | Iterable[Mapping[str, Any]], *,
                 layers: Iterable[int] | int | None = None, batch_size: int = 8, k: int = 10,
                 max_length: int | None = None, long_texts: LongTexts = "truncate", stride: int | None = None,
                 exclude_first: bool = True, text_key: str = "text", progress: bool = True) -> Corpus:
    """Read ``texts`` in batched forward passes and keep the top-``k`` examples of every neuron of ``layers``.

    ``texts``: any iterable of strings, or of records (a Hugging Face dataset) whose
    ``text_key`` field holds the text; empty texts are skipped. ``layers``: FFN layers to
    watch (default all). Texts longer than ``max_length`` tokens (default: the model's
    context) are truncated with a warning, or split into overlapping windows with
    ``long_texts="window"`` (``stride`` tokens apart, default half a window). A progress
    bar counts tokens (``progress=False`` hides it). See :mod:`lmscope.corpus` for padding
    and the first position. Peak memory is one batch of activations, about ``batch_size x
    max_length x len(layers) x neurons x 4`` bytes: lower ``batch_size`` or ``max_length``
    for long texts.
    """
    layers = resolve_layers(layers, scope.n_layers)
    context = scope.context_length
    if max_length is None:
        max_length = context or DEFAULT_MAX_LENGTH
    if context is not None and max_length > context:
        raise ValueError(f"max_length={max_length} exceeds the context of {scope.name} ({context} positions); "
                         f"choose max_length <= {context}")
    if stride is None:
        stride = max(1, max_length // 2)
    if stride > max_length:
        raise ValueError(f"stride must be an integer in 1..max_length ({max_length}), got {stride!r}")

    tokenizer = scope.tokenizer
    docs = read_documents(tokenizer, texts, text_key=text_key, max_length=max_length, long_texts=long_texts,
                          stride=stride)
    unique = np.unique(docs.ids)
    strings = dict(zip(unique.tolist(), display_tokens(tokenizer, unique.tolist())))
    corpus = Corpus(model_name=scope.name, layers=layers, n_neurons=scope.anatomy.n_neurons, k=k,
                    ids=docs.ids.astype(np.int32), doc_offsets=docs.offsets, segments=docs.segments,
                    token_strings=strings, top_values=np.empty(0), top_index=np.empty(0), n_counted=0,
                    settings={"batch_size": batch_size, "max_length": max_length, "long_texts": long_texts,
                              "stride": stride, "exclude_first": exclude_first, "skipped": docs.skipped,
                              "truncated": docs.truncated},
                    scope=scope)

    device = scope.device
    n_neurons = corpus.n_neurons
    # Layers are merged in groups (one top-k per group, few calls per batch), the group's
    # activations copied side by side once, padded and left-out positions set to -inf.
    per_group = max(1, GROUP_COLUMNS // n_neurons)
    groups = [layers[i:i + per_group] for i in range(0, len(layers), per_group)]
    tops = [TopK(k, len(group) * n_neurons, device) for group in groups]
    counted_total = 0
    for valid, gidx, acts in forward_batches(scope, corpus, layers=layers, batch_size=batch_size,
                                             desc="corpus: top examples", progress=progress):
        counted = int(valid.sum())
        counted_total += counted
        if not counted:
            continue
        skip = ~valid[:, None]
        for top, group in zip(tops, groups):
            rows = torch.cat([acts[layer].reshape(valid.numel(), -1) for layer in group], dim=1)
            top.update(rows.float().masked_fill_(skip, -torch.inf), gidx, counted)
    if counted_total == 0:
        raise ValueError("no position of the corpus counts: every text is a single token and the first position "
                         "is excluded; pass longer texts or exclude_first=False")
    results = [top.result() for top in tops]
    shape = (k, len(layers), n_neurons)
    values = np.concatenate([v for v, _ in results], axis=1).reshape(shape)
    index = np.concatenate([i for _, i in results], axis=1).reshape(shape)
    corpus.top_values = np.ascontiguousarray(values.transpose(1, 0, 2))
    corpus.top_index = np.ascontiguousarray(index.transpose(1, 0, 2))
    corpus.n_counted = counted_total
    return corpus
