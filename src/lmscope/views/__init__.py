"""Renderers: results draw themselves as HTML explorables and matplotlib figures.

The view protocol is public: any object with a ``view_data()`` method returning view data
(:class:`ViewSource`) renders with :func:`fragment`, :func:`document` and :func:`save_html`;
inherit :class:`HTMLView` to get ``_repr_html_`` and ``to_html`` as well.
"""

from .combined import Combined, combined
from .html import ViewSource, document, fragment, save_html
from .mixin import HTMLView
from .schema import KINDS, ViewDataError, validate_view

__all__ = ["Combined", "HTMLView", "KINDS", "ViewDataError", "ViewSource", "combined", "document", "fragment",
           "save_html", "validate_view"]
