"""The tiny BERT's saliency explorable, end to end: Python computes the rows, the page tints the
tokens on both sides of the [MASK] (a masked LM reads the whole text), not only before it."""

from __future__ import annotations

import numpy as np
import pytest

from lmscope.testing import tiny_scope

pytestmark = pytest.mark.browser

STATE = """root => Array.from(root.querySelectorAll('.lms-token')).map(e => ({
  value: Number(e.getAttribute('data-value')), bg: e.style.backgroundColor,
  after: e.classList.contains('lms-after')}))"""


def test_masked_lm_saliency_tints_tokens_right_of_the_mask(browse, tmp_path):
    scope = tiny_scope("bert")
    sal = scope.analyze("The quick [MASK] fox jumps over").saliency()
    mask = int(sal.targets[0])
    assert sal.tokens[mask] == "[MASK]" and mask + 2 < sal.n_tokens
    browse.open(sal.to_html(tmp_path / "masked.html"))
    root = browse.page.locator(".lms-kind-saliency")
    browse.page.wait_for_function("() => document.querySelector('.lms-kind-saliency .lms-token[style]') !== null")
    tokens = root.evaluate(STATE)
    assert len(tokens) == sal.n_tokens
    np.testing.assert_allclose([t["value"] for t in tokens], sal.matrix[0], rtol=1e-5)   # data-value keeps 6 digits
    right = tokens[mask + 1:]
    assert all(t["value"] > 0 for t in right)
    assert all(t["bg"] for t in right), "tokens right of the mask carry no tint"
    assert not any(t["after"] for t in right), "tokens right of the mask are faded as if after a causal target"
    assert all(t["bg"] for t in tokens[:mask])
    browse.screenshot("saliency-masked-tiny-bert", ".lmscope-section")
    browse.assert_clean()
