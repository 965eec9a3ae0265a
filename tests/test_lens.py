"""Logit lens on tiny models of every family: ranks, probabilities, watched tokens, top-k, views."""

import json

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

import lmscope  # noqa: E402
from lmscope import lens_compute  # noqa: E402
from lmscope.core.checks import Integer, Options, message  # noqa: E402
from lmscope.core.tokens import token_id  # noqa: E402
from lmscope.lens import Lens, logit_lens  # noqa: E402
from lmscope.views.schema import validate_view  # noqa: E402

from lmscope.testing import sample_run  # noqa: E402


def _softmax(x: torch.Tensor) -> np.ndarray:
    return torch.softmax(x.float(), dim=-1).numpy()


# ---------------------------------------------------------------------------- the core promise
def test_last_layer_rank_is_one_on_every_causal_family(causal_family):
    run = causal_family.generate("1, 2, 3,", max_new_tokens=5)
    lens = run.lens()
    n_layers = causal_family.n_layers
    assert lens.ranks.shape == lens.probs.shape == (n_layers, run.n_output)
    np.testing.assert_array_equal(lens.targets, np.arange(run.n_input, run.n_tokens))
    np.testing.assert_array_equal(lens.answer_ids, run.token_ids[run.n_input:])
    assert lens.layers == [f"layer {i}" for i in range(n_layers)]
    # every greedily produced token is the lens's top prediction after the last layer...
    assert (lens.ranks[-1] == 1).all(), lens.ranks
    # ...with the model's own probability, and the model's own top-k ranking
    np.testing.assert_allclose(lens.probs[-1], run.chosen_probs, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(lens.top_probs[-1], run.candidate_probs[:, :5], rtol=1e-4, atol=1e-6)
    assert (lens.ranks >= 1).all() and ((lens.probs > 0) & (lens.probs <= 1)).all()


def test_ranks_are_counted_over_the_whole_vocabulary(tiny_scopes):
    scope = tiny_scopes("gpt2")
    run = scope.generate("1, 2, 3,", max_new_tokens=3)
    lens = run.lens()
    layer = 0  # "layer 0" reads hidden_states[1]
    h = torch.as_tensor(run.hidden_states[layer + 1, lens.targets - 1])
    with torch.no_grad():
        logits = scope.anatomy.logits(h)
    expected = [(logits[j] > logits[j, t]).sum().item() + 1 for j, t in enumerate(lens.answer_ids)]
    assert lens.ranks[layer].tolist() == expected
    np.testing.assert_allclose(lens.probs[layer], _softmax(logits)[np.arange(len(expected)), lens.answer_ids],
                               rtol=1e-5)


def test_masked_lm_reads_the_mask_positions(masked_family):
    run = masked_family.analyze("The quick [MASK] fox jumps")
    lens = run.lens()
    mask_id = masked_family.tokenizer.mask_token_id
    np.testing.assert_array_equal(lens.targets, np.flatnonzero(run.token_ids == mask_id))
    # the followed token is the model's own top prediction at the mask
    np.testing.assert_array_equal(lens.answer_ids, run.candidate_ids[:, 0])
    assert (lens.ranks[-1] == 1).all()
    np.testing.assert_allclose(lens.probs[-1], run.candidate_probs[:, 0], rtol=1e-4)
    # a given answer: the model's second choice ranks 2 after the last layer
    second = int(run.candidate_ids[0, 1])
    assert run.lens(answers=[second]).ranks[-1, 0] == 2
    assert "[MASK]" not in lens.answers


def test_masked_lm_without_a_mask_needs_targets(tiny_scopes):
    run = tiny_scopes("bert").analyze("The quick brown fox")
    with pytest.raises(ValueError, match=r"mask token.*targets="):
        run.lens()
    lens = run.lens(targets=[1, 2])
    assert lens.ranks.shape == (2, 2)


def test_causal_text_without_generation_follows_every_token_after_the_first(tiny_scopes):
    run = tiny_scopes("llama").analyze("The quick brown fox")
    lens = run.lens()
    np.testing.assert_array_equal(lens.targets, np.arange(1, run.n_tokens))
    np.testing.assert_array_equal(lens.answer_ids, run.token_ids[1:])


# ---------------------------------------------------------------------------- final norm
def test_raw_skips_the_final_norm(any_family):
    run = sample_run(any_family)
    normed, raw = run.lens(), run.lens(raw=True)
    anatomy = any_family.anatomy
    h = torch.as_tensor(run.hidden_states[1, normed.targets - (0 if any_family.is_masked else 1)])
    with torch.no_grad():
        expected_raw = _softmax(anatomy.logits(h, raw=True))
    np.testing.assert_allclose(raw.probs[0], expected_raw[np.arange(len(raw.targets)), raw.answer_ids], rtol=1e-5)
    if anatomy.final_norm is None:  # masked LMs: the head's own transform stays, nothing to skip
        np.testing.assert_array_equal(raw.probs, normed.probs)
    else:
        assert not np.allclose(raw.probs, normed.probs, rtol=1e-3, atol=0)
        assert raw.raw and "raw" in raw.lens_name and "raw" in raw.view_data()["caption"]


# ---------------------------------------------------------------------------- no new forward
def test_lens_runs_no_block_again(tiny_scopes):
    scope = tiny_scopes("llama")
    run = scope.generate("1, 2, 3,", max_new_tokens=4)
    calls = []
    handles = [block.register_forward_hook(lambda *_: calls.append(1)) for block in scope.anatomy.blocks]
    try:
        lens = run.lens()
        lens.watch([","])
        lens.top(3)
    finally:
        for handle in handles:
            handle.remove()
    assert calls == []


def test_chunks_do_not_change_the_result(tiny_scopes, monkeypatch):
    run = tiny_scopes("qwen2").generate("1, 2, 3,", max_new_tokens=5)
    whole = run.lens(embeddings=True)
    vocab = tiny_scopes("qwen2").model.get_output_embeddings().weight.shape[0]
    monkeypatch.setattr(lens_compute, "CHUNK_ELEMENTS", vocab * 2)  # two (layer, position) pairs at a time
    chunked = run.lens(embeddings=True)
    np.testing.assert_array_equal(chunked.ranks, whole.ranks)
    np.testing.assert_allclose(chunked.probs, whole.probs, rtol=1e-6)
    np.testing.assert_array_equal(chunked.top_ids, whole.top_ids)


# ---------------------------------------------------------------------------- options
def test_embeddings_row_reads_the_block_input(tiny_scopes):
    scope = tiny_scopes("gpt2")
    run = scope.generate("1, 2,", max_new_tokens=3)
    plain, with_emb = run.lens(), run.lens(embeddings=True)
    assert with_emb.layers == ["embeddings"] + plain.layers
    np.testing.assert_array_equal(with_emb.ranks[1:], plain.ranks)
    h = torch.as_tensor(run.hidden_states[0, plain.targets - 1])
    with torch.no_grad():
        logits = scope.anatomy.logits(h)
    expected = [(logits[j] > logits[j, t]).sum().item() + 1 for j, t in enumerate(plain.answer_ids)]
    assert with_emb.ranks[0].tolist() == expected


def test_pluggable_lens(tiny_scopes):
    scope = tiny_scopes("llama")
    run = scope.generate("1, 2, 3,", max_new_tokens=3)
    default = run.lens()

    def my_lens(h):
        return scope.anatomy.logits(h)

    same = run.lens(lens=my_lens)
    np.testing.assert_array_equal(same.ranks, default.ranks)
    assert same.lens_name == "my_lens"
    # one callable per layer, e.g. a tuned lens: here layer 0 raw, layer 1 normed
    per_layer = run.lens(lens=[lambda h: scope.anatomy.logits(h, raw=True), my_lens])
    np.testing.assert_array_equal(per_layer.ranks[0], run.lens(raw=True).ranks[0])
    np.testing.assert_array_equal(per_layer.ranks[1], default.ranks[1])
    with pytest.raises(ValueError, match="sequence of 2"):
        run.lens(lens=[my_lens])
    with pytest.raises(ValueError, match="raw=True only changes the default lens"):
        run.lens(lens=my_lens, raw=True)


def test_targets_and_answers(tiny_scopes):
    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=4)
    lens = run.lens(targets=[3, run.n_tokens - 1])
    np.testing.assert_array_equal(lens.answer_ids, run.token_ids[[3, run.n_tokens - 1]])
    np.testing.assert_array_equal(lens.ranks[:, 1], run.lens().ranks[:, -1])
    forced = run.lens(targets=[run.n_input], answers=[","])
    assert forced.answers == [","]
    n = run.n_tokens
    with pytest.raises(ValueError, match=rf"targets: position 0 is outside the sequence: it has {n} tokens, so positions "
                                         rf"run from 1 \(position 0 is predicted by nothing before it\) to {n - 1}"):
        run.lens(targets=[0])
    with pytest.raises(ValueError, match=f"targets: position {n} is outside the sequence"):
        run.lens(targets=[n])
    with pytest.raises(ValueError, match=f"targets: position {-n} is outside the sequence"):
        run.lens(targets=[-n])   # -n is position 0, which nothing predicts
    with pytest.raises(ValueError, match="answers has 2 entries but there are 1 targets"):
        run.lens(targets=[5], answers=[",", ","])
    with pytest.raises(ValueError, match="top_k"):
        run.lens(top_k=-1)


