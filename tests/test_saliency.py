"""Gradient saliency on tiny models: equal to Captum, batched = per target, IG completeness, the result object."""

import matplotlib

matplotlib.use("Agg")

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from captum.attr import InputXGradient, IntegratedGradients, Saliency as CaptumSaliency  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import lmscope  # noqa: E402
from lmscope.testing import sample_run  # noqa: E402
from lmscope.saliency import Saliency, compute_saliency  # noqa: E402
from lmscope.views import validate_view  # noqa: E402

# Families of several architectures: learned / rotary positions, LayerNorm / RMSNorm,
# parallel blocks, scaled embeddings (Gemma), flattened FFN input (OPT), masked LMs.
SEVERAL = ("gpt2", "gpt_neo", "llama", "gemma", "gemma3", "phi", "opt", "falcon", "bert", "distilbert")


def reference_rows(scope, run, sal, attribution_cls, **attribute_options) -> np.ndarray:
    """Captum per target over its own prefix, through the model's own forward (``inputs_embeds``)."""
    ids = torch.as_tensor(run.token_ids)[None]
    embed = scope.model.get_input_embeddings()
    rows = np.zeros_like(sal.matrix)
    for i, target in enumerate(sal.targets):
        length = run.n_tokens if scope.is_masked else int(target)
        read = int(target) if scope.is_masked else length - 1
        token = int(sal.target_ids[i])
        foil = None if sal.foil_ids is None else int(sal.foil_ids[i])

        def forward(embeddings, read=read, token=token, foil=foil):
            logits = scope.model(inputs_embeds=embeddings).logits[:, read]
            logits = {"logit": logits, "prob": logits.softmax(-1), "logprob": logits.log_softmax(-1)}[sal.score]
            return logits[:, token] - (logits[:, foil] if foil is not None else 0)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            attr = attribution_cls(forward).attribute(embed(ids[:, :length]).detach(), **attribute_options)
        rows[i, :length] = attr[0].norm(dim=-1).detach().numpy()
    return rows / rows.sum(1, keepdims=True)


@pytest.mark.parametrize("family", SEVERAL)
def test_grad_x_input_equals_captum_input_x_gradient(tiny_scopes, family):
    scope = tiny_scopes(family)
    run = sample_run(scope)
    sal = run.saliency()
    assert sal.method == "grad_x_input" and len(sal.targets) >= 1
    expected = reference_rows(scope, run, sal, InputXGradient)
    np.testing.assert_allclose(sal.matrix, expected, atol=1e-5)
    np.testing.assert_allclose(sal.matrix.sum(1), 1.0, atol=1e-6)
    if not scope.is_masked:
        assert sal.targets.tolist() == list(range(run.n_input, run.n_tokens))
        for i, target in enumerate(sal.targets):
            assert np.all(sal.matrix[i, target:] == 0)


@pytest.mark.parametrize("family", ("gpt2", "llama", "bert"))
def test_gradient_equals_captum_saliency(tiny_scopes, family):
    scope = tiny_scopes(family)
    run = sample_run(scope)
    sal = run.saliency("gradient")
    np.testing.assert_allclose(sal.matrix, reference_rows(scope, run, sal, CaptumSaliency, abs=False), atol=1e-5)


def test_every_causal_family_rows(causal_family):
    run = causal_family.generate("1, 2, 3,", max_new_tokens=4)
    sal = run.saliency(chunk_size=3)
    np.testing.assert_allclose(sal.matrix.sum(1), 1.0, atol=1e-6)
    assert (sal.matrix >= 0).all()
    for i, target in enumerate(sal.targets):
        assert np.all(sal.matrix[i, target:] == 0) and sal.matrix[i, :target].sum() > 0


