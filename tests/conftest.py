"""Shared fixtures: tiny random models of every family, and the real model loaded once per session."""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass, field

import pytest

import lmscope.run
import lmscope.saliency
from lmscope.core.results import delegate

from lmscope.testing import CAUSAL_FAMILIES, FAMILIES, MASKED_FAMILIES, sample_run, tiny_scope  # noqa: F401


@pytest.fixture(scope="session")
def smol():
    """The embedded default model (SmolLM2-135M-Instruct), loaded once for the whole session."""
    import lmscope

    return lmscope.load()


@pytest.fixture(scope="session")
def tiny_scopes():
    """One tiny scope per family, built lazily and shared."""
    cache: dict[str, object] = {}

    def get(family: str):
        if family not in cache:
            cache[family] = tiny_scope(family)
        return cache[family]

    return get


@pytest.fixture(params=FAMILIES)
def any_family(request, tiny_scopes):
    return tiny_scopes(request.param)


@pytest.fixture(params=CAUSAL_FAMILIES)
def causal_family(request, tiny_scopes):
    return tiny_scopes(request.param)


@pytest.fixture(params=MASKED_FAMILIES)
def masked_family(request, tiny_scopes):
    return tiny_scopes(request.param)


@dataclass
class Hold:
    """A held saliency call: ``entered`` is set once it starts (generation is over), ``release``
    lets it go on; ``waited`` says whether each call was released in time, ``runs`` what it got."""

    release: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)
    waited: list[bool] = field(default_factory=list)
    runs: list = field(default_factory=list)


@pytest.fixture
def hold_saliency(monkeypatch):
    """Saliency waits for ``release`` (so a test can look at the server or page while the model is busy)."""
    hold = Hold()
    original = lmscope.saliency.compute_saliency

    def held(run, method="grad_x_input", **options):
        hold.runs.append(run)
        hold.entered.set()
        hold.waited.append(hold.release.wait(120))
        return original(run, method, **options)

    held.__signature__ = inspect.signature(original)
    monkeypatch.setattr(lmscope.run.Run, "saliency", delegate(held))
    yield hold
    hold.release.set()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> str:
    """A tiny Llama and its tokenizer written with save_pretrained: what `--model PATH` reads."""
    from lmscope.testing import tiny_model

    folder = tmp_path_factory.mktemp("tiny-llama")
    model, tokenizer = tiny_model("llama")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
