"""The explorables in headless Chromium: exported HTML opened from file://, hovered, checked
against the data, and screenshotted into test-artifacts/."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import views_data as vd
from matplotlib import colormaps

from lmscope.views import fragment, save_html, validate_view

pytestmark = pytest.mark.browser

VIRIDIS = [tuple(int(round(c * 255)) for c in rgb) for rgb in colormaps["viridis"].colors]

TOKEN_STATE = """root => Array.from(root.querySelectorAll('.lms-token')).map(e => ({
  value: e.getAttribute('data-value'), factor: e.getAttribute('data-factor'),
  bg: e.style.backgroundColor, selected: e.classList.contains('lms-selected'),
  text: e.querySelector('.lms-tok-text') ? e.querySelector('.lms-tok-text').textContent : e.textContent,
  below: e.querySelector('.lms-tok-val') ? e.querySelector('.lms-tok-val').textContent : null}))"""


def viridis_css(t: float) -> str:
    """What the view must paint for t in [0, 1] (JS: nearest of 256 entries, Math.round)."""
    r, g, b = VIRIDIS[math.floor(min(max(t, 0.0), 1.0) * 255 + 0.5)]
    return f"rgb({r}, {g}, {b})"


def tokens(page, kind: str, nth: int = 0) -> list[dict]:
    return page.locator(f".lms-kind-{kind}").nth(nth).evaluate(TOKEN_STATE)


def assert_saliency_row(state: list[dict], row: list[float], target: int) -> None:
    """Every token before the target shows its attribution; the target and later ones are clear."""
    peak = max(row[:target])
    for i, tok in enumerate(state):
        assert float(tok["value"]) == pytest.approx(row[i]), f"data-value of token {i}"
        if i < target:
            assert tok["bg"] == viridis_css(row[i] / peak), f"colour of token {i}"
        else:
            assert tok["bg"] == "", f"token {i} at or after the target must not be tinted"
        assert tok["selected"] == (i == target)


def test_saliency_selects_the_first_output_and_follows_the_hover(browse, tmp_path):
    data = validate_view(vd.shakespeare())
    browse.open(save_html(data, tmp_path / "saliency.html", title="Shakespeare"))
    page = browse.page
    rows = data["attributions"]

    state = tokens(page, "saliency")
    assert [t["text"] for t in state] == vd.SHAKESPEARE_TOKENS
    assert_saliency_row(state, rows[0], target=7)
    assert state[1]["bg"] == viridis_css(1.0)  # " Shakespeare" carries the row maximum (33%)
    browse.screenshot("saliency-first-output", ".lmscope-section")

    page.hover(".lms-kind-saliency .lms-token[data-position='8']")
    assert_saliency_row(tokens(page, "saliency"), rows[1], target=8)
    assert "64" in page.text_content(".lms-kind-saliency .lms-status")
    browse.screenshot("saliency-second-output", ".lmscope-section")

    # Input tokens are not targets: hovering one keeps the selection.
    page.hover(".lms-kind-saliency .lms-token[data-position='2']")
    assert_saliency_row(tokens(page, "saliency"), rows[1], target=8)


def test_saliency_keyboard_moves_between_output_tokens(browse, tmp_path):
    data = validate_view(vd.shakespeare())
    browse.open(save_html(data, tmp_path / "saliency.html", title="keys"))
    page = browse.page
    page.focus(".lms-kind-saliency .lms-token[data-position='7']")
    page.keyboard.press("ArrowRight")
    assert_saliency_row(tokens(page, "saliency"), data["attributions"][1], target=8)
    page.keyboard.press("Home")
    assert_saliency_row(tokens(page, "saliency"), data["attributions"][0], target=7)


def test_saliency_detailed_prints_percentages_under_tokens(browse, tmp_path):
    browse.open(save_html(vd.shakespeare("detailed"), tmp_path / "detailed.html", title="detailed"))
    state = tokens(browse.page, "saliency")
    # The seed's caption: 20% first name, 33% last name, 14% " born", 22% " year".
    assert [t["below"] for t in state] == ["20%", "33%", "5.0%", "14%", "3.5%", "3.2%", "22%", "", ""]
    browse.screenshot("saliency-detailed", ".lmscope-section")


def test_whitespace_tokens_are_visible(browse, tmp_path):
    strings = ["Hello", " ", "\n", "\t", "", " world", "\n\n", "!"]
    data = {"kind": "saliency", "tokens": vd.token_table(strings, 5), "targets": [5, 7],
            "attributions": [[0.1, 0.2, 0.3, 0.2, 0.2, 0, 0, 0], [0.1] * 7 + [0.3]]}
    data["attributions"][1][7] = 0.0
    browse.open(save_html(data, tmp_path / "ws.html", title="whitespace"))
    page = browse.page
    state = tokens(page, "saliency")
    assert [t["text"] for t in state] == ["Hello", "\u2423", "\u21b5", "\u21e5", "\u2205", " world", "\u21b5\u21b5", "!"]
    classes = page.eval_on_selector_all(".lms-token", "els => els.map(e => e.classList.contains('lms-ws'))")
    assert classes == [False, True, True, True, False, False, True, False]
    # Newline tokens end the line: one <br> after "\n", two after "\n\n".
    breaks = page.eval_on_selector_all(
        ".lms-token", "els => els.map(e => { let n = 0, s = e.nextSibling;"
        " while (s && s.nodeName === 'BR') { n++; s = s.nextSibling; } return n; })")
    assert breaks == [0, 0, 1, 0, 0, 0, 2, 0]
    browse.screenshot("saliency-whitespace", ".lmscope-section")


def test_factors_sparkline_hover_isolates_a_factor(browse, tmp_path):
    data = validate_view(vd.counting_factors(3))
    browse.open(save_html(data, tmp_path / "factors.html", title="factors"))
    page = browse.page
    f, dominant, excluded = data["factors"], data["dominant"], set(data["excluded"])
    n = len(data["tokens"])

    def assert_dominant() -> None:
        state = tokens(page, "factors")
        for i, tok in enumerate(state):
            if i in excluded:
                assert (tok["factor"], tok["value"], tok["bg"]) == ("-1", "", "")
            else:
                assert tok["factor"] == str(dominant[i])
                assert float(tok["value"]) == pytest.approx(f[dominant[i]][i])
                assert tok["bg"].startswith("rgb")
        assert page.locator(".lms-spark.isolated").count() == 0
        assert page.locator(".lms-spark.lms-faded").count() == 0

    assert_dominant()
    assert len({t["factor"] for t in tokens(page, "factors")} - {"-1"}) >= 2  # the text shows several factors
    browse.screenshot("factors-dominant", ".lmscope-section")

    page.hover(".lms-spark[data-factor='1']")
    sparks = page.eval_on_selector_all(".lms-spark", "els => els.map(e => e.className)")
    assert ["isolated" in c for c in sparks] == [False, True, False]
    assert ["lms-faded" in c for c in sparks] == [True, False, True]
    state = tokens(page, "factors")
    peak = max(f[1][i] for i in range(n) if i not in excluded)
    for i, tok in enumerate(state):
        if i in excluded:
            assert tok["factor"] == "-1"
            continue
        assert tok["factor"] == "1"
        assert float(tok["value"]) == pytest.approx(f[1][i])
        if f[1][i] == peak:
            assert tok["bg"] == "rgb(242, 142, 43)"  # the factor's own colour at full strength
    browse.screenshot("factors-isolated", ".lmscope-section")

    page.mouse.move(1, 1)  # leaving the sparklines restores the dominant view
    assert_dominant()

    page.click(".lms-spark[data-factor='2']")  # a tap pins the factor
    page.mouse.move(1, 1)
    assert page.get_attribute(".lms-spark[data-factor='2']", "class").split().count("isolated") == 1
    assert {t["factor"] for t in tokens(page, "factors")} == {"2", "-1"}
    page.click(".lms-spark[data-factor='2']")  # a second tap releases it
    page.mouse.move(1, 1)
    assert_dominant()


def test_input_and_output_tokens_look_different(browse, tmp_path):
    browse.open(save_html(vd.counting_factors(), tmp_path / "io.html", title="io"))
    page = browse.page
    border = "e => getComputedStyle(e).borderBottomColor"
    inp = page.eval_on_selector(".lms-token.lms-input", border)
    out = page.eval_on_selector(".lms-token.lms-output", border)
    assert inp == "rgba(0, 0, 0, 0)" and out != inp


def test_lens_cells_show_ranks_and_hover_shows_top_predictions(browse, tmp_path):
    data = validate_view(vd.lens())
    browse.open(save_html(data, tmp_path / "lens.html", title="lens"))
    page = browse.page
    cells = page.eval_on_selector_all(
        "td.lms-cell", "els => els.map(e => [e.dataset.layer, e.dataset.target, e.dataset.rank, e.textContent,"
        " getComputedStyle(e).backgroundColor])")
    assert len(cells) == len(data["layers"]) * len(data["targets"])
    lum = {}
    for layer, target, rank, text, bg in cells:
        assert int(rank) == data["ranks"][int(layer)][int(target)]
        assert text == (rank if int(rank) < 10000 else f"{round(int(rank) / 1000)}k")
        r, g, b = (int(x) for x in bg[bg.index("(") + 1:-1].split(",")[:3])
        lum[int(rank)] = 0.2126 * r + 0.7152 * g + 0.0722 * b
    ranks = sorted(lum)
    assert [lum[r] for r in ranks] == sorted(lum.values())  # darker the better the rank (log scale)

    page.hover("td.lms-cell[data-layer='1'][data-target='2']")
    tip = page.locator(".lms-kind-lens .lms-tooltip")
    assert tip.is_visible()
    text = tip.text_content()
    assert "Layer 1" in text and "rank 3750" in text
    for pred in data["top"][1][2]:
        assert pred["token"] in text
    assert tip.locator(".lms-bar").count() == len(data["top"][1][2])
    browse.screenshot("lens-tooltip", ".lmscope-section")
    page.mouse.move(1, 1)
    assert not tip.is_visible()


BLUES = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]


def blues(t: float) -> tuple[int, int, int]:
    """The heatmap's colour at t in [0, 1] (JS: linear through the stops, Math.round)."""
    stops = [tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for h in BLUES]
    x = min(max(t, 0.0), 1.0) * (len(stops) - 1)
    i = min(math.floor(x), len(stops) - 2)
    f = x - i
    return tuple(math.floor(a + (b - a) * f + 0.5) for a, b in zip(stops[i], stops[i + 1]))


