"""A Run shows itself as the candidates explorable: data contract, dataclass intact, and in Chromium."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

import lmscope
from lmscope.run import Run
from lmscope.views import HTMLView, validate_view


def sample_run(scope):
    """As tests/conftest.py's sample_run (not importable here: tests/views has its own conftest)."""
    if scope.is_masked:
        return scope.analyze("The quick [MASK] fox jumps")
    return scope.generate("1, 2, 3,", max_new_tokens=5)


def test_run_is_an_html_view_and_still_a_plain_dataclass(tiny_scopes, tmp_path):
    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=4)
    assert isinstance(run, HTMLView)
    names = [f.name for f in dataclasses.fields(Run)]
    assert names[:3] == ["token_ids", "tokens", "n_input"] and names[-1] == "scope"
    assert not any(n.startswith("_") for n in names)  # the mixin added no fields
    assert repr(run).startswith("Run(model=") and "<" not in repr(run)
    back = lmscope.load_run(run.save(tmp_path / "r.lms"))
    assert back.candidates == run.candidates
    assert back.view_data() == run.view_data()  # the view needs only saved data, no model


def test_generated_run_view_has_one_step_per_generated_token(causal_family):
    run = sample_run(causal_family)
    data = validate_view(run.view_data())
    assert data["kind"] == "candidates"
    assert data["tokens"] == json.loads(json.dumps(run.token_table()))
    steps = data["steps"]
    assert [s["position"] for s in steps] == list(range(run.n_input, run.n_tokens))
    for step, cand in zip(steps, run.candidates):
        assert step["chosen"]["token_id"] == int(run.token_ids[step["position"]])
        assert step["chosen"]["prob"] == pytest.approx(cand["prob"], rel=1e-5)
        assert [c["token_id"] for c in step["top"]] == [c["token_id"] for c in cand["top"]]
        probs = [c["prob"] for c in step["top"]]
        assert probs == sorted(probs, reverse=True) and len(probs) == 10
    assert "generated token" in data["caption"]


def test_masked_run_view_steps_are_the_mask_positions(masked_family):
    run = sample_run(masked_family)
    data = validate_view(run.view_data())
    assert [s["position"] for s in data["steps"]] == run.candidate_positions.tolist()
    assert all(s["position"] < run.n_input for s in data["steps"])
    assert "mask token" in data["caption"]


def test_analysed_causal_run_shows_its_text_with_no_steps(tiny_scopes):
    run = tiny_scopes("llama").analyze("1, 2, 3,")
    data = validate_view(run.view_data())
    assert data["steps"] == [] and len(data["tokens"]) == run.n_tokens
    assert "analysed, not generated" in data["caption"]
    html = run._repr_html_()
    assert html.count('data-kind="candidates"') == 1


def test_run_to_html_writes_an_offline_page(tiny_scopes, tmp_path):
    run = tiny_scopes("gpt2").generate("<img src=x onerror=alert(1)>", max_new_tokens=3)
    path = run.to_html(tmp_path / "run.html")
    page = path.read_text()
    assert "<title>" in page and "candidates" in page
    assert "<img" not in page.replace("\\u003cimg", "")  # the prompt only travels escaped inside JSON
    assert not re.search(r"(src|href)=[\"']?https?:", page)


@pytest.mark.browser
def test_run_view_in_chromium_shows_alternatives_on_hover(browse, tiny_scopes, tmp_path):
    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=4)
    browse.open(run.to_html(tmp_path / "run.html"))
    page = browse.page
    first, last = run.n_input, run.n_tokens - 1
    assert page.get_attribute(".lms-kind-candidates", "data-selected") == str(first)
    page.hover(f".lms-kind-candidates .lms-token[data-position='{last}']")
    assert page.get_attribute(".lms-kind-candidates", "data-selected") == str(last)
    panel = page.locator(".lms-kind-candidates .lms-panel")
    shown = panel.locator(".lms-bar-row").evaluate_all("rs => rs.map(r => Number(r.dataset.prob))")
    expected = [c["prob"] for c in run.candidates[-1]["top"]]
    if run.candidates[-1]["token_id"] not in [c["token_id"] for c in run.candidates[-1]["top"]]:
        expected.append(run.candidates[-1]["prob"])  # chosen outside the top-k: shown after them
    assert shown == pytest.approx(expected, rel=1e-5)
    assert f"Position {last}" in panel.text_content()
    browse.screenshot("run-candidates", ".lmscope-section")


def test_run_plot_draws_on_a_given_axes_and_leaves_pyplot_alone(tiny_scopes):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from lmscope.core.checks import Integer, message

    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=3, capture=())
    before = plt.get_fignums()
    assert isinstance(run.plot(k=2), Figure) and plt.get_fignums() == before
    fig = Figure()
    ax = fig.add_subplot(2, 1, 2)
    assert run.plot(k=2, ax=ax) is fig and ax.images[0].get_array().shape == (2, run.n_output)
    with pytest.raises(ValueError) as info:
        run.plot(max_steps=0)
    assert str(info.value) == message("max_steps", Integer(1), 0)
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes or None"):
        run.plot(ax="left")
