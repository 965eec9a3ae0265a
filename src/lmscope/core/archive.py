"""The one file format of saved runs and corpora: a zip of numpy arrays plus a JSON header.

``write`` goes through a temporary file in the same folder and a rename, so an
interrupted save never leaves a half-written file in place of a good one. ``read`` turns
every way a file can be unreadable into the caller's error class, with the fix in the
message. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

META = "__meta__"


class ArchiveError(ValueError):
    """A saved file that cannot be read (corrupted, truncated, or not what it claims to be)."""


def write(path: str | os.PathLike[str], meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``meta`` (JSON-able) and ``arrays`` to ``path`` atomically; returns the path."""
    path = Path(path)
    header = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    handle = tempfile.NamedTemporaryFile(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp",
                                         delete=False)
    try:
        with handle:
            np.savez_compressed(handle, **{META: header}, **arrays)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
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
