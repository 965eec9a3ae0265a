"""Display strings of token ids, the text the tokenizer decodes, and labels that show tokens.

Two kinds of strings describe a sequence of ids:

- the **text** (:func:`decoded_texts`): what ``tokenizer.decode(ids, skip_special_tokens=False)``
  gives, split into the input part and the output part so that ``input_text + output_text ==
  text``. This is what ``run.text`` and every printed or exported text is: spaces restored
  and ``##`` pieces joined for WordPiece, whole characters for byte-level BPE.
- the **display string** of each token (:func:`display_tokens`): what one token stands for,
  readable on its own. A token that holds only part of a character (one character split over
  several byte-level tokens: emoji, CJK, most non-Latin scripts, combining marks) shows the
  bytes it holds as ``<0xE6>`` tags (after any whole characters it holds) instead of a
  replacement character; SentencePiece byte-fallback tokens already read ``<0xE6>``.

What holds: display strings concatenate back to the text when every token holds whole
characters and the tokenizer decodes by plain concatenation (byte-level BPE, SentencePiece:
the usual case for causal LMs). They do not when a token is a partial character (its
display string shows bytes), nor for WordPiece, whose decode inserts spaces between words,
drops ``##`` and cleans up spaces before punctuation. Texts always come from the tokenizer's
own decode, never from joining display strings, except for records saved before the texts
were stored (see :class:`lmscope.core.record.Record`).
"""

from __future__ import annotations

import os
import re
import weakref
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

REPLACEMENT = "\ufffd"
_BYTE_PIECE = re.compile(r"<0x[0-9A-Fa-f]{2}>")


@lru_cache(maxsize=1)
def _byte_level_bytes() -> dict[str, int]:
    """Byte-level BPE's printable stand-in character -> the byte it stands for (GPT-2's table)."""
    kept = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars = list(kept)
    extra = 0
    for b in range(256):
        if b not in kept:
            kept.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(kept, chars)}


def show_bytes(data: bytes) -> str:
    """``data`` as UTF-8 text where it is whole characters, every byte of a partial character as ``<0xE6>``."""
    out, start = [], 0
    while start < len(data):
        try:
            out.append(data[start:].decode("utf-8"))
            break
        except UnicodeDecodeError as error:
            out.append(data[start:start + error.start].decode("utf-8"))
            out.extend(f"<0x{b:02X}>" for b in data[start + error.start:start + error.end])
            start += error.end
    return "".join(out)


def _partial_display(piece: str, text: str) -> str:
    """The honest display of a token whose text came out with U+FFFD: its bytes, or ``text`` if none are known."""
    if _BYTE_PIECE.fullmatch(piece):            # SentencePiece byte fallback: the piece names its byte
        return piece.upper().replace("0X", "0x")
    table = _byte_level_bytes()
    if all(ch in table for ch in piece):        # byte-level BPE: every character stands for one byte
        return show_bytes(bytes(table[ch] for ch in piece))
    return text                                 # a token that really holds U+FFFD


def display_tokens(tokenizer, ids: Sequence[int]) -> list[str]:
    """One readable string per token id: byte-level BPE spaces as spaces, SentencePiece '▁' as a space.

    Decoding ids one at a time drops SentencePiece's leading spaces and garbles multi-byte
    characters split across tokens; converting each token through the tokenizer's own
    ``convert_tokens_to_string`` keeps spaces right, and a token holding part of a
    character shows its bytes (``<0xE6>``) instead of U+FFFD (see the module docstring).
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
        if REPLACEMENT in text:
            text = _partial_display(piece, text)
        out.append(lead + text)
    return out


def decoded_texts(tokenizer, ids: Sequence[int], n_input: int) -> tuple[str, str]:
    """``(input_text, output_text)`` of ``ids`` as the tokenizer decodes them, with ``input + output == decode(ids)``.

    The whole sequence is decoded once (``skip_special_tokens=False``, the tokenizer's own
    clean-up); ``input_text`` is the longest prefix of it that the input ids' own decode
    agrees with, and ``output_text`` the rest. Decoding the output ids alone would drop a
    SentencePiece leading space and garble a character split between the last input token
    and the first output token; splitting the whole decode keeps both: a character split
    over the boundary belongs to ``output_text`` (so ``input_text`` can then be shorter than
    ``decode(input ids)``, which would end in U+FFFD).
    """
    ids = [int(i) for i in ids]
    text = tokenizer.decode(ids, skip_special_tokens=False)
    if n_input >= len(ids):
        return text, ""
    head = tokenizer.decode(ids[:n_input], skip_special_tokens=False) if n_input > 0 else ""
    cut = len(head) if text.startswith(head) else len(os.path.commonprefix([head, text]))
    return text[:cut], text[cut:]


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
