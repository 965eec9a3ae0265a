"""``HTMLView``: the mixin that lets a result render itself in notebooks and HTML files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .html import fragment, save_html

__all__ = ["HTMLView"]


class HTMLView:
    """Mixin for results that show as an lmscope explorable; any class of yours can use it.

    **The view protocol.** An object is a view when it has a public ``view_data()`` method
    returning its view's JSON data: a dict with a ``kind`` (one of
    :data:`lmscope.views.KINDS`), the token list ``tokens`` and that kind's fields, as
    written in the contract (``views/schemas/``, docs/views.md). Nothing more is needed for
    :func:`lmscope.views.fragment`, :func:`~lmscope.views.document` and
    :func:`~lmscope.views.save_html` to render it. Inheriting this mixin adds
    ``_repr_html_`` (inline in Jupyter, VS Code, Colab) and :meth:`to_html` (a standalone
    offline page). The data is validated before any HTML is written, so a mistake names its
    field. ``view_data()`` should only arrange what the object holds: views never recompute.

    >>> class Surprise(HTMLView):
    ...     def __init__(self, run, bits):
    ...         self.run, self.bits = run, bits
    ...     def view_data(self):
    ...         return {"kind": "activations", "tokens": self.run.token_table(),
    ...                 "values": [list(self.bits)], "row_labels": ["surprisal (bits)"]}
    >>> Surprise(run, bits).to_html("surprise.html")  # doctest: +SKIP
    """

    def view_data(self) -> dict[str, Any]:
        """The view's JSON data (the public view protocol); every class using the mixin implements it."""
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
