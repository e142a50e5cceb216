"""Terminal output: rich tables on a colour terminal, plain aligned text everywhere else.

Plain output matters as much as pretty output: CI logs, pipes and ``NO_COLOR`` users get
columns they can grep, with no box-drawing characters or escape codes.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO


def fancy(stream: TextIO | None = None) -> bool:
    """Whether to draw rich output: a terminal, colour not disabled, not in CI."""
    out = stream if stream is not None else sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("CI") or os.environ.get("TERM") == "dumb":
        return False
    return out.isatty()


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    stream: TextIO | None = None,
) -> None:
    """Print a table: rich when :func:`fancy`, else aligned plain columns."""
    out = stream if stream is not None else sys.stdout
    if fancy(out):
        from rich.console import Console  # only here: JSON output need not pay its import
        from rich.table import Table

        table = Table(title=title, header_style="bold")
        for header in headers:
            table.add_column(header)
        for row in rows:
            table.add_row(*row)
        Console(file=out).print(table)
        return
    if title:
        out.write(f"{title}\n")
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for line in [headers, *rows]:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        out.write("\n")


def print_json(document: dict[str, Any], stream: TextIO | None = None) -> None:
    """Print a machine-readable document (callers put ``schema_version`` in it)."""
    out = stream if stream is not None else sys.stdout
    json.dump(document, out, indent=2, sort_keys=False)
    out.write("\n")


class ProgressBar:
    """One line on a terminal (``querying the index [=====     ] 80/157``), erased by
    :meth:`close`. Safe to advance from many threads; redrawn at most every 50 ms."""

    def __init__(self, what: str, total: int, stream: TextIO, width: int = 24):
        self._what = what
        self._total = max(1, total)
        self._stream = stream
        self._width = width
        self._done = 0
        self._drawn = 0.0
        self._lock = threading.Lock()

    def advance(self) -> None:
        with self._lock:
            self._done += 1
            now = time.monotonic()
            if self._done < self._total and now - self._drawn < 0.05:
                return
            self._drawn = now
            filled = self._width * min(self._done, self._total) // self._total
            bar = "=" * filled + " " * (self._width - filled)
            self._stream.write(f"\r\x1b[2K{self._what} [{bar}] {self._done}/{self._total}")
            self._stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._drawn:
                self._stream.write("\r\x1b[2K")
                self._stream.flush()


@contextlib.contextmanager
def progress_bar(what: str, total: int) -> Iterator[Callable[[], None]]:
    """A bar on stderr when it is a terminal (see :func:`fancy`); yields its ``advance``.

    Elsewhere (pipes, CI, ``NO_COLOR``) nothing is drawn: logs get no carriage returns.
    """
    if not fancy(sys.stderr):
        yield lambda: None
        return
    bar = ProgressBar(what, total, sys.stderr)
    try:
        yield bar.advance
    finally:
        bar.close()
