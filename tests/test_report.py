"""lmscope.report: generation options declared once, the choice of views, explain() and token streaming,
with no web package imported."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys

import numpy as np
import pytest

import lmscope
from lmscope.report import (GENERATION, Cancelled, GenerationOptions, TokenStreamer, ViewChoice, constraints_of,
                            explain, saliency_summaries)
from lmscope.saliency import capture_for, registry, saliency_methods


def test_generation_options_have_one_default_each_shown_by_scope_generate():
    """Scope.generate's signature takes its defaults and its checks from GenerationOptions."""
    parameters = inspect.signature(lmscope.Scope.generate).parameters
    for f in dataclasses.fields(GenerationOptions):
        assert parameters[f.name].default == f.default == getattr(GENERATION, f.name), f.name
    assert set(constraints_of(GenerationOptions)) <= set(lmscope.Scope.generate.constraints)
    for name, constraint in constraints_of(GenerationOptions).items():
        assert lmscope.Scope.generate.constraints[name] is constraint
    assert GenerationOptions(top_p=np.float32(0.5), seed=np.int64(3)).kwargs() == {
        **GENERATION.kwargs(), "top_p": 0.5, "seed": 3}


def test_generate_checks_top_p_itself(tiny_scopes):
    with pytest.raises(ValueError, match=r"top_p must be a number > 0 and <= 1, or None; got 0"):
        tiny_scopes("llama").generate("1, 2,", max_new_tokens=2, do_sample=True, top_p=0)


def test_the_view_choice_asks_saliency_what_to_capture():
    for method in saliency_methods():
        assert set(capture_for(method)) <= set(ViewChoice(saliency=method).capture())
    assert ViewChoice(saliency=None).capture() == ()
    assert ViewChoice(saliency=None, factors=2, lens=True).capture() == ("activations", "hidden_states")
    with pytest.raises(ValueError, match="factor_layers chooses the layers to factorise, so it needs factors"):
        ViewChoice(factor_layers=[0])
    assert ViewChoice(factors=2, factor_layers=[-1, 0, 0]).layers(4) == [0, 3]
    assert ViewChoice(factors=2).layers(3) == [0, 1, 2] and ViewChoice().layers(3) is None


def test_saliency_summaries_come_from_the_registry():
    summaries = saliency_summaries()
    assert list(summaries) == saliency_methods()
    assert all(summaries[name] == registry.get(name).summary and summaries[name] for name in summaries)


def test_explain_streams_every_generated_token_and_equals_the_library(tiny_scopes):
    scope = tiny_scopes("llama")
    streamed, stages = [], []
    streamer = TokenStreamer(scope.tokenizer, lambda i, d, t: streamed.append((i, d, t)))
    out = explain(scope, "1, 2, 3,", ViewChoice(factors=2, lens=True), generation=GenerationOptions(max_new_tokens=4),
                  streamer=streamer, step=stages.append)
    run = out.run
    tokens = [(i, d) for i, d, _ in streamed if i is not None]
    assert [i for i, _ in tokens] == run.token_ids[run.n_input:].tolist()
    assert [d for _, d in tokens] == run.tokens[run.n_input:]   # display strings: a lone byte shows as <0xBB>
    assert "".join(t for _, _, t in streamed) == run.output_text    # the text each token adds, decoded
    assert scope.tokenizer.decode(run.token_ids[run.n_input:].tolist()) == run.output_text
    assert stages == ["generate", "saliency", "factors", "lens"]
    data = out.to_dict()
    assert [v["kind"] for v in data["views"]] == ["candidates", "saliency", "factors", "lens"]
    alone = scope.generate("1, 2, 3,", max_new_tokens=4)
    assert data["tokens"] == alone.token_table()
    assert np.allclose(out.results[1][1].matrix, alone.saliency("grad_x_input").matrix, atol=1e-6)
    assert data["settings"]["max_new_tokens"] == 4 and set(data["timings"]) == {"run", "saliency", "factors", "lens"}


def test_masked_models_are_read_not_generated(tiny_scopes):
    out = explain(tiny_scopes("bert"), "The quick [MASK] fox", ViewChoice())
    assert out.run.n_input == out.run.n_tokens and out.run.settings["mode"] == "analyze"
    assert [v["kind"] for v in out.to_dict()["views"]] == ["candidates", "saliency"]


def test_a_cancelled_stream_stops_generation(tiny_scopes):
    scope = tiny_scopes("llama")
    seen = []
    streamer = TokenStreamer(scope.tokenizer, lambda i, _d, _t: seen.append(i), cancelled=lambda: len(seen) >= 2)
    with pytest.raises(Cancelled):
        explain(scope, "1, 2,", ViewChoice(saliency=None), generation=GenerationOptions(max_new_tokens=10),
                streamer=streamer)
    assert len(seen) == 2


def test_the_report_module_imports_no_web_package():
    code = ("import sys, lmscope.report, lmscope.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette') "
            "or m.startswith('lmscope.server')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_stream_holds_back_a_character_spelled_over_several_tokens():
    """An emoji spelled over byte tokens streams as nothing, then the whole character; never U+FFFD."""
    from lmscope.testing import tiny_scope

    scope = tiny_scope("gpt2")
    tok = scope.tokenizer
    prompt = tok("1, 2,", return_tensors="pt")["input_ids"]
    answer = tok("🍨🍨", add_special_tokens=False)["input_ids"]
    got = []
    streamer = TokenStreamer(tok, lambda i, d, t: got.append((i, d, t)))
    streamer.put(prompt)
    for token in answer:
        streamer.put(np.array([token]))
    streamer.end()
    texts = [t for _, _, t in got]
    assert "".join(texts) == tok.decode(answer) and "\ufffd" not in "".join(texts)
    assert len(answer) > 2 and texts.count("") >= len(answer) - 2   # bytes held back until the character is whole
