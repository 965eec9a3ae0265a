"""A checkpoint without its language-model head is refused (its predictions would be random), and an
encoder can still be analysed for activations, hidden states and factors when asked for with head=False."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers

import lmscope
from lmscope.anatomy import MissingHeadError
from lmscope.cli import main
from lmscope.loading import HeadlessCheckpointError
from lmscope.testing import tiny_model


def save_base(family: str, folder) -> str:
    """The body of a tiny ``family`` model without its head (what a sentence-transformers checkpoint holds)."""
    model, tokenizer = tiny_model(family)
    model.base_model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory) -> str:
    return save_base("bert", tmp_path_factory.mktemp("tiny-bert-encoder"))


@pytest.mark.parametrize("family", ["bert", "llama", "gpt2_untied"])
def test_a_checkpoint_without_its_head_is_refused_with_what_to_do(family, tmp_path):
    folder = save_base(family, tmp_path / family)
    with pytest.raises(HeadlessCheckpointError) as caught:
        lmscope.load(folder)
    text = str(caught.value)
    assert "no trained language-model head" in text and "random values" in text
    assert "ForMaskedLM or *ForCausalLM" in text and "head=False" in text
    assert "\n" not in text                       # the CLI prints one line


def test_a_body_whose_head_is_tied_to_its_embeddings_has_a_trained_head(tmp_path):
    """GPT-2's head is its input embedding: a body checkpoint holds it, so nothing is random."""
    folder = save_base("gpt2", tmp_path / "gpt2")
    model, _ = tiny_model("gpt2")
    scope = lmscope.load(folder)
    ids = torch.tensor([[3, 4, 5]])
    with torch.no_grad():
        torch.testing.assert_close(scope.model(input_ids=ids).logits, model(input_ids=ids).logits)


def test_a_full_checkpoint_still_loads(tmp_path):
    for family in ("bert", "gpt2", "llama"):      # tied (gpt2, bert) and untied (llama) heads
        model, tokenizer = tiny_model(family)
        model.save_pretrained(tmp_path / family)
        tokenizer.save_pretrained(tmp_path / family)
        assert lmscope.load(str(tmp_path / family)).anatomy.has_head


def test_head_false_analyses_an_encoder_for_captures_only(encoder_dir):
    scope = lmscope.load(encoder_dir, head=False)
    assert not scope.anatomy.has_head and scope.anatomy.bidirectional
    run = scope.analyze("The quick brown fox", capture=("activations", "hidden_states"))
    reference = transformers.AutoModel.from_pretrained(encoder_dir)
    ids = torch.as_tensor(run.token_ids)[None]
    with torch.no_grad():
        expected = reference(input_ids=ids, output_hidden_states=True).hidden_states
    for layer, state in enumerate(expected):
        np.testing.assert_allclose(run.hidden_states[layer], state[0].numpy(), atol=1e-5)
    assert run.activations.shape[:2] == (2, 64)
    assert run.candidate_positions is None
    assert run.factors(n=2).components.shape[0] == 2
    for call, what in [(lambda: scope.generate("The quick"), "generate"), (lambda: run.saliency(), "saliency"),
                       (lambda: run.lens(), "the logit lens")]:
        with pytest.raises(MissingHeadError, match=f"{what} needs a language-model head.*head=False"):
            call()


def test_head_false_on_a_model_object():
    model, tokenizer = tiny_model("bert")
    scope = lmscope.load(model.base_model, tokenizer=tokenizer, head=False)
    assert scope.analyze("The quick", capture=("hidden_states",)).hidden_states.shape[0] == 3


def test_a_model_object_without_output_embeddings_points_to_head_false():
    model, tokenizer = tiny_model("bert")
    with pytest.raises(ValueError, match="head=False"):
        lmscope.load(model.base_model, tokenizer=tokenizer)


def test_cli_explain_on_an_encoder_folder_fails_with_the_message(encoder_dir, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["explain", "The capital of France is", "--model", encoder_dir, "-n", "3"])
    out, err = capsys.readouterr()
    assert code != 0
    assert "no trained language-model head" in err and "head=False" in err
    assert out == ""
