"""Display strings for token ids that concatenate back to the decoded text, and labels that show them."""

from __future__ import annotations

from collections.abc import Sequence


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
