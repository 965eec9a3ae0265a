"""NMF / PCA factors of one run: planted structure, semantics, statistics, views and bad input."""

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.decomposition import NMF, PCA  # noqa: E402

from lmscope.testing import sample_run  # noqa: E402
from lmscope import Run  # noqa: E402
from lmscope.factors import Factors, contributing, factorize  # noqa: E402
from lmscope.views import validate_view  # noqa: E402

N_TOKENS, N_INPUT, N_NEURONS = 20, 6, 40


def planted_run(*, sink: float = 0.0, negative: bool = False, seed: int = 0) -> Run:
    """Two layers of 40 neurons; neurons 0-14 fire on even positions ("commas"), 15-29 on odd ("digits").

    ``sink`` adds a huge activation at position 0 on neurons 30-39 (an attention sink).
    """
    rng = np.random.default_rng(seed)
    acts = np.zeros((2, N_NEURONS, N_TOKENS), dtype=np.float32)
    even, odd = np.arange(0, N_TOKENS, 2), np.arange(1, N_TOKENS, 2)
    for layer in range(2):
        acts[layer][np.ix_(range(0, 15), even)] = rng.uniform(1, 2, (15, len(even)))
        acts[layer][np.ix_(range(15, 30), odd)] = rng.uniform(1, 2, (15, len(odd)))
        acts[layer, 30:, 0] += sink
    acts += rng.uniform(0, 0.02, acts.shape).astype(np.float32)
    if negative:
        acts -= rng.uniform(0, 0.5, acts.shape).astype(np.float32)
    return Run(token_ids=np.arange(N_TOKENS), tokens=[(",", "d")[p % 2] for p in range(N_TOKENS)],
               n_input=N_INPUT, activations=acts, activation_layers=[0, 1])


def test_two_planted_factors_split_even_and_odd():
    run = planted_run()
    f = run.factors(n=2, mode="response")
    assert isinstance(f, Factors) and f.token_activity.shape == (2, N_TOKENS)
    assert f.components.shape == (2, 2 * N_NEURONS) and f.excluded == [0]
    assert f.dominant[0] == -1 and np.isnan(f.token_activity[:, 0]).all()
    even, odd = f.dominant[2::2], f.dominant[1::2]
    assert len(set(even)) == 1 and len(set(odd)) == 1 and even[0] != odd[0]
    comma = even[0]
    per_layer = f.layer_components()[comma]                  # (layers, neurons)
    assert per_layer[:, :15].min() > per_layer[:, 15:].max()  # the comma factor is made of the comma neurons
    assert f.neuron(N_NEURONS + 3) == (1, 3)
    assert f.first_token_factor is None and f.factor_labels() == ["factor 0", "factor 1"]
    assert 0 < f.error < 0.25


def test_seed_mode_reads_the_producing_position():
    run = planted_run()
    f = factorize(run, n=2, mode="seed")
    # The last input and first output token read the same position: same activity.
    np.testing.assert_array_equal(f.token_activity[:, N_INPUT - 1], f.token_activity[:, N_INPUT])
    # An output token is tinted by the factor of the position before it: inputs 1 (odd) and 2 (even)
    # read their own positions and show which factor goes with which parity.
    for t in range(N_INPUT, N_TOKENS):
        assert f.dominant[t] == f.dominant[2 if (t - 1) % 2 == 0 else 1]
    assert f.dominant[1] != f.dominant[2]
    # The factorised matrix has one row per distinct position: equal to sklearn on those rows.
    data = run.activations[:, :, 1:N_TOKENS - 1].reshape(2 * N_NEURONS, -1).T
    expected = NMF(2, init="nndsvda", random_state=0, max_iter=1000).fit(data)
    np.testing.assert_allclose(f.components, expected.components_, rtol=1e-4, atol=1e-5)


