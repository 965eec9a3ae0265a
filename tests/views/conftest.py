"""Fixtures for the view tests: headless Debian Chromium driven by Playwright, with a page
that records console errors, page errors, dialogs and network requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session. Fails (never skips) when it cannot start."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
                    "Install it with `apt-get install -y chromium` (Playwright's own browser download "
                    "is not used).", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: `pip install -e '.[test]'` (or `pip install playwright`).",
                    pytrace=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Browse:
    """A fresh page plus everything suspicious it did: console errors, uncaught errors,
    dialogs (dismissed), and requests for anything but file: and data: URLs."""

    def __init__(self, page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.problems.append(f"uncaught error: {err}"))
        page.on("dialog", self._dialog)
        page.on("request", self._request)

    def _console(self, msg) -> None:
        if msg.type in ("error", "warning"):
            self.problems.append(f"console.{msg.type}: {msg.text}")

    def _dialog(self, dialog) -> None:
        self.problems.append(f"dialog ({dialog.type}): {dialog.message}")
        dialog.dismiss()

    def _request(self, request) -> None:
        if not request.url.startswith(("file:", "data:", "about:")):
            self.problems.append(f"network request: {request.url}")

    def open(self, path: Path) -> None:
        """Load a local HTML file and wait until it has settled."""
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")

    def screenshot(self, name: str, selector: str | None = None) -> Path:
        """Save a PNG under test-artifacts/ (gitignored) for people to look at."""
        ARTIFACTS.mkdir(exist_ok=True)
        out = ARTIFACTS / f"{name}.png"
        if selector:
            self.page.locator(selector).first.screenshot(path=str(out))
        else:
            self.page.screenshot(path=str(out), full_page=True)
        return out

    def assert_clean(self) -> None:
        assert not self.problems, "the page misbehaved:\n" + "\n".join(self.problems)


@pytest.fixture
def browse(chromium) -> Iterator[Browse]:
    """A fresh page in its own context; the test fails if the page logged errors, opened
    dialogs or touched the network."""
    context = chromium.new_context(viewport={"width": 1000, "height": 800})
    b = Browse(context.new_page())
    try:
        yield b
        b.assert_clean()
    finally:
        context.close()


@pytest.fixture
def record_timing():
    """A function that appends measured timings to test-artifacts/timings.json (reported, never asserted)."""

    def record(name: str, values: dict) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / "timings.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        data[name] = values
        path.write_text(json.dumps(data, indent=2) + "\n")
        print(f"{name}: {values}")

    return record
