"""A corpus on the shared shapes: documents as data records that run analyses read, the result contract,
declared constraints, the archive store and the factor base it shares with a run's factors."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import lmscope  # noqa: E402
from lmscope.activations import neuron_activations  # noqa: E402
from lmscope.capture import run_forward  # noqa: E402
from lmscope.core.archive import ArchiveError  # noqa: E402
from lmscope.core.checks import message  # noqa: E402
from lmscope.core.record import Record  # noqa: E402
from lmscope.corpus import CorpusFileError, build_corpus, fit_factors, load_corpus  # noqa: E402
from lmscope.factors import FactorComponents, contributing, factorize  # noqa: E402

TEXTS = ["The quick brown fox jumps over the lazy dog.", "1, 2, 3, 4, 5, 6, 7, 8, 9, 10",
         "William Shakespeare was born in the year 1564.", "Austria, Belgium, Bulgaria, Croatia, Cyprus",
         "Hello world, hello again!"]


@pytest.fixture(scope="module")
def built(tiny_scopes):
    scope = tiny_scopes("llama")
    corpus = scope.corpus(TEXTS, k=4, batch_size=2, progress=False)
    corpus.factors(n=3, batch_rows=16, progress=False)
    return scope, corpus


def test_a_document_is_a_record_that_run_analyses_read(built):
    scope, corpus = built
    plain = corpus.document(1)
    assert isinstance(plain, Record) and plain.activations is None and plain.scope is scope
    assert plain.tokens == corpus.tokens(1) and plain.n_input == plain.n_tokens == len(plain.token_ids)
    assert plain.text == TEXTS[1] and corpus.document(-1).text == TEXTS[-1]
    with pytest.raises(ValueError, match=r"captured without activations; pass capture=\(\.\.\., 'activations'\)"):
        factorize(plain, n=2)

    doc = corpus.document(1, capture=("activations",))
    assert doc.activation_layers == [0, 1] and doc.activations.shape == (2, 64, doc.n_tokens)
    alone = run_forward(scope.anatomy, torch.as_tensor(doc.token_ids)[None], capture=("activations",),
                        layers=[0, 1])
    np.testing.assert_allclose(doc.activations[1], alone.activations[1][0].numpy().T, atol=1e-6)
    # The same document analysed as text gives the same activations, so run analyses agree on both.
    run = scope.analyze(TEXTS[1], capture=("activations",))
    assert run.token_ids.tolist() == doc.token_ids.tolist()
    np.testing.assert_allclose(doc.activations, run.activations, atol=1e-5)
    f, g = factorize(doc, n=2), run.factors(n=2)
    assert f.tokens == g.tokens and f.dominant.tolist() == g.dominant.tolist()
    np.testing.assert_allclose(f.components, g.components, rtol=1e-3, atol=1e-4)
    heat = neuron_activations(doc, layer=1, neurons=5)
    np.testing.assert_allclose(heat.values, doc.activations[1, :5], atol=1e-6)
    # The corpus's own top examples of a neuron are this document's activations where they fall in it.
    table = corpus.top_examples(neuron=(1, 7))
    for row in table[table["doc"] == 1].itertuples():
        assert abs(doc.activations[1, 7, row.position] - row.activation) < 1e-4
    hidden = corpus.document(0, capture=("hidden_states",), layers=[1])
    assert hidden.hidden_states.shape[:2] == (scope.n_layers + 1, hidden.n_tokens) and hidden.activations is None


def test_document_bad_input_and_detached_corpus(built, tmp_path):
    _scope, corpus = built
    with pytest.raises(ValueError, match=r"doc: document 5 is out of range: the corpus has 5 documents \(0..4\)"):
        corpus.document(5)
    with pytest.raises(ValueError, match="doc must be an integer; got '1'"):
        corpus.tokens("1")
    with pytest.raises(ValueError, match="layers= chooses the layers to capture"):
        corpus.document(0, layers=[1])
    from lmscope.capture import CAPTURE

    with pytest.raises(ValueError) as caught:
        corpus.document(0, capture=("weights",))
    assert str(caught.value) == message("capture", CAPTURE, ("weights",))
    detached = load_corpus(corpus.save(tmp_path / "c.npz"))
    assert detached.document(2).tokens == corpus.tokens(2)
    with pytest.raises(ValueError, match="not attached to a model.*load_corpus"):
        detached.document(2, capture=("activations",))


def test_result_contract(built):
    _scope, corpus = built
    assert corpus.info["k"] == 4 and corpus.info["batch_size"] == 2 and corpus.info["texts"] == list(TEXTS)   # short lists are kept; long ones show as "<N items>"
    assert corpus.info["long_texts"] == "truncate" and corpus.info["layers"] is None
    frame = corpus.to_frame()
    assert list(frame.columns) == ["layer", "neuron", "rank", "activation", "doc", "position", "token"]
    assert len(frame) == (corpus.top_index >= 0).sum()
    one = frame[(frame["layer"] == 1) & (frame["neuron"] == 7)].reset_index(drop=True)
    examples = corpus.top_examples(neuron=(1, 7))
    assert one[["rank", "doc", "position", "token"]].equals(examples[["rank", "doc", "position", "token"]])
    np.testing.assert_allclose(one["activation"], examples["activation"])
    data = corpus.to_dict()
    assert data["n_docs"] == 5 and data["n_counted"] == corpus.n_counted and len(data["top_values"]) == 2
    assert data["factors"]["labels"] == ["factor 0", "factor 1", "factor 2"]
    import json
    json.dumps(data, allow_nan=False)                       # plain JSON: no -inf, no numpy

    found = corpus.factor_result
    assert found.info == {"n": 3, "random_state": 0, "epochs": 1, "batch_rows": 16, "progress": False}
    assert found.to_frame().equals(found.stats())
    for result in (corpus, found):
        fig = result.plot()
        assert isinstance(fig, Figure) and len(fig.axes) >= 1
        host = Figure()
        ax = host.subplots(1, 2)[1]
        assert result.plot(ax=ax) is host and ax in host.axes
        with pytest.raises(ValueError, match="ax must be a matplotlib Axes or None"):
            result.plot(ax=3)
    assert corpus.plot().axes[0].get_xlabel() == "layer"


def test_corpus_factors_share_the_factor_base(built):
    _scope, corpus = built
    found = corpus.factor_result
    assert isinstance(found, FactorComponents)
    assert found.neuron(64 + 5) == (1, 5)
    with pytest.raises(ValueError, match=r"column must be in 0..127"):
        found.neuron(128)
    np.testing.assert_array_equal(found.layer_components()[:, 1], found.components[:, 64:])
    sets = contributing(found.components, 0.9).astype(int)
    np.testing.assert_array_equal(found.overlap(), sets @ sets.T)
    stats = found.stats()
    assert list(stats.columns) == ["label", "neurons", "share", "common_0", "common_1", "common_2", "tokens",
                                   "mean_activity"]
    assert stats["tokens"].sum() == corpus.n_counted
    found.labels = ["a", "b", "c"]
    try:
        assert found.stats()["label"].tolist() == ["a", "b", "c"]
    finally:
        found.labels = None


def test_declared_constraints_refuse_what_they_declare(built):
    scope, corpus = built
    assert set(build_corpus.constraints) == {"layers", "batch_size", "k", "max_length", "long_texts", "stride",
                                             "exclude_first", "text_key", "progress"}
    for name, constraint in build_corpus.constraints.items():
        for value in constraint.invalid():
            if value is None and constraint.none:       # Either.invalid() may list None where None is allowed
                continue
            with pytest.raises(ValueError) as caught:
                scope.corpus(TEXTS, **{name: value})
            assert str(caught.value) == message(name, constraint, value), (name, value)
    for name, constraint in fit_factors.constraints.items():
        for value in constraint.invalid():
            with pytest.raises(ValueError) as caught:
                corpus.factors(**{name: value})
            assert str(caught.value) == message(name, constraint, value), (name, value)
    with pytest.raises(ValueError, match=r"stride must be an integer in 1..max_length \(16\)"):
        scope.corpus(TEXTS, max_length=16, stride=17)
    with pytest.raises(ValueError, match="context must be an integer >= 0; got -1"):
        corpus.top_examples(neuron=(1, 0), context=-1)
    with pytest.raises(ValueError, match=r"factor must be an integer from 0 to 2; got 3"):
        corpus.top_examples(factor=3)


def test_store_goes_through_the_archive(built, tmp_path):
    _scope, corpus = built
    assert issubclass(CorpusFileError, ArchiveError) and lmscope.load_corpus is load_corpus
    path = corpus.save(tmp_path / "corpus.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["corpus.npz"]       # atomic: no temporary file left
    corpus.factor_result.labels = ["x", "y", "z"]
    try:
        back = load_corpus(corpus.save(path))
    finally:
        corpus.factor_result.labels = None
    assert back.factor_result.labels == ["x", "y", "z"]
    np.testing.assert_array_equal(back.top_index, corpus.top_index)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ArchiveError, match="not a readable lmscope corpus"):
        load_corpus(broken)


def test_info_never_holds_a_long_corpus(tiny_scopes):
    texts = [f"{i}, {i + 1}," for i in range(150)]
    corpus = tiny_scopes("llama").corpus(texts, k=2, batch_size=64, progress=False)
    assert corpus.info["texts"] == "<150 items>"
