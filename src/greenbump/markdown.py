"""Escaping for Markdown written from index and advisory data.

Package names, summaries and advisory text come from third parties; in a pull-request body they
must render as text, never as links, HTML or table structure.
"""

from __future__ import annotations

import html
import re

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape_md(text: str) -> str:
    """``text`` safe to place in Markdown prose or a table cell."""
    flat = " ".join(text.split())  # no newlines: they would break tables and add blocks
    return _SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))
