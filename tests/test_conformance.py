"""Every family and config variant, checked against the model's own forward pass (never against
lmscope's own code): the lens, the head, gradient x input, captured activations and hidden states,
the attention direction, and a checkpoint saved without its head."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lmscope
from lmscope.loading import HeadlessCheckpointError
from lmscope.testing import FAMILIES, MASKED_FAMILIES, VARIANTS, tiny_model

ALL = FAMILIES + VARIANTS
TEXT = "The quick brown fox jumps"
ATOL = 1e-5

# Where each family's FFN down projection lives (its input is the FFN activation), written out
# per family so the captures are checked against a hook lmscope did not place.
DOWN_PROJECTION = {
    "gpt2": "transformer.h.{}.mlp.c_proj", "gpt_neo": "transformer.h.{}.mlp.c_proj",
    "gpt_neox": "gpt_neox.layers.{}.mlp.dense_4h_to_h", "gptj": "transformer.h.{}.mlp.fc_out",
    "llama": "model.layers.{}.mlp.down_proj", "mistral": "model.layers.{}.mlp.down_proj",
    "qwen2": "model.layers.{}.mlp.down_proj", "gemma": "model.layers.{}.mlp.down_proj",
    "gemma2": "model.layers.{}.mlp.down_proj", "gemma3": "model.layers.{}.mlp.down_proj",
    "phi": "model.layers.{}.mlp.fc2", "phi3": "model.layers.{}.mlp.down_proj",
    "opt": "model.decoder.layers.{}.fc2", "falcon": "transformer.h.{}.mlp.dense_4h_to_h",
    "bert": "bert.encoder.layer.{}.output.dense", "roberta": "roberta.encoder.layer.{}.output.dense",
    "distilbert": "distilbert.transformer.layer.{}.ffn.lin2",
}
BASE = {"opt_project_out": "opt", "gemma2_softcap": "gemma2", "llama_tied": "llama", "gpt2_untied": "gpt2",
        "llama_bos": "llama", "bert_causal": "bert", "bert_encoder_causal": "bert", "roberta_causal": "roberta",
        "roberta_encoder_causal": "roberta"}
BIDIRECTIONAL = set(MASKED_FAMILIES) | {"bert_encoder_causal", "roberta_encoder_causal"}


@pytest.fixture(scope="module")
def scopes():
    cache: dict[str, lmscope.Scope] = {}

    def get(family: str) -> lmscope.Scope:
        if family not in cache:
            model, tokenizer = tiny_model(family)
            cache[family] = lmscope.load(model, tokenizer=tokenizer)
        return cache[family]

    return get


@pytest.fixture(params=ALL)
def case(request, scopes):
    """(family, scope, run of TEXT with activations and hidden states, the model's own output)."""
    family = request.param
    scope = scopes(family)
    run = scope.analyze(TEXT, capture=("activations", "hidden_states"))
    with torch.no_grad():
        out = scope.model(input_ids=torch.as_tensor(run.token_ids)[None], output_hidden_states=True)
    return family, scope, run, out


def reads(scope, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(targets, the positions whose logits predict them): the token itself (masked head), else the one before."""
    if scope.is_masked:
        return np.arange(n), np.arange(n)
    return np.arange(1, n), np.arange(n - 1)


def test_head_gives_the_models_logits(case):
    _family, scope, run, out = case
    logits = out.logits[0]
    hidden = torch.from_numpy(run.hidden_states[-1])
    ids = torch.as_tensor(run.token_ids)[:, None]
    with torch.no_grad():
        torch.testing.assert_close(scope.anatomy.logits(hidden), logits, atol=ATOL, rtol=ATOL)
        torch.testing.assert_close(scope.anatomy.token_logits(hidden, ids), logits.gather(-1, ids),
                                   atol=ATOL, rtol=ATOL)


def test_lens_last_layer_is_the_models_prediction_everywhere(case):
    _family, scope, run, out = case
    targets, read = reads(scope, run.n_tokens)
    probs = torch.softmax(out.logits[0].double(), -1).numpy()
    lens = run.lens(targets=targets.tolist(), answers=run.token_ids[targets].tolist(), top_k=3)
    np.testing.assert_allclose(lens.probs[-1], probs[read, run.token_ids[targets]], atol=ATOL)
    expected_top = np.sort(probs[read], axis=-1)[:, ::-1][:, :3]
    np.testing.assert_allclose(lens.top_probs[-1], expected_top, atol=ATOL)
    ranks = (probs[read] > probs[read, run.token_ids[targets]][:, None]).sum(-1) + 1
    np.testing.assert_array_equal(lens.ranks[-1], ranks)
    if not scope.is_masked:   # the token after the text, read at the last position
        after = lens.top(3, position=run.n_tokens)
        np.testing.assert_allclose(after.probs[-1], np.sort(probs[-1])[::-1][:3], atol=ATOL)


def test_gradient_x_input_equals_a_loop_through_the_models_forward(case):
    _family, scope, run, _out = case
    targets, read = reads(scope, run.n_tokens)
    saliency = run.saliency("grad_x_input", targets=targets.tolist(), aggregation="sum", score="logit",
                            normalize="none")
    ids = torch.as_tensor(run.token_ids)[None]
    embed = scope.model.get_input_embeddings()
    expected = np.zeros((len(targets), run.n_tokens))
    for row, (target, position) in enumerate(zip(targets, read)):
        x = embed(ids).detach().requires_grad_(True)
        with torch.enable_grad():
            logit = scope.model(inputs_embeds=x).logits[0, position, run.token_ids[target]]
            (grad,) = torch.autograd.grad(logit, x)
        expected[row] = (grad * x).sum(-1)[0].detach().numpy()
    np.testing.assert_allclose(saliency.matrix, expected, atol=1e-4, rtol=1e-4)


def test_rows_follow_the_attention_direction(case):
    family, scope, run, _out = case
    targets, _read = reads(scope, run.n_tokens)
    matrix = run.saliency("grad_x_input", targets=targets.tolist()).matrix
    after = np.arange(run.n_tokens)[None, :] >= targets[:, None]
    assert scope.anatomy.bidirectional == (family in BIDIRECTIONAL)
    if family in BIDIRECTIONAL:
        assert np.abs(matrix[after]).sum() > 0.1
    else:
        assert np.all(matrix[after] == 0)


def test_activations_are_the_down_projections_input(case):
    family, scope, run, _out = case
    path = DOWN_PROJECTION[BASE.get(family, family)]
    seen: dict[int, torch.Tensor] = {}
    handles = [scope.model.get_submodule(path.format(layer)).register_forward_pre_hook(
        lambda _m, args, layer=layer: seen.__setitem__(layer, args[0].detach())) for layer in range(scope.n_layers)]
    try:
        with torch.no_grad():
            scope.model(input_ids=torch.as_tensor(run.token_ids)[None])
    finally:
        for handle in handles:
            handle.remove()
    for layer in range(scope.n_layers):
        expected = seen[layer].reshape(run.n_tokens, -1).T.numpy()
        np.testing.assert_allclose(run.activations[layer], expected, atol=ATOL)


def test_hidden_states_are_the_models_own(case):
    family, scope, run, out = case
    states = out.hidden_states
    assert len(states) == run.hidden_states.shape[0]
    for layer in range(len(states) - 1):
        np.testing.assert_allclose(run.hidden_states[layer], states[layer][0].numpy(), atol=ATOL)
    # The last entry is the raw last block output (transformers gives it raw, normed or projected: OPT's
    # project_out), taken here by a hook on the last block.
    block = DOWN_PROJECTION[BASE.get(family, family)].split(".{}")[0] + f".{scope.n_layers - 1}"
    seen = []
    handle = scope.model.get_submodule(block).register_forward_hook(
        lambda _m, _a, output: seen.append(output[0] if isinstance(output, tuple) else output))
    try:
        with torch.no_grad():
            scope.model(input_ids=torch.as_tensor(run.token_ids)[None])
    finally:
        handle.remove()
    np.testing.assert_allclose(run.hidden_states[-1], seen[0].reshape(run.n_tokens, -1).numpy(), atol=ATOL)


def test_a_checkpoint_saved_without_its_head_is_refused(family_without_head, tmp_path):
    family = family_without_head
    model, tokenizer = tiny_model(family)
    body = {id(p) for p in model.base_model.parameters()}
    own_head = [n for n, p in model.named_parameters() if id(p) not in body]   # head weights not shared with the body
    model.base_model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    if own_head:
        with pytest.raises(HeadlessCheckpointError, match="no trained language-model head"):
            lmscope.load(str(tmp_path))
    else:   # the head is the input embedding (tied): the body holds it, nothing is random
        scope = lmscope.load(str(tmp_path))
        ids = torch.tensor([[3, 4, 5]])
        with torch.no_grad():
            torch.testing.assert_close(scope.model(input_ids=ids).logits, model(input_ids=ids).logits)


@pytest.fixture(params=ALL)
def family_without_head(request):
    return request.param
