"""Neuron activations over a whole corpus, streamed in batches: top examples per neuron and per factor.

``scope.corpus(texts)`` reads every text once in batched forward passes and keeps, for
every FFN neuron of the chosen layers, the ``k`` positions where it fired most (kept
incrementally, so memory does not grow with the corpus: only the token ids are kept, 4
bytes per token, to show contexts). ``corpus.factors(n)`` then fits a streaming NMF
(scikit-learn ``MiniBatchNMF``) on the same activations, re-running the model batch by
batch, and collects the top examples of each factor. ``corpus.document(d)`` is text ``d``
as a data record, which run analyses (``factorize``, ``neuron_activations``) read.

Details that decide what counts:

- **Padding.** Texts of a batch are padded on the right and the model gets the attention
  mask, so every real token sees exactly what it would alone; padded positions never
  count in top examples, factors or statistics.
- **The first position** of every text is left out by default (``exclude_first=True``):
  most models use it as an attention sink with outsized activations that would otherwise
  be every neuron's top example (see :mod:`lmscope.factors`).
- **Long texts.** ``long_texts="truncate"`` (default) keeps the first ``max_length``
  tokens (default: the model's context) and warns how many texts were cut;
  ``long_texts="window"`` covers the whole text in windows of ``max_length`` tokens that
  overlap by ``max_length - stride`` (default stride: half a window); every token counts
  once, in the first window that reaches it.

The modules, in the order the data flows: :mod:`.texts` (texts to documents and windows),
:mod:`.stream` (padded batches through the model), :mod:`.topk` (streaming top-k),
:mod:`.build` (:func:`build_corpus`), :mod:`.streaming_nmf` (:func:`fit_factors`, whose
result is :mod:`.factor_result`), :mod:`.data` (the plain data of a corpus), :mod:`.store`
(save and read), :mod:`.result` (:class:`Corpus`: the data plus what shows or re-reads it).

>>> corpus = scope.corpus(texts, layers=[4], batch_size=8)     # doctest: +SKIP
>>> corpus.top_examples(neuron=(4, 123), k=10)                  # doctest: +SKIP
>>> corpus.factors(n=20); corpus.top_examples(factor=3)         # doctest: +SKIP
"""

from .build import build_corpus
from .data import CorpusData
from .factor_result import CorpusFactors
from .result import Corpus, load_corpus
from .store import CorpusFileError
from .stream import factor_rows, forward_batches, make_batches, pad_id
from .streaming_nmf import fit_factors
from .texts import LongTexts
from .topk import TopK

__all__ = ["Corpus", "CorpusData", "CorpusFactors", "CorpusFileError", "LongTexts", "TopK", "build_corpus", "factor_rows",
           "fit_factors", "forward_batches", "load_corpus", "make_batches", "pad_id"]
