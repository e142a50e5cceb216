"""Read ``setup.cfg`` requirements (``[options]`` and ``[options.extras_require]``) with spans.

:mod:`configparser` cannot be used: it returns values with their positions, indentation and
comment lines gone, so an edit could not be mapped back to the text without re-serializing the
whole file (which loses comments, case and spacing). This module scans the lines itself, following
the rules setuptools' reading of the file implies, so it sees exactly the values setuptools sees:

* ``[section]`` headers; ``key = value`` or ``key: value`` options (duplicates are errors, as in
  configparser's strict mode);
* a value continues on following lines indented deeper than its key; blank lines and comment lines
  (first non-blank character ``#`` or ``;``) inside it are skipped;
* a multi-line requirement list has one requirement per line; a one-line value is split at ``;``
  (setuptools does so, which is why a marker needs the multi-line form);
* within a requirement, `` #`` starts a comment and a trailing backslash joins the next line
  (setuptools' requirement-string rules);
* ``file: a.txt, b.txt`` reads requirements from other files: recorded as includes.

``install_requires`` is group ``main``, ``setup_requires`` ``build`` and each extra ``extra:NAME``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from greenbump.errors import InputError
from greenbump.model import Declaration, DependencyFile, FileKind, Include
from greenbump.readers.pyproject import pep508_declaration
from greenbump.readers.toml_spans import MappedString

__all__ = ["parse_setup_cfg"]

_SECTION = re.compile(r"\[(?P<header>.+)\]")
_OPTION = re.compile(r"(?P<option>.*?)\s*(?P<delimiter>[=:])\s*(?P<value>.*)$")
_OPTIONS = {"install_requires": "main", "setup_requires": "build"}


@dataclass
class _Option:
    """One option's value: its lines as (text offset, stripped content), comment lines dropped."""

    section: str
    key: str
    line: int
    first: tuple[int, str]
    continuation: list[tuple[int, str]] = field(default_factory=list)


def parse_setup_cfg(text: str, path: PurePosixPath) -> DependencyFile:
    """Parse a ``setup.cfg``; raise :class:`InputError` with a line on invalid content."""
    declarations: list[Declaration] = []
    includes: list[Include] = []
    for option in _scan(text, path):
        key = option.key.lower().replace("-", "_")
        if option.section == "options" and key in _OPTIONS:
            group = _OPTIONS[key]
        elif option.section == "options.extras_require":
            group = f"extra:{option.key}"
        else:
            continue
        value = _value_text(option)
        if value.startswith("file:"):
            for target in value[len("file:") :].split(","):
                if target.strip():
                    includes.append(Include(target.strip(), option.line, is_constraint=False))
            continue
        for mapped in _requirements(option, text):
            try:
                decl = pep508_declaration(mapped, path, group)
            except InputError as exc:
                if option.continuation or ";" not in option.first[1]:
                    raise
                raise InputError(
                    f"{exc.message} (setuptools splits a one-line value at ';': put a requirement "
                    "with a marker on its own indented line)",
                    exc.path,
                    exc.line,
                ) from exc
            declarations.append(decl)
    return DependencyFile(
        path=path,
        kind=FileKind.SETUP_CFG,
        text=text,
        declarations=tuple(declarations),
        includes=tuple(includes),
    )


def _scan(text: str, path: PurePosixPath) -> list[_Option]:
    """Every option of the file, in order, with the places its value lines sit."""
    options: list[_Option] = []
    seen_sections: set[str] = set()
    seen_options: set[tuple[str, str]] = set()
    section: str | None = None
    current: _Option | None = None
    option_indent = 0
    offset = 0
    for number, whole in enumerate(text.split("\n"), start=1):
        line_start = offset
        offset += len(whole) + 1
        physical = whole
        if number == 1 and whole.startswith("\ufeff"):  # a byte-order mark is not content
            physical = whole[1:]
            line_start += 1
        content = physical.removesuffix("\r")
        stripped = content.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        indent = len(content) - len(content.lstrip())
        if current is not None and indent > option_indent:
            current.continuation.append((line_start + indent, stripped))
            continue
        current = None
        header = _SECTION.match(stripped)
        if header is not None:
            section = header.group("header")
            if section in seen_sections:
                raise InputError(f"section [{section}] appears twice", path.as_posix(), number)
            seen_sections.add(section)
            continue
        if section is None:
            raise InputError("expected a [section] header first", path.as_posix(), number)
        match = _OPTION.match(stripped)
        if match is None or not match.group("option"):
            raise InputError(f"expected 'key = value', got {stripped!r}", path.as_posix(), number)
        key = match.group("option")
        if (section, key) in seen_options:
            raise InputError(
                f"option {key!r} appears twice in [{section}]", path.as_posix(), number
            )
        seen_options.add((section, key))
        value_start = line_start + indent + match.start("value")
        current = _Option(section, key, number, (value_start, match.group("value").rstrip()))
        option_indent = indent
        options.append(current)
    return options


def _value_text(option: _Option) -> str:
    lines = [option.first[1], *(content for _, content in option.continuation)]
    return "\n".join(lines).strip()


def _requirements(option: _Option, text: str) -> list[MappedString]:
    """The requirement strings of one value, each mapped to where its characters sit."""
    if not option.continuation:  # a one-line value: setuptools splits it at ";"
        start, content = option.first
        pieces: list[MappedString] = []
        position = 0
        for chunk in content.split(";"):
            requirement = chunk.partition(" #")[0]
            lead = len(requirement) - len(requirement.lstrip())
            if requirement.strip():
                at = start + position + lead
                pieces.append(MappedString.verbatim(requirement.strip(), at, text))
            position += len(chunk) + 1
        return pieces

    lines = [option.first] if option.first[1] else []
    lines += option.continuation
    requirements: list[MappedString] = []
    pending: tuple[list[str], list[int]] | None = None  # a requirement continued by "\"
    for start, line in lines:
        content = line.partition(" #")[0].rstrip()
        if not content:
            continue
        chars, offsets = pending if pending is not None else ([], [])
        chars.extend(content)
        offsets.extend(range(start, start + len(content)))
        if content.endswith("\\"):
            chars.pop()
            offsets.pop()
            pending = (chars, offsets)
            continue
        pending = None
        requirements.append(_mapped(chars, offsets, text))
    if pending is not None and "".join(pending[0]).strip():
        requirements.append(_mapped(*pending, text))
    return requirements


def _mapped(chars: list[str], offsets: list[int], text: str) -> MappedString:
    value = "".join(chars).strip()
    lead = len("".join(chars)) - len("".join(chars).lstrip())
    kept = offsets[lead : lead + len(value)]
    end = kept[-1] + 1 if kept else (offsets[0] if offsets else 0)
    return MappedString(value, kept[0] if kept else end, (*kept, end), text)
