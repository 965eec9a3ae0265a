"""NaN and inf never turn into silent zeros: capture, saliency and the lens stop with an error naming where.

A tiny model gets NaN or inf weights in one layer (as a broken checkpoint would), an
overflow in half-precision storage, or a backward pass that overflows; each must raise
``NonFiniteError`` (a ``ValueError``) whose message names the place and the fix.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lmscope
from lmscope.core.finite import NonFiniteError
from lmscope.testing import tiny_scope

TEXT = "1, 2, 3, 4,"


def _poison(scope, layer: int, value: float) -> None:
    """Fill layer ``layer``'s FFN output projection with ``value`` (NaN or inf)."""
    with torch.no_grad():
        scope.model.model.layers[layer].mlp.down_proj.weight.fill_(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_capture_names_the_first_layer_that_went_non_finite(value):
    scope = tiny_scope("llama")
    _poison(scope, 0, value)
    with pytest.raises(NonFiniteError, match=r"hidden states after layer 0 hold NaN or inf values at positions "
                                             r"\[0, 1, .*dtype='float32'"):
        scope.analyze(TEXT)
    # the layer's own FFN activations come before its output projection: fine, and a capture of them only is too
    assert np.isfinite(scope.analyze(TEXT, capture=("activations",), layers=[0]).activations).all()
    with pytest.raises(NonFiniteError, match="activations of layer 1"):
        scope.analyze(TEXT, capture=("activations",), layers=[0, 1])


def test_candidate_logits_are_checked():
    scope = tiny_scope("llama")
    with torch.no_grad():
        scope.model.lm_head.weight[5].fill_(float("nan"))
    with pytest.raises(NonFiniteError, match=r"the model's output logits hold NaN or inf values at positions \[\d"):
        scope.generate(TEXT, max_new_tokens=2, capture=())


def test_float16_storage_overflow_is_refused_not_stored_as_inf():
    scope = tiny_scope("llama")
    with torch.no_grad():
        scope.model.model.layers[0].mlp.up_proj.weight.mul_(1e5)
        scope.model.model.layers[0].mlp.gate_proj.weight.mul_(1e5)
    run = scope.analyze(TEXT, layers=[0])                   # float32 holds the large values
    assert np.isfinite(run.activations).all() and np.abs(run.activations).max() > 65504
    with pytest.raises(NonFiniteError, match=r"float16 \(beyond its range.*activation_dtype='float32'"):
        scope.analyze(TEXT, layers=[0], activation_dtype="float16")


METHODS = ["gradient", "grad_x_input", "integrated_gradients", "erasure", "deeplift", "lime"]


@pytest.mark.parametrize("method", METHODS)
def test_saliency_of_a_model_whose_weights_went_nan(method):
    scope = tiny_scope("llama")
    run = scope.generate(TEXT, max_new_tokens=2)            # captured while the model was fine
    _poison(scope, 0, float("nan"))
    options = {"n_steps": 4} if method == "integrated_gradients" else {"n_samples": 8} if method == "lime" else {}
    with pytest.raises(NonFiniteError, match=r"saliency scores of .* for targets \[\d+.*hold NaN or inf"):
        run.saliency(method, **options)


def test_saliency_gradients_that_overflow_in_the_backward_pass():
    scope = tiny_scope("llama")
    run = scope.generate(TEXT, max_new_tokens=2)
    block = scope.model.model.layers[0]

    def overflow_backward(_module, _inputs, output):
        hidden = output[0] if isinstance(output, tuple) else output
        if hidden.requires_grad:
            hidden.register_hook(lambda grad: grad * float("inf"))

    handle = block.register_forward_hook(overflow_backward)
    try:
        with pytest.raises(NonFiniteError, match=r"saliency gradients of .*\(backward pass\)"):
            run.saliency("gradient")
        assert np.isfinite(run.saliency("erasure").matrix).all()     # no backward pass, no error
    finally:
        handle.remove()
    assert np.isfinite(run.saliency("gradient").matrix).all()


def test_lens_names_the_hidden_state_row_and_position():
    scope = tiny_scope("llama")
    run = scope.generate(TEXT, max_new_tokens=2)
    assert np.isfinite(run.lens().probs).all()
    run.hidden_states[1, 11] = np.inf       # layer 0's output where the last target is read
    with pytest.raises(NonFiniteError, match=r"logit lens logits .*\[\(1, 11\)\]"):
        run.lens()


def test_a_loaded_run_with_nan_then_attached_is_caught_by_the_lens(tmp_path):
    scope = tiny_scope("llama")
    run = scope.generate(TEXT, max_new_tokens=2)
    run.hidden_states[1, 0, 0] = np.nan
    back = lmscope.load_run(run.save(tmp_path / "r.lms"), scope=scope)
    with pytest.raises(NonFiniteError, match=r"\(1, 0\)"):
        back.lens(targets=[1])
    assert back.lens(targets=[5]).probs.shape[1] == 1      # positions away from the NaN read fine


def test_a_half_precision_model_that_overflows():
    scope = tiny_scope("llama", dtype="float16")
    with torch.no_grad():
        scope.model.model.layers[0].mlp.down_proj.weight.mul_(1e4)
        scope.model.model.layers[0].mlp.up_proj.weight.mul_(1e4)
    with pytest.raises(NonFiniteError, match="layer 0"):
        scope.analyze(TEXT)
