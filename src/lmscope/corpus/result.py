"""The :class:`Corpus` result: every kept token id, the top examples of every neuron, and the factors if fitted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.checks import Integer, check, is_int
from ..core.figures import check_axes, figure_and_axes
from ..core.record import ModelLink, Record
from ..core.results import Result, delegate
from .data import CorpusData
from .store import read_corpus, write_corpus
from .stream import capture_document
from .streaming_nmf import fit_factors

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

EXAMPLE_COLUMNS = ["rank", "activation", "doc", "position", "left", "token", "right"]


@dataclass(eq=False, repr=False)
class Corpus(CorpusData, Result):
    """Top activating examples of FFN neurons (and factors) over many texts; see :func:`~lmscope.corpus.build_corpus`.

    ``ids``: every kept token id, texts one after another (``doc_offsets[d]`` is where text
    ``d`` starts). ``top_values[l, :, n]`` / ``top_index[l, :, n]``: the ``k`` strongest
    activations of neuron ``n`` of ``layers[l]`` and their global token indices (strongest
    first; -inf / -1 where the corpus has fewer counted positions). A document is a data
    record like a run (:meth:`document`), so run analyses read it too.
    """

    factors = delegate(fit_factors)

    def document(self, doc: int, *, capture: tuple[str, ...] | None = None, layers: Any = None) -> Record:
        """Text ``doc`` as a data record (tokens, ids, every token input; its text as :meth:`text` gives it),
        which run analyses read.

        With ``capture`` (e.g. ``("activations",)``) the attached model reads the document
        once, alone, and fills those captures for ``layers`` (None: every layer), so
        ``factorize(corpus.document(3, capture=("activations",)), n=2)`` or
        ``neuron_activations(...)`` run on it.
        """
        ids = self.token_ids(doc)
        record = Record(token_ids=ids, tokens=[self.token_strings[int(i)] for i in ids], n_input=len(ids),
                        decoded_input=self.text(doc), decoded_output="", model_name=self.model_name,
                        settings={"mode": "corpus", "doc": self._doc(doc)}, scope=self.scope)
        if capture is None:
            if layers is not None:
                raise ValueError("layers= chooses the layers to capture; pass capture=('activations',) too")
            return record
        return capture_document(self.require_scope(), record, capture, layers)

    def __repr__(self) -> str:
        factors = f", factors={self.factor_result.n_factors}" if self.factor_result is not None else ""
        return (f"Corpus(model={self.model_name!r}, docs={self.n_docs}, tokens={self.n_tokens}, "
                f"counted={self.n_counted}, layers={self.layers}, k={self.k}{factors})")

    # ------------------------------------------------------------------ top examples
    def top_examples(self, *, neuron: tuple[int, int] | None = None, factor: int | None = None,
                     k: int | None = None, context: int = 8) -> pd.DataFrame:
        """The ``k`` contexts where ``neuron=(layer, index)`` or ``factor=f`` fired most, strongest first.

        Columns: ``rank``, ``activation``, ``doc``, ``position``, ``left`` (up to ``context``
        tokens before), ``token`` (the token the model was reading: the activation is its
        response to it), ``right`` (up to ``context`` tokens after).
        """
        import pandas as pd

        if (neuron is None) == (factor is None):
            raise ValueError("pass exactly one of neuron=(layer, index) or factor=f")
        k = self.k if k is None else check("k", k, Integer(1))
        if k > self.k:
            raise ValueError(f"k must be in 1..{self.k} (the corpus kept the top {self.k}; build it with a larger "
                             f"k= for more), got {k!r}")
        context = check("context", context, Integer(0))
        if neuron is not None:
            values, where = self._neuron_top(neuron)
        else:
            found = self.factor_result
            if found is None:
                raise ValueError("this corpus has no factors yet; call corpus.factors(n=...) first")
            factor = check("factor", factor, Integer(0, found.n_factors - 1))
            values, where = found.top_values[:, factor], found.top_index[:, factor]
        rows = []
        strings = self.token_strings
        for rank, (value, index) in enumerate(zip(values[:k].tolist(), where[:k].tolist())):
            if index < 0:
                break
            doc, position = self.locate(index)
            start, end = self.doc_offsets[doc], self.doc_offsets[doc + 1]
            rows.append({
                "rank": rank, "activation": float(value), "doc": doc, "position": position,
                "left": "".join(strings[int(i)] for i in self.ids[max(start, index - context):index]),
                "token": strings[int(self.ids[index])],
                "right": "".join(strings[int(i)] for i in self.ids[index + 1:min(end, index + 1 + context)]),
            })
        return pd.DataFrame(rows, columns=EXAMPLE_COLUMNS)

    def _neuron_top(self, neuron: Any) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(neuron, (tuple, list)) or len(neuron) != 2 or not all(is_int(x) for x in neuron):
            raise ValueError(f"neuron must be (layer, index), e.g. neuron=({self.layers[0]}, 123); got {neuron!r}")
        layer, index = int(neuron[0]), int(neuron[1])
        if layer not in self.layers:
            raise ValueError(f"layer {layer} was not collected (layers: {self.layers}); build the corpus with "
                             f"layers including it")
        if not 0 <= index < self.n_neurons:
            raise ValueError(f"neuron index {index} is out of range: layers have {self.n_neurons} neurons "
                             f"(0..{self.n_neurons - 1})")
        row = self.layers.index(layer)
        return self.top_values[row, :, index], self.top_index[row, :, index]

    # ------------------------------------------------------------------ the shared exports
    def to_frame(self) -> pd.DataFrame:
        """One row per kept top example of every neuron: ``layer``, ``neuron``, ``rank``, ``activation``,
        ``doc``, ``position``, ``token`` (the contexts: :meth:`top_examples`)."""
        import pandas as pd

        n_layers, k, n = self.top_values.shape
        layer, rank, neuron = np.meshgrid(np.asarray(self.layers), np.arange(k), np.arange(n), indexing="ij")
        index = self.top_index.reshape(-1)
        kept = index >= 0
        index = index[kept]
        doc = np.searchsorted(self.doc_offsets, index, side="right") - 1
        ids = self.ids[index]
        unique, inverse = np.unique(ids, return_inverse=True)
        strings = np.asarray([self.token_strings[int(i)] for i in unique.tolist()], dtype=object)
        return pd.DataFrame({"layer": layer.reshape(-1)[kept], "neuron": neuron.reshape(-1)[kept],
                             "rank": rank.reshape(-1)[kept], "activation": self.top_values.reshape(-1)[kept],
                             "doc": doc, "position": index - self.doc_offsets[doc],
                             "token": strings[inverse.reshape(-1)] if len(ids) else np.asarray([], dtype=object)})

    def to_dict(self) -> dict[str, Any]:
        """Sizes, settings, the top examples (per layer, rank, neuron; None / -1 where missing) and the factors
        as plain data; the token ids themselves are in :meth:`save`'s file."""
        values = self.top_values.astype(object)
        values[np.isneginf(self.top_values)] = None
        return {"model_name": self.model_name, "layers": list(self.layers), "n_neurons": self.n_neurons,
                "k": self.k, "n_docs": self.n_docs, "n_tokens": self.n_tokens, "n_counted": self.n_counted,
                "settings": dict(self.settings), "top_values": values.tolist(), "top_index": self.top_index.tolist(),
                "factors": self.factor_result.to_dict() if self.factor_result is not None else None}

    def plot(self, ax: Axes | None = None) -> Figure:
        """Per layer, the spread of its neurons' strongest activation over the corpus (a box per layer)."""
        check_axes(ax)
        fig, ax = figure_and_axes(ax, min(3.0 + 0.3 * len(self.layers), 14.0), 3.2)
        best = self.top_values[:, 0, :]
        ax.boxplot([row[np.isfinite(row)] for row in best], positions=range(len(self.layers)), widths=0.6,
                   showfliers=False)
        step = max(1, len(self.layers) // 16)
        ax.set_xticks(range(0, len(self.layers), step), [str(x) for x in self.layers[::step]], fontsize=8)
        ax.set_xlabel("layer")
        ax.set_ylabel("top activation per neuron")
        ax.set_title(f"{self.n_docs} documents, {self.n_counted} counted positions: each neuron's strongest "
                     "activation", fontsize=9)
        return fig

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the corpus (token ids, top examples, factors if fitted) to one file (see :mod:`.store`)."""
        return write_corpus(self, path)


def load_corpus(path: str | Path, *, scope: ModelLink | None = None) -> Corpus:
    """Read a corpus written by :meth:`Corpus.save`; attach ``scope`` to fit factors or capture documents again."""
    return Corpus(**read_corpus(path, scope=scope))
