"""Streaming NMF of a corpus's FFN activations (scikit-learn ``MiniBatchNMF``); the result is :mod:`.factor_result`.

The model runs over the corpus ``epochs`` times to fit the factors in steps of
``batch_rows`` positions, then once more to find where each factor fires most. Memory
holds one batch of activations, never the corpus.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.checks import Flag, Integer
from ..core.results import analysis
from .data import CorpusData
from .factor_result import CorpusFactors
from .stream import factor_rows, forward_batches
from .topk import TopK


@analysis(n=Integer(1), random_state=Integer(0, none=True), epochs=Integer(1), batch_rows=Integer(1),
          progress=Flag())
def fit_factors(corpus: CorpusData, n: int = 10, *, random_state: int | None = 0, epochs: int = 1,
                batch_rows: int = 512, progress: bool = True) -> CorpusFactors:
    """Streaming NMF of the corpus's FFN activations into ``n`` factors, and each factor's top examples.

    Activations are **clipped at zero** (NMF needs non-negative input). The model runs
    over the corpus ``epochs`` times to fit scikit-learn's ``MiniBatchNMF`` in steps of
    ``batch_rows`` positions, then once more to find where each factor fires most. Memory
    holds one batch of activations, never the corpus. The result is also kept as
    ``corpus.factor_result`` for :meth:`~lmscope.corpus.Corpus.top_examples` and saved with the corpus.
    """
    from sklearn.decomposition import MiniBatchNMF

    scope = corpus.require_scope()
    columns = len(corpus.layers) * corpus.n_neurons
    if n > columns:
        raise ValueError(f"n={n} is larger than the {columns} neurons being factorised; choose n <= {columns}")
    if n > corpus.n_counted:
        raise ValueError(f"n={n} is larger than the {corpus.n_counted} positions in the corpus; choose "
                         f"n <= {corpus.n_counted} or add texts")
    step_rows = max(batch_rows, n)
    model = MiniBatchNMF(n_components=n, batch_size=step_rows, init="nndsvda", random_state=random_state)
    buffer: list[np.ndarray] = []
    buffered = 0
    batch_size = corpus.settings.get("batch_size", 8)

    def flush(final: bool) -> None:
        nonlocal buffer, buffered
        rows = np.concatenate(buffer) if len(buffer) > 1 else buffer[0]
        start = 0
        while rows.shape[0] - start >= step_rows or (final and rows.shape[0] - start >= n):
            model.partial_fit(rows[start:start + step_rows])
            start += step_rows
        buffer = [rows[start:]] if start < rows.shape[0] else []
        buffered = rows.shape[0] - start

    for epoch in range(epochs):
        for valid, _gidx, acts in forward_batches(scope, corpus, layers=corpus.layers, batch_size=batch_size,
                                                  desc=f"corpus: NMF epoch {epoch + 1}/{epochs}", progress=progress):
            rows = factor_rows(acts, corpus.layers, valid)
            if rows.shape[0]:
                buffer.append(rows)
                buffered += rows.shape[0]
            if buffered >= step_rows:
                flush(final=False)
        if buffered:
            flush(final=True)
        buffer, buffered = [], 0

    components = model.components_.astype(np.float32)
    top = TopK(corpus.k, n, device=torch.device("cpu"))
    total = np.zeros(n)
    dominant = np.zeros(n, dtype=np.int64)
    for valid, gidx, acts in forward_batches(scope, corpus, layers=corpus.layers, batch_size=batch_size,
                                             desc="corpus: factor examples", progress=progress):
        rows = factor_rows(acts, corpus.layers, valid)
        if not rows.shape[0]:
            continue
        activity = model.transform(rows).astype(np.float32)
        total += activity.sum(axis=0)
        dominant += np.bincount(activity.argmax(axis=1), minlength=n)
        top.update(torch.from_numpy(activity), gidx[valid].cpu())
    values, index = top.result()
    corpus.factor_result = CorpusFactors(
        components=components, layers=list(corpus.layers), n_neurons=corpus.n_neurons, top_values=values,
        top_index=index, mean_activity=(total / max(corpus.n_counted, 1)).astype(np.float32),
        dominant_count=dominant, random_state=random_state, epochs=epochs, steps=int(model.n_steps_))
    return corpus.factor_result
