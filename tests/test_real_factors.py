"""The seed's counting findings, reproduced on the embedded SmolLM2 ("1, 2, 3," + 30 greedy tokens, 30 layers)."""

import numpy as np
import pytest

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def counting(smol):
    return smol.generate("1, 2, 3,", max_new_tokens=30, capture=("activations",))


def _kinds(run):
    """Generated comma tokens and digit tokens (this tokenizer writes " 4" as " " then "4")."""
    out = range(run.n_input, run.n_tokens)
    commas = [p for p in out if run.tokens[p] == ","]
    digits = [p for p in out if run.tokens[p].isdigit()]
    return commas, digits


def _winner(dominant, positions):
    values, counts = np.unique(dominant[positions], return_counts=True)
    best = int(np.argmax(counts))
    return int(values[best]), counts[best] / len(positions)


def test_two_factors_split_commas_from_digits(counting):
    run = counting
    assert run.output_text.startswith(" 4, 5, 6, 7,") and run.activations.shape[:2] == (30, 1536)
    commas, digits = _kinds(run)
    assert len(commas) >= 9 and len(digits) >= 12
    f = run.factors(n=2, mode="response")              # first position left out by default
    assert f.excluded == [0] and f.layers == list(range(30))
    comma, comma_share = _winner(f.dominant, commas)
    digit, digit_share = _winner(f.dominant, digits)
    assert comma != digit
    assert comma_share >= 0.9 and digit_share >= 0.9
    stats = f.stats()
    assert (stats["neurons"] > 1000).all() and (stats["share"] < 0.9).all()
    assert 0 < stats.loc[0, "common_1"] < stats["neurons"].min()
    assert "46,080 FFN neurons in 30 layers" in f.describe()

    # Seed semantics: an output token reads the position that produced it. A one-digit number's
    # digit was produced by the space before it (comma side), while the second digit of "10", "11"
    # and the comma after it were produced by a digit, so they take the digit factor.
    seed = run.factors(n=2, mode="seed")
    digit_seed, _ = _winner(seed.dominant, [p for p in range(run.n_input, run.n_tokens)
                                            if run.tokens[p].isdigit() and run.tokens[p - 1].isdigit()])
    single = [p for p in digits if not run.tokens[p - 1].isdigit()
              and not (p + 1 < run.n_tokens and run.tokens[p + 1].isdigit())]
    _, share_single = _winner(seed.dominant, single)
    assert share_single >= 0.9 and _winner(seed.dominant, single)[0] != digit_seed


def test_keeping_the_first_token_gives_a_first_token_factor(counting):
    run = counting
    f = run.factors(n=2, mode="response", exclude=None)
    sink = f.first_token_factor
    assert sink is not None and f.dominant[0] == sink
    assert (f.dominant[1:] != sink).mean() >= 0.9          # the other factor is "everything else"
    assert f.factor_labels()[sink] == "first token"
    assert f.token_activity[sink, 0] > 10 * np.nanmax(f.token_activity[sink, 1:])
