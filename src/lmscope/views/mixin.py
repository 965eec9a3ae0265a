"""``HTMLView``: the mixin that lets a result render itself in notebooks and HTML files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .html import fragment, save_html

__all__ = ["HTMLView"]


class HTMLView:
    """Mixin for results that show as an lmscope explorable.

    A result class implements :meth:`view_data`, returning its view's JSON data (see
    :mod:`lmscope.views.schema`), and gains ``_repr_html_`` (inline in Jupyter, VS Code,
    Colab) and :meth:`to_html` (a standalone offline page). Views only render what the
    result already holds; nothing is recomputed.

    >>> class Ones(HTMLView):
    ...     def view_data(self):
    ...         return {"kind": "saliency", "tokens": [...], "targets": [...], "attributions": [...]}
    >>> Ones().to_html("ones.html")  # doctest: +SKIP
    """

    def view_data(self) -> dict[str, Any]:
        """The view's JSON data; result classes must implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement view_data() returning its view's JSON data")

    def _repr_html_(self) -> str:
        """The explorable as a self-contained HTML fragment for notebooks."""
        return fragment(self.view_data())

    def to_html(self, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
        """Write the explorable as a standalone offline HTML page at ``path`` and return the path.

        ``title`` defaults to the view's own title, else "lmscope <kind>".
        """
        data = self.view_data()
        if title is None:
            title = data.get("title") or f"lmscope {data.get('kind', 'view')}"
        return save_html(data, path, title=title)
