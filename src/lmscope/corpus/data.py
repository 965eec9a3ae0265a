"""The data of a corpus, apart from the result that shows it: ids by document, top examples, the model link."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.checks import Integer, check
from ..core.record import ModelLink
from .factor_result import CorpusFactors


@dataclass(eq=False)
class CorpusData:
    """The data of a corpus: every kept token id by document, and the top examples of every neuron.

    :class:`~lmscope.corpus.Corpus` adds what reads the model again or shows the data; the
    streaming modules work on this plain part, so they never import the result.
    """


    model_name: str
    layers: list[int]
    n_neurons: int
    k: int
    ids: np.ndarray                     # (tokens,) int32
    doc_offsets: np.ndarray             # (docs + 1,) int64
    segments: np.ndarray                # (segments, 4) int64: doc, start, end, count_from
    token_strings: dict[int, str]       # display string of every id in the corpus
    top_values: np.ndarray              # (layers, k, neurons) float32
    top_index: np.ndarray               # (layers, k, neurons) int64
    n_counted: int                      # positions that counted
    settings: dict[str, Any] = field(default_factory=dict)
    factor_result: CorpusFactors | None = None
    scope: ModelLink | None = field(default=None, repr=False)


    # ------------------------------------------------------------------ basics
    @property
    def n_docs(self) -> int:
        return len(self.doc_offsets) - 1

    @property
    def n_tokens(self) -> int:
        return len(self.ids)

    @property
    def exclude_first(self) -> bool:
        return bool(self.settings.get("exclude_first", True))

    def _doc(self, doc: Any) -> int:
        """``doc`` as a document index (negative counts from the last)."""
        doc = check("doc", doc, Integer())
        if not -self.n_docs <= doc < self.n_docs:
            raise ValueError(f"doc: document {doc} is out of range: the corpus has {self.n_docs} documents "
                             f"(0..{self.n_docs - 1}); negative counts from the last")
        return doc % self.n_docs

    def token_ids(self, doc: int) -> np.ndarray:
        """Token ids (int64) of the kept tokens of text ``doc``."""
        doc = self._doc(doc)
        return self.ids[self.doc_offsets[doc]:self.doc_offsets[doc + 1]].astype(np.int64)

    def tokens(self, doc: int) -> list[str]:
        """Display strings of the kept tokens of text ``doc``."""
        return [self.token_strings[int(i)] for i in self.token_ids(doc)]

    def text(self, doc: int) -> str:
        """Text ``doc`` as kept (after truncation), as the attached model's tokenizer decodes its ids.

        A corpus loaded without a model joins the display strings instead, which equals the
        text only when no token is a partial character (see :mod:`lmscope.core.tokens`).
        """
        if self.scope is not None:
            return self.scope.tokenizer.decode(self.token_ids(doc).tolist(), skip_special_tokens=False)
        return "".join(self.tokens(doc))

    def locate(self, index: int) -> tuple[int, int]:
        """``(doc, position)`` of global token index ``index``."""
        doc = int(np.searchsorted(self.doc_offsets, index, side="right")) - 1
        return doc, int(index - self.doc_offsets[doc])

    def require_scope(self) -> ModelLink:
        """The model this corpus was read with, needed to run it again (factors, captures)."""
        if self.scope is None:
            raise ValueError("this corpus is not attached to a model (it was loaded from disk?); attach one with "
                             "lmscope.load_corpus(path, scope=lmscope.load(...))")
        return self.scope
