"""Views of text in other scripts: a token that holds part of a character shows its bytes, never U+FFFD."""

from __future__ import annotations

FFFD = "\ufffd"
TEXT = "日本語 🍨🍨 مرحبا"


def test_candidates_and_saliency_of_cjk_and_emoji_show_no_replacement_character(tiny_scopes, browse, tmp_path):
    scope = tiny_scopes("llama")
    run = scope.generate(TEXT, max_new_tokens=4, capture=())
    assert any(t.startswith("<0x") for t in run.tokens[:run.n_input])     # the text really splits characters
    pages = {"candidates": run.to_html(tmp_path / "candidates.html"),
             "saliency": run.saliency("grad_x_input").to_html(tmp_path / "saliency.html")}
    for kind, path in pages.items():
        browse.open(path)
        page = browse.page
        page.wait_for_function("() => document.querySelectorAll('.lms-token').length > 0")
        shown = page.evaluate("() => document.body.innerText")
        assert FFFD not in shown, kind
        tokens = page.locator(".lms-token").evaluate_all("spans => spans.map(s => s.textContent)")
        assert any("<0xE6>" in t for t in tokens), kind          # 日's first byte, shown as a byte
        assert {t for t in run.tokens if "<0x" in t} <= set(tokens), kind   # every partial token, as its bytes
        browse.screenshot(f"text-scripts-{kind}", ".lmscope-section")
