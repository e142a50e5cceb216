"""Where TOML strings sit in the file's text, so readers can record exact spans.

No TOML library reports source positions, and greenbump must edit a version constraint without
touching a byte around it. :mod:`tomlkit` is lossless (``parse(text).as_string() == text``) and
keeps, on every string and key, the raw text it was written as (``_original``). We use that:

1. parse, and force tomlkit's lazy checks (``unwrap``) so every syntax error surfaces here as an
   :class:`~greenbump.errors.InputError` with the file and line;
2. walk the whole document and temporarily replace the raw text of every string value and every
   key of a key/value pair with a unique sentinel (``\\x01N\\x02``: control characters can never
   occur in valid TOML, so a sentinel cannot collide with the file's own text);
3. render the document once and find each sentinel; everything outside the sentinels renders
   byte-identically, so a sentinel's offset minus the growth of the sentinels before it is the
   raw text's offset in the original file.

Why this instead of the alternatives: replacing items through tomlkit's public API in a fresh
parse per item is quadratic and tomlkit re-formats some containers on assignment; summing
``as_string()`` lengths would mean re-implementing tomlkit's rendering of super-tables, dotted
keys and out-of-order tables; a hand-written position-tracking TOML parser is a second parser to
keep correct. The sentinel pass reuses tomlkit's own rendering, costs one render per file, and is
verified: the located text is checked against the file at every offset, and the whole rendering
with sentinels put back must equal the input. If tomlkit ever renders differently, strings come
back unlocated (not editable), never mis-located.

Inside a string, value characters map to text offsets one by one except where an escape
sequence, a line-ending backslash or the newline trimmed after ``\"\"\"`` stands. We decode the
raw text ourselves to build that map (:class:`MappedString`), check the result against tomlkit's
value, and only ever hand out a :class:`~greenbump.model.Span` for a stretch of the value that is
written verbatim in the file: a constraint that contains an escape is reported as not editable
rather than spliced wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError
from tomlkit.items import AoT, Array, InlineTable, Item, String, StringType, Table

from greenbump.errors import InputError
from greenbump.model import Span
from greenbump.textio import line_col

__all__ = ["MappedString", "TomlDocument", "parse_toml"]


@dataclass(frozen=True)
class MappedString:
    """A string value and, for each of its characters, the offset in the file text it came from.

    ``offsets`` has ``len(value) + 1`` entries, the last being the offset just past the value's
    raw text (before a closing quote); it is ``None`` when the raw text could not be mapped.
    ``start`` is where the raw text begins, kept even then for line numbers.
    """

    value: str
    start: int
    offsets: tuple[int, ...] | None
    source: str = field(repr=False, compare=False)

    def offset(self, index: int) -> int:
        """Text offset of value character ``index`` (the string's start when unmapped)."""
        if self.offsets is None:
            return self.start
        return self.offsets[index]

    def span(self, start: int, end: int) -> Span | None:
        """The text span holding ``value[start:end]``, if it is written there verbatim.

        An empty range gives an empty span at the place a new text would be inserted.
        """
        if self.offsets is None or not 0 <= start <= end <= len(self.value):
            return None
        first = self.offsets[start]
        if start == end:
            return Span(first, first)
        for index in range(start, end):
            if self.offsets[index] != first + (index - start):
                return None
        last = first + (end - start)
        if self.source[first:last] != self.value[start:end]:
            return None
        return Span(first, last)

    @classmethod
    def verbatim(cls, value: str, start: int, source: str) -> MappedString:
        """A value copied unchanged from ``source`` at ``start``."""
        offsets = tuple(range(start, start + len(value) + 1))
        return cls(value, start, offsets, source)


class TomlDocument:
    """A parsed TOML file plus the position of every string value and key in its text.

    Navigate ``root`` with tomlkit's mapping API (the items it returns are the located objects),
    then ask :meth:`string` for a string item's :class:`MappedString`, or :meth:`line_of` for
    the line of any item (for error messages).
    """

    def __init__(self, text: str, path: PurePosixPath) -> None:
        self.text = text
        self.path = path
        # A byte-order mark is not TOML; parse after it and shift every offset by its length.
        self._base = 1 if text.startswith("\ufeff") else 0
        self.root = _parse(text[self._base :], path)
        self._strings: dict[int, MappedString] = {}
        self._keys: dict[int, int] = {}  # id(value item) -> offset of its key
        self._locate()

    def string(self, item: object) -> MappedString | None:
        """Where a string item (as returned by ``root[...]``) sits, or ``None`` if unknown."""
        return self._strings.get(id(item))

    def offset_of(self, item: object) -> int | None:
        """Offset of an item's key, or of the first located string or key inside it."""
        if id(item) in self._keys:
            return self._keys[id(item)]
        located = self._strings.get(id(item))
        if located is not None:
            return located.start
        found = [
            offset for child in _children(item) if (offset := self.offset_of(child)) is not None
        ]
        return min(found) if found else None

    def line_of(self, item: object) -> int | None:
        """1-based line of :meth:`offset_of`, for error messages."""
        offset = self.offset_of(item)
        return None if offset is None else line_col(self.text, offset)[0]

    def error(self, message: str, *items: object) -> InputError:
        """An :class:`InputError` pointing at the line of the first of ``items`` located.

        Pass the offending item first and its container after it: numbers, booleans and dates
        have no recorded position, their key or the strings around them do.
        """
        for item in items:
            line = self.line_of(item)
            if line is not None:
                return InputError(message, self.path.as_posix(), line)
        return InputError(message, self.path.as_posix())

    def _locate(self) -> None:
        body = self.text[self._base :]
        if self.root.as_string() != body:  # tomlkit is lossless; never trust it blindly
            return
        strings: list[tuple[String, str]] = []
        keys: list[tuple[object, int, str]] = []  # (key object, id of its value, raw key)
        _collect(self.root, strings, keys)

        targets: list[tuple[object, str]] = [(item, raw) for item, raw in strings]
        targets += [(key, raw) for key, _, raw in keys]
        try:
            for number, (target, _) in enumerate(targets):
                target._original = f"\x01{number}\x02"  # type: ignore[attr-defined]
            rendered = self.root.as_string()
        finally:
            for target, raw in targets:
                target._original = raw  # type: ignore[attr-defined]

        # Put each raw text back in place of its sentinel, noting where it lands. A target
        # rendered twice (never seen, but tomlkit may share a key object) stays unlocated.
        positions: dict[int, list[int]] = {}
        pieces: list[str] = []
        growth = 0
        previous_end = 0
        for match in re.finditer("\x01([0-9]+)\x02", rendered):
            number = int(match.group(1))
            raw = targets[number][1]
            pieces.append(rendered[previous_end : match.start()])
            pieces.append(raw)
            previous_end = match.end()
            positions.setdefault(number, []).append(self._base + match.start() - growth)
            growth += len(match.group(0)) - len(raw)
        pieces.append(rendered[previous_end:])
        if "".join(pieces) != body:
            return
        located = {number: found[0] for number, found in positions.items() if len(found) == 1}

        for number, (item, raw) in enumerate(strings):
            if number in located:
                self._strings[id(item)] = _map_string(item, raw, located[number], self.text)
        for number, (_, value_id, _) in enumerate(keys, start=len(strings)):
            if number in located:
                self._keys[value_id] = located[number]


def parse_toml(text: str, path: PurePosixPath) -> TomlDocument:
    """Parse ``text`` and locate its strings; raise :class:`InputError` on invalid TOML."""
    return TomlDocument(text, path)


def _parse(text: str, path: PurePosixPath) -> tomlkit.TOMLDocument:
    try:
        document = tomlkit.parse(text)
        document.unwrap()  # out-of-order and dotted tables are merged (and checked) lazily
    except ParseError as exc:
        message = re.sub(r" at line \d+ col \d+$", "", str(exc))
        raise InputError(
            f"invalid TOML: {message} (column {exc.col})", path.as_posix(), exc.line
        ) from exc
    except TOMLKitError as exc:
        raise InputError(f"invalid TOML: {exc}", path.as_posix()) from exc
    return document


def _collect(
    item: object, strings: list[tuple[String, str]], keys: list[tuple[object, int, str]]
) -> None:
    """Every string item and every key of a plain key/value pair below ``item``, in order."""
    if isinstance(item, String):
        raw = getattr(item, "_original", None)
        if isinstance(raw, str):  # else (a tomlkit change) the string stays unlocated
            strings.append((item, raw))
        return
    body = _body(item)
    if body is not None:
        for key, value in body:
            if key is not None and not isinstance(value, (Table, AoT)):
                raw = getattr(key, "_original", None)
                if isinstance(raw, str):
                    keys.append((key, id(value), raw))
            _collect(value, strings, keys)
        return
    for child in _children(item):
        _collect(child, strings, keys)


def _body(item: object) -> Sequence[tuple[object, Item]] | None:
    """The (key, item) body of a document, table or inline table."""
    if isinstance(item, tomlkit.TOMLDocument):
        return item.body
    if isinstance(item, (Table, InlineTable)):
        return item.value.body
    return None


def _children(item: object) -> Iterator[object]:
    body = _body(item)
    if body is not None:
        yield from (value for _, value in body)
    elif isinstance(item, AoT):
        yield from item.body
    elif isinstance(item, Array):
        yield from item
    elif isinstance(item, Mapping):  # an out-of-order table proxy
        yield from item.values()


_ESCAPES = {
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "f": "\f",
    "r": "\r",
    '"': '"',
    "\\": "\\",
    "e": "\x1b",
}
_HEX_LENGTH = {"u": 4, "U": 8, "x": 2}


class _Undecodable(Exception):
    pass


def _map_string(item: String, raw: str, start: int, text: str) -> MappedString:
    """Map the value of a string whose raw text (between the quotes) starts at ``start``."""
    try:
        value, offsets = _decode(raw, item.type)
    except _Undecodable:
        return MappedString(str(item), start, None, text)
    if value != str(item):
        return MappedString(str(item), start, None, text)
    return MappedString(value, start, tuple(start + offset for offset in offsets), text)


def _decode(raw: str, kind: StringType) -> tuple[str, list[int]]:
    """Decode a string's raw text; return the value and each character's raw offset."""
    chars: list[str] = []
    offsets: list[int] = []
    index = 0
    multiline = kind in (StringType.MLB, StringType.MLL)
    if multiline:  # a newline right after the opening delimiter is trimmed
        if raw.startswith("\r\n"):
            index = 2
        elif raw.startswith("\n"):
            index = 1
    if kind in (StringType.SLL, StringType.MLL):
        chars.extend(raw[index:])
        offsets.extend(range(index, len(raw)))
        offsets.append(len(raw))
        return "".join(chars), offsets
    while index < len(raw):
        char = raw[index]
        if char != "\\":
            chars.append(char)
            offsets.append(index)
            index += 1
            continue
        escape = raw[index + 1 : index + 2]
        if escape in _ESCAPES:
            chars.append(_ESCAPES[escape])
            offsets.append(index)
            index += 2
        elif escape in _HEX_LENGTH:
            digits = raw[index + 2 : index + 2 + _HEX_LENGTH[escape]]
            if len(digits) != _HEX_LENGTH[escape] or not re.fullmatch("[0-9A-Fa-f]+", digits):
                raise _Undecodable
            chars.append(chr(int(digits, 16)))
            offsets.append(index)
            index += 2 + len(digits)
        elif multiline:  # line-ending backslash: drop it, the newline and following whitespace
            after = index + 1
            while after < len(raw) and raw[after] in " \t":
                after += 1
            if raw[after : after + 1] != "\n" and raw[after : after + 2] != "\r\n":
                raise _Undecodable
            while after < len(raw) and raw[after] in " \t\r\n":
                after += 1
            index = after
        else:
            raise _Undecodable
    offsets.append(len(raw))
    return "".join(chars), offsets