# ---------------------------------------------------------------------------- watch and top
def test_watch_matches_the_rankings(tiny_scopes):
    scope = tiny_scopes("gpt2")
    run = scope.generate("1, 2, 3,", max_new_tokens=4)
    lens = run.lens()
    position = int(lens.targets[1])
    produced = run.tokens[position]
    watch = lens.watch([produced, ","], position=position)
    np.testing.assert_array_equal(watch.ranks[:, 0], lens.ranks[:, 1])
    np.testing.assert_allclose(watch.probs[:, 0], lens.probs[:, 1], rtol=1e-6)
    assert watch.ranks.shape == (scope.n_layers, 2) and watch.position == position
    by_id = lens.watch(int(run.token_ids[position]), position=position)
    np.testing.assert_array_equal(by_id.ranks[:, 0], watch.ranks[:, 0])
    assert lens.watch(",").position == lens.targets[0]  # default: the first target
    assert json.loads(json.dumps(watch.to_dict()))["tokens"] == [produced, ","]


def test_watch_and_top_after_the_last_token(tiny_scopes):
    """A causal LM may be asked about the token after the text: its greedy next token ranks 1."""
    scope = tiny_scopes("llama")
    run = scope.analyze("1, 2, 3,")
    lens = run.lens()
    with torch.no_grad():
        next_id = int(scope.model(torch.as_tensor(run.token_ids)[None]).logits[0, -1].argmax())
    top = lens.top(3, position=run.n_tokens)
    assert top.token_ids[-1, 0] == next_id
    assert lens.watch(next_id, position=run.n_tokens).ranks[-1, 0] == 1


