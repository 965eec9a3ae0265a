"""Corpus-scale activations: batched top examples equal one-text-at-a-time, windows, factors, save/load, bad input."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import NMF, non_negative_factorization

import lmscope
from lmscope.capture import run_forward
from lmscope.corpus import Corpus, CorpusFileError, TopK, factor_rows, forward_batches, load_corpus

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "1, 2, 3, 4, 5, 6, 7, 8, 9, 10",
    "William Shakespeare was born in the year 1564.",
    "Austria, Belgium, Bulgaria",
    "<item>one</item> <item>two</item> <item>three</item>",
    "Hello world!",
    "Some existing text, with numbers 12345 and symbols <>&\"'.",
    "dog",
    "Croatia, Cyprus, Czechia, Denmark, and the lazy fox again, 7 8 9.",
    "over the year",
]


def _activations(scope, ids, layers):
    """Activations of one sequence alone (no batching, no padding): layer -> (positions, neurons)."""
    got = run_forward(scope.anatomy, torch.as_tensor(np.asarray(ids, dtype=np.int64))[None],
                      capture=("activations",), layers=layers)
    return {layer: got.activations[layer][0] for layer in layers}


def _brute_top(corpus, scope, k):
    """Top-k per neuron computed text by text (segment by segment), counting what the corpus says counts."""
    rows = {layer: [] for layer in corpus.layers}
    for doc, start, end, count_from in corpus.segments.tolist():
        base = corpus.doc_offsets[doc]
        acts = _activations(scope, corpus.ids[base + start:base + end], corpus.layers)
        first = max(count_from, 1 if (start == 0 and corpus.exclude_first) else 0)
        for layer in corpus.layers:
            rows[layer].append(acts[layer][first:])
    return np.stack([torch.cat(rows[layer]).topk(k, dim=0).values.numpy() for layer in corpus.layers])


@pytest.mark.parametrize("family", ["llama", "gpt2", "opt", "bert"])
def test_batched_top_examples_equal_one_text_at_a_time(tiny_scopes, family):
    scope = tiny_scopes(family)
    corpus = scope.corpus(TEXTS, batch_size=3, k=4, progress=False)
    assert isinstance(corpus, Corpus) and corpus.layers == [0, 1] and corpus.n_docs == len(TEXTS)
    # Padded positions never count, and neither does each text's first position.
    assert corpus.n_counted == corpus.n_tokens - corpus.n_docs
    np.testing.assert_allclose(corpus.top_values, _brute_top(corpus, scope, 4), rtol=1e-4, atol=1e-5)
    # Every kept index is a real, counted position and holds the value reported for it.
    for li, layer in enumerate(corpus.layers):
        for neuron in (0, 17, 63):
            for value, index in zip(corpus.top_values[li, :, neuron], corpus.top_index[li, :, neuron]):
                doc, position = corpus.locate(int(index))
                assert 1 <= position < corpus.doc_offsets[doc + 1] - corpus.doc_offsets[doc]
                ids = corpus.ids[corpus.doc_offsets[doc]:corpus.doc_offsets[doc + 1]]
                alone = _activations(scope, ids, [layer])[layer][position, neuron]
                assert abs(float(alone) - value) < 1e-4


def test_top_examples_table(tiny_scopes):
    scope = tiny_scopes("llama")
    corpus = scope.corpus(TEXTS, layers=[1], k=5, progress=False)
    table = corpus.top_examples(neuron=(1, 7), k=3, context=4)
    assert list(table.columns) == ["rank", "activation", "doc", "position", "left", "token", "right"]
    assert table["rank"].tolist() == [0, 1, 2] and (np.diff(table["activation"]) <= 0).all()
    np.testing.assert_allclose(table["activation"], corpus.top_values[0, :3, 7])
    for row in table.itertuples():
        tokens = corpus.tokens(row.doc)
        assert row.token == tokens[row.position]
        assert row.left == "".join(tokens[max(0, row.position - 4):row.position])
        assert row.right == "".join(tokens[row.position + 1:row.position + 5])
    assert corpus.text(1) == TEXTS[1]
    assert corpus.top_examples(neuron=(-1 + 2, 7)).shape[0] == 5


def test_first_position_counts_on_request(tiny_scopes):
    scope = tiny_scopes("gpt2")
    corpus = scope.corpus(TEXTS, layers=0, exclude_first=False, progress=False, k=3)
    assert corpus.n_counted == corpus.n_tokens
    np.testing.assert_allclose(corpus.top_values, _brute_top(corpus, scope, 3), rtol=1e-4, atol=1e-5)


def test_long_texts_in_windows_count_every_token_once(tiny_scopes):
    scope = tiny_scopes("llama")
    long = " ".join(str(i) for i in range(40))
    corpus = scope.corpus([long, "short text"], max_length=16, long_texts="window", k=3, progress=False)
    n_long = corpus.doc_offsets[1]
    assert n_long > 40 and corpus.n_tokens == n_long + len(scope.tokenizer("short text")["input_ids"])
    segments = corpus.segments[corpus.segments[:, 0] == 0]
    assert (segments[:, 2] - segments[:, 1] <= 16).all() and segments[-1, 2] == n_long
    counted = np.zeros(n_long, dtype=int)
    for _doc, start, end, count_from in segments.tolist():
        counted[start + count_from:end] += 1
    assert counted.tolist() == [1] * n_long                        # every token once ...
    assert corpus.n_counted == corpus.n_tokens - 2                  # ... minus each text's first position
    np.testing.assert_allclose(corpus.top_values, _brute_top(corpus, scope, 3), rtol=1e-4, atol=1e-5)


def test_long_texts_truncated_with_a_warning(tiny_scopes):
    scope = tiny_scopes("llama")
    long = " ".join(str(i) for i in range(40))
    with pytest.warns(UserWarning, match="1 of 2 texts were longer than max_length=16.*long_texts='window'"):
        corpus = scope.corpus([long, "short text"], max_length=16, progress=False)
    assert corpus.doc_offsets[1] == 16 and corpus.settings["truncated"] == 1
    assert corpus.text(0) == scope.tokenizer.decode(scope.tokenizer(long)["input_ids"][:16])


def test_records_like_a_dataset_and_memory_bound(tiny_scopes):
    scope = tiny_scopes("llama")
    plain = scope.corpus(TEXTS, k=3, progress=False)
    records = scope.corpus(({"text": t, "id": i} for i, t in enumerate(TEXTS)), k=3, progress=False)
    np.testing.assert_array_equal(plain.top_values, records.top_values)
    np.testing.assert_array_equal(plain.top_index, records.top_index)
    bigger = scope.corpus(TEXTS * 3, k=3, progress=False)
    assert bigger.top_values.shape == plain.top_values.shape == (2, 3, 64)     # independent of corpus size
    with_empty = scope.corpus(["", *TEXTS, "   "], k=3, progress=False)
    assert with_empty.n_docs == len(TEXTS) and with_empty.settings["skipped"] == 2


def test_progress_bar(tiny_scopes, capsys):
    tiny_scopes("llama").corpus(TEXTS[:3], progress=True)
    assert "corpus: top examples" in capsys.readouterr().err


def test_streaming_factors(tiny_scopes):
    scope = tiny_scopes("llama")
    corpus = scope.corpus(TEXTS * 4, batch_size=4, k=5, progress=False)
    result = corpus.factors(n=3, batch_rows=64, epochs=2, progress=False)
    assert result is corpus.factor_result and result.components.shape == (3, 128) and result.steps > 4
    assert result.dominant_count.sum() == corpus.n_counted and (result.mean_activity > 0).all()
    # Close to a full-batch NMF of the same (clipped) activations.
    rows = np.concatenate([factor_rows(acts, corpus.layers, valid) for valid, _g, acts in
                           forward_batches(scope, corpus, layers=corpus.layers, batch_size=4, desc="",
                                           progress=False)])
    assert rows.shape[0] == corpus.n_counted and rows.min() >= 0

    def error(h):
        w, _, _ = non_negative_factorization(rows, H=h.astype(rows.dtype), n_components=3, init="custom",
                                             update_H=False, max_iter=500)
        return np.linalg.norm(rows - w @ h) / np.linalg.norm(rows)

    full = NMF(3, init="nndsvda", random_state=0, max_iter=1000).fit(rows)
    assert error(result.components) <= 1.15 * error(full.components_)
    table = corpus.top_examples(factor=1, k=5)
    assert len(table) == 5 and (np.diff(table["activation"]) <= 0).all()
    assert table["activation"].iloc[0] >= result.mean_activity[1]
    stats = result.stats()
    assert list(stats.columns[:5]) == ["label", "neurons", "share", "common_0", "common_1"]
    again = corpus.factors(n=3, batch_rows=64, epochs=2, progress=False)
    np.testing.assert_array_equal(again.components, result.components)      # random_state=0: reproducible


def test_save_and_load(tiny_scopes, tmp_path):
    scope = tiny_scopes("llama")
    corpus = scope.corpus(TEXTS, k=3, progress=False)
    corpus.factors(n=2, progress=False)
    path = corpus.save(tmp_path / "corpus.npz")
    back = load_corpus(path)
    for name in ("ids", "doc_offsets", "segments", "top_values", "top_index"):
        np.testing.assert_array_equal(getattr(back, name), getattr(corpus, name))
    assert back.token_strings == corpus.token_strings and back.settings == corpus.settings
    assert back.top_examples(neuron=(0, 5)).equals(corpus.top_examples(neuron=(0, 5)))
    assert back.top_examples(factor=1).equals(corpus.top_examples(factor=1))
    np.testing.assert_array_equal(back.factor_result.components, corpus.factor_result.components)
    with pytest.raises(ValueError, match="not attached to a model.*load_corpus"):
        back.factors(n=2)
    attached = load_corpus(path, scope=scope)
    assert attached.factors(n=2, progress=False).components.shape == (2, 128)
    with pytest.raises(ValueError, match="does not fit"):
        model, tok = _other_model()
        load_corpus(path, scope=lmscope.load(model, tokenizer=tok))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CorpusFileError, match="not a readable lmscope corpus"):
        load_corpus(broken)
    run_file = scope.generate("1, 2,", max_new_tokens=2).save(tmp_path / "run.lms")
    with pytest.raises(CorpusFileError, match="not an lmscope corpus file"):
        load_corpus(run_file)
    with pytest.raises(FileNotFoundError, match="no saved corpus"):
        load_corpus(tmp_path / "missing.npz")


def _other_model():
    import transformers as T

    from lmscope.testing import tiny_tokenizer

    tok = tiny_tokenizer()
    config = T.LlamaConfig(vocab_size=len(tok), hidden_size=32, num_attention_heads=4, num_hidden_layers=2,
                           intermediate_size=48, max_position_embeddings=128)
    return T.LlamaForCausalLM(config), tok


def test_bad_input_names_the_fix(tiny_scopes):
    scope = tiny_scopes("llama")
    with pytest.raises(ValueError, match="the corpus is empty; pass at least one non-empty text"):
        scope.corpus([], progress=False)
    with pytest.raises(ValueError, match=r"the corpus is empty \(2 empty texts skipped\)"):
        scope.corpus(["", " \n"], progress=False)
    with pytest.raises(TypeError, match="not one string; wrap it"):
        scope.corpus("one text", progress=False)
    with pytest.raises(TypeError, match="text 1 is a int, not a string"):
        scope.corpus(["fine", 3], progress=False)
    with pytest.raises(ValueError, match="record without a 'text' field.*text_key="):
        scope.corpus([{"body": "hello"}], progress=False)
    assert scope.corpus([{"body": "hello there"}], text_key="body", progress=False).n_docs == 1
    with pytest.raises(ValueError, match="layer 9 is out of range"):
        scope.corpus(TEXTS, layers=[9], progress=False)
    with pytest.raises(ValueError, match="long_texts must be one of 'truncate' .*'window' .*; got 'split'"):
        scope.corpus(TEXTS, long_texts="split", progress=False)
    with pytest.raises(ValueError, match=r"max_length=500 exceeds the context.*\(128 positions\)"):
        scope.corpus(TEXTS, max_length=500, progress=False)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        scope.corpus(TEXTS, batch_size=0, progress=False)
    assert [len(scope.tokenizer(t)["input_ids"]) for t in ("1", "2")] == [1, 1]
    with pytest.raises(ValueError, match="no position of the corpus counts.*exclude_first=False"):
        scope.corpus(["1", "2"], progress=False)
    corpus = scope.corpus(TEXTS, layers=[1], k=3, progress=False)
    with pytest.raises(ValueError, match="layer 0 was not collected"):
        corpus.top_examples(neuron=(0, 1))
    with pytest.raises(ValueError, match=r"neuron index 64 is out of range.*\(0..63\)"):
        corpus.top_examples(neuron=(1, 64))
    with pytest.raises(ValueError, match="k must be in 1..3.*larger k="):
        corpus.top_examples(neuron=(1, 0), k=5)
    with pytest.raises(ValueError, match="exactly one of neuron"):
        corpus.top_examples()
    with pytest.raises(ValueError, match="neuron must be \\(layer, index\\)"):
        corpus.top_examples(neuron=5)
    with pytest.raises(ValueError, match=r"no factors yet; call corpus.factors\(n=...\) first"):
        corpus.top_examples(factor=0)
    with pytest.raises(ValueError, match="n=65 is larger than the 64 neurons"):
        corpus.factors(n=65, progress=False)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        corpus.factors(n=0, progress=False)
    few = scope.corpus(["Hello world!"], layers=[1], progress=False)
    with pytest.raises(ValueError, match=f"larger than the {few.n_counted} positions"):
        few.factors(n=few.n_counted + 1, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # a corpus without long texts warns about nothing
        scope.corpus(TEXTS, progress=False)


def test_incremental_top_k_equals_top_k_of_everything():
    generator = torch.Generator().manual_seed(0)
    top = TopK(5, 300, torch.device("cpu"))
    batches, seen = [], 0
    for size in [3, 1, 40, 7] + [20] * 40:      # fewer rows than k first, then mostly filtered batches
        rows = torch.randn(size, 300, generator=generator)
        if len(batches) == 20:
            rows[:, :10] += 10                   # a late batch that beats the best on some columns only
        gidx = torch.arange(seen, seen + size)
        top.update(rows, gidx)
        batches.append(rows)
        seen += size
    everything = torch.cat(batches)
    expected_values, expected_index = everything.topk(5, dim=0)
    values, index = top.result()
    np.testing.assert_array_equal(values, expected_values.numpy())
    np.testing.assert_array_equal(index, expected_index.numpy())


def test_fewer_positions_than_k(tiny_scopes):
    corpus = tiny_scopes("llama").corpus(["Hello world!"], k=50, progress=False)
    assert 0 < corpus.n_counted < 50
    table = corpus.top_examples(neuron=(0, 3))
    assert len(table) == corpus.n_counted and sorted(table["position"]) == list(range(1, corpus.n_counted + 1))
    assert (corpus.top_index[:, corpus.n_counted:] == -1).all()
    assert np.isneginf(corpus.top_values[:, corpus.n_counted:]).all()