def test_nmf_clips_at_zero_and_pca_takes_raw_values():
    run = planted_run(negative=True)
    rows = run.activations[:, :, 1:].reshape(2 * N_NEURONS, -1).T
    f = factorize(run, n=2, mode="response")
    nmf = NMF(2, init="nndsvda", random_state=0, max_iter=1000).fit(np.clip(rows, 0, None))
    np.testing.assert_allclose(f.components, nmf.components_, rtol=1e-4, atol=1e-5)
    assert (f.token_activity[:, 1:] >= 0).all()
    p = factorize(run, n=3, method="pca", mode="response")
    pca = PCA(3, random_state=0).fit(rows)
    np.testing.assert_allclose(p.components, pca.components_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(p.token_activity[:, 1:], pca.transform(rows).T, rtol=1e-4, atol=1e-4)
    assert (p.token_activity[:, 1:] < 0).any()
    np.testing.assert_array_equal(p.dominant[1:], np.abs(p.token_activity[:, 1:]).argmax(axis=0))
    np.testing.assert_allclose(p.explained_variance_ratio, pca.explained_variance_ratio_, rtol=1e-5)


def test_first_token_factor_when_kept():
    run = planted_run(sink=500.0)
    kept = factorize(run, n=2, exclude=None, mode="response")
    assert kept.excluded == [] and kept.first_token_factor is not None
    sink = kept.first_token_factor
    assert kept.dominant[0] == sink and (kept.dominant[1:] != sink).all()
    assert kept.factor_labels()[sink] == "first token"
    assert kept.to_dict()["labels"][sink] == "first token"
    left_out = factorize(run, n=2, mode="response")       # default: first position left out
    assert left_out.first_token_factor is None and left_out.excluded == [0]
    assert len(set(left_out.dominant[2::2])) == 1 and left_out.dominant[2] != left_out.dominant[1]


def test_exclude_positions_and_layers():
    run = planted_run()
    f = factorize(run, n=2, exclude=[0, 5, -1], layers=1)
    assert f.excluded == [0, 5, N_TOKENS - 1] and f.layers == [1]
    assert f.components.shape == (2, N_NEURONS)
    assert (f.dominant[f.excluded] == -1).all() and np.isnan(f.token_activity[:, f.excluded]).all()
    assert factorize(run, n=2, layers=range(0, 2)).layers == [0, 1]
    assert factorize(run, n=2, layers=[-1]).layers == [1]


def test_reproducible():
    run = planted_run(negative=True)
    a, b = factorize(run, n=3, random_state=7), factorize(run, n=3, random_state=7)
    np.testing.assert_array_equal(a.components, b.components)
    np.testing.assert_array_equal(a.token_activity, b.token_activity)


def test_contributing_neurons_definition():
    components = np.array([[5.0, 3.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0, 8.0]])
    sets = contributing(components, mass=0.8)
    assert sets.tolist() == [[True, True, False, False, False], [False, False, False, False, True]]
    assert contributing(components, mass=0.9).sum(axis=1).tolist() == [3, 2]
    assert contributing(-components, mass=0.8).tolist() == sets.tolist()     # PCA: absolute weights
    with pytest.raises(ValueError, match=r"mass must be a number > 0 and <= 1; got 0"):
        contributing(components, mass=0)


def test_stats_counts_shares_and_overlap():
    run = planted_run()
    f = factorize(run, n=2, mode="response")
    stats = f.stats(mass=0.9)
    sets = contributing(f.components, 0.9)
    assert list(stats.columns[:5]) == ["label", "neurons", "share", "common_0", "common_1"]
    assert stats["neurons"].tolist() == sets.sum(axis=1).tolist()
    np.testing.assert_allclose(stats["share"], sets.sum(axis=1) / (2 * N_NEURONS))
    common = int((sets[0] & sets[1]).sum())
    assert stats.loc[0, "common_1"] == stats.loc[1, "common_0"] == common
    np.testing.assert_array_equal(f.overlap(mass=0.9), stats[["common_0", "common_1"]].to_numpy())
    # Each factor is made of its own 30 neurons (15 per layer), not the silent ones.
    assert 20 <= stats["neurons"].min() and stats["neurons"].max() <= 30 and common <= 5
    assert stats["tokens"].sum() == N_TOKENS - 1
    text = f.describe()
    assert f"of the {2 * N_NEURONS:,} FFN neurons in 2 layers" in text and "in common" in text


def test_top_tokens_skip_excluded():
    run = planted_run()
    f = factorize(run, n=2, mode="response")
    top = f.top_tokens(3)
    assert list(top.columns) == ["factor", "rank", "position", "token", "type", "activity"]
    for factor, rows in top.groupby("factor"):
        activity = f.token_activity[factor]
        expected = np.argsort(-np.nan_to_num(activity, nan=-np.inf))[:3]
        assert rows["position"].tolist() == expected.tolist()
        assert 0 not in rows["position"].tolist()
        assert (np.diff(rows["activity"]) <= 0).all()
    with pytest.raises(ValueError, match="k must be a positive integer"):
        f.top_tokens(0)


def test_to_dict_is_the_factors_view():
    run = planted_run()
    f = factorize(run, n=2)
    data = validate_view(f.view_data())
    plain = f.to_dict()
    assert plain["kind"] == "factors" and plain["excluded"] == [0]
    assert len(plain["factors"]) == 2 and len(plain["factors"][0]) == N_TOKENS
    assert plain["factors"][0][0] == 0.0 and plain["dominant"][0] == -1      # excluded: 0 in the JSON
    assert data["tokens"][N_INPUT]["type"] == "output"
    f.labels = ["commas", "digits"]
    assert validate_view(f.to_dict())["labels"] == ["commas", "digits"]
    assert "lms" in f._repr_html_()


def test_plot_sparklines():
    run = planted_run()
    f = factorize(run, n=3)
    fig = f.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    line = fig.axes[1].lines[0].get_ydata()
    np.testing.assert_array_equal(np.isnan(line), np.isnan(f.token_activity[1]))
    labels = [t.get_text() for t in fig.axes[-1].get_xticklabels()]
    assert labels == run.tokens
    colours = [t.get_color() for t in fig.axes[-1].get_xticklabels()]
    assert colours[0] == "0.6" and colours[1] != colours[2]       # excluded grey; two dominant factors
    fig.savefig(io.BytesIO(), format="png")


@pytest.mark.parametrize("family", ["llama", "gpt2", "opt", "bert"])
def test_tiny_models(tiny_scopes, family):
    run = sample_run(tiny_scopes(family), capture=("activations",))
    f = run.factors(n=2)
    assert f.components.shape == (2, 2 * tiny_scopes(family).anatomy.n_neurons)
    assert (f.dominant[1:] >= 0).all() and validate_view(f.to_dict())
    p = run.factors(n=2, method="pca", layers=[0], exclude=None)
    assert p.excluded == [] and p.components.shape == (2, 64)


def test_bad_input_names_the_fix(tiny_scopes):
    run = planted_run()
    with pytest.raises(ValueError, match=r"n=19 is larger than the 18 token positions.*n <= 18"):
        factorize(run, n=19)            # seed mode, first left out: positions 1..18
    small = Run(token_ids=np.arange(10), tokens=["a"] * 10, n_input=10,
                activations=np.ones((1, 3, 10), dtype=np.float32), activation_layers=[0])
    with pytest.raises(ValueError, match=r"n=4 is larger than the 3 neurons.*n <= 3"):
        factorize(small, n=4)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        factorize(run, n=0)
    with pytest.raises(ValueError, match="method must be one of 'nmf' .*'pca' .*; got 'ica'"):
        factorize(run, method="ica")
    with pytest.raises(ValueError, match="mode must be one of 'seed'"):
        factorize(run, mode="own")
    with pytest.raises(ValueError, match=r"exclude must be one of 'first' .* or an int or a non-empty list of ints "
                                         r"\(token positions\), or None; got 'last'"):
        factorize(run, exclude="last")
    with pytest.raises(ValueError, match="exclude: position 20 is outside the sequence: it has 20 tokens, so "
                                         "positions run from 0 to 19"):
        factorize(run, exclude=[20])
    with pytest.raises(ValueError, match="leaves no tokens"):
        factorize(run, exclude=range(N_TOKENS))
    with pytest.raises(ValueError, match=r"layer 2 is out of range: this model has 2 layers"):
        factorize(run, layers=[2])
    with pytest.raises(ValueError, match="layers must be an int or a non-empty list"):
        factorize(run, layers=[])
    below_zero = -np.random.default_rng(0).uniform(0.1, 1, (1, 4, 5)).astype(np.float32)
    negative = Run(token_ids=np.arange(5), tokens=["a"] * 5, n_input=5, activations=below_zero,
                   activation_layers=[0])
    with pytest.raises(ValueError, match="<= 0.*method='pca'"):
        factorize(negative, n=1)
    assert factorize(negative, n=1, method="pca").components.shape == (1, 4)
    scope = tiny_scopes("llama")
    partial = scope.generate("1, 2,", max_new_tokens=3, layers=[0])
    with pytest.raises(ValueError, match=r"layers \[1\] were not captured"):
        partial.factors(n=2, layers=[1])
    with pytest.raises(ValueError, match="layer 7 is out of range: this model has 2 layers"):
        partial.factors(n=2, layers=7)
    bare = scope.generate("1, 2,", max_new_tokens=3, capture=("hidden_states",))
    with pytest.raises(ValueError, match=r"captured without activations; pass capture=\(\.\.\., 'activations'\)"):
        bare.factors(n=2)


def test_result_contract_info_frame_and_layer_weights():
    run = planted_run()
    f = run.factors(n=2, layers=[1], mode="response")
    assert f.info == {"n": 2, "layers": [1], "method": "nmf", "exclude": "first", "mode": "response",
                      "random_state": 0, "max_iter": 1000}
    frame = f.to_frame()
    assert list(frame.columns) == ["position", "token", "type", "dominant", "factor 0", "factor 1"]
    assert frame["dominant"].tolist() == f.dominant.tolist() and frame["token"].tolist() == run.tokens
    np.testing.assert_array_equal(frame["factor 1"].to_numpy(), f.token_activity[1])
    both = factorize(run, n=2, mode="response")
    shares = both.layer_weights()
    expected = np.abs(both.layer_components()).sum(axis=2)
    np.testing.assert_allclose(shares, expected / expected.sum(axis=1, keepdims=True), rtol=1e-6)
    fig = both.plot_layers()
    assert isinstance(fig, Figure) and fig.axes[0].images[0].get_array().shape == (2, 2)


def test_plot_into_a_given_axes_splits_its_cell():
    import matplotlib.pyplot as plt

    f = factorize(planted_run(), n=3)
    fig = Figure()
    left, right = fig.subplots(1, 2)
    box = right.get_position()
    before = len(plt.get_fignums())
    assert f.plot(ax=right) is fig and len(plt.get_fignums()) == before      # pyplot's state untouched
    assert right not in fig.axes and left in fig.axes and len(fig.axes) == 1 + 3
    rows = [ax for ax in fig.axes if ax is not left]
    for ax in rows:                                       # the rows fill the cell the axes occupied
        inner = ax.get_position()
        assert inner.x0 >= box.x0 - 1e-6 and inner.x1 <= box.x1 + 1e-6
        assert inner.y0 >= box.y0 - 1e-6 and inner.y1 <= box.y1 + 1e-6
    np.testing.assert_array_equal(np.isnan(rows[2].lines[0].get_ydata()), np.isnan(f.token_activity[2]))
    assert [t.get_text() for t in rows[-1].get_xticklabels()] == [t["token"] for t in f.tokens]
    loose = Figure().add_axes((0.1, 0.1, 0.8, 0.8))
    with pytest.raises(ValueError, match="ax must be a grid cell.*pass ax=None"):
        f.plot(ax=loose)
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes or None"):
        f.plot(ax="left")


def test_declared_constraints_refuse_what_they_declare():
    """Every invalid value each declared constraint generates is refused with the shared message."""
    from lmscope.core.checks import message

    run = planted_run()
    assert set(factorize.constraints) == {"n", "layers", "method", "exclude", "mode", "random_state", "max_iter"}
    for name, constraint in factorize.constraints.items():
        for value in constraint.invalid():
            if value is None and constraint.none:      # Either.invalid() lists None even where None is allowed
                continue
            with pytest.raises(ValueError) as caught:
                factorize(run, **{name: value})
            assert str(caught.value) == message(name, constraint, value), (name, value)