def test_top_k_per_layer(tiny_scopes):
    run = tiny_scopes("phi3").generate("1, 2, 3,", max_new_tokens=3)
    lens = run.lens(top_k=4)
    for j, position in enumerate(lens.targets):
        top = lens.top(k=4, position=int(position))
        np.testing.assert_array_equal(top.token_ids, lens.top_ids[:, j])
        assert top.token_ids[-1, 0] == run.token_ids[position]
        assert (np.diff(top.probs, axis=1) <= 1e-7).all()
        assert top.tokens[-1][0] == run.tokens[position]
    data = lens.top(2, position=int(lens.targets[0])).to_dict()
    assert len(data["top"]) == 2 and set(data["top"][0][0]) == {"token", "token_id", "prob"}
    with pytest.raises(ValueError, match="k must be a positive integer"):
        lens.top(0)


def test_watch_bad_input(tiny_scopes):
    scope = tiny_scopes("gpt2")
    run = scope.generate("1, 2, 3,", max_new_tokens=3)
    lens = run.lens()
    ids = scope.tokenizer(" jumps over", add_special_tokens=False)["input_ids"]
    pieces = [scope.tokenizer.decode([i]) for i in ids]
    assert len(pieces) > 1
    with pytest.raises(ValueError, match=r"' jumps over' is not one token: the tokenizer splits it into") as info:
        lens.watch([" jumps over"])
    assert repr(pieces) in str(info.value)
    n = run.n_tokens
    for bad in (0, n + 1, -n - 1):
        with pytest.raises(ValueError, match=rf"position: position {bad} is outside the sequence: it has {n} tokens, "
                                             rf"so positions run from 1 .* to {n - 1} .*; or {n}, the token after"):
            lens.watch([","], position=bad)
    with pytest.raises(ValueError) as info:
        lens.watch([","], position=2.0)
    assert str(info.value) == message("position", Integer(none=True), 2.0)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        lens.watch([10 ** 6])
    with pytest.raises(ValueError, match="tokens is empty"):
        lens.watch([])
    masked = tiny_scopes("bert").analyze("The quick [MASK] fox").lens()
    n = len(masked.run.tokens)
    with pytest.raises(ValueError, match=rf"position: position {n} is outside the sequence: it has {n} tokens, so "
                                         rf"positions run from 0 to {n - 1} \(negative counts from the end\)$"):
        masked.watch(["[MASK]"], position=n)


