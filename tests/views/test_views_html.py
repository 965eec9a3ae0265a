"""The HTML renderer without a browser: escaping, ids, page structure, the mixin, the bundle."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import views_data as vd

from lmscope.views import HTMLView, ViewDataError, document, fragment, save_html
from lmscope.views.html import bundle_css, bundle_js

REPO = Path(__file__).resolve().parents[2]


class Elements(HTMLParser):
    """Every start tag, with the raw text inside each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_data(self, data):
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None


def parse(html: str) -> Elements:
    p = Elements()
    p.feed(html)
    p.close()
    return p


def hostile_saliency() -> dict:
    d = vd.shakespeare()
    d["tokens"][1]["token"] = vd.HOSTILE
    d["tokens"][2]["token"] = "a\u2028b\u2029c & <!-- -->"
    d["title"] = vd.HOSTILE
    d["caption"] = "<b>bold?</b> & " + vd.HOSTILE
    return d


def test_fragment_keeps_hostile_tokens_inside_the_json_script():
    data = hostile_saliency()
    html = fragment(data)
    p = parse(html)
    tags = [t for t, _ in p.tags]
    assert "img" not in tags and "b" not in tags
    # Exactly: the JSON data, the bundle, the render call; the JSON round-trips to the data.
    kinds = [a.get("type") for a, _ in p.scripts]
    assert kinds == ["application/json", None, None]
    embedded = json.loads(p.scripts[0][1])
    assert embedded["tokens"][1]["token"] == vd.HOSTILE
    assert embedded["tokens"][2]["token"] == "a\u2028b\u2029c & <!-- -->"
    assert embedded["title"] == vd.HOSTILE
    json_text = p.scripts[0][1]
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in json_text
    assert "\\u003c/script\\u003e" in json_text
    # Only the three script elements the fragment opened are ever closed.
    assert html.lower().count("</script") == 3
    assert html.isascii()


def test_fragment_ids_are_unique_and_used_by_the_render_call():
    a, b = fragment(vd.shakespeare()), fragment(vd.shakespeare())
    ida = re.search(r'id="(lmscope-[0-9a-f]+)"', a).group(1)
    idb = re.search(r'id="(lmscope-[0-9a-f]+)"', b).group(1)
    assert ida != idb
    assert json.dumps(ida) in parse(a).scripts[-1][1]


def test_fragment_inlines_css_and_bundle_and_needs_no_loader():
    html = fragment(vd.counting_factors())
    assert bundle_css() in html and bundle_js() in html
    for forbidden in ("require(", "requirejs", 'type="module"', "<link", " src="):
        assert forbidden not in html


def test_fragment_height_caps_the_view():
    assert 'style="max-height:300px;overflow:auto"' in fragment(vd.shakespeare(), height=300)
    assert 'data-kind="saliency">' in fragment(vd.shakespeare())
    with pytest.raises(ValueError, match="height must be a positive number"):
        fragment(vd.shakespeare(), height=-5)


def test_fragment_rejects_bad_data_before_writing_html():
    bad = vd.shakespeare()
    bad["attributions"][0] = bad["attributions"][0][:3]
    with pytest.raises(ViewDataError, match=r"attributions\[0\] has 3 entries; expected 9"):
        fragment(bad)


def test_fragment_rounds_floats_but_can_keep_them_exact():
    exact = json.loads(parse(fragment(vd.shakespeare(), digits=None)).scripts[0][1])
    short = json.loads(parse(fragment(vd.shakespeare())).scripts[0][1])
    assert exact["attributions"][0][0] == vd.SHAKESPEARE_ROWS[0][0]
    assert short["attributions"][0][0] == 0.198483


def test_document_inlines_the_bundle_once_for_many_views():
    items = [vd.shakespeare(), {"view": vd.counting_factors(), "heading": "Factors", "caption": "two"}, vd.lens()]
    html = document(items, title="Gallery")
    assert html.count(bundle_js()) == 1
    assert html.count(bundle_css()) == 1
    p = parse(html)
    roots = [a for t, a in p.tags if t == "div" and a.get("class") == "lmscope-root"]
    assert [r["data-kind"] for r in roots] == ["saliency", "factors", "lens"]
    assert len({r["id"] for r in roots}) == 3
    assert html.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in html
    assert "<h2>Factors</h2>" in html


def test_document_escapes_title_heading_and_caption():
    html = document([{"view": vd.shakespeare(), "heading": vd.HOSTILE, "caption": "<i>x</i> \ud800"}],
                    title=vd.HOSTILE + " \u00e9")
    tags = [t for t, _ in parse(html).tags]
    assert "img" not in tags and "i" not in tags
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&#233;" in html  # non-ASCII as character references: the page is pure ASCII
    assert html.isascii()


