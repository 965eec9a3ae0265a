"""The one file format of saved runs and corpora: a zip of numpy arrays plus a JSON header.

``write`` goes through a temporary file in the same folder and a rename, so an
interrupted save never leaves a half-written file in place of a good one. ``read`` turns
every way a file can be unreadable into the caller's error class, with the fix in the
message, and refuses members that declare more than :data:`MAX_BYTES` before reading
them. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

META = "__meta__"
MAX_BYTES = 4 * 2**30
"""The most a file's arrays may declare, uncompressed, before :func:`read` refuses it (4 GiB).

Zip members declare their uncompressed size, and :func:`read` checks it before
decompressing anything, so a small crafted file cannot expand into all your memory. A
genuine run this large (long texts with every capture of a big model) loads after raising
the bound: ``lmscope.core.archive.MAX_BYTES = 16 * 2**30``.
"""


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


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One ``.npy`` member, its declared shape checked against the zip's declared size before any is read."""
    with zf.open(info) as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        if dtype.hasobject:
            raise ValueError(f"member {info.filename} holds Python objects, which lmscope never reads")
        count = math.prod(shape)
        if handle.tell() + count * dtype.itemsize != info.file_size:
            raise ValueError(f"member {info.filename} declares shape {shape} of {dtype}, which does not match "
                             f"its size ({info.file_size} bytes)")
        flat = np.empty(count, dtype=dtype)
        got = handle.readinto(memoryview(flat).cast("B")) if flat.nbytes else 0
        if got != flat.nbytes or handle.read(1):   # reading to the end checks the CRC
            raise ValueError(f"member {info.filename} is shorter or longer than it declares")
    return flat.reshape(shape, order="F" if fortran else "C")


def read(path: str | os.PathLike[str], *, kind: str, fmt: str, version: int,
         error: type[ArchiveError] = ArchiveError) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, arrays)`` of a file written by :func:`write` with format ``fmt`` and ``version``.

    ``kind`` names what is read ("run", "corpus") in the messages; every failure raises
    ``error`` (a subclass of :class:`ArchiveError`), whatever the damage. Before anything is
    decompressed, the members' declared sizes are checked: together at most
    :data:`MAX_BYTES` (a larger file is refused with how to raise the bound), and each
    array's declared shape must fill exactly its member's declared size, so no member can
    decompress beyond what its header says.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved {kind} at {path}")
    if path.is_dir():
        raise error(f"{path} is a folder, not a saved lmscope {kind}")
    damaged = (f"{path} is not a readable lmscope {kind}; it may be truncated or corrupted: "
               f"save it again with {kind}.save(path)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = [info.filename for info in infos]
            if len(set(names)) != len(names) or not all(name.endswith(".npy") for name in names):
                raise ValueError(f"unexpected members {names}")
            declared = sum(info.file_size for info in infos)
            if declared > MAX_BYTES:
                raise error(f"{path} declares {declared / 2**30:.1f} GiB of arrays, more than lmscope reads "
                            f"({MAX_BYTES / 2**30:.1f} GiB, lmscope.core.archive.MAX_BYTES); if you trust the "
                            f"file, raise that bound before loading it")
            by_name = {info.filename[:-4]: info for info in infos}
            if META not in by_name:
                raise ValueError("no header")
            header = _member(zf, by_name.pop(META))
            if header.dtype != np.uint8 or header.ndim != 1:
                raise ValueError("the header is not JSON bytes")
            meta = json.loads(header.tobytes().decode())
            arrays = {name: _member(zf, info) for name, info in by_name.items()}
    except ArchiveError:
        raise
    except Exception as exc:
        raise error(f"{damaged} ({type(exc).__name__}: {exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise error(f"{path} is not an lmscope {kind} file")
    if meta.get("version") != version:
        raise error(f"{path} has {kind} format version {meta.get('version')!r}; this lmscope reads {version}")
    return meta, arrays
