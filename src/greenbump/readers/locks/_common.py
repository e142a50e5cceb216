"""What every lock reader shares: building a lock entry's :class:`Declaration`, reading fields.

Decisions that hold for all five formats, kept in one place so they stay the same:

* every package entry of the lock becomes one declaration, in file order, including entries
  without a version (a uv project's own editable or virtual entry, a PEP 751 package from a
  source tree): those have ``constraint == ""``, ``locked is None`` and no span, because adding
  a version line to a lock entry is never a meaningful edit;
* an entry installed from a VCS, a path or a direct URL gets ``url`` set and no span, even when
  the lock states its version (``locked`` still says what it is): its version is not chosen from
  an index, so changing the number in the lock would be a lie;
* an entry from an index keeps a span on the version text between the quotes, so a report can
  point at it and the round-trip check can edit it; plans never edit locks (they are regenerated
  by their own tool), which is why a doubtful position is dropped rather than guessed;
* ``group`` is ``lock`` for what the project needs at run time (or when the lock does not say)
  and ``lock:NAMES`` otherwise, with the lock's own group names joined by commas
  (``lock:dev`` for a Pipfile.lock ``develop`` entry or a Poetry ``category = "dev"`` one).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from greenbump.errors import InputError
from greenbump.model import Declaration, Span, Style

__all__ = [
    "LOCK_GROUP",
    "LineIndex",
    "declaration",
    "group_name",
    "optional_str",
    "str_list",
]

LOCK_GROUP = "lock"


def declaration(
    *,
    name: str,
    path: PurePosixPath,
    text: str,
    where: tuple[int, int],
    version: str | None,
    span: Span | None,
    locked: str | None,
    group: str = LOCK_GROUP,
    url: str | None = None,
    editable: bool = False,
    hashes: Iterable[str] = (),
    marker: str | None = None,
    extras: Iterable[str] = (),
) -> Declaration:
    """A lock entry's declaration; ``span`` is dropped for entries not from an index."""
    if url is not None or editable:
        span = None
    constraint = text[span.start : span.end] if span is not None else (version or "")
    line, column = where
    return Declaration(
        name=name,
        file=path,
        line=line,
        column=column,
        constraint=constraint,
        span=span,
        style=Style.LOCKED,
        group=group,
        extras=tuple(extras),
        marker=marker,
        url=url,
        editable=editable,
        hashes=tuple(hashes),
        locked=locked,
    )


def group_name(groups: Iterable[str], runtime: Iterable[str]) -> str:
    """``lock`` when any of ``groups`` is a run-time one (or there are none), else ``lock:...``."""
    names = list(groups)
    if not names or any(name in runtime for name in names):
        return LOCK_GROUP
    return f"{LOCK_GROUP}:{','.join(names)}"


def optional_str(
    table: Mapping[str, object], key: str, what: str, path: PurePosixPath, line: int | None
) -> str | None:
    """``table[key]`` if it is a string, ``None`` if absent; an :class:`InputError` otherwise."""
    value = table.get(key)
    if value is None or isinstance(value, str):
        return value
    raise InputError(f"{what}: `{key}` must be a string, not {type(value).__name__}", path, line)


def str_list(value: object) -> list[str]:
    """The strings of a list (anything else in it, or a non-list, is ignored)."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


class LineIndex:
    """1-based line and column of offsets, in O(log n) each (lock files have thousands)."""

    def __init__(self, text: str) -> None:
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def line_col(self, offset: int) -> tuple[int, int]:
        """The same answer as :func:`greenbump.textio.line_col`."""
        index = bisect_left(self._newlines, offset)
        start = self._newlines[index - 1] + 1 if index else 0
        return index + 1, offset - start + 1