def test_document_accepts_a_single_view_and_rejects_nothing():
    assert document(vd.shakespeare(), title="One").count('class="lmscope-root"') == 1
    with pytest.raises(ValueError, match="items is empty"):
        document([], title="None")
    with pytest.raises(TypeError, match="title must be a string"):
        document(vd.shakespeare(), title=None)  # type: ignore[arg-type]


def test_save_html_writes_a_standalone_page(tmp_path):
    out = save_html([vd.shakespeare(), vd.activations()], tmp_path / "deep" / "views.html", title="Saved")
    assert out == tmp_path / "deep" / "views.html"
    text = out.read_text(encoding="utf-8")
    assert text.count('class="lmscope-root"') == 2
    assert "<title>Saved</title>" in text


class Shakespeare(HTMLView):
    """A stand-in result class, as the explain step would write one."""

    def view_data(self) -> dict:
        return vd.shakespeare()


def test_html_view_mixin_renders_and_saves(tmp_path):
    r = Shakespeare()
    html = r._repr_html_()
    assert 'data-kind="saliency"' in html and bundle_js() in html
    path = r.to_html(tmp_path / "s.html")
    assert "<title>William Shakespeare was born in the year 1564</title>" in path.read_text()
    assert "<title>Mine</title>" in r.to_html(tmp_path / "t.html", title="Mine").read_text()
    # A result itself can be an item of a gallery page.
    assert 'data-kind="saliency"' in document([r, {"view": r, "heading": "again"}], title="g")


def test_html_view_without_view_data_says_what_to_implement():
    class Empty(HTMLView):
        pass

    with pytest.raises(NotImplementedError, match=r"Empty must implement view_data\(\)"):
        Empty()._repr_html_()


def test_bundle_is_offline_guarded_and_uses_no_html_parsing():
    js = bundle_js()
    assert "if (!window.lmscope) window.lmscope = api;" in js
    assert js.isascii() and bundle_css().isascii()
    assert re.findall(r"https?://[^\"' ]+", js) == ["http://www.w3.org/2000/svg"]
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                 "fetch(", "XMLHttpRequest", "import("):
        assert sink not in js, sink
    sources = "\n".join(p.read_text() for p in (REPO / "js" / "src").rglob("*.ts"))
    assert ".innerHTML" not in sources and ".insertAdjacentHTML" not in sources


# ---------------------------------------------------------------------- the public view protocol
def surprisal_view(run) -> dict:
    """An activations view a user might build: one row, the surprisal of every token."""
    bits = [float(i % 3) for i in range(run.n_tokens)]
    return {"kind": "activations", "tokens": run.token_table(), "values": [bits],
            "row_labels": ["surprisal (bits)"], "title": "How surprising each token was"}


def test_a_users_own_class_with_only_view_data_renders(tiny_scopes, tmp_path):
    from lmscope.views import ViewSource

    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=3)

    class Plain:                      # implements the protocol, inherits nothing from lmscope
        def view_data(self) -> dict:
            return surprisal_view(run)

    mine = Plain()
    assert isinstance(mine, ViewSource)
    html = fragment(mine)
    assert 'data-kind="activations"' in html and bundle_js() in html
    payload = json.loads(next(text for attrs, text in parse(html).scripts if attrs.get("type") == "application/json"))
    assert payload["row_labels"] == ["surprisal (bits)"] and len(payload["tokens"]) == run.n_tokens
    path = save_html(mine, tmp_path / "mine.html", title="Mine")
    assert path.read_text(encoding="utf-8").count('data-kind="activations"') == 1
    page = document([mine, {"view": mine, "heading": "again"}, run.lens()], title="gallery")
    assert page.count('class="lmscope-root"') == 3

    class Broken:
        def view_data(self) -> dict:
            return dict(surprisal_view(run), values=[[1.0]])

    with pytest.raises(ViewDataError, match=r"values\[0\]"):
        fragment(Broken())


def test_a_users_own_class_inheriting_html_view_gets_repr_html_and_to_html(tiny_scopes, tmp_path):
    run = tiny_scopes("gpt2").generate("1, 2, 3,", max_new_tokens=3)

    class Surprise(HTMLView):
        def view_data(self) -> dict:
            return surprisal_view(run)

    view = Surprise()
    assert 'data-kind="activations"' in view._repr_html_()
    text = view.to_html(tmp_path / "s.html").read_text(encoding="utf-8")
    assert "<title>How surprising each token was</title>" in text and 'data-kind="activations"' in text
