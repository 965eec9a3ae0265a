"""What the ``lmscope`` command prints: progress lines on stderr, JSON to files or stdout."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

PROG = "lmscope"


class UsageError(Exception):
    """Arguments that make no sense (alone, together, or for the model loaded): exit code 2."""


class Progress:
    """Progress lines on stderr, silent with ``--quiet``."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._start = time.perf_counter()
        self._open = False          # a line of streamed tokens is open

    def say(self, text: str) -> None:
        if not self.quiet:
            self.close()
            print(f"{PROG}: {text}", file=sys.stderr, flush=True)

    def step(self, name: str) -> None:
        labels = {"generate": "generating", "analyze": "reading the text", "saliency": "computing saliency",
                  "factors": "factorising activations", "lens": "computing the logit lens"}
        self.say(labels.get(name, name) + " …")

    def token(self, _token_id: int | None, text: str) -> None:
        """Show a generated token as soon as it exists."""
        if self.quiet:
            return
        if not self._open:
            print(f"{PROG}: > ", end="", file=sys.stderr)
            self._open = True
        print(text.replace("\n", "\\n"), end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        """End a line of streamed tokens, if one is open."""
        if self._open:
            print(file=sys.stderr, flush=True)
            self._open = False

    def done(self, text: str) -> None:
        self.say(f"{text} ({time.perf_counter() - self._start:.1f} s)")


def finite(value: Any) -> Any:
    """``value`` with NaN/inf floats as ``None``, so the JSON written is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def write_json(data: Any, target: str, progress: Progress) -> None:
    """Write ``data`` as JSON to ``target`` (``-``: stdout)."""
    from ..views.schema import to_plain

    text = json.dumps(finite(to_plain(data, None)), indent=1, ensure_ascii=False, allow_nan=False)
    if target == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    else:
        from ..core.archive import write_text

        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, text + "\n")          # atomic: an interrupted write keeps the old file whole
        progress.say(f"wrote {path}")


def check_output(flag: str, target: str | None) -> None:
    """Refuse (usage error, before any model loads) an output path that cannot be written: a folder, a path
    under a file, a folder without write permission, a read-only file. ``None`` and ``-`` (stdout) pass."""
    if target is None or target == "-":
        return
    path = Path(target)
    where = f"{flag} {target}"
    if path.is_dir():
        raise UsageError(f"{where}: is a folder; name a file inside it")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{where}: the file is read-only; choose another path or make it writable")
    folder = path.parent
    while not folder.exists():             # missing folders are created, inside the nearest one that exists
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{where}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: cannot write in {folder} (permission denied); choose another folder")


def utf8(text: str, what: str) -> str:
    """``text`` if it is Unicode text; a usage error naming ``what`` for undecodable bytes (which Python
    keeps as lone surrogates in arguments) instead of the tokenizer's TypeError."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        shown = f"byte {ord(bad) - 0xDC00:#04x}" if 0xDC80 <= ord(bad) <= 0xDCFF else f"{bad!r}"
        raise UsageError(f"{what} is not UTF-8 text ({shown} at character {exc.start})") from None
    return text


def read_text(name: str) -> str:
    """A UTF-8 file's text (``-``: stdin); a missing or undecodable file is a usage error."""
    if name == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"stdin is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})") from None
    path = Path(name)
    if not path.is_file():
        raise UsageError(f"no file {name!r}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})") \
            from None


def short(text: str, n: int = 60) -> str:
    """``text`` on one line, cut to ``n`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
