"""Saving and loading a corpus: one archive file (:mod:`lmscope.core.archive`) of its arrays and a JSON header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def read_corpus(path: str | Path, *, scope: ModelLink | None = None) -> dict[str, Any]:
    """The fields of a corpus written by :func:`write_corpus`, checked against ``scope`` when one is given."""
    meta, arrays = archive.read(path, kind="corpus", fmt=FORMAT, version=FORMAT_VERSION, error=CorpusFileError)
    missing = [name for name in ARRAYS if name not in arrays]
    if missing:
        raise CorpusFileError(f"{path} is inconsistent: it lacks {missing}")
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
