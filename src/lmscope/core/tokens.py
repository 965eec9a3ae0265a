"""Display strings for token ids that concatenate back to the decoded text, and labels that show them."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np


def display_tokens(tokenizer, ids: Sequence[int]) -> list[str]:
    """One readable string per token id: byte-level BPE spaces as spaces, SentencePiece '▁' as a space.

    Decoding ids one at a time drops SentencePiece's leading spaces and garbles multi-byte
    characters split across tokens; converting each token through the tokenizer's own
    ``convert_tokens_to_string`` keeps both right for byte-level BPE.
    """
    pieces = tokenizer.convert_ids_to_tokens([int(i) for i in ids])
    out = []
    for piece in pieces:
        if piece is None:
            out.append("")
            continue
        lead = ""
        if piece.startswith("▁"):
            lead, piece = " ", piece[1:]
        try:
            text = tokenizer.convert_tokens_to_string([piece]) if piece else ""
        except Exception:  # noqa: BLE001 - some slow tokenizers reject lone pieces; fall back to the raw piece
            text = piece
        out.append(lead + text)
    return out


def tick_label(token: str) -> str:
    """A token as an axis label: spaces made visible (␣), control characters escaped, never empty."""
    return repr(token.replace(" ", "␣"))[1:-1] or "∅"


_DISPLAY_MAPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def display_map(tokenizer) -> dict[str, int]:
    """Display string -> id for the whole vocabulary (built once per tokenizer, on demand)."""
    if tokenizer not in _DISPLAY_MAPS:
        mapping: dict[str, int] = {}
        for i, shown in enumerate(display_tokens(tokenizer, range(len(tokenizer)))):
            mapping.setdefault(shown, i)
        _DISPLAY_MAPS[tokenizer] = mapping
    return _DISPLAY_MAPS[tokenizer]


def token_id(tokenizer, token: Any, name: str) -> int:
    """The id of one token given as an id or as a string; the one rule every parameter that names a token follows.

    A string is matched first to the token that *shows* as it (``run.tokens`` and the
    lens's top tokens display tokens this way), so SentencePiece continuation pieces such
    as ``","`` are found even though the tokenizer would read the bare string as
    ``["▁", ","]``; else the tokenizer's own reading is used when it is one token. A
    string that is several tokens gets an error listing the pieces.
    """
    n = len(tokenizer)
    if isinstance(token, (int, np.integer)) and not isinstance(token, (bool, np.bool_)):
        if not 0 <= token < n:
            raise ValueError(f"{name}: token id {token} is outside the vocabulary (0..{n - 1})")
        return int(token)
    if not isinstance(token, str) or not token:
        raise ValueError(f"{name} must be a token string such as ' 1565' or a token id, got {token!r}")
    ids = tokenizer(token, add_special_tokens=False)["input_ids"]
    if len(ids) == 1 and display_tokens(tokenizer, ids)[0] == token:
        return int(ids[0])
    found = display_map(tokenizer).get(token)
    if found is not None:
        return found
    if len(ids) == 1:
        return int(ids[0])
    pieces = display_tokens(tokenizer, ids)
    if not pieces:
        raise ValueError(f"{name}: {token!r} tokenizes to nothing; pass a visible token")
    raise ValueError(f"{name}: {token!r} is not one token: the tokenizer splits it into {len(pieces)} tokens "
                     f"{pieces!r} (ids {list(ids)}); pass single tokens or ids, e.g. {pieces[-1]!r}")
