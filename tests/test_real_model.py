"""The embedded default model (SmolLM2-135M-Instruct), loaded once per session."""

import numpy as np
import pytest

import lmscope
from lmscope import loading

pytestmark = pytest.mark.real_model


def test_default_model_counts(smol):
    run = smol.generate("1, 2, 3,", max_new_tokens=12)
    assert run.tokens[:8] == ["1", ",", " ", "2", ",", " ", "3", ","]
    assert run.output_text.startswith(" 4, 5, 6")
    assert run.n_input == 8
    L = run.n_tokens
    assert run.activations.shape == (30, 1536, L)
    assert run.hidden_states.shape == (31, L, 576)
    assert run.candidates[0]["top"][0]["token"] == " " and run.candidates[0]["prob"] > 0.5


def test_default_model_is_cached(smol):
    folder = loading.gguf_cache_path(loading.default_gguf())
    assert (folder / "config.json").exists() and (folder / "model.safetensors").exists()
    assert smol.name == "SmolLM2-135M-Instruct"


def test_default_model_chat(smol):
    run = smol.generate([{"role": "user", "content": "What is the capital of France?"}], max_new_tokens=8)
    assert "<|im_start|>assistant" in run.input_text
    assert "Paris" in run.output_text


def test_capture_matches_generation_logits(smol):
    """Teacher-forced candidates agree with what greedy generation chose at every step."""
    run = smol.generate("William Shakespeare was born in the year", max_new_tokens=5)
    chosen = [c["token_id"] for c in run.candidates]
    top = [c["top"][0]["token_id"] for c in run.candidates]
    assert chosen == top


def test_attentions_on_request(smol):
    run = smol.generate("1, 2, 3,", max_new_tokens=2, capture=("attentions",), layers=[0, 29])
    assert run.attentions.shape == (2, 9, 10, 10)
    np.testing.assert_allclose(run.attentions.sum(-1), 1.0, atol=1e-4)
    assert smol.model.config._attn_implementation == "sdpa"


def test_round_trip_real(smol, tmp_path):
    run = smol.generate("1, 2, 3,", max_new_tokens=4, activation_dtype="float16")
    back = lmscope.load_run(run.save(tmp_path / "r.lms"), scope=smol)
    np.testing.assert_array_equal(back.activations, run.activations)
    assert back.tokens == run.tokens
