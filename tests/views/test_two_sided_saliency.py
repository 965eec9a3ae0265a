"""A masked LM's saliency rows attribute to tokens on both sides of the target: the explorable
tints them all (one scale per row), and a causal row selected after it clears the later ones."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from matplotlib import colormaps

from lmscope.views import save_html

pytestmark = pytest.mark.browser

VIRIDIS = [tuple(int(round(c * 255)) for c in rgb) for rgb in colormaps["viridis"].colors]
FIXTURE = Path(__file__).parent / "contract_fixtures" / "valid" / "saliency-masked-two-sided.json"
STATE = """root => Array.from(root.querySelectorAll('.lms-token')).map(e => ({
  value: Number(e.getAttribute('data-value')), bg: e.style.backgroundColor,
  after: e.classList.contains('lms-after')}))"""


def viridis_css(t: float) -> str:
    r, g, b = VIRIDIS[math.floor(min(max(t, 0.0), 1.0) * 255 + 0.5)]
    return f"rgb({r}, {g}, {b})"


def test_masked_rows_tint_both_sides_and_a_causal_row_clears_them(browse, tmp_path):
    data = json.loads(FIXTURE.read_text("utf-8"))
    # A second target whose row is causal (zeros from its target on), to switch between the two.
    data["tokens"][4]["type"] = "output"
    data["targets"].append(4)
    data["attributions"].append([0.1, 0.2, 0.3, 0.4, 0.0])
    browse.open(save_html(data, tmp_path / "masked.html", title="masked"))
    page = browse.page
    root = page.locator(".lms-kind-saliency")

    def check(row: list[float], target: int, two_sided: bool) -> None:
        peak = max(v for i, v in enumerate(row) if i != target and (i < target or two_sided))
        for i, tok in enumerate(root.evaluate(STATE)):
            assert tok["value"] == pytest.approx(row[i])
            tinted = i != target and (i < target or two_sided)
            assert tok["bg"] == (viridis_css(row[i] / peak) if tinted else ""), f"token {i}"
            assert tok["after"] == (i > target and not two_sided), f"token {i}"

    masked, causal = data["attributions"]
    check(masked, 2, two_sided=True)           # "france" (0.45) after the mask is the row's peak
    page.hover(".lms-kind-saliency .lms-token[data-position='4']")
    check(causal, 4, two_sided=False)
    page.hover(".lms-kind-saliency .lms-token[data-position='2']")
    check(masked, 2, two_sided=True)
    browse.screenshot("saliency-masked-two-sided", ".lmscope-section")