def _sentencepiece_tokenizer():
    """A SentencePiece-style (Metaspace) tokenizer, whose bare "." reads as ["▁", "."]."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.train_from_iterator(["the quick brown fox jumps over the lazy dog. fox"] * 3,
                            trainers.BpeTrainer(vocab_size=80, special_tokens=["<unk>"], show_progress=False))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>")


def test_tokens_are_found_by_their_display_string():
    tokenizer = _sentencepiece_tokenizer()
    dot = tokenizer.convert_tokens_to_ids(".")
    assert len(tokenizer(".", add_special_tokens=False)["input_ids"]) == 2  # the tokenizer alone would split it
    assert token_id(tokenizer, ".", "tokens") == dot
    fox = tokenizer.convert_tokens_to_ids("\u2581fox")
    assert token_id(tokenizer, " fox", "tokens") == fox
    assert token_id(tokenizer, "fox", "tokens") == fox  # the tokenizer's own reading
    with pytest.raises(ValueError, match=r"'fox jumps' is not one token: the tokenizer splits it into 2 tokens "
                                         r"\[' fox', ' jumps'\]"):
        token_id(tokenizer, "fox jumps", "tokens")


# ---------------------------------------------------------------------------- bad runs
def test_run_without_hidden_states(tiny_scopes):
    run = tiny_scopes("gpt2").generate("1, 2,", max_new_tokens=2, capture=("activations",))
    with pytest.raises(ValueError, match=r"without hidden_states; pass capture=\(\.\.\., 'hidden_states'\)"):
        run.lens()


def test_run_loaded_from_disk_needs_a_model(tiny_scopes, tmp_path):
    scope = tiny_scopes("gpt2")
    run = scope.generate("1, 2,", max_new_tokens=2)
    path = run.save(tmp_path / "r.lms")
    with pytest.raises(ValueError, match=r"not attached to a model.*load_run\(path, scope="):
        lmscope.load_run(path).lens()
    back = lmscope.load_run(path, scope=scope).lens()
    np.testing.assert_array_equal(back.ranks, run.lens().ranks)
    other = lmscope.load_run(path, scope=tiny_scopes("gpt2"))
    other.hidden_states = other.hidden_states[:2]
    with pytest.raises(ValueError, match="hidden_states have shape .* attach the model that made the run"):
        other.lens()


# ---------------------------------------------------------------------------- export and views
def test_view_data_follows_the_contract(any_family):
    run = sample_run(any_family)
    lens = run.lens(top_k=3)
    data = validate_view(lens.view_data())
    assert data["kind"] == "lens" and data["tokens"] == run.token_table()
    assert data["targets"] == lens.targets.tolist() and data["ranks"] == lens.ranks.tolist()
    assert len(data["top"]) == len(lens.layers) and len(data["top"][0][0]) == 3
    assert data["top"][-1][0][0]["token"] == lens.answers[0]
    plain = lens.to_dict()
    assert json.loads(json.dumps(plain)) == plain
    assert plain["answers"] == lens.answers and plain["raw"] is False
    assert 'class="lmscope' in lens._repr_html_()


def test_to_frame(tiny_scopes):
    lens = tiny_scopes("gpt2").generate("1, 2,", max_new_tokens=3).lens()
    frame = lens.to_frame()
    assert len(frame) == lens.ranks.size
    assert frame["rank"].tolist() == lens.ranks.ravel().tolist()
    assert frame.loc[0, "layer"] == "layer 0" and frame.loc[0, "position"] == lens.targets[0]


def test_plot_is_the_rankings_heatmap(tiny_scopes):
    from matplotlib.colors import LogNorm

    lens = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=4).lens()
    fig = lens.plot()
    ax = fig.axes[0]
    image = ax.get_images()[0]
    assert isinstance(image.norm, LogNorm) and image.norm.vmin == 1
    np.testing.assert_array_equal(image.get_array(), lens.ranks)
    cells = [t.get_text() for t in ax.texts]
    assert cells == [str(r) for r in lens.ranks.ravel()]
    assert [t.get_text() for t in ax.get_yticklabels()] == lens.layers
    assert len(ax.get_xticklabels()) == len(lens.targets)
    probs = lens.plot(values="probs")
    assert probs.axes[0].get_images()[0].norm.vmax == 1
    with pytest.raises(ValueError) as info:
        lens.plot(values="logits")
    assert str(info.value) == message("values", Options(("ranks", "probs"), ("the rank of each token, 1 = top",
                                                                            "its probability")), "logits")


def test_lens_is_exported_from_its_module():
    assert logit_lens.__module__ == "lmscope.lens" and Lens.__module__ == "lmscope.lens"


# ---------------------------------------------------------------------------- one position rule, the result base
def test_negative_positions_count_from_the_end(tiny_scopes):
    """The lens follows the rule saliency follows: -1 is the last token."""
    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=4)
    n = run.n_tokens
    lens = run.lens(targets=[-1, -2])
    np.testing.assert_array_equal(lens.targets, [n - 1, n - 2])
    np.testing.assert_array_equal(lens.ranks, run.lens(targets=[n - 1, n - 2]).ranks)
    assert lens.watch([","], position=-1).position == n - 1
    np.testing.assert_array_equal(lens.top(3, position=-1).token_ids, lens.top(3, position=n - 1).token_ids)
    assert lens.watch([","], position=n).position == n   # the token after the text stays reachable
    masked = tiny_scopes("bert").analyze("The quick [MASK] fox")
    assert masked.lens(targets=[-1]).targets.tolist() == [masked.n_tokens - 1]


def test_results_share_the_base(tiny_scopes):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from lmscope.core.results import Result

    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=3)
    lens = run.lens(top_k=2, targets=[-1])
    assert lens.info == {"raw": False, "lens": None, "targets": [-1], "answers": None, "top_k": 2,
                         "embeddings": False}
    watch, top = lens.watch([",", "1"]), lens.top(3)
    assert watch.info == {"tokens": [",", "1"], "position": None} and top.info == {"k": 3, "position": None}
    for result in (lens, watch, top):
        assert isinstance(result, Result)
        frame = result.to_frame()
        assert len(frame) == {Lens: lens.ranks.size, type(watch): watch.ranks.size, type(top): top.probs.size}[
            type(result)]
        assert json.loads(json.dumps(result.to_dict())) == result.to_dict()
    assert watch.to_frame()["rank"].tolist() == watch.ranks.ravel().tolist()
    assert top.to_frame().loc[1, "rank"] == 2 and top.to_frame().loc[0, "token"] == top.tokens[0][0]
    before = plt.get_fignums()
    for result in (lens, watch, top):
        fig = result.plot()
        assert isinstance(fig, Figure) and plt.get_fignums() == before   # pyplot's state untouched
    grid = top.plot().axes[0]
    np.testing.assert_array_equal(grid.get_images()[0].get_array(), top.probs)
    assert [t.get_text() for t in grid.texts][:3] == [t.replace(" ", "␣") for t in top.tokens[0]]
    # drawn on an axes the caller gives, in the caller's figure
    fig = Figure()
    ax = fig.add_subplot(1, 2, 2)
    assert lens.plot(ax=ax) is fig and ax.get_images()[0].get_array().shape == lens.ranks.shape
