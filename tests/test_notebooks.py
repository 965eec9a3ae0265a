"""The example notebook, run as a person runs it: executed by a real kernel (nbclient), its outputs
checked for the rendered views, then exported with nbconvert and used in headless Chromium offline."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.real_model, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[1]
TOUR = REPO / "examples" / "tour.ipynb"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# The views shown by the tour, in order, by the kind of their explorable.
TOUR_VIEWS = ["candidates", "saliency", "factors", "lens", "combined"]
SVG_NS = "http://www.w3.org/2000/svg"  # the one URL the bundle holds: a namespace name, never fetched
PROBE = "import sys; print(sys.executable)"


def _kernel_manager(tmp: Path):
    """A kernel manager for a private ``python3`` kernelspec that runs this interpreter (the venv's).

    The spec lives in ``tmp``, so nothing is registered globally and no system-wide
    ``python3`` kernel can be picked up instead.
    """
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    spec_dir = tmp / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "lmscope test kernel", "language": "python"}))
    specs = KernelSpecManager(kernel_dirs=[str(tmp / "kernels")], ensure_native_kernel=False)
    return KernelManager(kernel_name="python3", kernel_spec_manager=specs)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The tour notebook executed top to bottom (plus a probe cell printing the kernel's interpreter)."""
    import nbformat
    from nbclient import NotebookClient

    tmp = tmp_path_factory.mktemp("tour")
    nb = nbformat.read(TOUR, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(nb, timeout=300, kernel_name="python3", km=_kernel_manager(tmp),
                            resources={"metadata": {"path": str(tmp)}})
    client.execute()
    return nb


def test_tour_is_committed_without_outputs():
    import nbformat

    nb = nbformat.read(TOUR, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)


def test_tour_outputs_hold_one_offline_view_each(executed):
    assert executed.cells[-1].outputs[0]["text"].strip() == sys.executable  # the venv's kernel ran it
    htmls = []
    for cell in executed.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            assert out["output_type"] != "error", f"cell {cell.source!r} failed: {out.get('evalue')}"
            if "text/html" in out.get("data", {}):
                htmls.append(out["data"]["text/html"])
    from lmscope.views.html import bundle_css, bundle_js

    kinds = [re.findall(r'class="lmscope-root" id="[\w-]+" data-kind="(\w+)"', h) for h in htmls]
    assert kinds == [[k] for k in TOUR_VIEWS]
    for html in htmls:
        assert html.count(bundle_js()) == 1 and html.count(bundle_css()) == 1  # inlined once per output
        assert html.count('<script type="application/json">') == 1
        urls = re.findall(r"[a-z][a-z0-9+.-]*://[^\s\"'<>)]*", html, flags=re.I)
        assert set(urls) <= {SVG_NS}, f"network URLs in an output: {set(urls) - {SVG_NS}}"
        assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html, flags=re.I)
    result = [o for o in executed.cells[1].outputs if o["output_type"] == "execute_result"]
    assert result[0]["data"]["text/plain"] == "' 4, 5, 6'"  # greedy SmolLM2 counts on (8 tokens)


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)", pytrace=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"],
                                     headless=True)
        yield browser
        browser.close()


# nbconvert's lab template asks a CDN for RequireJS and MathJax; "offline" points both at empty
# data: scripts so that the page has no reason at all to touch the network.
EXPORTS = {
    "offline": {"require_js_url": "data:text/javascript,", "mathjax_url": "data:text/javascript,"},
    "default": {},
}
NBCONVERT_CDN = ("https://cdnjs.cloudflare.com/ajax/libs/require.js/", "https://cdnjs.cloudflare.com/ajax/libs/mathjax/")


@pytest.mark.parametrize("export", list(EXPORTS))
def test_tour_exported_to_html_works_offline_in_chromium(executed, chromium, tmp_path, export):
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab", **EXPORTS[export]).from_notebook_node(executed)
    page_path = tmp_path / "tour.html"
    page_path.write_text(body, encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"tour-{export}.html").write_text(body, encoding="utf-8")

    problems: list[str] = []
    requests: list[str] = []
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = context.new_page()
        page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda err: problems.append(f"uncaught error: {err}"))

        def block(route):  # every request but file: is refused and recorded
            if route.request.url.startswith("file:"):
                route.continue_()
            else:
                requests.append(route.request.url)
                route.abort()

        page.route("**/*", block)
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")

        states = page.eval_on_selector_all(".lmscope-root", "rs => rs.map(r => [r.dataset.kind, r.dataset.lmscopeState])")
        assert states == [[k, "mounted"] for k in TOUR_VIEWS]
        assert page.evaluate("typeof window.lmscope.render") == "function"

        view = page.locator(".lms-kind-saliency")
        tints = "v => Array.from(v.querySelectorAll('.lms-token')).map(e => e.style.backgroundColor)"
        values = "v => Array.from(v.querySelectorAll('.lms-token')).map(e => Number(e.dataset.value))"
        n_input = 8  # "1, 2, 3," is 8 tokens on SmolLM2
        assert view.get_attribute("data-selected") == str(n_input)
        before, before_values = view.evaluate(tints), view.evaluate(values)
        assert all(c.startswith("rgb(") for c in before[:n_input]) and before[n_input] == ""
        last = len(before) - 1
        view.locator(f".lms-token[data-position='{last}']").hover()
        assert view.get_attribute("data-selected") == str(last)
        after, after_values = view.evaluate(tints), view.evaluate(values)
        assert after != before and after_values != before_values
        assert all(c.startswith("rgb(") for c in after[:last]) and after[last] == ""
        assert sum(after_values[:last]) == pytest.approx(1.0, abs=1e-3)  # normalised gradient x input
        if export == "offline":
            view.screenshot(path=str(ARTIFACTS / "tour-saliency-hover.png"))
            page.screenshot(path=str(ARTIFACTS / "tour.png"), full_page=True)
    finally:
        context.close()
    if export == "offline":
        assert requests == [], f"the offline export tried the network: {requests}"
        assert not problems, "the exported notebook misbehaved:\n" + "\n".join(problems)
    else:
        # Only nbconvert's own template reaches out (and fails offline); the views need none of it.
        assert requests and all(url.startswith(NBCONVERT_CDN) for url in requests), requests
        assert all("Failed to load resource" in p for p in problems), problems