def test_activations_heatmap_colours_only_positive_values(browse, tmp_path):
    raw = vd.activations(rows=60)
    raw["values"][7, 2] = 40.0  # one outsized activation must not wash out the rest
    data = validate_view(raw)
    browse.open(save_html(data, tmp_path / "acts.html", title="acts"))
    page = browse.page
    canvas = page.locator(".lms-heat-canvas")
    assert canvas.get_attribute("data-rows") == "60" and canvas.get_attribute("data-cols") == "10"
    pixels = canvas.evaluate("c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)")
    values = [v for row in data["values"] for v in row]
    assert [a == 255 for a in pixels[3::4]] == [v > 0 for v in values]
    # The scale tops out at the 99th percentile of the positive values, as the matplotlib figure does.
    positive = np.array([v for v in values if v > 0])
    top = float(np.percentile(positive, 99))
    assert float(canvas.get_attribute("data-top")) == pytest.approx(top, rel=1e-9)
    assert top < 10 < 40.0
    for k, v in enumerate(values):
        if v > 0:
            assert tuple(pixels[4 * k: 4 * k + 3]) == blues(0.08 + 0.92 * min(v / top, 1.0)), f"cell {k} ({v})"
    median = float(np.median(positive))
    assert blues(0.08 + 0.92 * median / top) != blues(0.08 + 0.92 * median / 40.0)  # visibly darker than max-scaled
    n_clusters = len(set(data["clusters"]))
    assert page.locator(".lms-cluster-block").count() == n_clusters
    assert page.locator(".lms-cluster-line").count() == n_clusters - 1

    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    r, c = 5, 3
    page.mouse.move(box["x"] + (c + 0.5) * box["width"] / 10, box["y"] + (r + 0.5) * box["height"] / 60)
    tip = page.locator(".lms-kind-activations .lms-tooltip")
    assert tip.is_visible()
    assert data["row_labels"][r] in tip.text_content() and "(position 3, input)" in tip.text_content()
    browse.screenshot("activations-clusters", ".lmscope-section")


