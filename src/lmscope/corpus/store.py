"""Saving and loading a corpus: one archive file (:mod:`lmscope.core.archive`) of its arrays and a JSON header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..core import archive
from ..core.record import ModelLink
from .data import CorpusData
from .factor_result import CorpusFactors

FORMAT = "lmscope-corpus"
FORMAT_VERSION = 1
ARRAYS = ("ids", "doc_offsets", "segments", "top_values", "top_index")
FACTOR_ARRAYS = ("components", "top_values", "top_index", "mean_activity", "dominant_count")


class CorpusFileError(archive.ArchiveError):
    """A saved corpus that cannot be read (corrupted, truncated or not an lmscope corpus)."""


def write_corpus(corpus: CorpusData, path: str | Path) -> Path:
    """Write ``corpus`` (token ids, their display strings, top examples, factors if fitted) to ``path``, atomically."""
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "model_name": corpus.model_name, "layers": corpus.layers,
            "n_neurons": corpus.n_neurons, "k": corpus.k, "n_counted": corpus.n_counted, "settings": corpus.settings,
            "token_strings": {str(i): s for i, s in corpus.token_strings.items()}}
    arrays = {name: getattr(corpus, name) for name in ARRAYS}
    found = corpus.factor_result
    if found is not None:
        meta["factors"] = {"layers": found.layers, "n_neurons": found.n_neurons, "random_state": found.random_state,
                           "epochs": found.epochs, "steps": found.steps, "labels": found.labels}
        arrays.update({f"f_{name}": getattr(found, name) for name in FACTOR_ARRAYS})
    return archive.write(path, meta, arrays)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_corpus(path: Any, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Refuse a corpus file whose header fields or arrays do not fit together (naming the field)."""
    def bad(what: str) -> CorpusFileError:
        return CorpusFileError(f"{path} is inconsistent: {what}; it was not written by lmscope or was altered "
                               "since (build and save the corpus again)")

    missing = [name for name in ("model_name", "layers", "n_neurons", "k", "n_counted", "settings",
                                 "token_strings") if name not in meta] + [n for n in ARRAYS if n not in arrays]
    if missing:
        raise bad(f"it lacks {missing}")
    layers = meta["layers"]
    if not isinstance(meta["model_name"], str):
        raise bad("model_name is not a string")
    if not isinstance(layers, list) or not layers or not all(_count(v) for v in layers):
        raise bad("layers is not a non-empty list of layer indexes")
    for name in ("n_neurons", "k", "n_counted"):
        if not _count(meta[name]) or (name != "n_counted" and meta[name] == 0):
            raise bad(f"{name}={meta[name]!r} is not a count")
    if not isinstance(meta["settings"], dict):
        raise bad("settings is not a JSON object")
    strings = meta["token_strings"]
    if not isinstance(strings, dict) or not all(key.isdigit() and isinstance(value, str)
                                                 for key, value in strings.items()):
        raise bad("token_strings is not a map from token ids to strings")
    ids, offsets, segments = arrays["ids"], arrays["doc_offsets"], arrays["segments"]
    if ids.ndim != 1 or ids.dtype.kind not in "iu" or (len(ids) and int(ids.min()) < 0):
        raise bad("ids are not non-negative integers")
    if not {str(i) for i in np.unique(ids).tolist()} <= set(strings):
        raise bad("ids include tokens without a display string in token_strings")
    if offsets.ndim != 1 or offsets.dtype.kind not in "iu" or len(offsets) < 2 or int(offsets[0]) != 0 \
            or int(offsets[-1]) != len(ids) or bool(np.any(np.diff(offsets) < 0)):
        raise bad("doc_offsets do not split the ids into documents")
    if segments.ndim != 2 or segments.shape[1] != 4 or segments.dtype.kind not in "iu":
        raise bad("segments are not rows of (doc, start, end, count_from)")
    shape = (len(layers), meta["k"], meta["n_neurons"])
    for name in ("top_values", "top_index"):
        if arrays[name].shape != shape:
            raise bad(f"{name} have shape {arrays[name].shape}, not (layers, k, neurons) = {shape}")
    index = arrays["top_index"]
    if arrays["top_values"].dtype.kind != "f" or index.dtype.kind not in "iu" or \
            (index.size and (int(index.min()) < -1 or int(index.max()) >= len(ids))):
        raise bad("top_values are not numbers or top_index points outside the ids")


def read_corpus(path: str | Path, *, scope: ModelLink | None = None) -> dict[str, Any]:
    """The fields of a corpus written by :func:`write_corpus`, checked against ``scope`` when one is given."""
    meta, arrays = archive.read(path, kind="corpus", fmt=FORMAT, version=FORMAT_VERSION, error=CorpusFileError)
    _check_corpus(path, meta, arrays)
    if scope is not None and meta["model_name"] and scope.name and meta["model_name"] != scope.name:
        raise CorpusFileError(f"{path} was collected on {meta['model_name']!r}, not on the attached {scope.name!r}; "
                              f"attach the same model: lmscope.load_corpus(path, "
                              f"scope=lmscope.load({meta['model_name']!r}))")
    if scope is not None and (scope.anatomy.n_neurons != meta["n_neurons"]
                              or max(meta["layers"]) >= scope.n_layers):
        raise ValueError(f"{path} was collected on {meta['model_name']!r} ({meta['n_neurons']} neurons per layer, "
                         f"layers {meta['layers']}), which does not fit {scope.name!r}; attach the same model")
    factors = None
    if "factors" in meta:
        f = meta["factors"]
        factors = CorpusFactors(**{name: arrays[f"f_{name}"] for name in FACTOR_ARRAYS}, layers=f["layers"],
                                n_neurons=f["n_neurons"], random_state=f["random_state"], epochs=f["epochs"],
                                steps=f["steps"], labels=f.get("labels"))
    return dict(model_name=meta["model_name"], layers=meta["layers"], n_neurons=meta["n_neurons"], k=meta["k"],
                  **{name: arrays[name] for name in ARRAYS},
                  token_strings={int(i): s for i, s in meta["token_strings"].items()},
                  n_counted=meta["n_counted"], settings=meta["settings"], factor_result=factors, scope=scope)
