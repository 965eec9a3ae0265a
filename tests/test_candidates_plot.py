"""Run.plot(): the candidates grid, its cells matching run.candidates."""

import numpy as np
import pytest

from lmscope.testing import sample_run


def test_grid_cells_are_the_candidates_and_the_chosen_one_is_outlined(tiny_scopes):
    run = tiny_scopes("llama").generate("1, 2, 3,", max_new_tokens=4, do_sample=True, seed=3, capture=())
    fig = run.plot(k=3)
    ax = fig.axes[0]
    grid = ax.images[0].get_array()
    expected = np.array([[c["prob"] for c in s["top"][:3]] for s in run.candidates]).T
    np.testing.assert_allclose(grid, expected, rtol=1e-6)
    assert len(ax.texts) == 3 * run.n_output
    chosen = sum(any(c["token_id"] == s["token_id"] for c in s["top"][:3]) for s in run.candidates)
    assert len(ax.patches) == chosen


def test_masked_lm_plots_its_mask_predictions(tiny_scopes):
    run = sample_run(tiny_scopes("bert"))
    assert run.plot(k=2).axes[0].images[0].get_array().shape == (2, len(run.candidates))


def test_analysed_text_has_no_candidates_to_plot(tiny_scopes):
    run = tiny_scopes("gpt2").analyze("hello there", capture=())
    with pytest.raises(ValueError, match="no candidates"):
        run.plot()
    with pytest.raises(ValueError, match="k must be"):
        tiny_scopes("gpt2").generate("hi", max_new_tokens=1, capture=()).plot(k=0)
