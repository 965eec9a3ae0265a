"""The combined view: saliency and factors of one run over the text once (Python side and in Chromium)."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import views_data as vd
from matplotlib import colormaps

from lmscope.views import Combined, combined, fragment, save_html, validate_view

matplotlib.use("Agg")

VIRIDIS = [tuple(int(round(c * 255)) for c in rgb) for rgb in colormaps["viridis"].colors]
# Tableau 10 as the bundle's categorical palette (js/src/colors.ts).
TABLEAU = ["#4e79a7", "#f28e2b", "#e15759"]
FAINT, HIDDEN = 0.3, 0.08


@pytest.fixture(scope="module")
def run(tiny_scopes):
    return tiny_scopes("llama").generate("1, 2, 3,", max_new_tokens=4)


def test_combined_merges_saliency_and_factors_of_one_run(run):
    sal, fac = run.saliency(), run.factors(n=2)
    view = combined(saliency=sal, factors=fac)
    assert isinstance(view, Combined)
    data = validate_view(view.view_data(), digits=None)
    assert data["kind"] == "combined"
    assert data["tokens"] == validate_view(sal.view_data(), digits=None)["tokens"]
    assert data["targets"] == sal.targets.tolist() and data["method"] == "grad_x_input"
    np.testing.assert_allclose(data["attributions"], sal.view_data()["attributions"])
    np.testing.assert_allclose(data["factors"], np.nan_to_num(fac.token_activity))
    assert data["dominant"] == fac.dominant.tolist() and data["excluded"] == fac.excluded
    assert data["labels"] == fac.factor_labels()
    assert data["title"] == "Saliency (grad_x_input) and 2 factors"
    html = view._repr_html_()
    assert html.count('data-kind="combined"') == 1
    # View dicts work as well as result objects; title and caption can be set.
    again = combined(sal.view_data(), fac.view_data(), title="Why 4?", caption="c")
    assert again.view_data()["title"] == "Why 4?" and again.view_data()["caption"] == "c"


def test_combined_refuses_results_of_different_runs(run, tiny_scopes):
    other = tiny_scopes("llama").generate("1, 2, 4,", max_new_tokens=4)
    with pytest.raises(ValueError, match=r"different tokens: at position \d+ saliency has .* compute both from the same run"):
        combined(saliency=run.saliency(), factors=other.factors(n=2))
    short = tiny_scopes("llama").generate("1, 2, 3,", max_new_tokens=2)
    with pytest.raises(ValueError, match=r"saliency covers \d+ tokens and factors \d+"):
        combined(saliency=short.saliency(), factors=run.factors(n=2))


def test_combined_names_the_parameter_that_is_wrong(run):
    sal, fac = run.saliency(), run.factors(n=2)
    with pytest.raises(ValueError, match=r"saliency must be saliency \(run.saliency\(...\)\), got a 'factors' view"):
        combined(saliency=fac, factors=sal)
    with pytest.raises(TypeError, match="factors must be a factors result"):
        combined(saliency=sal, factors=np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"title must be a string of valid Unicode, or None; got 3"):
        combined(sal, fac, title=3)


def test_combined_plot_draws_saliency_above_one_row_per_factor(run):
    view = combined(run.saliency(), run.factors(n=3))
    target = run.n_input + 1
    fig = view.plot(target=target)
    axes = fig.get_axes()
    assert len(axes) == 1 + 3
    heights = [p.get_height() for p in axes[0].patches]
    row = view.view_data()["attributions"][1]
    np.testing.assert_allclose(heights[:target], row[:target], rtol=1e-6)
    assert heights[target:] == [0.0] * (len(heights) - target)
    with pytest.raises(ValueError, match="target must be one of the explained positions"):
        view.plot(target=0)


# ---------------------------------------------------------------------- in the browser
STATE = """root => Array.from(root.querySelectorAll('.lms-token')).map(e => ({
  value: e.getAttribute('data-value'), factor: e.getAttribute('data-factor'),
  activity: e.getAttribute('data-activity'), bg: e.querySelector('.lms-tok-text').style.backgroundColor,
  text: e.querySelector('.lms-tok-text').textContent, selected: e.classList.contains('lms-selected'),
  bars: Array.from(e.querySelectorAll('.lms-mini-bar')).map(b => [b.style.height, b.style.backgroundColor])}))"""


def viridis_css(t: float) -> str:
    r, g, b = VIRIDIS[math.floor(min(max(t, 0.0), 1.0) * 255 + 0.5)]
    return f"rgb({r}, {g}, {b})"


def bar_css(f: int, alpha: float) -> str:
    r, g, b = (int(TABLEAU[f][i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})" if alpha == 1 else f"rgba({r}, {g}, {b}, {alpha})"


def assert_tints(state: list[dict], row: list[float], target: int) -> None:
    peak = max(row[:target])
    for i, tok in enumerate(state):
        assert float(tok["value"]) == pytest.approx(row[i]), f"data-value of token {i}"
        assert tok["bg"] == (viridis_css(row[i] / peak) if i < target else ""), f"tint of token {i}"
        assert tok["selected"] == (i == target)


def assert_bars(state: list[dict], data: dict, shown: int) -> None:
    """Bars: one per factor, height per factor's max |activity|; dominant (or isolated) opaque."""
    f = np.asarray(data["factors"])
    excluded = set(data["excluded"])
    peak = np.abs(np.delete(f, sorted(excluded), axis=1)).max(axis=1)
    for i, tok in enumerate(state):
        if i in excluded:
            assert tok["bars"] == [] and tok["factor"] == "-1"
            continue
        strong = shown if shown >= 0 else data["dominant"][i]
        assert tok["factor"] == str(strong) and float(tok["activity"]) == pytest.approx(f[strong, i])
        for k, (height, colour) in enumerate(tok["bars"]):
            assert float(height.rstrip("%")) == pytest.approx(100 * abs(f[k, i]) / peak[k], abs=0.06)
            alpha = 1 if k == strong else (HIDDEN if shown >= 0 else FAINT)
            assert colour == bar_css(k, alpha), f"bar {k} of token {i}"


