"""What a scope says it is follows what the model does (probed attention direction, a head or none),
and a run of a model without a head says so when asked for its candidates."""

from __future__ import annotations

import pytest

import lmscope
from lmscope.anatomy import MissingHeadError
from lmscope.testing import tiny_model, tiny_scope


@pytest.mark.parametrize("family, kind", [("llama", "causal LM"), ("bert", "masked LM"),
                                          ("bert_causal", "causal LM"),
                                          ("bert_encoder_causal", "bidirectional LM")])
def test_repr_names_the_probed_attention_direction(family, kind):
    text = repr(tiny_scope(family))
    assert f", {kind}, layers=" in text
    assert "no LM head" not in text


@pytest.mark.parametrize("family, kind", [("bert", "encoder, no LM head"), ("llama", "causal, no LM head")])
def test_repr_of_a_model_loaded_without_its_head(family, kind):
    model, tokenizer = tiny_model(family)
    scope = lmscope.load(model.base_model, tokenizer=tokenizer, head=False)
    text = repr(scope)
    assert f", {kind}, layers=" in text
    assert " LM," not in text.replace("no LM head", "")


def test_candidates_of_a_headless_run_say_the_model_has_no_head():
    model, tokenizer = tiny_model("bert")
    run = lmscope.load(model.base_model, tokenizer=tokenizer, head=False).analyze("The quick fox", capture=())
    with pytest.raises(MissingHeadError, match="the candidates figure needs a language-model head.*head=False"):
        run.plot()


def test_candidates_of_analysed_text_without_a_scope_name_both_causes(tiny_scopes, tmp_path):
    run = tiny_scopes("gpt2").analyze("hello there", capture=())
    run.save(tmp_path / "run.npz")
    loaded = lmscope.load_run(tmp_path / "run.npz")
    for each in (run, loaded):
        with pytest.raises(ValueError, match="no candidates: text analysed by a causal LM records none.*head=False"):
            each.plot()
