"""The saliency registry is the single source of truth: options and defaults come from each
method's signature, what a method needs from its declaration, and the public signature, the
docstring, capture_for, the error messages and method_info are all derived from it."""

import inspect
import json

import numpy as np
import pytest

import lmscope
from lmscope.core.checks import message
from lmscope.run import Run
from lmscope.saliency import capture_for, compute_saliency, method_info, methods
from lmscope.saliency.registry import COMMON, NEEDS, register, varying_defaults


@pytest.fixture(scope="module")
def run():
    from lmscope.testing import tiny_scope

    return tiny_scope("gpt2").generate("1, 2, 3,", max_new_tokens=2)


def test_options_and_defaults_come_from_each_method_signature():
    for spec in methods():
        params = list(inspect.signature(spec.compute).parameters.values())[1:]
        assert spec.defaults == {p.name: p.default for p in params}
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert method_info("integrated_gradients").defaults["score"] == "logit"
    assert method_info("grad_x_input").defaults["score"] == "logprob"


def test_needs_are_declared_and_drive_capture_and_the_gradient_free_list(run, monkeypatch):
    needs = {spec.name: spec.needs for spec in methods()}
    assert all(n <= set(NEEDS) for n in needs.values())
    attention = {"attention", "attention_rollout", "attention_flow"}
    assert {name for name, n in needs.items() if "attentions" in n} == attention
    for name in needs:
        assert capture_for(name) == (("attentions",) if name in attention else ())
    assert {name for name, n in needs.items() if "captum" in n} == {"deeplift", "gradient_shap", "lime", "kernel_shap"}
    # the quantized-model message lists every method that needs no gradients, lime and kernel_shap included
    monkeypatch.setattr(run.scope.model, "is_quantized", True, raising=False)
    with pytest.raises(ValueError, match="erasure, attention, attention_rollout, attention_flow, lime, kernel_shap$"):
        run.saliency()
    with pytest.raises(ValueError, match="method must be one of"):
        capture_for("smoothgrad")


def test_help_shows_every_option_with_one_default():
    signature = inspect.signature(Run.saliency)
    params = signature.parameters
    assert list(params)[:4] == ["self", "method", *COMMON]
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    every = {o.name for spec in methods() for o in spec.options}
    assert set(params) == {"self", "method", *COMMON, *every}
    varying = varying_defaults()
    assert varying == {"score", "chunk_size", "n_samples"}
    for spec in methods():
        for option in spec.options:
            shown = params[option.name].default
            assert shown is None if option.name in varying else shown == option.default or (
                shown is option.default), option.name
    doc = inspect.getdoc(Run.saliency)
    for spec in methods():          # the docstring names each method with its own defaults
        assert f"``{spec.name}``" in doc
    assert "score='logit', contrast=None, chunk_size=6, n_steps=50" in doc
    assert "score='logprob', contrast=None, chunk_size=8" in doc


def test_none_picks_the_methods_own_default(run):
    for spec in methods():      # None is free to mean "the method's default": no method accepts it there
        for name in varying_defaults() & set(spec.option_names):
            assert not spec.options[spec.option_names.index(name)].constraint.accepts(None)
    assert compute_saliency.constraints["score"].none
    explicit = run.saliency("integrated_gradients", n_steps=4, score="logit", chunk_size=6)
    default = run.saliency("integrated_gradients", n_steps=4, score=None, chunk_size=None)
    np.testing.assert_array_equal(explicit.matrix, default.matrix)
    assert default.score == "logit" and default.info["chunk_size"] == 6


def test_info_holds_the_call_with_defaults(run):
    sal = run.saliency("integrated_gradients", n_steps=4, targets=[-1])
    assert sal.info == {"method": "integrated_gradients", "targets": [-1], "normalize": "sum", "aggregation": "l2",
                        "score": "logit", "contrast": None, "chunk_size": 6, "n_steps": 4, "baseline": "zeros",
                        "integration": "gausslegendre", "step_batch": None, "reuse_prefix": False}
    assert run.saliency("attention").info == {"method": "attention", "targets": None, "normalize": "sum",
                                              "layer": -1, "head": None}


def test_every_invalid_value_of_every_option_gets_the_shared_message_before_any_work(run, monkeypatch):
    """In the spirit of scikit-learn's parameter validation: values generated from the declared constraints."""
    def no_model(*_a, **_k):
        raise AssertionError("the model ran for an invalid option")

    monkeypatch.setattr("lmscope.saliency.make_problem", no_model)
    public = compute_saliency.constraints          # what the signature declares (the CLI and explorer read it)
    assert set(public) == set(inspect.signature(compute_saliency).parameters) - {"run"}
    probed = 0
    for spec in ["grad_x_input", *(s.name for s in methods())]:
        for name in ("method", *COMMON, *method_info(spec).option_names):
            for value in public[name].invalid():
                if value is None and public[name].none:
                    continue        # Either.invalid lists None even when the Either allows it
                with pytest.raises(ValueError) as caught:
                    run.saliency(value) if name == "method" else run.saliency(spec, **{name: value})
                assert str(caught.value) == message(name, public[name], value), (spec, name)
                probed += 1
    assert probed > 100
    # a bad value gets the same message whether or not the method takes that option
    with pytest.raises(ValueError, match="^n_steps must be a positive integer; got 0$"):
        run.saliency("grad_x_input", n_steps=0)


def test_unknown_option_names_the_methods_options(run):
    with pytest.raises(ValueError, match="'attention_rollout' does not take \\['n_steps'\\]; its options are: "
                                         "targets, normalize, residual$"):
        run.saliency("attention_rollout", n_steps=3)
    with pytest.raises(ValueError, match="'grad_x_input' does not take \\['bogus'\\]"):
        run.saliency(bogus=1)


def test_method_info_is_json_for_the_cli_and_the_explorer():
    data = json.loads(json.dumps([spec.to_dict() for spec in methods()]))
    assert [d["name"] for d in data] == lmscope.saliency_methods()
    ig = next(d for d in data if d["name"] == "integrated_gradients")
    assert ig["needs"] == ["gradients", "model"]
    assert ig["summary"].startswith("Integrated gradients")
    integration = next(o for o in ig["options"] if o["name"] == "integration")
    assert integration["default"] == "gausslegendre" and "riemann_left" in integration["choices"]
    assert integration["help"] and integration["allowed"].startswith("one of")
    assert all(o["help"] for d in data for o in d["options"])


def test_a_method_must_declare_defaults_and_known_needs():
    with pytest.raises(TypeError, match="needs \\['network'\\] are not among"):
        register("x", needs={"network"}, cost=1)
    with pytest.raises(TypeError, match="option 'k' must be keyword-only with a default"):
        register("x", needs={"model"}, cost=1)(lambda problem, *, k: None)
    with pytest.raises(TypeError, match="option 'wobble' needs a constraint"):
        register("x", needs={"model"}, cost=1)(lambda problem, *, wobble=1: None)
    assert "x" not in lmscope.saliency_methods()