def test_candidates_show_alternatives_per_step(browse, tmp_path):
    data = validate_view(vd.candidates(k=5))
    browse.open(save_html(data, tmp_path / "cand.html", title="cand"))
    page = browse.page
    assert page.get_attribute(".lms-kind-candidates", "data-selected") == "6"
    panel = page.locator(".lms-kind-candidates .lms-panel")
    assert panel.locator(".lms-bar-row").count() == 5
    assert panel.locator(".lms-bar-row.lms-chosen").count() == 1
    assert "Position 6" in panel.text_content()

    page.hover(".lms-kind-candidates .lms-token[data-position='8']")
    assert "Position 8" in panel.text_content()
    probs = panel.locator(".lms-bar-row").evaluate_all("rs => rs.map(r => Number(r.dataset.prob))")
    assert probs == pytest.approx([c["prob"] for c in data["steps"][2]["top"]])

    page.hover(".lms-kind-candidates .lms-token[data-position='9']")  # sampled outside the top 5
    assert panel.locator(".lms-bar-row").count() == 6
    assert "outside the top 5" in panel.text_content()
    browse.screenshot("candidates", ".lmscope-section")


def hostile_items() -> list[dict]:
    h = vd.HOSTILE
    sal = vd.shakespeare()
    sal["tokens"][1]["token"] = h
    sal["title"], sal["caption"] = h, h
    fac = vd.counting_factors()
    fac["tokens"][3]["token"], fac["labels"][0] = h, h
    lens = vd.lens()
    lens["tokens"][6]["token"] = h
    lens["top"][0][0][0]["token"] = h
    lens["layers"][0] = h
    acts = vd.activations(rows=6)
    acts["row_labels"][0] = h
    acts["tokens"][0]["token"] = h
    cand = vd.candidates()
    cand["steps"][0]["top"][1]["token"] = h
    return [{"view": sal, "heading": h, "caption": h}, fac, lens, acts, cand]


