"""Bad input to saliency: every error names the parameter, the allowed values and the fix,
in the shared wording of lmscope.core.checks (the same message the CLI and the explorer give)."""

import numpy as np
import pytest
import torch
from torch import nn

import lmscope
from lmscope import Run


@pytest.fixture
def run(tiny_scopes):
    return tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=2)


def test_unknown_method_lists_valid_ones(run):
    with pytest.raises(ValueError, match="method must be one of 'grad_x_input', .*'attention_flow'.*got 'smoothgrad'"):
        run.saliency("smoothgrad")


@pytest.mark.parametrize("targets,match", [
    ([0], "targets: position 0 is outside the sequence.*from 1 \\(position 0 has no token before it\\)"),
    ([100], "outside the sequence: it has \\d+ tokens"),
    ([-100], "outside the sequence.*negative counts from the end"),
    ([], "targets must be an int or a non-empty list of ints \\(token positions\\), or None; got \\[\\]"),
    (["3"], "targets must be an int or a non-empty list of ints"),
    (3.5, "targets must be an int or a non-empty list of ints.*got 3.5"),
])
def test_bad_targets(run, targets, match):
    with pytest.raises(ValueError, match=match):
        run.saliency(targets=targets)


def test_negative_targets_count_from_the_end_as_in_the_lens(run):
    assert run.saliency(targets=[-1, -2]).targets.tolist() == [run.n_tokens - 2, run.n_tokens - 1]
    assert run.saliency(targets=-1).targets.tolist() == [run.n_tokens - 1]


def test_contrast_that_is_not_one_token_says_how_it_tokenises(run):
    with pytest.raises(ValueError, match=r"contrast: ' 1565' is not one token: the tokenizer splits it into 3 tokens "
                                         r"\[' 1', '56', '5'\].*pass single tokens or ids"):
        run.saliency(contrast=" 1565")
    with pytest.raises(ValueError, match="contrast: token id 1000000 is outside the vocabulary"):
        run.saliency(contrast=10**6)
    with pytest.raises(ValueError, match="contrast must be a non-empty string of valid Unicode or an integer >= 0, or None; got ''"):
        run.saliency(contrast="")


def test_contrast_only_where_it_applies(run):
    with pytest.raises(ValueError, match="'attention' does not take \\['contrast'\\]"):
        run.saliency("attention", contrast=" the")


@pytest.mark.parametrize("options,match", [
    ({"normalize": "softmax"}, "normalize must be one of 'sum' \\(.*\\), 'max' \\(.*\\), 'none' .*got 'softmax'"),
    ({"aggregation": "l1"}, "aggregation must be one of 'l2' \\(.*'sum' \\(.*'mean_abs' .*got 'l1'"),
    ({"score": "loss"}, "score must be one of 'logit' .*'logprob' .*'prob' .*got 'loss'"),
    ({"chunk_size": 0}, "chunk_size must be a positive integer, or None; got 0"),   # None: the method's default
    ({"n_steps": 10}, "'grad_x_input' does not take \\['n_steps'\\]; its options are: targets, normalize"),
])
def test_bad_options(run, options, match):
    with pytest.raises(ValueError, match=match):
        run.saliency(**options)


@pytest.mark.parametrize("options,match", [
    ({"n_steps": 0}, "n_steps must be a positive integer"),
    ({"n_steps": 1, "integration": "riemann_trapezoid"}, "n_steps must be at least 2 for integration='riemann_trape"),
    ({"integration": "simpson"}, "integration must be one of 'gausslegendre', .*got 'simpson'"),
    ({"baseline": "cls"}, "baseline must be one of 'zeros', 'pad', .* or an integer >= 0 or an array .*got 'cls'"),
    ({"baseline": 10**6}, "baseline: token id 1000000 is outside the vocabulary"),
    ({"baseline": "mask"}, "has no mask token"),
    ({"baseline": np.zeros(5)}, "must broadcast to \\(positions, hidden\\)"),
    ({"step_batch": -1}, "step_batch must be a positive integer, or None; got -1"),
    ({"reuse_prefix": "yes"}, "reuse_prefix must be True or False; got 'yes'"),
])
def test_bad_integrated_gradients_options(run, options, match):
    with pytest.raises(ValueError, match=match):
        run.saliency("integrated_gradients", **options)


@pytest.mark.parametrize("method,options,match", [
    ("erasure", {"mode": "blank"}, "mode must be one of 'replace' \\(.*\\), 'drop' \\(.*got 'blank'"),
    ("erasure", {"batch_size": 0}, "batch_size must be a positive integer; got 0"),
    ("attention", {"layer": 7}, "layer: layer 7 is out of range: this model has 2 layers"),
    ("attention", {"layer": "max"}, "layer must be an integer or one of 'mean' .*got 'max'"),
    ("attention", {"head": 9}, "head: head 9 is out of range: this model has 4 heads"),
    ("attention", {"head": -1}, "head must be an integer >= 0, or None; got -1"),
    ("attention_rollout", {"residual": "yes"}, "residual must be True or False; got 'yes'"),
    ("lime", {"n_samples": 0}, "n_samples must be a positive integer, or None; got 0"),
    ("gradient_shap", {"random_state": "x"}, "random_state must be an integer, or None; got 'x'"),
    ("gradient_shap", {"stdevs": -1.0}, "stdevs must be a number >= 0; got -1.0"),
])
def test_bad_method_options(run, method, options, match):
    with pytest.raises(ValueError, match=match):
        run.saliency(method, **options)


def test_run_without_model(run):
    detached = Run(token_ids=run.token_ids, tokens=run.tokens, n_input=run.n_input)
    with pytest.raises(ValueError, match="not attached to a model.*load_run"):
        detached.saliency()


def test_quantized_model_gets_a_clear_error(tiny_scopes, monkeypatch):
    scope = tiny_scopes("llama")
    run = scope.generate("1, 2,", max_new_tokens=1)
    monkeypatch.setattr(scope.model, "is_quantized", True, raising=False)
    with pytest.raises(ValueError, match="needs gradients.*quantized weights.*dtype='float32'.*erasure"):
        run.saliency("integrated_gradients")
    assert run.saliency("erasure").matrix.shape == (1, run.n_tokens)   # gradient-free methods still work
    monkeypatch.undo()
    extra = nn.Parameter(torch.zeros(2, dtype=torch.int8), requires_grad=False)
    scope.model.lm_head.register_parameter("qweight", extra)
    try:
        with pytest.raises(ValueError, match=r"integer weights \(torch.int8\)"):
            run.saliency()
    finally:
        del scope.model.lm_head._parameters["qweight"]


def test_attention_on_a_model_that_hides_weights(tiny_scopes, monkeypatch):
    import lmscope.capture as capture

    run = tiny_scopes("llama").generate("1, 2,", max_new_tokens=1)

    def hidden_weights(*_args, **_kwargs):
        raise ValueError("this model uses 'flash_attention_2' attention, which hides attention weights")

    monkeypatch.setattr("lmscope.saliency.attention.run_forward", hidden_weights)
    with pytest.raises(ValueError, match="attn_implementation='eager'.*or use a gradient method"):
        run.saliency("attention_rollout")
    assert capture.run_forward is not hidden_weights


def test_saliency_methods_is_public():
    assert "grad_x_input" in lmscope.saliency_methods()