def test_chunk_size_and_batching_do_not_change_results(tiny_scopes, monkeypatch):
    run = tiny_scopes("llama").generate("1, 2, 3,", max_new_tokens=7)
    one = run.saliency(chunk_size=1).matrix
    for size in (2, 3, 100):
        np.testing.assert_allclose(run.saliency(chunk_size=size).matrix, one, atol=1e-6)
    # Where the batched backward pass is not supported, one backward per target gives the same.
    real = torch.autograd.grad

    def no_batching(*args, **kwargs):
        if kwargs.get("is_grads_batched"):
            raise RuntimeError("no batching rule")
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", no_batching)
    np.testing.assert_allclose(run.saliency(chunk_size=4).matrix, one, atol=1e-6)


def test_large_graphs_get_one_backward_pass_per_target(tiny_scopes, monkeypatch):
    """Above VMAP_MAX_ROWS rows the targets' backward passes run one by one, with the same results."""
    import lmscope.saliency.engine as engine

    run = tiny_scopes("llama").generate("1, 2, 3,", max_new_tokens=7)
    batched = run.saliency(chunk_size=4).matrix
    ig_batched = run.saliency("integrated_gradients", n_steps=6, chunk_size=4)
    calls = []
    real = torch.autograd.grad
    monkeypatch.setattr(torch.autograd, "grad", lambda *a, **k: calls.append(k.get("is_grads_batched")) or real(*a, **k))
    monkeypatch.setattr(engine, "VMAP_MAX_ROWS", 0)
    np.testing.assert_allclose(run.saliency(chunk_size=4).matrix, batched, atol=1e-6)
    ig_loop = run.saliency("integrated_gradients", n_steps=6, chunk_size=4)
    np.testing.assert_allclose(ig_loop.matrix, ig_batched.matrix, atol=1e-6)
    np.testing.assert_allclose(ig_loop.deltas, ig_batched.deltas, atol=1e-5)
    assert calls and not any(calls)


def test_chunks_run_only_the_positions_they_need(tiny_scopes):
    """Position chunking: each chunk's forward pass stops at its last target."""
    scope = tiny_scopes("llama")
    run = scope.analyze("1, 2, 3, 4, 5, 6")
    assert run.n_tokens > 9
    lengths = []
    handle = scope.anatomy.embeddings.register_forward_hook(lambda _m, args, _o: lengths.append(args[0].shape[1]))
    try:
        run.saliency(targets=[3, 4, 5, 6, 7, 8], chunk_size=2)
    finally:
        handle.remove()
    # the base embeddings once, then one forward pass per chunk, up to the chunk's last target
    assert lengths == [run.n_tokens, 4, 6, 8]


def test_the_logit_score_never_projects_onto_the_whole_vocabulary(tiny_scopes, monkeypatch):
    """The logit (integrated gradients' default, and with a foil) needs only the target's and
    foil's rows of the head; the log-probability needs the whole vocabulary, at the target rows."""
    scope = tiny_scopes("llama")
    run = scope.generate("1, 2, 3,", max_new_tokens=3)
    shapes = []
    whole = type(scope.anatomy).logits
    monkeypatch.setattr(type(scope.anatomy), "logits", lambda self, h, **kw: shapes.append(h.shape) or whole(
        self, h, **kw))
    run.saliency("integrated_gradients", n_steps=4)
    run.saliency("grad_x_input", score="logit", contrast=" the")
    assert shapes == []
    run.saliency("grad_x_input", chunk_size=3)
    assert [s[-2] for s in shapes] == [3]      # one projection, of the three targets' rows only


def test_scores_and_aggregations(tiny_scopes):
    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=3)
    prob, logprob = run.saliency(score="prob").matrix, run.saliency(score="logprob").matrix
    np.testing.assert_allclose(prob, logprob, atol=1e-6)   # d p = p d log p: same rows after normalising
    default = run.saliency()
    assert default.score == "logprob" and run.saliency("gradient").score == "logprob"
    np.testing.assert_array_equal(default.matrix, logprob)
    logit = run.saliency(score="logit")
    assert logit.score == "logit" and not np.allclose(prob, logit.matrix, atol=1e-4)
    assert run.saliency("integrated_gradients", n_steps=2).score == "logit"
    signed = run.saliency(aggregation="sum", normalize="none")
    assert signed.signed and (signed.matrix < 0).any()
    raw = run.saliency(normalize="none").matrix
    np.testing.assert_allclose(run.saliency(normalize="max").matrix, raw / raw.max(1, keepdims=True), atol=1e-7)
    mean_abs = run.saliency(aggregation="mean_abs")
    assert not mean_abs.signed and np.allclose(mean_abs.matrix.sum(1), 1)


