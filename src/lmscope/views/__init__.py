"""Renderers: results draw themselves as HTML explorables and matplotlib figures."""

from .html import document, fragment, save_html
from .mixin import HTMLView
from .schema import KINDS, ViewDataError, validate_view

__all__ = ["HTMLView", "KINDS", "ViewDataError", "document", "fragment", "save_html", "validate_view"]