def test_hostile_strings_render_as_text(browse, tmp_path):
    browse.open(save_html(hostile_items(), tmp_path / "hostile.html", title=vd.HOSTILE))
    page = browse.page
    assert page.title() == vd.HOSTILE
    assert page.text_content(".lms-kind-saliency .lms-token[data-position='1']") == vd.HOSTILE
    assert page.text_content(".lms-kind-saliency .lms-title") == vd.HOSTILE
    assert page.text_content(".lmscope-section h2") == vd.HOSTILE
    assert page.text_content(".lms-kind-factors .lms-spark-label") == vd.HOSTILE
    assert page.text_content(".lms-kind-lens .lms-rowlabel") == vd.HOSTILE
    page.hover("td.lms-cell[data-layer='0'][data-target='0']")  # tooltip with the hostile prediction
    assert vd.HOSTILE in page.text_content(".lms-kind-lens .lms-tooltip")
    page.hover(".lms-kind-candidates .lms-token[data-position='6']")
    assert vd.HOSTILE in page.text_content(".lms-kind-candidates .lms-panel")
    assert page.locator("img").count() == 0
    assert page.evaluate("document.scripts.length") == 2 + 5  # bundle, mount call, five JSON blocks
    browse.screenshot("hostile")
    # the browse fixture fails the test on any dialog (alert) or console error


JUPYTERLAB_INSERT = """([host, html]) => {
  // What JupyterLab does with a trusted text/html output: set innerHTML, then replace
  // every <script> with a fresh copy so that it runs.
  const out = document.getElementById(host);
  out.innerHTML = html;
  for (const old of Array.from(out.querySelectorAll('script'))) {
    const s = document.createElement('script');
    for (const a of Array.from(old.attributes)) s.setAttribute(a.name, a.value);
    s.textContent = old.textContent;
    old.parentNode.replaceChild(s, old);
  }
}"""

VSCODE_INSERT = """([host, html]) => {
  // What VS Code's HTML renderer does: a contextual fragment, whose scripts run on insertion.
  const out = document.getElementById(host);
  out.appendChild(document.createRange().createContextualFragment(html));
}"""


@pytest.mark.parametrize("insert", [JUPYTERLAB_INSERT, VSCODE_INSERT], ids=["jupyterlab", "vscode"])
def test_notebook_fragments_render_and_share_one_lmscope(browse, tmp_path, insert):
    page = browse.page
    blank = tmp_path / "notebook.html"
    blank.write_text('<!DOCTYPE html><meta charset="utf-8"><body>'
                     '<div id="out1"></div><div id="out2"></div><div id="out3"></div></body>')
    browse.open(blank)
    page.evaluate(insert, ["out1", fragment(vd.shakespeare())])
    assert page.evaluate("typeof window.lmscope.render") == "function"
    page.evaluate("window.lmscope.__first = true")
    page.evaluate(insert, ["out2", fragment(vd.counting_factors(), height=120)])
    page.evaluate(insert, ["out3", fragment(vd.shakespeare())])
    assert page.evaluate("window.lmscope.__first") is True  # the second bundle did not redefine it
    states = page.eval_on_selector_all(".lmscope-root", "rs => rs.map(r => r.dataset.lmscopeState)")
    assert states == ["mounted"] * 3
    assert page.locator("#out1 .lms-kind-saliency .lms-selected").count() == 1
    assert page.locator("#out2 .lms-kind-factors .lms-spark").count() == 3
    # Views do not interfere: hovering in the third moves only the third's selection.
    page.hover("#out3 .lms-token[data-position='8']")
    assert page.get_attribute("#out1 .lms-kind-saliency", "data-selected") == "7"
    assert page.get_attribute("#out3 .lms-kind-saliency", "data-selected") == "8"
    browse.screenshot(f"notebook-{'lab' if 'innerHTML' in insert else 'vscode'}")


