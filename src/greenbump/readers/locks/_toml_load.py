"""Parsing a TOML lock fast enough: the standard parser, minus the lines it is slowest at.

Most of a lock's bytes are file records, one inline table a line::

    { url = "https://...", hash = "sha256:...", size = 123, upload-time = "2024-..." },

``tomllib`` reads strings one character at a time in Python, so these lines cost most of the
parse (about 0.15-0.25 s for a 1 MB ``uv.lock``, depending on the machine). Writing our own TOML
parser would be a second parser to keep correct; instead, before parsing, each line that *is*
such a record, in a subset of TOML simple enough that one regular expression both validates it
and reads it (bare keys, no repeated key, values that are escape-free basic strings, decimal
integers or booleans), is set aside: its inline table is replaced by a placeholder inline table
``{ "\\u0000" = N }``, padded with a comment to the same length. The parser then validates
everything else exactly as before, and each placeholder in the result is swapped for the table
read from its line. The output is identical to parsing the original text (tests check this on
every lock in the corpus and on generated records), and so are error lines and columns, because
every line keeps its length.

Why this is safe: a set-aside line holds one complete, valid inline table, and a placeholder is
one too, in the same place, so the document is valid after the swap exactly when it was before.
The swap is skipped for a text with multi-line strings (a line inside one is not a value) or
with a ``\\u0000`` escape (a real key could then look like a placeholder).

What it buys, measured on the corpus: about 40% off the parse of a ``uv.lock`` (whose records
are long), a few percent on Poetry and PDM locks, nothing on pylock files (nested tables), about
15% over all 8 MB. Compiled ``tomli`` is some three times faster than ``tomllib`` on its own, so
the step is skipped when that is the parser. It is self-contained: ``set_aside=False`` turns it
off.
"""

from __future__ import annotations

import importlib
import re
from pathlib import PurePosixPath
from types import ModuleType
from typing import Any

from greenbump.errors import InputError

__all__ = ["TOML_PARSER", "load_toml"]


def _parser() -> ModuleType:
    """``tomli`` when installed, else ``tomllib`` (the same parser, vendored into Python 3.11).

    ``tomli`` is a dependency on Python 3.10; elsewhere it is preferred when present because its
    compiled (mypyc) wheels parse about three times faster. Imported by name so type checking
    does not depend on which one is installed.
    """
    try:
        return importlib.import_module("tomli")
    except ModuleNotFoundError:
        return importlib.import_module("tomllib")


TOML_PARSER = _parser()
_TOML = TOML_PARSER
_COMPILED = not str(getattr(_TOML, "__file__", "")).endswith(".py")

_ERROR_PLACE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")

_KEY = r"[A-Za-z0-9_-]+"
_SCALAR = r'"[^"\\\x00-\x08\x0a-\x1f\x7f]*"|0|[1-9][0-9]*|true|false'
_PAIR = rf"{_KEY}[ \t]*=[ \t]*(?:{_SCALAR})"
# "\n" first: the regex engine jumps from newline to newline (the text gets one prepended).
_RECORD_LINE = re.compile(
    rf"\n[ \t]*(?:{_KEY}[ \t]*=[ \t]*)?"
    rf"(\{{[ \t]*(?:{_PAIR}[ \t]*,[ \t]*)*{_PAIR}[ \t]*\}})"
    r"([ \t]*,?)[ \t]*(?=\r?\n|$)"
)
_RECORD_PAIR = re.compile(rf"({_KEY})[ \t]*=[ \t]*({_SCALAR})")
_PLACEHOLDER = "\x00"


def load_toml(text: str, path: PurePosixPath, *, set_aside: bool = not _COMPILED) -> dict[str, Any]:
    """Parse ``text`` as TOML, turning a syntax error into an :class:`InputError` with its line.

    ``set_aside`` takes the fast path described above (by default when the parser is not
    compiled; tests force it to compare both paths whatever is installed).
    """
    body = text[1:] if text.startswith("\ufeff") else text
    tables: list[dict[str, object]] = []
    if set_aside and not any(mark in body for mark in ('"""', "'''", "\\u0000", "\\U0000")):
        body = _set_aside(body, tables)
    try:
        doc: dict[str, Any] = _TOML.loads(body)
    except _TOML.TOMLDecodeError as exc:
        message = str(exc)
        place = _ERROR_PLACE.search(message)
        if place is not None:
            line = int(place.group(1))
            message = f"{message[: place.start()]} (column {place.group(2)})"
        else:  # "(at end of document)"
            message = message.replace(" (at end of document)", "") + " at end of file"
            line = text.count("\n") + 1
        raise InputError(f"invalid TOML: {message}", path, line) from exc
    if tables:
        _put_back(doc, tables)
    return doc


def _set_aside(text: str, tables: list[dict[str, object]]) -> str:
    """``text`` with record lines' inline tables replaced by numbered placeholders."""
    pieces: list[str] = []
    done = 0  # in ``text``; match offsets are one more (the prepended "\n")
    for match in _RECORD_LINE.finditer("\n" + text):
        table: dict[str, object] = {}
        for key, raw in _RECORD_PAIR.findall(match.group(1)):
            if key in table:
                break  # a repeated key: leave the line for the parser to report
            table[key] = _scalar(raw)
        else:
            placeholder = f'{{ "\\u0000" = {len(tables)} }}{match.group(2)} #'
            start, end = match.start(1) - 1, match.end(2) - 1
            padding = end - start - len(placeholder)
            if padding < 0:
                continue
            tables.append(table)
            pieces += (text[done:start], placeholder, "-" * padding)
            done = end
    pieces.append(text[done:])
    return "".join(pieces)


def _scalar(raw: str) -> object:
    if raw[0] == '"':
        return raw[1:-1]  # no escapes: the text is the value
    if raw in ("true", "false"):
        return raw == "true"
    return int(raw)


def _put_back(node: object, tables: list[dict[str, object]]) -> None:
    """Replace every placeholder table below ``node`` by the table it stands for."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict) and len(value) == 1 and _PLACEHOLDER in value:
                node[key] = tables[value[_PLACEHOLDER]]
            elif isinstance(value, dict | list):
                _put_back(value, tables)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, dict) and len(value) == 1 and _PLACEHOLDER in value:
                node[index] = tables[value[_PLACEHOLDER]]
            elif isinstance(value, dict | list):
                _put_back(value, tables)
