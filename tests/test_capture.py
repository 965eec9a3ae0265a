import numpy as np
import pytest
import torch

from lmscope.testing import sample_run


def test_shapes_on_every_family(any_family):
    run = sample_run(any_family, capture=("activations", "hidden_states", "attentions"))
    a = any_family.anatomy
    L = run.n_tokens
    assert run.activations.shape == (a.n_layers, a.n_neurons, L)
    assert run.hidden_states.shape == (a.n_layers + 1, L, a.hidden_size)
    assert run.attentions.shape[0] == a.n_layers and run.attentions.shape[2:] == (L, L)
    np.testing.assert_allclose(run.attentions.sum(-1), 1.0, atol=1e-4)  # rows are distributions
    assert len(run.tokens) == L == len(run.token_ids)
    assert run.text == any_family.tokenizer.decode(run.token_ids.tolist())   # the text is the tokenizer's
    if not any("<0x" in t for t in run.tokens):   # random models may emit a lone byte: it shows as <0xEF>
        assert "".join(run.tokens) == run.text


def test_activations_are_the_down_projection_input(causal_family):
    """Compare with a hand-made hook on the FFN down projection (the post-nonlinearity value)."""
    scope = causal_family
    run = scope.analyze("1, 2, 3, 4", capture=("activations",), layers=[1])
    seen = {}
    def keep(_module, inputs, _output):
        seen["x"] = inputs[0]

    handle = scope.anatomy.ffn(1).register_forward_hook(keep)
    try:
        with torch.no_grad():
            scope.model(input_ids=torch.as_tensor(run.token_ids)[None])
    finally:
        handle.remove()
    expected = seen["x"].reshape(1, run.n_tokens, -1)[0].T.numpy()
    np.testing.assert_allclose(run.activations[0], expected, atol=1e-6)
    assert run.activation_layers == [1]


def test_only_what_was_asked_is_captured(tiny_scopes):
    scope = tiny_scopes("llama")
    run = scope.generate("1, 2,", max_new_tokens=3, capture=("hidden_states",))
    assert run.activations is None and run.attentions is None and run.hidden_states is not None
    with pytest.raises(ValueError, match="captured without activations.*capture="):
        run.require("activations")
    run = scope.generate("1, 2,", max_new_tokens=3, capture=["activations"], layers=[1])
    assert run.hidden_states is None and run.activations.shape[0] == 1


def test_hooks_removed_even_on_error(tiny_scopes):
    scope = tiny_scopes("gpt2")
    modules = list(scope.model.modules())

    def count():
        return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in modules)

    before = count()
    scope.analyze("hello world", capture=("activations", "hidden_states", "attentions"))
    assert count() == before
    with pytest.raises(IndexError):  # an id outside the vocabulary fails inside the forward
        from lmscope.capture import run_forward
        run_forward(scope.anatomy, torch.tensor([[10_000_000]]))
    assert count() == before
    assert scope.model.config._attn_implementation != "eager" or before == count()


def test_attention_capture_restores_attention_kernel(tiny_scopes):
    scope = tiny_scopes("llama")
    kernel = scope.model.config._attn_implementation
    scope.analyze("hello", capture=("attentions",))
    assert scope.model.config._attn_implementation == kernel


def test_greedy_matches_argmax_and_candidates(causal_family):
    run = causal_family.generate("1, 2, 3,", max_new_tokens=4, n_candidates=3)
    assert run.n_output >= 1
    for cand in run.candidates:
        # greedy: the chosen token is the top candidate (ties aside), probabilities sorted
        probs = [c["prob"] for c in cand["top"]]
        assert probs == sorted(probs, reverse=True) and len(probs) == 3
        assert cand["top"][0]["token_id"] == cand["token_id"]
        assert cand["prob"] == pytest.approx(probs[0])


def test_seed_semantics_for_activations(tiny_scopes):
    run = tiny_scopes("llama").generate("1, 2, 3,", max_new_tokens=4)
    n = run.n_input
    src = run.source_positions("seed")
    assert list(src[:n]) == list(range(n))
    assert list(src[n:]) == list(range(n - 1, run.n_tokens - 1))
    seed = run.token_activations("seed")
    # last input token and first output token share a value
    np.testing.assert_array_equal(seed[:, :, n - 1], seed[:, :, n])
    np.testing.assert_array_equal(run.token_activations("response"), run.activations)
    with pytest.raises(ValueError, match="mode must be one of 'seed'"):
        run.source_positions("other")


def test_sampling_is_reproducible_and_does_not_touch_global_rng(tiny_scopes):
    scope = tiny_scopes("llama")
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = scope.generate("1, 2,", max_new_tokens=8, do_sample=True, seed=7, temperature=1.5, top_k=50, top_p=0.95)
    assert torch.rand(1) == expected_next
    b = scope.generate("1, 2,", max_new_tokens=8, do_sample=True, seed=7, temperature=1.5, top_k=50, top_p=0.95)
    c = scope.generate("1, 2,", max_new_tokens=8, do_sample=True, seed=8, temperature=1.5, top_k=50, top_p=0.95)
    np.testing.assert_array_equal(a.token_ids, b.token_ids)
    assert a.settings["seed"] == 7 and a.settings["do_sample"]
    assert not np.array_equal(a.token_ids, c.token_ids) or a.n_output == 0


def test_beam_search(tiny_scopes):
    run = tiny_scopes("gpt2").generate("The quick", max_new_tokens=4, num_beams=3)
    assert run.n_output >= 1 and run.settings["num_beams"] == 3
    assert run.activations.shape[2] == run.n_tokens


def test_chat_messages_use_chat_template(tiny_scopes):
    scope = tiny_scopes("llama")
    run = scope.generate([{"role": "user", "content": "Hello world"}], max_new_tokens=3)
    assert run.input_text.startswith("<user>Hello world") and run.input_text.endswith("<assistant>")


def test_float16_activations(tiny_scopes):
    run = tiny_scopes("qwen2").generate("1, 2,", max_new_tokens=3, activation_dtype="float16")
    assert run.activations.dtype == np.float16
    ref = tiny_scopes("qwen2").generate("1, 2,", max_new_tokens=3)
    np.testing.assert_allclose(run.activations, ref.activations, atol=1e-2, rtol=1e-2)


def test_analyze_masked_candidates_at_mask(masked_family):
    run = masked_family.analyze("The quick [MASK] fox")
    assert run.n_input == run.n_tokens and run.n_output == 0
    masks = [c["position"] for c in run.candidates]
    assert masks == [i for i, t in enumerate(run.tokens) if t == "[MASK]"]


def test_generate_refuses_masked_lm(masked_family):
    with pytest.raises(ValueError, match="masked LM.*analyze"):
        masked_family.generate("hello")


def test_layer_order_is_numeric(tiny_scopes):
    run = tiny_scopes("llama").analyze("hello", layers=[1, 0, -1])
    assert run.activation_layers == [0, 1]


def test_streamer_receives_the_prompt_then_each_generated_token(tiny_scopes):
    scope = tiny_scopes("llama")

    class Collect:
        def __init__(self):
            self.chunks = []

        def put(self, value):
            self.chunks.append(value.flatten().tolist())

        def end(self):
            self.chunks.append("end")

    streamer = Collect()
    run = scope.generate("hello", max_new_tokens=3, streamer=streamer, capture=())
    assert streamer.chunks[0] == run.token_ids[: run.n_input].tolist()
    assert [c[0] for c in streamer.chunks[1:-1]] == run.token_ids[run.n_input:].tolist()
    assert streamer.chunks[-1] == "end"