def test_signed_rows_normalise_by_absolute_sum(tiny_scopes):
    run = tiny_scopes("llama").generate("1, 2, 3,", max_new_tokens=3)
    sal = run.saliency(aggregation="sum")
    np.testing.assert_allclose(np.abs(sal.matrix).sum(1), 1.0, atol=1e-6)


@pytest.mark.parametrize("family", ("gpt2", "llama", "bert"))
def test_integrated_gradients_equal_captum(tiny_scopes, family):
    scope = tiny_scopes(family)
    run = sample_run(scope)
    sal = run.saliency("integrated_gradients", n_steps=16, chunk_size=2, step_batch=5)
    np.testing.assert_allclose(sal.matrix, reference_rows(scope, run, sal, IntegratedGradients, n_steps=16), atol=1e-5)


@pytest.mark.parametrize("family", ("gpt2", "llama", "bert"))
def test_integrated_gradients_completeness(tiny_scopes, family):
    """Signed attributions add up to the score difference, up to the reported delta, which shrinks with steps."""
    run = sample_run(tiny_scopes(family))
    deltas = []
    for n_steps in (4, 64):
        sal = run.saliency("integrated_gradients", n_steps=n_steps, aggregation="sum", normalize="none")
        difference = sal.extras["score_differences"]
        np.testing.assert_allclose(sal.matrix.sum(1), difference + sal.deltas, atol=1e-5)
        deltas.append(np.abs(sal.deltas).max())
    assert deltas[1] < deltas[0] / 5
    assert deltas[1] < 0.05 * np.abs(difference).max()


def test_integrated_gradients_reusing_the_prefix_on_every_causal_family(causal_family, monkeypatch):
    """One forward pass through a KV cache that keeps its graph gives the same as a pass per chunk."""
    import lmscope.saliency.gradients as gradients

    run = causal_family.generate("1, 2, 3,", max_new_tokens=5)
    used = []
    real = gradients._ig_reusing_prefix
    monkeypatch.setattr(gradients, "_ig_reusing_prefix", lambda *a, **k: used.append(1) or real(*a, **k))
    reused = run.saliency("integrated_gradients", n_steps=6, chunk_size=2, step_batch=4, reuse_prefix=True,
                          normalize="none")
    assert used, "the prefix-reuse path did not run on this family"
    per_chunk = run.saliency("integrated_gradients", n_steps=6, chunk_size=3, reuse_prefix=False, normalize="none")
    np.testing.assert_allclose(reused.matrix, per_chunk.matrix, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(reused.deltas, per_chunk.deltas, atol=1e-5)


def test_prefix_reuse_falls_back_when_the_cache_disagrees(tiny_scopes, monkeypatch):
    from lmscope.saliency.engine import Problem

    run = tiny_scopes("llama").generate("1, 2, 3,", max_new_tokens=4)
    expected = run.saliency("integrated_gradients", n_steps=6, reuse_prefix=False).matrix
    real = Problem.segment_hidden
    monkeypatch.setattr(Problem, "segment_hidden", lambda self, x, start, cache: real(self, x, start, cache) * 1.5)
    np.testing.assert_allclose(run.saliency("integrated_gradients", n_steps=6, reuse_prefix=True).matrix, expected,
                               atol=1e-6)


def test_integrated_gradients_options(tiny_scopes):
    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=2)
    riemann = run.saliency("integrated_gradients", n_steps=200, integration="riemann_trapezoid", aggregation="sum",
                           normalize="none")
    gauss = run.saliency("integrated_gradients", n_steps=50, aggregation="sum", normalize="none")
    np.testing.assert_allclose(riemann.matrix, gauss.matrix, atol=1e-3)
    unk = run.saliency("integrated_gradients", n_steps=8, baseline=5)
    assert not np.allclose(unk.matrix, run.saliency("integrated_gradients", n_steps=8).matrix)
    custom = run.saliency("integrated_gradients", n_steps=8, baseline=np.zeros(32))
    np.testing.assert_allclose(custom.matrix, run.saliency("integrated_gradients", n_steps=8).matrix, atol=1e-7)


