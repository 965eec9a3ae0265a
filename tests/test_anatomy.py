import pytest
import torch
from torch import nn

import lmscope
from lmscope.anatomy import AnatomyError, discover
from lmscope.testing import tiny_model


def test_every_family_is_mapped(any_family):
    a = any_family.anatomy
    assert a.n_layers == 2
    assert a.n_neurons in (64, 128)  # Falcon's FFN is 4 x hidden
    assert a.hidden_size == 32
    assert a.attention_path is not None
    # The FFN point is the down projection: its input width is the neuron count.
    assert a.ffn(0) is not a.ffn(1)
    assert a.is_masked == (type(any_family.model).__name__.endswith("ForMaskedLM"))
    assert "blocks.1.ffn" in a.point_names()


def test_head_reproduces_model_logits(any_family):
    """Final norm + unembedding applied to the last block's output gives the model's own logits."""
    scope = any_family
    ids = scope.encode("The quick brown fox")
    run = scope.analyze("The quick brown fox", capture=("hidden_states",))
    with torch.no_grad():
        expected = scope.model(input_ids=ids).logits[0]
        got = scope.anatomy.logits(torch.from_numpy(run.hidden_states[-1]))
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_token_logits_equal_the_whole_vocabulary_projection(any_family):
    """Chosen tokens' logits per state, from their head rows only, equal picking them from every
    logit: with the final norm, a head bias (Phi, BERT), soft-capping (Gemma 2), and through the
    whole-vocabulary path when a hook sits on the head."""
    anatomy = any_family.anatomy
    hidden = torch.randn(2, 3, anatomy.hidden_size, generator=torch.Generator().manual_seed(0))
    ids = torch.tensor([[5, 1], [0, 3], [17, 17]])               # two tokens per state, e.g. target and foil
    with torch.no_grad():
        expected = anatomy.logits(hidden).gather(-1, ids.expand(2, 3, 2))
        torch.testing.assert_close(anatomy.token_logits(hidden, ids), expected, atol=1e-5, rtol=1e-5)
        head = any_family.model.get_submodule(anatomy.head_paths[-1])
        handle = head.register_forward_hook(lambda _m, _i, out: out * 2)
        try:
            torch.testing.assert_close(anatomy.token_logits(hidden, ids), anatomy.logits(hidden).gather(
                -1, ids.expand(2, 3, 2)))
        finally:
            handle.remove()
    assert isinstance(head, nn.Linear) or anatomy.is_masked   # causal heads take the fast path


def test_hidden_state_zero_is_block_input(causal_family):
    scope = causal_family
    ids = scope.encode("1, 2, 3,")
    run = scope.analyze("1, 2, 3,", capture=("hidden_states",))
    with torch.no_grad():
        out = scope.model(input_ids=ids, output_hidden_states=True)
    torch.testing.assert_close(torch.from_numpy(run.hidden_states[0]), out.hidden_states[0][0], atol=1e-5, rtol=1e-5)
    # intermediate block outputs match transformers' own hidden_states
    torch.testing.assert_close(torch.from_numpy(run.hidden_states[1]), out.hidden_states[1][0], atol=1e-5, rtol=1e-5)


class NoBlocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.config = type("C", (), {"num_hidden_layers": 2, "hidden_size": 8})()
        self.emb = nn.Embedding(10, 8)
        self.proj = nn.Linear(8, 10)

    def get_input_embeddings(self):
        return self.emb

    def get_output_embeddings(self):
        return self.proj


def test_unmappable_model_names_missing_part_and_override():
    with pytest.raises(AnatomyError, match=r"list of transformer blocks.*anatomy=\{'blocks'"):
        discover(NoBlocks())


def test_known_name_breaks_a_tie():
    model, _ = tiny_model("llama")
    model.model.layers[0].mlp.extra = nn.Linear(64, 32)  # a second down-projection-shaped layer
    assert discover(model).ffn_path == "mlp.down_proj"


