"""Layer similarity: linear CKA and SVCCA between layers' hidden states."""

import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import lmscope  # noqa: E402
from lmscope import similarity as sim_module  # noqa: E402
from lmscope.run import Run  # noqa: E402
from lmscope.similarity import linear_cka, svcca  # noqa: E402

from lmscope.testing import sample_run  # noqa: E402


def _run_of(states: np.ndarray) -> Run:
    """A run holding only the given hidden states (layers + 1, positions, hidden)."""
    n = states.shape[1]
    return Run(token_ids=np.arange(n), tokens=[f"t{i}" for i in range(n)], n_input=n, hidden_states=states)


def _reference_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Kornblith et al.'s HSIC form with an explicit centring matrix."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, ell = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h)

    return hsic(k, ell) / np.sqrt(hsic(k, k) * hsic(ell, ell))


def _orthogonal(d: int, rng) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return q


def test_cka_matches_the_reference_formula_and_its_invariances():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(40, 16))
    states = np.stack([
        base,
        3.0 * base @ _orthogonal(16, rng) + 5.0,          # rotated, scaled, shifted: the same representation
        base @ rng.normal(size=(16, 16)),                # a general linear map: related, not equal
        rng.normal(size=(40, 16)),                       # unrelated
    ]).astype(np.float32)
    sim = _run_of(states).layer_similarity(positions=slice(None))
    m = sim.matrix
    assert m.shape == (4, 4) and np.allclose(m, m.T) and np.allclose(np.diag(m), 1)
    for i in range(4):
        for j in range(4):
            assert m[i, j] == pytest.approx(_reference_cka(states[i].astype(float), states[j].astype(float)), abs=1e-9)
    assert m[0, 1] == pytest.approx(1.0, abs=1e-9)
    assert m[0, 3] < 0.6 < m[0, 2] < 1 - 1e-3
    assert linear_cka(states[0], states[2]) == pytest.approx(m[0, 2], abs=1e-9)
    assert sim.layers == ["embeddings", "layer 0", "layer 1", "layer 2"]


def test_cka_in_blocks_equals_cka_at_once(monkeypatch):
    rng = np.random.default_rng(1)
    states = rng.normal(size=(5, 30, 8)) * rng.uniform(0.1, 10, size=(5, 1, 8))
    whole = sim_module._cka_matrix(states)
    monkeypatch.setattr(sim_module, "CHUNK_ELEMENTS", 5 * 30 * 4)  # four Gram rows at a time
    np.testing.assert_allclose(sim_module._cka_matrix(states), whole, atol=1e-12)


def test_svcca_finds_shared_subspaces():
    rng = np.random.default_rng(2)
    signal = rng.normal(size=(300, 4))
    x = signal @ rng.normal(size=(4, 20)) + 0.01 * rng.normal(size=(300, 20))
    y = signal @ rng.normal(size=(4, 12)) + 0.01 * rng.normal(size=(300, 12))
    unrelated = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 12))
    assert svcca(x, y) > 0.99             # the same 4-dimensional signal, seen through different maps
    assert svcca(x, unrelated) < 0.2
    sim = _run_of(np.stack([x, np.hstack([y, y[:, :8]]), np.hstack([unrelated, unrelated[:, :8]])])
                  ).layer_similarity(method="svcca", positions=slice(None))
    assert sim.dims.tolist() == [4, 4, 4]   # 99% of the variance lies in the 4 signal directions
    assert sim.matrix[0, 1] > 0.99 and sim.matrix[0, 2] < 0.2
    assert np.allclose(sim.matrix, sim.matrix.T) and np.allclose(np.diag(sim.matrix), 1)


def test_svcca_keeps_fewer_directions_than_half_the_positions():
    rng = np.random.default_rng(3)
    states = rng.normal(size=(3, 11, 50))     # 11 positions, 50 features: CCA would match anything
    sim = _run_of(states).layer_similarity(method="svcca", positions=slice(None))
    assert sim.dims.max() <= 5
    assert sim.matrix[0, 1] < 0.95


