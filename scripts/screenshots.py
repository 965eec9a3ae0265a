"""Screenshot each explorable of a gallery page for the README (needs Playwright and Debian's chromium).

    python scripts/screenshots.py lmscope-gallery.html docs/img
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from playwright.sync_api import sync_playwright


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", nargs="*", help="headings (slugs) to keep; default every section")
    parser.add_argument("--width", type=int, default=1000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"])
        page = browser.new_page(viewport={"width": args.width, "height": 900}, device_scale_factor=1)
        page.goto(args.page.resolve().as_uri())
        page.wait_for_selector(".lmscope-section")
        for section in page.query_selector_all(".lmscope-section"):
            heading = section.query_selector("h2")
            name = slug(heading.text_content() if heading else "view")
            if args.only and name not in args.only:
                continue
            section.scroll_into_view_if_needed()
            path = args.out / f"{name}.png"
            section.screenshot(path=str(path))
            print(path)
        browser.close()


if __name__ == "__main__":
    main()
