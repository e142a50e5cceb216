"""Pipfile.lock JSON: parse with :mod:`json`, then find each package's strings by a token scan.

Why hand-written: :mod:`json` reports no positions of the values it decodes, and its scanner
hooks run on decoded values only. After :func:`json.loads` has validated the document, one regex
pass over the string and punctuation tokens (numbers and literals contain neither, so they are
skipped) tracks the key path ``section -> package -> key``. That is all a Pipfile.lock needs, it
touches each token once, and the located text is checked against the decoded value before it is
trusted: a version written with ``\\u`` escapes is reported but not given a span.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from greenbump.errors import InputError
from greenbump.model import Span

__all__ = ["Located", "load_json", "locate_packages"]

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],]')


def load_json(text: str, path: PurePosixPath) -> Any:
    """Parse ``text`` as JSON, turning a syntax error into an :class:`InputError` with its line."""
    body = text[1:] if text.startswith("\ufeff") else text
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", path, exc.lineno) from exc
    except RecursionError as exc:
        raise InputError("invalid JSON: nested too deeply", path) from exc


@dataclass(frozen=True)
class Located:
    """Where a package sits in a section: its key (with quotes) and its ``version`` value."""

    key: Span
    version: Span | None


def locate_packages(text: str) -> tuple[dict[str, int], dict[tuple[str, str], Located]]:
    """Where each section key starts, and where each ``(section, package)``'s strings are.

    Keys are decoded. Must only be given text that :func:`load_json` accepted. A key repeated in
    an object is resolved like :mod:`json` does: the last one wins.
    """
    in_object: list[bool] = []  # one per open container
    keys: list[str] = []  # raw key (with quotes) currently open in each container
    expect_key = False
    sections: dict[str, int] = {}
    found: dict[tuple[str, str], Located] = {}
    for match in _TOKEN.finditer(text):
        first = text[match.start()]
        if first == '"':
            depth = len(in_object)
            if expect_key:
                keys[-1] = match.group()
                expect_key = False
                if depth == 1:
                    sections[_decode(match.group())] = match.start()
                elif depth == 2 and in_object[0] and in_object[1]:
                    place = (_decode(keys[0]), _decode(match.group()))
                    found[place] = Located(Span(match.start(), match.end()), None)
            elif all(in_object) and ((depth == 3 and keys[2] == '"version"') or depth == 2):
                # a package's "version", or a whole entry written as a version string
                place = (_decode(keys[0]), _decode(keys[1]))
                if place in found:
                    span = Span(match.start() + 1, match.end() - 1)
                    found[place] = Located(found[place].key, span)
        elif first == "{":
            in_object.append(True)
            keys.append("")
            expect_key = True
        elif first == "[":
            in_object.append(False)
            keys.append("")
            expect_key = False
        elif first == ",":
            expect_key = in_object[-1]
        else:  # closing bracket or brace
            in_object.pop()
            keys.pop()
            expect_key = False
    return sections, found


def _decode(raw: str) -> str:
    if "\\" not in raw:
        return raw[1:-1]
    decoded: str = json.loads(raw)
    return decoded
