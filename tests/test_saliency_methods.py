"""Erasure, attention (raw, rollout, flow) and the Captum-backed methods, each against an independent reference."""

import warnings

import networkx as nx
import numpy as np
import pytest
import torch

from lmscope.testing import sample_run

METHODS_ON_EVERY_KIND = ("grad_x_input", "gradient", "integrated_gradients", "erasure", "attention",
                         "attention_rollout", "attention_flow", "deeplift", "gradient_shap", "lime", "kernel_shap")
CHEAP = {"integrated_gradients": {"n_steps": 8}, "lime": {"n_samples": 30}, "kernel_shap": {"n_samples": 30},
         "gradient_shap": {"n_samples": 4}}


@pytest.mark.parametrize("family", ("llama", "gpt2", "bert"))
@pytest.mark.parametrize("method", METHODS_ON_EVERY_KIND)
def test_every_method_gives_normalised_rows(tiny_scopes, family, method):
    scope = tiny_scopes(family)
    run = sample_run(scope)
    sal = run.saliency(method, **CHEAP.get(method, {}))
    assert sal.method == method and sal.matrix.shape == (len(sal.targets), run.n_tokens)
    assert np.isfinite(sal.matrix).all()
    np.testing.assert_allclose(np.abs(sal.matrix).sum(1), 1.0, atol=1e-6)
    if not scope.is_masked:
        for i, target in enumerate(sal.targets):
            assert np.all(sal.matrix[i, target:] == 0)
    if not sal.signed:
        assert (sal.matrix >= 0).all()


def logprob(scope, embeddings, read, token):
    with torch.no_grad():
        return torch.log_softmax(scope.model(inputs_embeds=embeddings).logits[0, read], -1)[token].item()


@pytest.mark.parametrize("family", ("llama", "gpt2", "bert"))
def test_erasure_replace_equals_brute_force(tiny_scopes, family):
    scope = tiny_scopes(family)
    run = sample_run(scope)
    sal = run.saliency("erasure", normalize="none", batch_size=3)
    ids = torch.as_tensor(run.token_ids)[None]
    base = scope.model.get_input_embeddings()(ids).detach()
    for i, target in enumerate(sal.targets):
        read = target if scope.is_masked else target - 1
        token = int(sal.target_ids[i])
        original = logprob(scope, base, read, token)
        for position in range(run.n_tokens if scope.is_masked else target):
            erased = base.clone()
            erased[0, position] = 0
            assert sal.matrix[i, position] == pytest.approx(original - logprob(scope, erased, read, token), abs=1e-4)
    assert sal.signed


def test_erasure_drop_equals_brute_force(tiny_scopes):
    scope = tiny_scopes("gpt2")
    run = scope.generate("1, 2, 3,", max_new_tokens=3)
    sal = run.saliency("erasure", mode="drop", normalize="none", score="logit")
    ids = torch.as_tensor(run.token_ids)
    for i, target in enumerate(sal.targets):
        token = int(run.token_ids[target])
        with torch.no_grad():
            original = scope.model(input_ids=ids[None, :target]).logits[0, -1, token].item()
            for position in range(target):
                kept = torch.cat([ids[:position], ids[position + 1:target]])[None]
                changed = scope.model(input_ids=kept).logits[0, -1, token].item()
                assert sal.matrix[i, position] == pytest.approx(original - changed, abs=1e-4)


