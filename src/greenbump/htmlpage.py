"""The ``<a>`` collector behind PEP 503 pages and find-links pages.

Its own module so that ``html.parser`` (and ``html``'s entity table) load only when an index
answers in HTML: most answer in PEP 691 JSON.
"""

from __future__ import annotations

from html.parser import HTMLParser


class AnchorParser(HTMLParser):
    """Collects ``<a>`` tags (attributes and text) and the first ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._current: tuple[dict[str, str | None], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self._flush()
            self._current = (dict(attrs), [])

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._flush()

    def _flush(self) -> None:
        if self._current is not None:
            attrs, text = self._current
            self.anchors.append((attrs, "".join(text).strip()))
            self._current = None

    def close(self) -> None:
        super().close()
        self._flush()
