"""HTML for the explorables: notebook fragments and standalone offline pages.

The JavaScript bundle and stylesheet (``views/static/lmscope.js`` and ``lmscope.css``,
built from ``js/``) are inlined, so nothing is fetched when a view renders: no CDN, no
RequireJS, no module scripts. The view's data travels as JSON in a
``<script type="application/json">`` element with ``<``, ``>`` and ``&`` written as
``\\u003c`` … so no token can end the script element, and token text reaches the page
only through ``textContent``.

>>> from lmscope.views import fragment, save_html
>>> data = {"kind": "saliency", "tokens": [...], "targets": [...], "attributions": [...]}
>>> html = fragment(data)                                   # doctest: +SKIP
>>> save_html([data], "saliency.html", title="Why 1564?")   # doctest: +SKIP
"""

from __future__ import annotations

import functools
import html as _html
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..core.archive import write_text
from .schema import validate_view

__all__ = ["fragment", "document", "save_html", "ViewSource"]

_UNSAFE_IN_SCRIPT = ("</script", "<!--", "<script")
_FALLBACK = ("lmscope view: this needs JavaScript. In a notebook, run the cell again "
             "or trust the notebook to see it.")
_PAGE_CSS = """
body { margin: 0; background: #fff; color: #1a1a1a;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.lmscope-page { max-width: 960px; margin: 0 auto; padding: 24px 20px 48px; }
.lmscope-page > h1 { font-size: 22px; font-weight: 600; margin: 0 0 20px; }
.lmscope-section { margin: 0 0 36px; padding-top: 4px; }
.lmscope-section > h2 { font-size: 17px; font-weight: 600; margin: 0 0 4px; }
.lmscope-section > p { margin: 0 0 10px; color: #555; font-size: 14px; }
.lmscope-footer { color: #888; font-size: 12px; border-top: 1px solid #eee; padding-top: 8px; }
"""
# Offline pages may not load anything: inline scripts and styles only, images from data: URLs.
_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; font-src data:")


@runtime_checkable
class ViewSource(Protocol):
    """The public view protocol: any object whose ``view_data()`` returns view data (a dict with ``kind``).

    lmscope's results implement it, and so can a class of yours: :func:`fragment`,
    :func:`document` and :func:`save_html` render it, and :class:`~lmscope.views.HTMLView`
    adds ``_repr_html_`` and ``to_html``.
    """

    def view_data(self) -> dict[str, Any]: ...


@functools.cache
def _asset(name: str) -> str:
    """The text of a built asset in ``views/static``, checked to be safe to inline."""
    path = resources.files("lmscope.views").joinpath("static", name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"lmscope's view asset {name!r} is missing ({path}); build it from the repository root with "
            "`npm --prefix js ci && npm --prefix js run build`") from None
    lowered = text.lower()
    for bad in (*_UNSAFE_IN_SCRIPT, "</style"):
        if bad in lowered:
            raise RuntimeError(f"{path} contains {bad!r} and cannot be inlined; rebuild it with `npm run build`")
    return text


def bundle_js() -> str:
    """The views' JavaScript bundle (defines ``window.lmscope`` once per page)."""
    return _asset("lmscope.js")


def bundle_css() -> str:
    """The views' stylesheet (every rule scoped under ``.lmscope``)."""
    return _asset("lmscope.css")


