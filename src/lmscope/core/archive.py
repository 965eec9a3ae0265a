"""The one file format of saved runs and corpora: a zip of numpy arrays plus a JSON header.

``write`` goes through a temporary file in the same folder and a rename, so an
interrupted save never leaves a half-written file in place of a good one. ``read`` turns
every way a file can be unreadable into the caller's error class, with the fix in the
message. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

META = "__meta__"


class ArchiveError(ValueError):
    """A saved file that cannot be read (corrupted, truncated, or not what it claims to be)."""


@contextmanager
def _replacing(path: Path, mode: str, encoding: str | None = None) -> Iterator[IO[Any]]:
    """A temporary file beside ``path`` that replaces ``path`` (by rename) only once fully written.

    The temporary file is created with the usual permissions (0666 less the umask), as a
    plain ``open`` would, not tempfile's private 0600.
    """
    temp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (temp file in the same folder, then rename); returns the path.

    An interrupted write leaves the old file (if any) untouched, never a half-written one.
    The parent folder must exist.
    """
    path = Path(path)
    with _replacing(path, "w", encoding) as handle:
        handle.write(text)
    return path


def write(path: str | os.PathLike[str], meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``meta`` (JSON-able) and ``arrays`` to ``path`` atomically; returns the path."""
    path = Path(path)
    header = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with _replacing(path, "wb") as handle:
        np.savez_compressed(handle, **{META: header}, **arrays)
    return path


def read(path: str | os.PathLike[str], *, kind: str, fmt: str, version: int,
         error: type[ArchiveError] = ArchiveError) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, arrays)`` of a file written by :func:`write` with format ``fmt`` and ``version``.

    ``kind`` names what is read ("run", "corpus") in the messages; every failure raises
    ``error`` (a subclass of :class:`ArchiveError`).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved {kind} at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data[META].tobytes().decode())
            arrays = {name: data[name] for name in data.files if name != META}
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, KeyError, EOFError, UnicodeDecodeError,
            json.JSONDecodeError) as exc:
        raise error(f"{path} is not a readable lmscope {kind} ({type(exc).__name__}: {exc}); it may be "
                    f"truncated or corrupted: save it again with {kind}.save(path)") from exc
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise error(f"{path} is not an lmscope {kind} file")
    if meta.get("version") != version:
        raise error(f"{path} has {kind} format version {meta.get('version')}; this lmscope reads {version}")
    return meta, arrays
