"""Neuron activations over a whole corpus, streamed in batches: top examples per neuron and per factor.

``scope.corpus(texts)`` reads every text once in batched forward passes and keeps, for
every FFN neuron of the chosen layers, the ``k`` positions where it fired most (kept
incrementally, so memory does not grow with the corpus: only the token ids are kept, 4
bytes per token, to show contexts). ``corpus.factors(n)`` then fits a streaming NMF
(scikit-learn ``MiniBatchNMF``) on the same activations, re-running the model batch by
batch, and collects the top examples of each factor.

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

>>> corpus = scope.corpus(texts, layers=[4], batch_size=8)     # doctest: +SKIP
>>> corpus.top_examples(neuron=(4, 123), k=10)                  # doctest: +SKIP
>>> corpus.factors(n=20); corpus.top_examples(factor=3)         # doctest: +SKIP
"""

from __future__ import annotations

import json
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from .core.checks import is_int as _is_int
from .capture import check_layers, run_forward
from .factors import MASS, contribution_stats
from .core.tokens import display_tokens

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .scope import Scope

FORMAT = "lmscope-corpus"
FORMAT_VERSION = 1
LongTexts = Literal["truncate", "window"]
DEFAULT_MAX_LENGTH = 1024   # when the model does not state its context length
TOKENIZE_CHUNK = 256        # texts tokenised together (fast tokenizers batch them natively)
GROUP_COLUMNS = 16384       # neurons whose top examples are merged in one call per batch


class CorpusFileError(ValueError):
    """A saved corpus that cannot be read (corrupted, truncated or not an lmscope corpus)."""


