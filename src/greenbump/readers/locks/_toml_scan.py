"""Where each ``[[package]]`` entry's ``name`` and ``version`` strings sit in a TOML lock.

Why hand-written: no TOML library reports source positions. :mod:`tomlkit` keeps them implicitly
but needs about 2 s per megabyte (a large ``uv.lock`` is one), against about 0.15 s for parsing
with ``tomllib``/``tomli`` (:mod:`._toml_load`) plus this scan, which costs a few milliseconds:
the parser validates the whole file and gives the structure, and one regex pass finds where each
``[[package]]`` entry's ``name`` and ``version`` strings sit.

The scan relies on two facts about a *valid* TOML 1.0 document (validity is established by the
parser first):

* once multi-line strings are blanked out, a line whose first token is ``version =`` is a
  key/value statement of the table opened by the last header above it: array elements are values,
  a bare word like ``version`` is not a value, and inline tables are single-line;
* a line starting ``[[package]]`` is that array-of-tables header, and any line starting with
  ``[`` either is a header or (rarely) a nested array inside a multi-line array. Treating the
  latter as the end of an entry's top-level keys can only make the scan miss a key, never pick a
  wrong one.

Everything found is then checked against the parsed values: entry count, each entry's ``name``,
and the raw text of ``version`` must equal the parsed string (so a version written with escape
sequences is reported but not given a span). Anything that does not check out gets no span: a
lock entry can come back not editable, but never mis-located.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from greenbump.model import Span

__all__ = ["Entry", "find_entries"]

# Strings and comments, in the order a TOML lexer tries them: enough to find multi-line strings
# without being fooled by quotes inside comments or inside single-line strings.
_STRINGS = re.compile(
    r"""
    \#[^\r\n]*
    | (?P<ml>\"\"\"(?:[^"\\]|\\[\s\S]|"(?!""))*"{3,5} | '''[\s\S]*?'{3,5})
    | "(?:[^"\\\r\n]|\\.)*"
    | '[^'\r\n]*'
    """,
    re.VERBOSE,
)
_NOT_NEWLINE = re.compile(r"[^\r\n]")
_LINE_OF_INTEREST = re.compile(
    r"""\n[ \t]*(?:(\[)|(name|version)[ \t]*=[ \t]*(?:"([^"\\\r\n]*)"|'([^'\r\n]*)'))"""
)


@dataclass(frozen=True)
class Entry:
    """Where one ``[[table]]`` entry sits: its header and, when found and verified, its strings.

    Spans cover the text between the quotes.
    """

    header: int
    name: Span | None
    version: Span | None


def find_entries(text: str, table: str, entries: list[dict[str, Any]]) -> list[Entry] | None:
    """Locate the ``[[table]]`` entries whose parsed values are ``entries``, in order.

    Returns ``None`` when the headers found do not line up with ``entries`` (for example when
    the array is written inline as ``table = [...]``); the caller then has no positions at all.
    """
    scan = _blank_multiline_strings(text) if ('"""' in text or "'''" in text) else text
    if scan.startswith("\ufeff"):
        scan = " " + scan[1:]  # a byte-order mark: same length, and line 1 still reads as TOML
    header = re.compile(
        rf"[ \t]*\[\[[ \t]*(?:{table}|\"{table}\"|'{table}')[ \t]*\]\][ \t]*(?:#[^\n]*)?(?:\r?\n|$)"
    )
    found: list[Entry] = []
    spans: dict[str, Span] = {}
    current: int | None = None  # header offset of the entry whose top-level keys we are in
    # One pass over the lines that matter, found by the regex engine: "\n" first lets it skip
    # to newlines quickly, and the leading "\n" added to the text puts line 1 on the same footing.
    for match in _LINE_OF_INTEREST.finditer("\n" + scan):
        if match.start(1) >= 0:  # a line starting with "[": a header ends the entry's keys
            if current is not None:
                found.append(Entry(current, spans.get("name"), spans.get("version")))
            here = match.start()  # the line's start in ``scan`` (the "\n" added shifts by one)
            current = here if header.match(scan, here) else None
            spans = {}
        elif current is not None:
            value = 3 if match.start(3) >= 0 else 4
            spans.setdefault(match.group(2), Span(match.start(value) - 1, match.end(value) - 1))
    if current is not None:
        found.append(Entry(current, spans.get("name"), spans.get("version")))
    if len(found) != len(entries):
        return None
    checked: list[Entry] = []
    for entry, values in zip(found, entries, strict=True):
        name = _verified(text, entry.name, values.get("name"))
        if entry.name is not None and name is None:
            return None  # the scan and the parser disagree on which entry is which
        version = _verified(text, entry.version, values.get("version"))
        checked.append(Entry(entry.header, name, version))
    return checked


def _verified(text: str, span: Span | None, value: object) -> Span | None:
    if span is None or not isinstance(value, str) or text[span.start : span.end] != value:
        return None
    return span


def _blank_multiline_strings(text: str) -> str:
    """``text`` with every multi-line string's characters (not its newlines) turned to spaces."""
    pieces: list[str] = []
    done = 0
    for match in _STRINGS.finditer(text):
        if match.group("ml") is None:
            continue
        pieces.append(text[done : match.start()])
        pieces.append(_NOT_NEWLINE.sub(" ", match.group()))
        done = match.end()
    pieces.append(text[done:])
    return "".join(pieces)