def test_contrastive_gradient_is_gradient_of_logit_difference(tiny_scopes):
    scope = tiny_scopes("gpt2")
    run = scope.generate("1, 2, 3,", max_new_tokens=3)
    foil = scope.tokenizer(" the", add_special_tokens=False)["input_ids"]
    assert len(foil) == 1
    sal = run.saliency("grad_x_input", contrast=" the")
    assert sal.foil_ids.tolist() == foil * len(sal.targets)
    np.testing.assert_allclose(sal.matrix, reference_rows(scope, run, sal, InputXGradient), atol=1e-5)
    # the default score's difference, log p(target) - log p(foil), is the logit difference
    logit = run.saliency("grad_x_input", contrast=" the", score="logit")
    np.testing.assert_allclose(sal.matrix, logit.matrix, atol=1e-6)
    np.testing.assert_allclose(sal.matrix, reference_rows(scope, run, logit, InputXGradient), atol=1e-5)
    assert not np.allclose(sal.matrix, run.saliency().matrix, atol=1e-3)
    # a foil equal to the target leaves nothing to explain: the row is zero, not NaN
    target = int(sal.targets[0])
    same = run.saliency("grad_x_input", targets=[target], contrast=int(run.token_ids[target]))
    assert np.all(same.matrix == 0)


def test_masked_lm_explains_the_top_prediction_over_every_position(tiny_scopes):
    scope = tiny_scopes("bert")
    run = scope.analyze("The quick [MASK] fox jumps")
    sal = run.saliency()
    mask = int(np.flatnonzero(run.token_ids == scope.tokenizer.mask_token_id)[0])
    assert sal.targets.tolist() == [mask]
    assert sal.target_ids[0] == run.candidates[0]["top"][0]["token_id"]
    assert (sal.matrix[0, mask + 1:] > 0).all()        # bidirectional: later tokens count too


def test_analyze_targets_any_position(tiny_scopes):
    run = tiny_scopes("llama").analyze("The quick brown fox jumps over")
    sal = run.saliency(targets=[-1, 2, 2])
    assert sal.targets.tolist() == [2, run.n_tokens - 1]
    assert sal.target_ids.tolist() == [run.token_ids[2], run.token_ids[-1]]
    full = run.saliency()
    assert full.targets.tolist() == list(range(1, run.n_tokens))
    np.testing.assert_allclose(full.matrix[[1, -1]], sal.matrix, atol=1e-6)


def test_works_inside_no_grad_and_leaves_model_untouched(tiny_scopes):
    scope = tiny_scopes("gpt2")
    run = scope.generate("1, 2,", max_new_tokens=2)
    modules = list(scope.model.modules())
    hooks_before = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in modules)
    expected = run.saliency().matrix
    with torch.no_grad():
        np.testing.assert_allclose(run.saliency().matrix, expected)
    with torch.inference_mode():
        np.testing.assert_allclose(run.saliency().matrix, expected)
    assert sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in modules) == hooks_before
    assert not any(p.requires_grad for p in scope.model.parameters())
    assert all(p.grad is None for p in scope.model.parameters())


def test_reproducible_run_to_run(tiny_scopes):
    run = tiny_scopes("qwen2").generate("1, 2, 3,", max_new_tokens=4)
    np.testing.assert_array_equal(run.saliency().matrix, run.saliency().matrix)


