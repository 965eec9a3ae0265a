"""Reading texts into documents: strings (or dataset records) in, token ids and the windows that cover them out.

A *document* is one non-empty text as token ids. A *segment* is the part of a document one
forward pass reads: the whole document, its first ``max_length`` tokens
(``long_texts="truncate"``), or one of the overlapping windows that cover a long document
(``long_texts="window"``), each token counted once, in the first window that reaches it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..core.checks import Options

LongTexts = Literal["truncate", "window"]
LONG_TEXTS = Options(("truncate", "window"), ("keep the first max_length tokens, with a warning",
                                              "overlapping windows over the whole text"))
TOKENIZE_CHUNK = 256        # texts tokenised together (fast tokenizers batch them natively)


@dataclass
class Documents:
    """Token ids of every kept text, back to back, and the segments the model reads."""

    ids: np.ndarray             # (tokens,) int64, documents one after another
    offsets: np.ndarray         # (docs + 1,) int64: document d is ids[offsets[d]:offsets[d + 1]]
    segments: np.ndarray        # (segments, 4) int64: doc, start, end, count_from
    skipped: int                # empty texts left out
    truncated: int              # texts cut at max_length


def iter_texts(texts: Iterable[Any], text_key: str) -> Iterator[str]:
    """Each text of ``texts`` (strings, or records whose ``text_key`` field holds the text)."""
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


def chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def windows(length: int, max_length: int, stride: int, window: bool) -> list[tuple[int, int, int]]:
    """``(start, end, count_from)`` segments covering ``length`` tokens; each token counted once.

    Without ``window`` (or when the text fits) one segment of at most ``max_length`` tokens.
    """
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


def read_documents(tokenizer: Any, texts: Iterable[Any], *, text_key: str, max_length: int,
                   long_texts: LongTexts, stride: int) -> Documents:
    """Tokenise ``texts`` in chunks into :class:`Documents`, skipping empty texts.

    Texts longer than ``max_length`` are truncated (and a warning says how many) or
    covered in windows ``stride`` tokens apart, as ``long_texts`` says.
    """
    ids_list: list[np.ndarray] = []
    segments: list[tuple[int, int, int, int]] = []
    skipped = truncated = 0
    for chunk in chunks(iter_texts(texts, text_key), TOKENIZE_CHUNK):
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
            for start, end, count_from in windows(len(ids), max_length, stride, long_texts == "window"):
                segments.append((doc, start, end, count_from))
            ids_list.append(ids)
    if not ids_list:
        what = f" ({skipped} empty text{'s' * (skipped != 1)} skipped)" if skipped else ""
        raise ValueError(f"the corpus is empty{what}; pass at least one non-empty text")
    if truncated:
        # stacklevel: here, build_corpus, its checks, Scope.corpus, then the caller's line.
        warnings.warn(f"{truncated} of {len(ids_list)} texts were longer than max_length={max_length} tokens and "
                      "were truncated; pass long_texts='window' to cover them whole in overlapping windows",
                      UserWarning, stacklevel=5)
    offsets = np.zeros(len(ids_list) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(x) for x in ids_list])
    return Documents(ids=np.concatenate(ids_list), offsets=offsets,
                     segments=np.asarray(segments, dtype=np.int64).reshape(-1, 4), skipped=skipped,
                     truncated=truncated)