def test_default_leaves_out_the_first_position():
    rng = np.random.default_rng(4)
    states = rng.normal(size=(3, 20, 8))
    states[:, 0] *= 1000.0                    # an "attention sink": one huge state at position 0
    run = _run_of(states)
    default = run.layer_similarity()
    assert default.positions.tolist() == list(range(1, 20)) and default.tokens[0] == "t1"
    with_sink = run.layer_similarity(positions=slice(None))
    assert with_sink.matrix[0, 1] > 0.99 > default.matrix[0, 1]


def test_every_family(any_family):
    run = sample_run(any_family)
    sim = run.layer_similarity()
    n = any_family.n_layers + 1
    assert sim.matrix.shape == (n, n)
    assert np.isfinite(sim.matrix).all() and np.allclose(np.diag(sim.matrix), 1)
    assert ((sim.matrix >= -1e-9) & (sim.matrix <= 1 + 1e-9)).all()
    without = run.layer_similarity(method="svcca", embeddings=False)
    assert without.layers == [f"layer {i}" for i in range(any_family.n_layers)]


def test_works_on_a_run_loaded_from_disk(tiny_scopes, tmp_path):
    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=4)
    back = lmscope.load_run(run.save(tmp_path / "r.lms"))
    np.testing.assert_allclose(back.layer_similarity().matrix, run.layer_similarity().matrix)


def test_bad_input(tiny_scopes):
    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=2)
    with pytest.raises(ValueError, match=r"method must be one of 'cka' \(linear CKA\), 'svcca' .*; got 'pca'"):
        run.layer_similarity(method="pca")
    with pytest.raises(ValueError, match=rf"positions: position 99 is outside the sequence: it has {run.n_tokens} "
                                         r"tokens, so positions run from 0 to"):
        run.layer_similarity(positions=[0, 1, 99])
    with pytest.raises(ValueError, match=r"positions must be an int or a non-empty list of ints"):
        run.layer_similarity(positions=[0.5, 1, 2])
    with pytest.raises(ValueError, match="at least 3 positions"):
        run.layer_similarity(positions=[1, 2])
    with pytest.raises(ValueError, match=r"variance must be a number > 0 and <= 1; got 1.5"):
        run.layer_similarity(method="svcca", variance=1.5)
    with pytest.raises(ValueError, match=r"variance must be a number > 0 and <= 1; got 0"):
        svcca(np.ones((5, 2)), np.ones((5, 2)), variance=0)
    bare = tiny_scopes("gpt2").generate("1, 2,", max_new_tokens=2, capture=("activations",))
    with pytest.raises(ValueError, match=r"without hidden_states; pass capture=\(\.\.\., 'hidden_states'\)"):
        bare.layer_similarity()
    with pytest.raises(ValueError, match="same samples"):
        linear_cka(np.ones((5, 2)), np.ones((6, 2)))


def test_export_and_plot(tiny_scopes):
    import matplotlib.pyplot as plt

    run = tiny_scopes("llama").generate("1, 2, 3,", max_new_tokens=4)
    sim = run.layer_similarity()
    data = sim.to_dict()
    assert json.loads(json.dumps(data)) == data and data["method"] == "cka"
    assert data["matrix"] == sim.matrix.tolist() and data["layers"] == sim.layers
    frame = sim.to_frame()
    assert list(frame.index) == sim.layers and frame.iloc[0, 1] == sim.matrix[0, 1]
    fig = sim.plot()
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), sim.matrix)
    assert len(ax.texts) == sim.matrix.size and ax.texts[1].get_text() == f"{sim.matrix[0, 1]:.2f}"
    assert "Linear CKA" in ax.get_title()
    assert len(sim.plot(numbers=False).axes[0].texts) == 0
    assert plt.get_fignums() == []                       # pyplot's global state untouched
    assert sim.info == {"method": "cka", "embeddings": True, "positions": None, "variance": 0.99}
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert sim.plot(ax=ax) is fig and ax.get_images()[0].get_array().shape == sim.matrix.shape


def test_negative_positions_count_from_the_end(tiny_scopes):
    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=4)
    n = run.n_tokens
    back = run.layer_similarity(positions=[-1, -3, -2, -1])
    assert back.positions.tolist() == [n - 3, n - 2, n - 1]
    np.testing.assert_allclose(back.matrix, run.layer_similarity(positions=[n - 3, n - 2, n - 1]).matrix)