@pytest.mark.browser
def test_combined_hover_tints_by_saliency_and_legend_isolates_factors(browse, tmp_path):
    data = validate_view(vd.combined(3))
    browse.open(save_html(data, tmp_path / "combined.html", title="combined"))
    page = browse.page
    root = page.locator(".lms-kind-combined")
    targets, rows = data["targets"], data["attributions"]

    state = root.evaluate(STATE)
    assert [t["text"] for t in state][:3] == ["1", ",", " 2"]
    assert_tints(state, rows[0], targets[0])  # the first output token is selected at start
    assert_bars(state, data, -1)
    assert len({t["factor"] for t in state} - {"-1"}) >= 2
    browse.screenshot("combined-first-output", ".lmscope-section")

    last = targets[-1]
    page.hover(f".lms-kind-combined .lms-token[data-position='{last}']")
    assert root.get_attribute("data-selected") == str(last)
    state = root.evaluate(STATE)
    assert_tints(state, rows[-1], last)
    assert_bars(state, data, -1)  # a token hover leaves the factor bars alone

    page.hover(".lms-kind-combined .lms-spark[data-factor='1']")
    sparks = page.eval_on_selector_all(".lms-kind-combined .lms-spark", "els => els.map(e => e.className)")
    assert ["isolated" in c for c in sparks] == [False, True, False]
    assert ["lms-faded" in c for c in sparks] == [True, False, True]
    state = root.evaluate(STATE)
    assert_bars(state, data, 1)
    assert_tints(state, rows[-1], last)  # isolating a factor keeps the saliency tints
    browse.screenshot("combined-isolated", ".lmscope-section")

    page.mouse.move(1, 1)
    assert_bars(root.evaluate(STATE), data, -1)
    page.click(".lms-kind-combined .lms-spark[data-factor='2']")  # a tap pins it
    page.mouse.move(1, 1)
    assert_bars(root.evaluate(STATE), data, 2)
    page.click(".lms-kind-combined .lms-spark[data-factor='2']")
    page.mouse.move(1, 1)
    assert_bars(root.evaluate(STATE), data, -1)


@pytest.mark.browser
def test_combined_escapes_hostile_tokens_and_labels(browse, tmp_path):
    data = vd.combined()
    data["tokens"][2]["token"] = vd.HOSTILE
    data["labels"][0] = vd.HOSTILE
    data["title"] = vd.HOSTILE
    browse.open(save_html(data, tmp_path / "hostile.html", title=vd.HOSTILE))
    page = browse.page
    assert page.text_content(".lms-kind-combined .lms-token[data-position='2'] .lms-tok-text") == vd.HOSTILE
    assert page.text_content(".lms-kind-combined .lms-spark-label") == vd.HOSTILE
    assert page.locator("img").count() == 0
    assert "\\u003cimg" in fragment(data)


@pytest.mark.browser
def test_combined_view_of_a_real_run_renders(browse, run, tmp_path):
    view = combined(run.saliency(), run.factors(n=2))
    browse.open(view.to_html(tmp_path / "run.html"))
    page = browse.page
    assert page.get_attribute(".lms-kind-combined", "data-selected") == str(run.n_input)
    assert page.locator(".lms-kind-combined .lms-spark").count() == 2
    tinted = page.eval_on_selector_all(".lms-kind-combined .lms-tok-text", "els => els.map(e => e.style.backgroundColor)")
    assert all(c.startswith("rgb(") for c in tinted[: run.n_input]) and tinted[run.n_input] == ""


def test_combined_shares_the_result_base(run):
    import json

    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from lmscope.core.results import Result

    sal, fac = run.saliency(), run.factors(n=2)
    view = combined(sal, fac, title="Why?")
    assert isinstance(view, Result)
    assert view.info == {"saliency": "grad_x_input", "factors": 2, "title": "Why?", "caption": None}
    data = view.to_dict()
    assert json.loads(json.dumps(data)) == data and data["kind"] == "combined"
    frame = view.to_frame()
    assert len(frame) == run.n_tokens and frame["token"].tolist() == run.tokens
    assert frame["dominant"].tolist() == fac.dominant.tolist()
    target = int(sal.targets[0])
    np.testing.assert_allclose(frame[f"saliency @{target}"], sal.view_data()["attributions"][0], rtol=1e-6)
    np.testing.assert_allclose(frame[fac.factor_labels()[1]], np.nan_to_num(fac.token_activity[1]), rtol=1e-6)
    before = plt.get_fignums()
    assert isinstance(view.plot(), Figure) and plt.get_fignums() == before
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert view.plot(ax=right) is fig
    assert len(fig.axes) == 1 + 1 + 2          # the untouched left axes, then the saliency row and two factor rows
    assert fig.axes[0] is left and right not in fig.axes