def test_bad_data_shows_a_readable_error_box(browse, tmp_path):
    browse.open(save_html(vd.shakespeare(), tmp_path / "ok.html", title="ok"))
    page = browse.page
    text = page.evaluate("""() => {
      const d = document.createElement('div');
      document.body.appendChild(d);
      const ok = window.lmscope.render(d, {kind: 'saliency', tokens: [], targets: [], attributions: []});
      return [ok, d.querySelector('.lms-error').textContent];
    }""")
    assert text[0] is False
    assert "could not render this view (saliency)" in text[1] and "tokens is empty" in text[1]
    text = page.evaluate("""() => {
      const r = document.createElement('div');
      r.className = 'lmscope-root';
      r.innerText = '';
      const s = document.createElement('script'); s.type = 'application/json'; s.textContent = '{oops';
      const m = document.createElement('div'); m.className = 'lmscope-mount';
      r.append(s, m); document.body.appendChild(r);
      window.lmscope.mount(r);
      return m.textContent;
    }""")
    assert "not valid JSON" in text
    browse.screenshot("error-box")


def test_a_thousand_token_saliency_view_stays_cheap_to_hover(browse, tmp_path, record_timing):
    n_in, n_out = 500, 500
    data = validate_view(vd.random_saliency(n_in, n_out, seed=3))
    path = save_html(data, tmp_path / "big.html", title="1000 tokens")
    page = browse.page
    t0 = time.perf_counter()
    browse.open(path)
    load_s = time.perf_counter() - t0
    assert page.locator(".lms-kind-saliency .lms-token").count() == n_in + n_out
    # Tokens wrap inline: nothing sticks out sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Hover a sequence of targets: first timed, then again under a MutationObserver that
    # counts which token spans each hover touched (the observer's bookkeeping is not timed).
    rows = [499, 0, 250, 251, 499, 10]
    timed = page.evaluate("""rows => {
      const targets = document.querySelectorAll('.lms-kind-saliency .lms-target');
      return rows.map(r => {
        const t0 = performance.now();
        targets[r].dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
        document.body.offsetHeight;  // force style and layout so the timing includes them
        return performance.now() - t0;
      });
    }""", rows)
    page.evaluate("document.querySelectorAll('.lms-kind-saliency .lms-target')[0]"
                  ".dispatchEvent(new MouseEvent('mouseover', {bubbles: true}))")
    result = page.evaluate("""rows => {
      const root = document.querySelector('.lms-kind-saliency');
      const targets = root.querySelectorAll('.lms-target');
      const obs = new MutationObserver(() => {});
      obs.observe(root, {subtree: true, attributes: true, childList: true, characterData: true});
      const out = [];
      for (const r of rows) {
        targets[r].dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
        const touched = new Set();
        for (const rec of obs.takeRecords()) {
          const tok = rec.target.nodeType === 1 ? rec.target.closest('.lms-token') : null;
          if (tok) touched.add(tok);
        }
        out.push({row: r, touched: touched.size});
      }
      obs.disconnect();
      return out;
    }""", rows)
    prev_target = n_in  # row 0 is selected at start
    for step in result:
        target = n_in + step["row"]
        assert step["touched"] <= max(prev_target, target) + 1, step
        prev_target = target

    page.hover(f".lms-token[data-position='{n_in + 300}']")
    first = float(page.get_attribute(".lms-token[data-position='0']", "data-value"))
    assert first == pytest.approx(data["attributions"][300][0])
    browse.screenshot("saliency-1000-tokens")
    record_timing("saliency_1000_tokens", {
        "html_bytes": path.stat().st_size, "load_and_render_s": round(load_s, 3),
        "hover_ms_with_layout": [round(ms, 1) for ms in timed],
    })