# ---------------------------------------------------------------------------- result object
def test_result_exports(tiny_scopes):
    run = tiny_scopes("llama").generate("1, 2, 3,", max_new_tokens=3)
    sal = run.saliency()
    assert isinstance(sal, Saliency) and sal.matrix.shape == (3, run.n_tokens)
    data = sal.to_dict()
    assert [t["token"] for t in data["tokens"]] == run.tokens
    assert {t["type"] for t in data["tokens"]} == {"input", "output"}
    assert set(data["tokens"][0]) == {"token", "token_id", "type", "value", "position"}
    assert [len(row) for row in data["attributions"]] == sal.targets.tolist()     # the tokens before each target
    assert data["tokens"][0]["value"] == pytest.approx(sal.matrix[-1, 0])
    np.testing.assert_allclose(sal.row(int(sal.targets[1])), data["attributions"][1])
    frame = sal.to_frame()
    assert frame.shape == sal.matrix.shape
    assert frame.index.get_level_values("target").tolist() == sal.targets.tolist()
    assert frame.columns.get_level_values("token").tolist() == run.tokens


def test_view_and_plot(tiny_scopes, tmp_path):
    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=3)
    for sal in (run.saliency(), run.saliency(aggregation="sum")):
        view = sal.view_data()
        validate_view(view)
        rows = np.array(view["attributions"])
        assert rows.shape == (3, run.n_tokens)
        for row, target in zip(rows, view["targets"]):
            assert np.all(row[target:] == 0)
        assert isinstance(sal.plot(), Figure)
    assert "lmscope" in sal._repr_html_()
    assert sal.to_html(tmp_path / "s.html").exists()


def test_plot_leaves_pyplot_alone_and_draws_on_a_given_axes(tiny_scopes):
    import matplotlib.pyplot as plt

    from lmscope.core.results import Result

    sal = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=2).saliency()
    assert isinstance(sal, Result)
    before = plt.get_fignums()
    figure = sal.plot()
    assert plt.get_fignums() == before and figure.axes[0].get_title() == "saliency: grad_x_input"
    own, axes = plt.subplots(1, 2)
    try:
        assert sal.plot(ax=axes[1]) is own and axes[1].get_title() == "saliency: grad_x_input"
        assert not axes[0].images
    finally:
        plt.close(own)
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes or None"):
        sal.plot(ax="left")


def test_masked_view_keeps_attributions_on_both_sides_of_the_mask(tiny_scopes):
    scope = tiny_scopes("bert")
    sal = scope.analyze("The quick [MASK] fox jumps").saliency()
    view = sal.view_data()
    validate_view(view)
    mask = view["targets"][0]
    row = np.array(view["attributions"][0])
    np.testing.assert_array_equal(row, sal.matrix[0])                 # the whole row, as to_dict gives it
    assert (row[mask + 1:] > 0).all() and (row[:mask] > 0).all()
    assert view["attributions"][0] == sal.to_dict()["attributions"][0]


def test_saliency_methods_listed():
    names = lmscope.saliency_methods()
    for name in ("grad_x_input", "gradient", "integrated_gradients", "erasure", "attention", "attention_rollout",
                 "attention_flow", "deeplift", "gradient_shap", "lime", "kernel_shap"):
        assert name in names
    assert compute_saliency.__module__ == "lmscope.saliency"


def test_half_precision_model(tiny_scopes):
    """A bfloat16 model computes in its own dtype and gives close to the float32 rows."""
    from lmscope.testing import tiny_scope

    text = "1, 2, 3, 4, 5"
    full, half = tiny_scopes("llama").analyze(text), tiny_scope("llama", dtype="bfloat16").analyze(text)
    for method, options in (("grad_x_input", {}), ("integrated_gradients", {"n_steps": 8})):
        expected, got = full.saliency(method, **options), half.saliency(method, **options)
        assert got.matrix.dtype == np.float64
        np.testing.assert_allclose(got.matrix, expected.matrix, atol=1e-2)