def test_erasure_scores_every_target_from_one_forward_per_position(tiny_scopes):
    scope = tiny_scopes("llama")
    run = scope.analyze("1, 2, 3, 4, 5, 6")
    calls = []
    handle = scope.anatomy.embeddings.register_forward_hook(lambda _m, args, _o: calls.append(args[0].shape[0]))
    try:
        run.saliency("erasure", batch_size=4)
    finally:
        handle.remove()
    # base embeddings, the unperturbed pass, then ceil((n - 1) / 4) batches of perturbed inputs
    assert calls[2:] == [4] * ((run.n_tokens - 1) // 4) + ([(run.n_tokens - 1) % 4] if (run.n_tokens - 1) % 4 else [])


def attentions(scope, run):
    """Attention weights of the run's own tokens, captured by lmscope's capture pass."""
    from lmscope.capture import run_forward

    got = run_forward(scope.anatomy, torch.as_tensor(run.token_ids)[None], capture=("attentions",))
    return np.stack([got.attentions[layer][0].double().numpy() for layer in range(scope.n_layers)])


def test_attention_rows_are_the_model_attention(tiny_scopes):
    scope = tiny_scopes("llama")
    run = scope.generate("1, 2, 3,", max_new_tokens=3)
    attn = attentions(scope, run)
    last = run.saliency("attention", normalize="none")
    mean = run.saliency("attention", layer="mean", normalize="none")
    head = run.saliency("attention", layer=0, head=1, normalize="none")
    for i, target in enumerate(last.targets):
        np.testing.assert_allclose(last.matrix[i, :target], attn[-1].mean(0)[target - 1, :target], atol=1e-5)
        np.testing.assert_allclose(mean.matrix[i, :target], attn.mean((0, 1))[target - 1, :target], atol=1e-5)
        np.testing.assert_allclose(head.matrix[i, :target], attn[0, 1, target - 1, :target], atol=1e-5)


def residual_mixing(attn):
    mixed = 0.5 * attn.mean(1) + 0.5 * np.eye(attn.shape[-1])
    return mixed / mixed.sum(-1, keepdims=True)


def test_attention_rollout_multiplies_layers(tiny_scopes):
    scope = tiny_scopes("gpt_neox")
    run = scope.generate("1, 2, 3,", max_new_tokens=3)
    mixing = residual_mixing(attentions(scope, run))
    rollout = mixing[1] @ mixing[0]
    sal = run.saliency("attention_rollout", normalize="none")
    for i, target in enumerate(sal.targets):
        np.testing.assert_allclose(sal.matrix[i, :target], rollout[target - 1, :target], atol=1e-5)
        assert sal.matrix[i, :target].sum() == pytest.approx(1.0, abs=1e-5)  # rollout rows stay distributions


@pytest.mark.parametrize("family", ("gpt2", "bert"))
def test_attention_flow_equals_networkx_max_flow(tiny_scopes, family):
    scope = tiny_scopes(family)
    run = sample_run(scope)
    mixing = residual_mixing(attentions(scope, run))
    n_layers, n = mixing.shape[0], run.n_tokens
    graph = nx.DiGraph()
    for layer in range(n_layers):
        for upper in range(n):
            for lower in range(n):
                if mixing[layer, upper, lower] > 0:
                    graph.add_edge((layer + 1, upper), (layer, lower), capacity=mixing[layer, upper, lower])
    sal = run.saliency("attention_flow", normalize="none")
    for i, target in enumerate(sal.targets):
        read = target if scope.is_masked else target - 1
        for position in range(n if scope.is_masked else target):
            expected = nx.maximum_flow_value(graph, (n_layers, read), (0, position))
            assert sal.matrix[i, position] == pytest.approx(expected, abs=1e-4)


ATTENTION_METHODS = {"attention": {}, "attention_mean": {"layer": "mean"}, "attention_head": {"layer": 0, "head": 1},
                     "attention_rollout": {}, "attention_flow": {}}


@pytest.mark.parametrize("family", ("llama", "gpt2", "bert"))
def test_attention_methods_read_captured_weights_and_equal_one_model_pass(tiny_scopes, family, monkeypatch):
    scope = tiny_scopes(family)
    captured = sample_run(scope, capture=("attentions",))
    bare = sample_run(scope, capture=())
    assert captured.attentions is not None and bare.attentions is None
    from_model = {}
    for key, options in ATTENTION_METHODS.items():
        sal = bare.saliency(key.split("_mean")[0].split("_head")[0], normalize="none", **options)
        assert sal.extras["attention_source"] == "model"
        from_model[key] = sal

    def no_forward(*_args, **_kwargs):
        raise AssertionError("the model ran although the run captured the attention weights")

    monkeypatch.setattr("lmscope.saliency.attention.run_forward", no_forward)
    for key, options in ATTENTION_METHODS.items():
        sal = captured.saliency(key.split("_mean")[0].split("_head")[0], normalize="none", **options)
        assert sal.extras["attention_source"] == "captured"
        np.testing.assert_array_equal(sal.matrix, from_model[key].matrix)       # identical, not just close


def test_attention_runs_the_model_once_when_the_needed_layers_were_not_captured(tiny_scopes, monkeypatch):
    import lmscope.saliency.attention as attention

    scope = tiny_scopes("llama")
    run = scope.generate("1, 2, 3,", max_new_tokens=2, capture=("attentions",), layers=[0])
    calls = []
    original = attention.run_forward
    monkeypatch.setattr(attention, "run_forward", lambda *a, **k: calls.append(k["layers"]) or original(*a, **k))
    assert run.saliency("attention", layer=0).extras["attention_source"] == "captured"
    assert run.saliency("attention", layer=-1).extras["attention_source"] == "model"
    assert run.saliency("attention_rollout").extras["attention_source"] == "model"
    assert calls == [[scope.n_layers - 1], list(range(scope.n_layers))]          # one pass per call


def test_attention_on_sdpa_model_switches_to_eager_and_back(tiny_scopes):
    scope = tiny_scopes("llama")
    kernel = scope.model.config._attn_implementation
    run = scope.generate("1, 2,", max_new_tokens=2)
    run.saliency("attention_flow")
    assert scope.model.config._attn_implementation == kernel


# ---------------------------------------------------------------------------- Captum-backed
def test_deeplift_and_gradient_shap_follow_captum(tiny_scopes):
    from captum.attr import DeepLift, GradientShap

    from lmscope.saliency.captum_methods import _TargetScore
    from lmscope.saliency.prepare import make_problem

    scope = tiny_scopes("llama")
    run = scope.generate("1, 2, 3,", max_new_tokens=2)
    problem = make_problem(run, None, score="logit", contrast=None)
    for method, cls, options in (("deeplift", DeepLift, {}), ("gradient_shap", GradientShap, {"n_samples": 6})):
        sal = run.saliency(method, normalize="none", **options)
        again = run.saliency(method, normalize="none", **options)
        np.testing.assert_array_equal(sal.matrix, again.matrix)      # seeded: reproducible
        torch.manual_seed(0)
        np.random.seed(0)                                              # Captum samples from both
        for row, target in enumerate(sal.targets):
            x = problem.base_embeddings()[:, :target]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                attr = cls(_TargetScore(problem, row)).attribute(x, baselines=torch.zeros_like(x), **options)
            np.testing.assert_allclose(sal.matrix[row, :target], attr[0].norm(dim=-1).detach().numpy(), rtol=1e-4,
                                       atol=1e-6)


def test_lime_and_kernel_shap_find_the_token_that_matters(tiny_scopes):
    """On a model where only one earlier token changes the score, surrogate methods single it out."""
    scope = tiny_scopes("gpt2")
    run = scope.generate("1, 2, 3,", max_new_tokens=1)
    erasure = run.saliency("erasure", score="logit", normalize="none").matrix[0]
    for method in ("kernel_shap", "lime"):
        sal = run.saliency(method, n_samples=200, normalize="none")
        assert sal.signed
        again = run.saliency(method, n_samples=200, normalize="none")
        np.testing.assert_array_equal(sal.matrix, again.matrix)
        other = run.saliency(method, n_samples=200, normalize="none", random_state=1)
        assert not np.array_equal(sal.matrix, other.matrix)
        # the most important token by erasure is among the top 3 by the surrogate
        top = np.argsort(-np.abs(sal.matrix[0, :run.n_input]))[:3]
        assert int(np.argmax(np.abs(erasure))) in top.tolist()


def test_captum_missing_gives_install_hint(tiny_scopes, monkeypatch):
    import sys

    run = tiny_scopes("llama").generate("1, 2,", max_new_tokens=1)
    monkeypatch.setitem(sys.modules, "captum", None)
    monkeypatch.setitem(sys.modules, "captum.attr", None)
    with pytest.raises(ImportError, match=r"lmscope\[captum\]"):
        run.saliency("lime")
    assert run.saliency("grad_x_input").matrix.shape[0] == 1   # built-in methods need no Captum
