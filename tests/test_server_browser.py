"""The explorer page in headless Chromium against a live server on a tiny model: type a prompt,
run, watch tokens stream in, hover an output token and read the saliency tint."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from matplotlib import colormaps

from lmscope.server import create_app, running
from lmscope.testing import tiny_scope

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
VIRIDIS = [tuple(int(round(c * 255)) for c in rgb) for rgb in colormaps["viridis"].colors]

# Predicates are functions, not expression strings: Playwright polls a string with eval(),
# which the page's Content Security Policy refuses once the first check came out false.
INFO_ARRIVED = "() => document.querySelectorAll('#lx-saliency option').length > 2"


def viridis_css(t: float) -> str:
    r, g, b = VIRIDIS[math.floor(min(max(t, 0.0), 1.0) * 255 + 0.5)]
    return f"rgb({r}, {g}, {b})"


@pytest.fixture(scope="module")
def explorer_url():
    with running(create_app(tiny_scope("llama"))) as url:
        yield url


@pytest.fixture
def page(explorer_url):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)", pytrace=False)
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        p = context.new_page()
        p.set_default_timeout(120_000)      # generous: the CI machine is shared and slow, never a timing check
        p.on("console", lambda m: m.type in ("error", "warning") and problems.append(f"console.{m.type}: {m.text}"))
        p.on("pageerror", lambda e: problems.append(f"uncaught error: {e}"))
        p.on("request", lambda r: r.url.startswith(explorer_url) or problems.append(f"request off the server: {r.url}"))
        yield p
        context.close()
        browser.close()
    assert not problems, "the page misbehaved:\n" + "\n".join(problems)


def test_type_run_stream_hover_and_read_the_tint(page, explorer_url, hold_saliency):
    page.goto(explorer_url + "/")
    page.wait_for_function(INFO_ARRIVED)  # /api/info arrived
    page.fill("#lx-prompt", "1, 2, 3,")
    page.fill("#lx-max-new", "5")
    page.click("#lx-run")
    # The server holds the result once generation is over: every generated token must reach the page first.
    assert hold_saliency.entered.wait(120)
    held = hold_saliency.runs[0]
    n_generated = len(held.token_ids) - held.n_input
    page.wait_for_function(f"() => document.querySelectorAll('#lx-stream .lx-streamed').length === {n_generated}")
    streamed = page.eval_on_selector_all("#lx-stream .lx-streamed, #lx-stream .lx-streamed-tail",
                                         "els => els.map(e => e.textContent)")
    assert page.evaluate("window.lmscopeExplorer.last") is None, "tokens appear before the result"
    hold_saliency.release.set()
    page.wait_for_selector(".lms-kind-saliency .lms-token")

    result = page.evaluate("window.lmscopeExplorer.last")
    n_input = result["n_input"]
    outputs = [t["token"] for t in result["tokens"][n_input:]]
    # each generated token shows the text it adds as the tokenizer decodes it (a byte of a character
    # spelled over several tokens shows nothing until the character is whole), never its <0xBB> tag
    assert "".join(streamed) == result["output_text"], "the generated text appears while streaming"
    events = page.evaluate("window.lmscopeExplorer.events")
    assert events.count("token") == len(outputs)
    assert events.index("result") > max(i for i, e in enumerate(events) if e == "token"), "result after the tokens"
    assert page.text_content("#lx-stream") == result["text"]
    assert page.locator(".lx-views > .lmscope").count() == 2            # candidates and saliency
    assert "done in" in page.text_content("#lx-status")

    saliency = next(v for v in result["views"] if v["kind"] == "saliency")
    target = n_input + 2                                                 # the third generated token
    page.hover(f".lms-kind-saliency .lms-token[data-position='{target}']")
    row = saliency["attributions"][saliency["targets"].index(target)]
    peak = max(row[:target])
    colours = page.eval_on_selector_all(".lms-kind-saliency .lms-token", "els => els.map(e => e.style.backgroundColor)")
    for position in range(target):
        assert colours[position] == viridis_css(row[position] / peak), f"tint of token {position}"
    assert all(c == "" for c in colours[target:])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)


def test_a_failed_request_shows_the_servers_message(page, explorer_url):
    page.goto(explorer_url + "/")
    page.wait_for_function(INFO_ARRIVED)
    page.fill("#lx-prompt", "1, 2, " * 40)            # longer than the tiny model's 128-position context
    page.fill("#lx-max-new", "16")
    page.click("#lx-run")
    page.wait_for_selector("#lx-status.lx-error")
    assert "error 400:" in page.text_content("#lx-status")
    assert "context of 128" in page.text_content("#lx-status")
    assert page.is_enabled("#lx-run")
