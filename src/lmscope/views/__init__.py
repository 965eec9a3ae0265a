"""Renderers: results draw themselves as HTML explorables and matplotlib figures."""

from .combined import Combined, combined
from .html import document, fragment, save_html
from .mixin import HTMLView
from .schema import KINDS, ViewDataError, validate_view

__all__ = ["Combined", "HTMLView", "KINDS", "ViewDataError", "combined", "document", "fragment", "save_html",
           "validate_view"]