# ---------------------------------------------------------------------- results
@dataclass(eq=False)
class CorpusFactors:
    """Streaming NMF factors of a corpus and each factor's top examples.

    ``components[f]``: factor ``f``'s weight on every neuron of ``layers`` (concatenated,
    as in :class:`lmscope.factors.Factors`). ``top_values[:, f]`` / ``top_index[:, f]``: its
    ``k`` strongest positions (global token indices, strongest first). ``mean_activity``
    and ``dominant_count``: per factor, over every counted position.
    """

    components: np.ndarray              # (n, len(layers) * n_neurons)
    layers: list[int]
    n_neurons: int
    top_values: np.ndarray              # (k, n)
    top_index: np.ndarray               # (k, n), -1 where fewer positions exist
    mean_activity: np.ndarray           # (n,)
    dominant_count: np.ndarray          # (n,)
    random_state: int | None = 0
    epochs: int = 1
    steps: int = 0                      # MiniBatchNMF updates made

    @property
    def n_factors(self) -> int:
        return len(self.components)

    def neuron(self, column: int) -> tuple[int, int]:
        """``(layer, neuron)`` of column ``column`` of :attr:`components`."""
        return self.layers[column // self.n_neurons], int(column % self.n_neurons)

    def stats(self, *, mass: float = MASS) -> pd.DataFrame:
        """Per factor: contributing neurons (count, share) and overlaps, as :meth:`lmscope.factors.Factors.stats`."""
        return contribution_stats(self.components, mass=mass,
                                  extra={"tokens": self.dominant_count, "mean_activity": self.mean_activity})


@dataclass(eq=False)
class Corpus:
    """Top activating examples of FFN neurons (and factors) over many texts; see :func:`build_corpus`.

    ``ids``: every kept token id, texts one after another (``doc_offsets[d]`` is where text
    ``d`` starts). ``top_values[l, :, n]`` / ``top_index[l, :, n]``: the ``k`` strongest
    activations of neuron ``n`` of ``layers[l]`` and their global token indices (strongest
    first; -inf / -1 where the corpus has fewer counted positions).
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
    scope: Scope | None = field(default=None, repr=False)

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

    def tokens(self, doc: int) -> list[str]:
        """Display strings of the kept tokens of text ``doc``."""
        if not _is_int(doc) or not 0 <= doc < self.n_docs:
            raise ValueError(f"doc must be in 0..{self.n_docs - 1}, got {doc!r}")
        return [self.token_strings[int(i)] for i in self.ids[self.doc_offsets[doc]:self.doc_offsets[doc + 1]]]

    def text(self, doc: int) -> str:
        """Text ``doc`` as kept (after truncation)."""
        return "".join(self.tokens(doc))

    def locate(self, index: int) -> tuple[int, int]:
        """``(doc, position)`` of global token index ``index``."""
        doc = int(np.searchsorted(self.doc_offsets, index, side="right")) - 1
        return doc, int(index - self.doc_offsets[doc])

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
        k = self.k if k is None else k
        if not _is_int(k) or not 1 <= k <= self.k:
            raise ValueError(f"k must be in 1..{self.k} (the corpus kept the top {self.k}; build it with a larger "
                             f"k= for more), got {k!r}")
        if not _is_int(context) or context < 0:
            raise ValueError(f"context must be a non-negative number of tokens, got {context!r}")
        if neuron is not None:
            if (not isinstance(neuron, (tuple, list)) or len(neuron) != 2
                    or not all(_is_int(x) for x in neuron)):
                raise ValueError(f"neuron must be (layer, index), e.g. neuron=({self.layers[0]}, 123); got {neuron!r}")
            layer, index = int(neuron[0]), int(neuron[1])
            if layer not in self.layers:
                raise ValueError(f"layer {layer} was not collected (layers: {self.layers}); build the corpus with "
                                 f"layers including it")
            if not 0 <= index < self.n_neurons:
                raise ValueError(f"neuron index {index} is out of range: layers have {self.n_neurons} neurons "
                                 f"(0..{self.n_neurons - 1})")
            row = self.layers.index(layer)
            values, where = self.top_values[row, :k, index], self.top_index[row, :k, index]
        else:
            found = self.factor_result
            if found is None:
                raise ValueError("this corpus has no factors yet; call corpus.factors(n=...) first")
            if not _is_int(factor) or not 0 <= factor < found.n_factors:
                raise ValueError(f"factor must be in 0..{found.n_factors - 1}, got {factor!r}")
            values, where = found.top_values[:k, factor], found.top_index[:k, factor]
        rows = []
        for rank, (value, index) in enumerate(zip(values.tolist(), where.tolist())):
            if index < 0:
                break
            doc, position = self.locate(index)
            start, end = self.doc_offsets[doc], self.doc_offsets[doc + 1]
            strings = self.token_strings
            rows.append({
                "rank": rank, "activation": float(value), "doc": doc, "position": position,
                "left": "".join(strings[int(i)] for i in self.ids[max(start, index - context):index]),
                "token": strings[int(self.ids[index])],
                "right": "".join(strings[int(i)] for i in self.ids[index + 1:min(end, index + 1 + context)]),
            })
        return pd.DataFrame(rows, columns=["rank", "activation", "doc", "position", "left", "token", "right"])

    # ------------------------------------------------------------------ factors
    def factors(self, n: int = 10, *, random_state: int | None = 0, epochs: int = 1, batch_rows: int = 512,
                progress: bool = True) -> CorpusFactors:
        """Streaming NMF of the corpus's FFN activations into ``n`` factors, and each factor's top examples.

        Activations are **clipped at zero** (NMF needs non-negative input). The model runs
        over the corpus ``epochs`` times to fit scikit-learn's ``MiniBatchNMF`` in steps of
        ``batch_rows`` positions, then once more to find where each factor fires most. Memory
        holds one batch of activations, never the corpus. The result is also kept as
        ``corpus.factor_result`` for :meth:`top_examples` and saved with the corpus.
        """
        from sklearn.decomposition import MiniBatchNMF

        scope = self._require_scope()
        columns = len(self.layers) * self.n_neurons
        if not _is_int(n) or n < 1:
            raise ValueError(f"n must be a positive integer (the number of factors), got {n!r}")
        if n > columns:
            raise ValueError(f"n={n} is larger than the {columns} neurons being factorised; choose n <= {columns}")
        if n > self.n_counted:
            raise ValueError(f"n={n} is larger than the {self.n_counted} positions in the corpus; choose "
                             f"n <= {self.n_counted} or add texts")
        if not _is_int(epochs) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        if not _is_int(batch_rows) or batch_rows < 1:
            raise ValueError(f"batch_rows must be a positive integer, got {batch_rows!r}")
        step_rows = max(int(batch_rows), int(n))
        model = MiniBatchNMF(n_components=int(n), batch_size=step_rows, init="nndsvda", random_state=random_state)
        buffer: list[np.ndarray] = []
        buffered = 0

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
            for valid, _gidx, acts in self._forward(scope, f"corpus: NMF epoch {epoch + 1}/{epochs}", progress):
                rows = _rows(acts, self.layers, valid)
                if rows.shape[0]:
                    buffer.append(rows)
                    buffered += rows.shape[0]
                if buffered >= step_rows:
                    flush(final=False)
            if buffered:
                flush(final=True)
            buffer, buffered = [], 0

        components = model.components_.astype(np.float32)
        top = _TopK(self.k, int(n), device=torch.device("cpu"))
        total = np.zeros(int(n))
        dominant = np.zeros(int(n), dtype=np.int64)
        for valid, gidx, acts in self._forward(scope, "corpus: factor examples", progress):
            rows = _rows(acts, self.layers, valid)
            if not rows.shape[0]:
                continue
            activity = model.transform(rows).astype(np.float32)
            total += activity.sum(axis=0)
            dominant += np.bincount(activity.argmax(axis=1), minlength=int(n))
            top.update(torch.from_numpy(activity), gidx[valid].cpu())
        values, index = top.result()
        self.factor_result = CorpusFactors(
            components=components, layers=list(self.layers), n_neurons=self.n_neurons, top_values=values,
            top_index=index, mean_activity=(total / max(self.n_counted, 1)).astype(np.float32),
            dominant_count=dominant, random_state=random_state, epochs=int(epochs), steps=int(model.n_steps_))
        return self.factor_result

    # ------------------------------------------------------------------ plumbing
    def _require_scope(self) -> Scope:
        if self.scope is None:
            raise ValueError("this corpus is not attached to a model (it was loaded from disk?); attach one with "
                             "lmscope.corpus.load_corpus(path, scope=lmscope.load(...))")
        return self.scope

    def _forward(self, scope: Scope, desc: str, progress: bool):
        return forward_batches(scope, self, layers=self.layers, batch_size=self.settings.get("batch_size", 8),
                               desc=desc, progress=progress)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the corpus (token ids, top examples, factors if fitted) to one ``.npz`` file."""
        path = Path(path)
        meta = {"format": FORMAT, "version": FORMAT_VERSION, "model_name": self.model_name, "layers": self.layers,
                "n_neurons": self.n_neurons, "k": self.k, "n_counted": self.n_counted, "settings": self.settings,
                "token_strings": {str(i): s for i, s in self.token_strings.items()}}
        arrays = {"ids": self.ids, "doc_offsets": self.doc_offsets, "segments": self.segments,
                  "top_values": self.top_values, "top_index": self.top_index}
        found = self.factor_result
        if found is not None:
            meta["factors"] = {"layers": found.layers, "n_neurons": found.n_neurons,
                               "random_state": found.random_state, "epochs": found.epochs, "steps": found.steps}
            arrays.update(f_components=found.components, f_top_values=found.top_values, f_top_index=found.top_index,
                          f_mean_activity=found.mean_activity, f_dominant_count=found.dominant_count)
        with open(path, "wb") as handle:
            np.savez_compressed(handle, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
        return path


def load_corpus(path: str | Path, *, scope: Scope | None = None) -> Corpus:
    """Read a corpus written by :meth:`Corpus.save`; attach ``scope`` to fit factors on it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved corpus at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["__meta__"].tobytes().decode())
            arrays = {name: data[name] for name in data.files if name != "__meta__"}
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, json.JSONDecodeError) as exc:
        raise CorpusFileError(f"{path} is not a readable lmscope corpus ({type(exc).__name__}: {exc}); it may be "
                              "truncated or corrupted: save it again with corpus.save(path)") from exc
    if meta.get("format") != FORMAT:
        raise CorpusFileError(f"{path} is not an lmscope corpus file")
    if meta.get("version") != FORMAT_VERSION:
        raise CorpusFileError(f"{path} has corpus format version {meta.get('version')}; this lmscope reads "
                              f"{FORMAT_VERSION}")
    if scope is not None and (scope.anatomy.n_neurons != meta["n_neurons"]
                              or max(meta["layers"]) >= scope.n_layers):
        raise ValueError(f"{path} was collected on {meta['model_name']!r} ({meta['n_neurons']} neurons per layer, "
                         f"layers {meta['layers']}), which does not fit {scope.name!r}; attach the same model")
    factors = None
    if "factors" in meta:
        f = meta["factors"]
        factors = CorpusFactors(components=arrays["f_components"], layers=f["layers"], n_neurons=f["n_neurons"],
                                top_values=arrays["f_top_values"], top_index=arrays["f_top_index"],
                                mean_activity=arrays["f_mean_activity"], dominant_count=arrays["f_dominant_count"],
                                random_state=f["random_state"], epochs=f["epochs"], steps=f["steps"])
    return Corpus(model_name=meta["model_name"], layers=meta["layers"], n_neurons=meta["n_neurons"], k=meta["k"],
                  ids=arrays["ids"], doc_offsets=arrays["doc_offsets"], segments=arrays["segments"],
                  token_strings={int(i): s for i, s in meta["token_strings"].items()},
                  top_values=arrays["top_values"], top_index=arrays["top_index"], n_counted=meta["n_counted"],
                  settings=meta["settings"], factor_result=factors, scope=scope)


# ---------------------------------------------------------------------- streaming machinery
class _TopK:
    """The ``k`` largest values per column seen so far, with their global token indices, kept incrementally.

    Once ``k`` rows have been seen, a batch only touches the columns where some value beats
    the current k-th best: on a long corpus few do, so most of the sorting is skipped.
    """

    def __init__(self, k: int, columns: int, device: torch.device):
        self.k = k
        self.seen = 0
        self.values = torch.full((k, columns), -torch.inf, device=device)
        self.index = torch.full((k, columns), -1, dtype=torch.long, device=device)

    def update(self, rows: torch.Tensor, gidx: torch.Tensor, counted: int | None = None) -> None:
        """Merge ``rows`` (positions, columns) whose global indices are ``gidx`` (positions,).

        Rows that must not count may be passed as ``-inf`` (with ``counted`` the number of
        the others): they never enter the top k, so no row has to be copied out.
        """
        rows = rows.float()
        take = min(self.k, rows.shape[0])
        full = self.seen >= self.k
        self.seen += rows.shape[0] if counted is None else counted
        if full:
            hit = (rows > self.values[-1]).any(dim=0).nonzero().squeeze(1)
            if not hit.numel():
                return
            if hit.numel() < rows.shape[1] // 2:
                values, where = rows.index_select(1, hit).topk(take, dim=0)
                best, pick = torch.cat([self.values[:, hit], values]).topk(self.k, dim=0)
                self.index[:, hit] = torch.cat([self.index[:, hit], gidx[where]]).gather(0, pick)
                self.values[:, hit] = best
                return
        values, where = rows.topk(take, dim=0)
        best, pick = torch.cat([self.values, values]).topk(self.k, dim=0)
        self.index = torch.cat([self.index, gidx[where]]).gather(0, pick)
        self.values = best

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Values and global indices, strongest first; -inf and -1 where fewer rows counted."""
        values = self.values.cpu().numpy().astype(np.float32)
        index = self.index.cpu().numpy().astype(np.int64)
        index[np.isneginf(values)] = -1
        return values, index


def _rows(acts: dict[int, torch.Tensor], layers: list[int], valid: torch.Tensor) -> np.ndarray:
    """Counted positions as rows of every layer's neurons side by side, clipped at zero, for NMF."""
    flat = [acts[layer].reshape(valid.numel(), -1)[valid] for layer in layers]
    return torch.cat(flat, dim=1).clamp_(min=0).float().cpu().numpy()


def make_batches(corpus: Corpus, batch_size: int, pad_id: int) -> Iterator[tuple[np.ndarray, ...]]:
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
        input_ids = np.full((len(chosen), width), pad_id, dtype=np.int64)
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


def forward_batches(scope: Scope, corpus: Corpus, *, layers: list[int], batch_size: int, desc: str,
                    progress: bool) -> Iterator[tuple[torch.Tensor, torch.Tensor, dict[int, torch.Tensor]]]:
    """Run the model over the corpus batch by batch: ``(counted (flat bool), global index (flat), activations)``."""
    from tqdm.auto import tqdm

    device = scope.device
    pad_id = _pad_id(scope.tokenizer)
    total = int((corpus.segments[:, 2] - corpus.segments[:, 1]).sum())
    with tqdm(total=total, desc=desc, unit="tok", disable=not progress, leave=False) as bar:
        for input_ids, mask, counted, gidx in make_batches(corpus, batch_size, pad_id):
            got = run_forward(scope.anatomy, torch.as_tensor(input_ids, device=device),
                              attention_mask=torch.as_tensor(mask, device=device), capture=("activations",),
                              layers=layers, logits_from=None)
            yield (torch.as_tensor(counted.reshape(-1), device=device),
                   torch.as_tensor(gidx.reshape(-1), device=device), got.activations)
            bar.update(int(mask.sum()))


def _pad_id(tokenizer) -> int:
    for name in ("pad_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if isinstance(value, int):
            return value
    return 0


def _chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _texts(texts: Iterable[Any], text_key: str) -> Iterator[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be an iterable of texts, not one string; wrap it: scope.corpus([text])")
    if isinstance(texts, Mapping):
        raise TypeError("texts must be an iterable of strings or of records; for a dict of columns pass "
                        f"texts[{text_key!r}]")
    try:
        iterator = iter(texts)
    except TypeError:
        raise TypeError(f"texts must be an iterable of strings (or records with a {text_key!r} field), "
                        f"not {type(texts).__name__}") from None
    for i, item in enumerate(iterator):
        if isinstance(item, Mapping):
            if text_key not in item:
                raise ValueError(f"text {i} is a record without a {text_key!r} field (fields: {sorted(item)}); "
                                 "pass text_key= naming the field that holds the text")
            item = item[text_key]
        if not isinstance(item, str):
            raise TypeError(f"text {i} is a {type(item).__name__}, not a string")
        yield item


def _segments(length: int, max_length: int, stride: int, window: bool) -> list[tuple[int, int, int]]:
    """``(start, end, count_from)`` windows covering ``length`` tokens; each token counted once."""
    if length <= max_length or not window:
        return [(0, min(length, max_length), 0)]
    out, start, covered = [], 0, 0
    while True:
        end = min(start + max_length, length)
        out.append((start, end, covered - start))
        covered = end
        if end == length:
            return out
        start += stride


def build_corpus(scope: Scope, texts: Iterable[str] | Iterable[Mapping[str, Any]], *,
                 layers: Iterable[int] | int | None = None, batch_size: int = 8, k: int = 10,
                 max_length: int | None = None, long_texts: LongTexts = "truncate", stride: int | None = None,
                 exclude_first: bool = True, text_key: str = "text", progress: bool = True) -> Corpus:
    """Read ``texts`` in batched forward passes and keep the top-``k`` examples of every neuron of ``layers``.

    ``texts``: any iterable of strings, or of records (a Hugging Face dataset) whose
    ``text_key`` field holds the text; empty texts are skipped. ``layers``: FFN layers to
    watch (default all). Texts longer than ``max_length`` tokens (default: the model's
    context) are truncated with a warning, or split into overlapping windows with
    ``long_texts="window"`` (``stride`` tokens apart, default half a window). A progress
    bar counts tokens (``progress=False`` hides it). See the module docs for padding and
    the first position. Peak memory is one batch of activations, about ``batch_size x
    max_length x len(layers) x neurons x 4`` bytes: lower ``batch_size`` or ``max_length``
    for long texts.
    """
    layers = check_layers(layers, scope.n_layers)
    for name, value in (("batch_size", batch_size), ("k", k)):
        if not _is_int(value) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if long_texts not in ("truncate", "window"):
        raise ValueError(f"long_texts={long_texts!r} is not known; choose 'truncate' (keep the first max_length "
                         "tokens, with a warning) or 'window' (overlapping windows over the whole text)")
    context = scope.context_length
    if max_length is None:
        max_length = context or DEFAULT_MAX_LENGTH
    if not _is_int(max_length) or max_length < 2:
        raise ValueError(f"max_length must be an integer >= 2, got {max_length!r}")
    if context is not None and max_length > context:
        raise ValueError(f"max_length={max_length} exceeds the context of {scope.name} ({context} positions); "
                         f"choose max_length <= {context}")
    if stride is None:
        stride = max(1, max_length // 2)
    if not _is_int(stride) or not 1 <= stride <= max_length:
        raise ValueError(f"stride must be an integer in 1..max_length ({max_length}), got {stride!r}")
    if not isinstance(exclude_first, bool):
        raise ValueError(f"exclude_first must be True or False, got {exclude_first!r}")

    tokenizer = scope.tokenizer
    ids_list: list[np.ndarray] = []
    segments: list[tuple[int, int, int, int]] = []
    skipped = truncated = 0
    for chunk in _chunks(_texts(texts, text_key), TOKENIZE_CHUNK):
        kept = [text for text in chunk if text.strip()]
        skipped += len(chunk) - len(kept)
        encoded = tokenizer(kept, verbose=False)["input_ids"] if kept else []
        for ids in encoded:
            if len(ids) == 0:
                skipped += 1
                continue
            ids = np.asarray(ids, dtype=np.int64)
            if len(ids) > max_length and long_texts == "truncate":
                truncated += 1
                ids = ids[:max_length]
            doc = len(ids_list)
            for start, end, count_from in _segments(len(ids), max_length, int(stride), long_texts == "window"):
                segments.append((doc, start, end, count_from))
            ids_list.append(ids)
    if not ids_list:
        what = f" ({skipped} empty text{'s' * (skipped != 1)} skipped)" if skipped else ""
        raise ValueError(f"the corpus is empty{what}; pass at least one non-empty text")
    if truncated:
        warnings.warn(f"{truncated} of {len(ids_list)} texts were longer than max_length={max_length} tokens and "
                      "were truncated; pass long_texts='window' to cover them whole in overlapping windows",
                      UserWarning, stacklevel=3)

    all_ids = np.concatenate(ids_list)
    offsets = np.zeros(len(ids_list) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(x) for x in ids_list])
    unique = np.unique(all_ids)
    strings = dict(zip(unique.tolist(), display_tokens(tokenizer, unique.tolist())))
    corpus = Corpus(model_name=scope.name, layers=layers, n_neurons=scope.anatomy.n_neurons, k=int(k),
                    ids=all_ids.astype(np.int32), doc_offsets=offsets,
                    segments=np.asarray(segments, dtype=np.int64).reshape(-1, 4), token_strings=strings,
                    top_values=np.empty(0), top_index=np.empty(0), n_counted=0,
                    settings={"batch_size": int(batch_size), "max_length": int(max_length), "long_texts": long_texts,
                              "stride": int(stride), "exclude_first": exclude_first, "skipped": skipped,
                              "truncated": truncated},
                    scope=scope)

    device = scope.device
    n_neurons = corpus.n_neurons
    # Layers are merged in groups (one top-k per group, few calls per batch), the group's
    # activations copied side by side once, padded and left-out positions set to -inf.
    per_group = max(1, GROUP_COLUMNS // n_neurons)
    groups = [layers[i:i + per_group] for i in range(0, len(layers), per_group)]
    tops = [_TopK(int(k), len(group) * n_neurons, device) for group in groups]
    counted_total = 0
    for valid, gidx, acts in forward_batches(scope, corpus, layers=layers, batch_size=int(batch_size),
                                             desc="corpus: top examples", progress=progress):
        counted = int(valid.sum())
        counted_total += counted
        if not counted:
            continue
        skip = ~valid[:, None]
        for top, group in zip(tops, groups):
            rows = torch.cat([acts[layer].reshape(valid.numel(), -1) for layer in group], dim=1)
            top.update(rows.float().masked_fill_(skip, -torch.inf), gidx, counted)
    results = [top.result() for top in tops]
    shape = (int(k), len(layers), n_neurons)
    values = np.concatenate([v for v, _ in results], axis=1).reshape(shape)
    index = np.concatenate([i for _, i in results], axis=1).reshape(shape)
    corpus.top_values = np.ascontiguousarray(values.transpose(1, 0, 2))
    corpus.top_index = np.ascontiguousarray(index.transpose(1, 0, 2))
    corpus.n_counted = counted_total
    if counted_total == 0:
        raise ValueError("no position of the corpus counts: every text is a single token and the first position "
                         "is excluded; pass longer texts or exclude_first=False")
    return corpus
