"""Logit lens and layer similarity on the embedded SmolLM2, for "1, 2, 3," -> " 4, 5, 6" (the seed's figure)."""

import numpy as np
import pytest

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def counting(smol):
    """ "1, 2, 3," and six greedy tokens: ' ', '4', ',', ' ', '5', ','."""
    run = smol.generate("1, 2, 3,", max_new_tokens=6)
    return run, run.lens()


def test_last_layer_ranks_every_produced_token_first(counting):
    run, lens = counting
    assert lens.answers == [" ", "4", ",", " ", "5", ","]
    assert lens.ranks.shape == (30, 6)
    assert (lens.ranks[-1] == 1).all()
    np.testing.assert_allclose(lens.probs[-1], run.chosen_probs, rtol=1e-4)


def test_commas_are_settled_layers_before_digits(counting):
    """The seed's finding holds for SmolLM2: commas reach rank 1 many layers before the digits.

    Measured: first layer at rank 1 is 2 and 8 for the two commas, 24 and 23 for "4" and "5".
    """
    _, lens = counting
    first = lens.first_top_layer()
    commas = [first[j] for j, a in enumerate(lens.answers) if a == ","]
    digits = [first[j] for j, a in enumerate(lens.answers) if a.isdigit()]
    assert len(commas) == 2 and len(digits) == 2 and min(commas + digits) >= 0
    assert max(commas) < min(digits)
    assert np.mean(digits) - np.mean(commas) >= 10
    # before layer 20 the digits are far from the top: the model is not yet sure of them
    ranks = dict(zip(lens.answers, lens.ranks[19]))
    assert ranks["4"] > 10 and ranks["5"] > 10


def test_without_the_final_norm_the_lens_misreads_the_last_layer(counting, smol):
    """Ecco's omission: SmolLM2's raw last hidden state ranks the produced tokens far from the top."""
    run, _ = counting
    raw = run.lens(raw=True)
    assert (raw.ranks[-1] > 1).all()
    assert np.median(raw.ranks[-1]) > 100


def test_watch_and_top(counting, smol):
    run, lens = counting
    with pytest.raises(ValueError, match=r"' 4' is not one token: the tokenizer splits it into 2 tokens \[' ', '4'\]"):
        lens.watch([" 4", " 5"], position=9)
    watch = lens.watch(["4", "5", ","], position=9)   # position 9 holds the produced "4"
    assert watch.ranks[-1].tolist()[0] == 1 and watch.ranks[-1, 1] > 1
    np.testing.assert_array_equal(watch.ranks[:, 0], lens.ranks[:, 1])
    top = lens.top(k=3, position=9)
    assert top.tokens[-1][0] == "4" and top.tokens[0][0] == " "   # layer 0 still expects the space


def test_layer_similarity(counting):
    run, _ = counting
    sim = run.layer_similarity(method="cka")
    assert sim.matrix.shape == (31, 31)
    near = np.mean([sim.matrix[i, i + 1] for i in range(1, 30)])
    far = np.mean([sim.matrix[i, j] for i in range(1, 31) for j in range(1, 31) if abs(i - j) >= 15])
    assert near > 0.9 > far
