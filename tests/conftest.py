"""Shared fixtures: tiny random models of every family, and the real model loaded once per session."""

from __future__ import annotations

import pytest

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
