"""Saliency on the embedded SmolLM2: the numbers Ecco and Inseq give, reproducibly."""

import numpy as np
import pytest

pytestmark = pytest.mark.real_model

# First generated token after "1, 2, 3," (a space), over the 8 prompt tokens. Ecco (>= 0.1)
# and Inseq attribute the token's softmax probability by default, which after L2 and
# normalisation gives the same rows as its log-probability, lmscope's default.
PEER_ROW = [0.2129, 0.1628, 0.0578, 0.0784, 0.1132, 0.0801, 0.1471, 0.1477]
# The seed article's formula (the logit, before the softmax): score="logit".
LOGIT_ROW = [0.1267, 0.1728, 0.0817, 0.0862, 0.2173, 0.1022, 0.1045, 0.1085]


@pytest.fixture(scope="module")
def counting(smol):
    run = smol.generate("1, 2, 3,", max_new_tokens=4, capture=())
    assert run.tokens[8] == " "
    return run


def test_default_matches_ecco_and_inseq_and_is_reproducible(counting):
    first, second = counting.saliency(), counting.saliency()
    assert first.method == "grad_x_input" and first.score == "logprob"
    np.testing.assert_allclose(first.row(8), PEER_ROW, atol=5e-5)
    np.testing.assert_array_equal(first.matrix, second.matrix)
    assert first.targets.tolist() == [8, 9, 10, 11]
    np.testing.assert_allclose(first.matrix.sum(1), 1.0, atol=1e-6)
    prob = counting.saliency("grad_x_input", score="prob")      # what Ecco and Inseq differentiate
    np.testing.assert_allclose(prob.row(8), PEER_ROW, atol=5e-5)
    np.testing.assert_allclose(prob.matrix, first.matrix, atol=1e-5)


def test_logit_score_gives_the_seed_formula(counting):
    sal = counting.saliency("grad_x_input", score="logit")
    np.testing.assert_allclose(sal.row(8), LOGIT_ROW, atol=5e-5)
    np.testing.assert_allclose(sal.matrix.sum(1), 1.0, atol=1e-6)
