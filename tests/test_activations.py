"""Neuron heatmaps and k-means clusters of one run, on tiny models and planted data."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from lmscope.testing import sample_run  # noqa: E402
from lmscope import Run  # noqa: E402
from lmscope.activations import Clusters, NeuronActivations, cluster_neurons, neuron_activations  # noqa: E402
from lmscope.views import validate_view  # noqa: E402


def planted_run(seed: int = 0) -> tuple[Run, np.ndarray]:
    """60 neurons in three groups that fire on different tokens (sizes 30, 20, 10), plus noise."""
    rng = np.random.default_rng(seed)
    n_tokens = 12
    patterns = np.zeros((3, n_tokens), dtype=np.float32)
    patterns[0, 0::3], patterns[1, 1::3], patterns[2, 2::3] = 1.0, 2.0, 3.0
    truth = np.repeat([0, 1, 2], [30, 20, 10])
    rng.shuffle(truth)
    acts = patterns[truth] + rng.normal(0, 0.05, (60, n_tokens)).astype(np.float32)
    run = Run(token_ids=np.arange(n_tokens), tokens=[f"t{i}" for i in range(n_tokens)], n_input=8,
              activations=acts[None], activation_layers=[0])
    return run, truth


# ---------------------------------------------------------------------- heatmaps
@pytest.mark.parametrize("family", ["llama", "gpt2", "bert"])
def test_heatmap_values_follow_mode(tiny_scopes, family):
    run = sample_run(tiny_scopes(family), capture=("activations",))
    for mode in ("seed", "response"):
        h = neuron_activations(run, layer=1, neurons=20, mode=mode)
        expected = run.activations[1][:20][:, run.source_positions(mode)]
        np.testing.assert_array_equal(h.values, expected)
        assert h.values.shape == (20, run.n_tokens) and list(h.neurons) == list(range(20))
    if run.n_output:  # seed: the first output token shows the activation of the last input position
        h = neuron_activations(run, layer=1, neurons=None)
        np.testing.assert_array_equal(h.values[:, run.n_input], run.activations[1][:, run.n_input - 1])


def test_heatmap_neuron_list_positions_and_negative_layer(tiny_scopes):
    run = sample_run(tiny_scopes("llama"))
    h = neuron_activations(run, layer=-1, neurons=[5, 3, 40], positions=[-1], mode="response")
    assert h.layer == 1 and h.values.shape == (3, 1)
    np.testing.assert_array_equal(h.values[:, 0], run.activations[1][[5, 3, 40], run.n_tokens - 1])
    assert h.tokens == [run.token_table()[-1]]
    data = validate_view(h.view_data())
    assert data["kind"] == "activations" and data["row_labels"] == ["L1 n5", "L1 n3", "L1 n40"]
    assert data["tokens"][0]["position"] == 0     # views index their own token list
    # First N neurons capped at the layer's size.
    assert neuron_activations(run, layer=0, neurons=10_000).values.shape[0] == 64


def test_heatmap_plot_colours_only_positive_values(tiny_scopes):
    run = sample_run(tiny_scopes("llama"))
    fig = neuron_activations(run, layer=0, neurons=50).plot()
    assert isinstance(fig, Figure)
    image = fig.axes[0].images[0]
    np.testing.assert_array_equal(image.get_array(), neuron_activations(run, layer=0, neurons=50).values)
    top = image.get_array().max()
    assert tuple(image.to_rgba(np.array([-1.0, 0.0]))[:, :3].ravel()) == (1.0,) * 6   # white at and below 0
    assert image.to_rgba(np.array([top]))[0, :3].sum() < 1.5                            # dark at the top
    fig.savefig(__import__("io").BytesIO(), format="png")


# ---------------------------------------------------------------------- clusters
def test_clusters_recover_planted_groups():
    run, truth = planted_run()
    cl = cluster_neurons(run, layer=0, k=3, mode="response")
    assert isinstance(cl, Clusters)
    assert adjusted_rand_score(truth, cl.labels) == 1.0
    assert list(cl.sizes) == [30, 20, 10]                     # renumbered by size, 0 = largest
    assert sorted(cl.order.tolist()) == list(range(60))
    sorted_labels = cl.labels[cl.order]
    assert (np.diff(sorted_labels) >= 0).all()                # contiguous, in cluster order
    for c in range(3):                                        # strongest first inside a cluster
        means = cl.values[cl.order[sorted_labels == c]].mean(axis=1)
        assert (np.diff(means) <= 1e-6).all()
        assert set(cl.members(c).tolist()) == set(np.flatnonzero(truth == truth[cl.order[sorted_labels == c][0]]))
    np.testing.assert_allclose(cl.centers[2], [0, 0, 3] * 4, atol=0.1)   # the 10-neuron group fires on 2::3


def test_clusters_reproducible_and_view(tiny_scopes):
    run = sample_run(tiny_scopes("gpt2"))
    a = cluster_neurons(run, layer=1, k=4, random_state=3)
    b = run.clusters(layer=1, k=4, random_state=3)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.order, b.order)
    assert a.values.shape == (64, run.n_tokens) and a.centers.shape == (4, run.n_tokens)
    data = validate_view(a.view_data())
    assert data["clusters"] == a.labels[a.order].tolist()
    np.testing.assert_allclose(np.array(data["values"]), a.values[a.order], rtol=1e-5, atol=1e-7)
    fig = a.plot()
    assert isinstance(fig, Figure) and len(fig.axes[1].images) == 1
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), a.values[a.order])


def test_clusters_of_first_neurons_only(tiny_scopes):
    run = sample_run(tiny_scopes("llama"))
    cl = cluster_neurons(run, layer=0, k=2, neurons=16)
    assert cl.values.shape[0] == 16 and list(cl.neurons) == list(range(16))


# ---------------------------------------------------------------------- bad input
def test_bad_input_names_the_fix(tiny_scopes):
    scope = tiny_scopes("llama")
    run = scope.generate("1, 2,", max_new_tokens=3, layers=[1])
    with pytest.raises(ValueError, match=r"layer 5 is out of range: this model has 2 layers \(0..1\)"):
        cluster_neurons(run, layer=5)
    with pytest.raises(ValueError, match=r"layers \[0\] were not captured.*layers=None"):
        neuron_activations(run, layer=0)
    with pytest.raises(ValueError, match="layer must be an integer"):
        cluster_neurons(run, layer=[1])
    with pytest.raises(ValueError, match="k=65 is larger than the 64 neurons"):
        cluster_neurons(run, layer=1, k=65)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        cluster_neurons(run, layer=1, k=0)
    with pytest.raises(ValueError, match="mode must be one of 'seed'"):
        neuron_activations(run, layer=1, mode="output")
    with pytest.raises(ValueError, match=r"neurons must be neuron indices in 0..63"):
        neuron_activations(run, layer=1, neurons=[64])
    with pytest.raises(ValueError, match="positions: position 8 is outside the sequence: it has 8 tokens"):
        neuron_activations(run, layer=1, positions=[run.n_tokens])
    bare = scope.generate("1, 2,", max_new_tokens=2, capture=("hidden_states",))
    with pytest.raises(ValueError, match=r"captured without activations; pass capture=\(\.\.\., 'activations'\)"):
        cluster_neurons(bare, layer=0)
    with pytest.raises(ValueError, match="captured without activations"):
        neuron_activations(bare, layer=0)


def test_result_types():
    run, _ = planted_run()
    assert isinstance(neuron_activations(run, layer=0), NeuronActivations)
    assert "<" in neuron_activations(run, layer=0)._repr_html_()


# ---------------------------------------------------------------------- the result base
def test_results_share_the_base(tiny_scopes):
    import json

    import matplotlib.pyplot as plt

    from lmscope.core.checks import Integer, message
    from lmscope.core.results import Result

    run = sample_run(tiny_scopes("llama"))
    heat = run.neuron_activations(layer=-1, neurons=[3, 5], positions=[-1, 0])
    assert heat.positions.tolist() == [run.n_tokens - 1, 0]          # negative counts from the end, order kept
    assert heat.info == {"layer": -1, "neurons": [3, 5], "positions": [-1, 0], "mode": "seed"}
    cl = run.clusters(layer=0, k=3, neurons=12)
    assert cl.info == {"layer": 0, "k": 3, "random_state": 0, "mode": "seed", "neurons": 12, "n_init": 10}
    for result in (heat, cl):
        assert isinstance(result, Result)
        assert json.loads(json.dumps(result.to_dict())) == result.to_dict()
    frame = heat.to_frame()
    assert frame.shape == (4, 4) and frame["value"].tolist() == heat.values.ravel().tolist()
    assert frame.loc[1, "neuron"] == 3 and frame.loc[1, "position"] == 0 and frame.loc[1, "token"] == run.tokens[0]
    rows = cl.to_frame()
    assert rows["cluster"].tolist() == cl.labels.tolist()
    assert rows.sort_values("row")["neuron"].tolist() == cl.neurons[cl.order].tolist()
    before = plt.get_fignums()
    assert isinstance(heat.plot(), Figure) and isinstance(cl.plot(), Figure) and plt.get_fignums() == before
    fig = Figure()
    ax = fig.add_subplot(1, 2, 1)
    assert heat.plot(ax=ax) is fig and ax.images[0].get_array().shape == (2, 2)
    right = fig.add_subplot(1, 2, 2)
    assert cl.plot(ax=right) is fig
    np.testing.assert_array_equal(fig.axes[-2].images[0].get_array(), cl.values[cl.order])   # in right's place
    with pytest.raises(ValueError) as info:
        cl.members(3)
    assert str(info.value) == message("cluster", Integer(0, 2), 3)
