"""The `make demo` gallery: built once on the real model, checked as data and opened in Chromium."""

from __future__ import annotations

import re

import pytest

from lmscope.demo import build_gallery, main
from lmscope.views import validate_view

pytestmark = [pytest.mark.real_model, pytest.mark.browser]

HEADINGS = [
    "Input saliency: Shakespeare's birth year",
    "Input saliency, detailed: a numbered list of EU countries",
    "Input saliency: the repeated ' 1,' pattern",
    "Input saliency of a chat answer (the model's chat template)",
    "Candidates of the chat answer",
    "Input saliency: counting '1, 2, 3,'",
    "How the prediction forms: logit-lens rankings",
    "Neuron activations of layer 4",
    "Neurons of layer 4 clustered by their firing",
    "Two activation factors of a counting sequence",
    "Saliency and factors together",
    "Two factors with the first token kept",
    "Five activation factors of a counting sequence",
    "Six activation factors of a list of EU countries",
    "Ten activation factors of XML",
    "Ten factors from the Underground (layer 0)",
]
KINDS = (["saliency"] * 4 + ["candidates", "saliency", "lens", "activations", "activations"]
         + ["factors", "combined"] + ["factors"] * 5)


@pytest.fixture(scope="module")
def gallery(smol, tmp_path_factory):
    path = build_gallery(smol, tmp_path_factory.mktemp("gallery") / "gallery.html", progress=False)
    return path, path.read_text(encoding="utf-8")


def test_every_exhibit_is_there_with_valid_data(gallery):
    _, page = gallery
    assert re.findall(r"<h2>(.*?)</h2>", page) == [h.replace("'", "&#x27;") for h in HEADINGS]
    blobs = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S)
    assert len(blobs) == len(HEADINGS)
    import json
    for blob, kind in zip(blobs, KINDS):
        data = validate_view(json.loads(blob))
        assert data["kind"] == kind
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page


def test_captions_report_this_models_numbers(gallery):
    _, page = gallery
    # Greedy SmolLM2 continues the count, and each caption quotes its own measurements.
    assert "The model continued with &#x27; 4, 5, 6," in page
    split = re.search(r"factor (\d) dominates (\d+)% of the generated digits and factor (\d) dominates (\d+)% "
                      r"of the generated commas", page)
    assert split, "the two-factor caption states the digit/comma split"
    assert split.group(1) != split.group(3) and int(split.group(2)) >= 90 and int(split.group(4)) >= 90
    assert re.search(r"commas reach rank 1 by layer \d+", page) and re.search(r"digits reach rank 1 by layer \d+", page)
    assert "neurons (" in page and "of 46,080)" in page      # 30 layers x 1,536 FFN neurons


def test_gallery_opens_offline_and_every_view_renders(gallery, browse):
    path, _ = gallery
    browse.open(path)
    page = browse.page
    assert page.locator(".lmscope-section").count() == len(HEADINGS)
    for kind in set(KINDS):
        assert page.locator(f".lms-kind-{kind}").count() == KINDS.count(kind), kind
    assert page.locator(".lms-error").count() == 0
    # The first saliency view reacts to a hover on its second output token.
    first = page.locator(".lms-kind-saliency").first
    before = first.locator(".lms-token[data-position='0']").evaluate("e => e.style.backgroundColor")
    first.locator(".lms-token[data-position='8']").hover()
    after = first.locator(".lms-token[data-position='0']").evaluate("e => e.style.backgroundColor")
    assert before and after and before != after
    browse.screenshot("gallery", ".lmscope-section")


def test_main_writes_the_gallery_where_asked(monkeypatch, tmp_path, capsys, smol):
    monkeypatch.setattr("lmscope.demo.load", lambda: smol)
    monkeypatch.setattr("lmscope.demo.SECTIONS", [("counting", lambda scope: [
        {"view": scope.generate("1, 2,", max_new_tokens=2, capture=()), "heading": "h", "caption": "c"}])])
    main(["--out", str(tmp_path / "g.html"), "--quiet"])
    assert capsys.readouterr().out.strip() == str((tmp_path / "g.html").resolve())
    assert (tmp_path / "g.html").read_text().count('class="lmscope-section"') == 1