def _script_json(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``<``, ``>``, ``&`` or line separators."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _text(s: str) -> str:
    """Escaped HTML text, ASCII only (other characters as character references)."""
    return _html.escape(s, quote=True).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _version() -> str:
    try:
        return metadata.version("lmscope")
    except metadata.PackageNotFoundError:
        return "unknown"


def _new_id() -> str:
    return "lmscope-" + uuid.uuid4().hex


def as_view_data(item: Mapping[str, Any] | ViewSource) -> Mapping[str, Any]:
    """The view data of a dict, or of any object with a public ``view_data()`` (the view protocol)."""
    if isinstance(item, ViewSource) and not isinstance(item, Mapping):
        return item.view_data()
    if isinstance(item, Mapping):
        return item
    raise TypeError(f"expected view data (a dict with 'kind') or a result with view_data(), got {type(item).__name__}")


def _root(data: Mapping[str, Any] | ViewSource, *, height: int | None, digits: int | None,
          render_script: bool, css: bool) -> str:
    """The view's root element: its data as JSON, a mount point, and optionally CSS and the render call."""
    plain = validate_view(as_view_data(data), digits=digits)
    root_id = _new_id()
    style = ""
    if height is not None:
        if not isinstance(height, int) or isinstance(height, bool) or height <= 0:
            raise ValueError(f"height must be a positive number of pixels or None, got {height!r}")
        style = f' style="max-height:{height}px;overflow:auto"'
    parts = [f'<div class="lmscope-root" id="{root_id}" data-kind="{_text(plain["kind"])}"{style}>']
    if css:
        parts.append(f"<style>{bundle_css()}</style>")
    parts.append(f'<script type="application/json">{_script_json(plain)}</script>')
    parts.append(f'<div class="lmscope-mount">{_text(_FALLBACK)}</div>')
    if render_script:
        parts.append(f"<script>{bundle_js()}</script>")
        parts.append(
            "<script>(function(){var r=document.getElementById(" + json.dumps(root_id) + ")"
            "||(document.currentScript&&document.currentScript.parentNode);"
            "if(r&&window.lmscope)window.lmscope.mount(r);})();</script>")
    parts.append("</div>")
    return "".join(parts)


def fragment(data: Mapping[str, Any] | ViewSource, *, height: int | None = None, digits: int | None = 6) -> str:
    """An HTML fragment showing one view, for a notebook's ``_repr_html_``.

    The fragment carries its own CSS and the bundle (which defines ``window.lmscope`` only
    if the page has none yet, so many views on one page never interfere), then a tiny
    script that renders the view into the fragment's own element. It needs no network
    and no loader, so it works in Jupyter Notebook/Lab, VS Code and Colab.

    ``height`` caps the view's height in pixels (it scrolls beyond); ``digits`` rounds
    floats to that many significant digits (``None`` keeps them exact). Raises
    :class:`~lmscope.views.schema.ViewDataError` if ``data`` breaks its contract.
    """
    return _root(data, height=height, digits=digits, render_script=True, css=True)


def _items(items: Iterable[Any] | Mapping[str, Any] | ViewSource) -> list[tuple[Any, str | None, str | None]]:
    """Normalise ``document`` items to (view data, heading, caption)."""
    if isinstance(items, Mapping) or isinstance(items, ViewSource):
        items = [items]
    out = []
    for i, item in enumerate(items):
        if isinstance(item, Mapping) and "view" in item and "kind" not in item:
            heading, caption = item.get("heading"), item.get("caption")
            for key, val in (("heading", heading), ("caption", caption)):
                if val is not None and not isinstance(val, str):
                    raise TypeError(f"items[{i}][{key!r}] must be a string, got {type(val).__name__}")
            out.append((item["view"], heading, caption))
        else:
            out.append((item, None, None))
    if not out:
        raise ValueError("items is empty; pass at least one view")
    return out


def document(items: Iterable[Any] | Mapping[str, Any] | ViewSource, *, title: str,
             digits: int | None = 6) -> str:
    """A standalone offline HTML page showing one or more views, the bundle inlined once.

    ``items`` is one view or a list; each is view data (a dict with ``kind``), a result
    with ``view_data()``, or ``{"view": <either>, "heading": str, "caption": str}`` to put
    a heading and caption (escaped) above it. A Content-Security-Policy forbids the page
    any network access.
    """
    if not isinstance(title, str):
        raise TypeError(f"title must be a string, got {type(title).__name__}")
    sections = []
    for view, heading, caption in _items(items):
        head = f"<h2>{_text(heading)}</h2>" if heading else ""
        cap = f"<p>{_text(caption)}</p>" if caption else ""
        sections.append(f'<section class="lmscope-section">{head}{cap}'
                        f'{_root(view, height=None, digits=digits, render_script=False, css=False)}</section>')
    version = _version()
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="lmscope {_text(version)}">',
        '<link rel="icon" href="data:,">',
        f"<title>{_text(title)}</title>",
        f"<style>{_PAGE_CSS}</style>",
        f"<style>{bundle_css()}</style>",
        "</head>",
        "<body>",
        '<main class="lmscope-page">',
        f"<h1>{_text(title)}</h1>",
        *sections,
        f'<p class="lmscope-footer">Made with lmscope {_text(version)}; works offline.</p>',
        "</main>",
        f"<script>{bundle_js()}</script>",
        "<script>window.lmscope&&window.lmscope.mountAll(document);</script>",
        "</body>",
        "</html>",
        "",
    ])


def save_html(items: Iterable[Any] | Mapping[str, Any] | ViewSource, path: str | os.PathLike[str], *,
              title: str, digits: int | None = 6) -> Path:
    """Write :func:`document` to ``path`` (parent folders created) and return the path.

    The page goes to a temporary file in the same folder, renamed over ``path`` once
    written, so an interrupted save leaves the previous file whole.
    """
    out = Path(path)
    page = document(items, title=title, digits=digits)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text(out, page)