def test_ambiguous_ffn_asks_for_override_and_override_works():
    model, tok = tiny_model("llama")
    for layer in model.model.layers:
        layer.mlp.alt_a = nn.Linear(64, 32)
        layer.mlp.alt_b = nn.Linear(64, 32)
        del layer.mlp.down_proj
    with pytest.raises(AnatomyError, match="FFN down projection.*mlp.alt_a, mlp.alt_b.*anatomy="):
        discover(model)
    anatomy = discover(model, {"ffn": "mlp.alt_b"})
    assert anatomy.ffn_path == "mlp.alt_b" and anatomy.n_neurons == 64


def test_override_is_used_by_load():
    model, tok = tiny_model("gpt2")
    scope = lmscope.load(model, tokenizer=tok, anatomy={"ffn": "mlp.c_proj", "final_norm": "transformer.ln_f"})
    assert scope.anatomy.ffn_path == "mlp.c_proj"


def test_unknown_override_key():
    model, _ = tiny_model("gpt2")
    with pytest.raises(AnatomyError, match="valid keys"):
        discover(model, {"mlp": "x"})


def test_bad_override_path():
    model, _ = tiny_model("gpt2")
    with pytest.raises(AnatomyError, match="does not exist"):
        discover(model, {"blocks": "transformer.nope"})


@pytest.mark.parametrize("family, head, unembedding", [
    ("opt_project_out", ["model.decoder.project_out", "lm_head"], "lm_head"),
    ("bert_causal", ["cls"], "cls.predictions.decoder"),
    ("roberta_encoder_causal", ["lm_head"], "lm_head.decoder"),
])
def test_head_transforms_are_found_and_token_logits_keep_the_rows_shortcut(family, head, unembedding, monkeypatch):
    """The steps between the last block and the output embedding are part of the head, and the chosen-rows
    path (no whole-vocabulary projection) stops at the output embedding's input."""
    model, tok = tiny_model(family)
    anatomy = discover(model)
    assert anatomy.head_paths == head and anatomy.unembedding_path == unembedding and anatomy.rows_exact
    hidden = torch.randn(1, 3, anatomy.hidden_size, generator=torch.Generator().manual_seed(1))
    ids = torch.tensor([[4, 9]])
    with torch.no_grad():
        expected = anatomy.logits(hidden).gather(-1, ids.expand(1, 3, 2))
        monkeypatch.setattr(anatomy, "logits", lambda *_a, **_k: pytest.fail("took the whole-vocabulary path"))
        torch.testing.assert_close(anatomy.token_logits(hidden, ids), expected, atol=1e-5, rtol=1e-5)


def test_a_head_that_does_not_give_the_models_logits_is_refused_with_the_override():
    model, _ = tiny_model("llama")

    def scaled(_module, _args, output):
        output.logits = output.logits * 3.0          # a logit scale lmscope does not know about
        return output

    model.register_forward_hook(scaled)
    with pytest.raises(AnatomyError, match=r"does not give the model's own logits.*anatomy=\{'final_norm'"):
        discover(model)


@pytest.mark.parametrize("family, bidirectional", [("bert_causal", False), ("bert_encoder_causal", True),
                                                   ("roberta_encoder_causal", True), ("bert", True), ("gpt2", False)])
def test_attention_direction_is_probed_not_read_from_the_class(family, bidirectional):
    model, _ = tiny_model(family)
    anatomy = discover(model)
    assert anatomy.bidirectional == bidirectional
    assert anatomy.is_masked == (family == "bert")   # only a masked-LM head predicts its own [MASK]


def test_head_override_is_used_and_checked():
    model, _ = tiny_model("opt_project_out")
    anatomy = discover(model, {"head": "model.decoder.project_out,lm_head"})
    assert anatomy.head_paths == ["model.decoder.project_out", "lm_head"] and anatomy.rows_exact
    with pytest.raises(AnatomyError, match="does not give the model's own logits"):
        discover(model, {"head": "lm_head", "final_norm": ""})
