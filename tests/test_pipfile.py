"""Pipfile reading: every package form, exact spans, sources, lossless edits, clear errors."""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath

import pytest
from packaging.specifiers import SpecifierSet

from greenbump.edit import apply_constraints, set_constraint
from greenbump.errors import InputError
from greenbump.model import Declaration, DependencyFile, FileKind, Style
from greenbump.readers.pipfile import parse_pipfile
from greenbump.readers.pyproject import pipfile_specifier

PATH = PurePosixPath("Pipfile")


def parse(text: str) -> DependencyFile:
    return parse_pipfile(text, PATH)


def by_name(parsed: DependencyFile) -> dict[tuple[str, str], Declaration]:
    return {(decl.group, decl.name): decl for decl in parsed.declarations}


def assert_lossless(text: str) -> DependencyFile:
    """Edit each editable declaration alone; only its bytes change and the rest re-reads equal."""
    parsed = parse(text)
    assert parsed.text is text
    for decl in parsed.declarations:
        if decl.span is not None:
            assert text[decl.span.start : decl.span.end] == decl.constraint
    for index, decl in enumerate(parsed.declarations):
        if not decl.editable_version:
            continue
        assert decl.span is not None
        edited = set_constraint(text, decl, ">=0.0.1")
        assert edited == text[: decl.span.start] + ">=0.0.1" + text[decl.span.end :]
        again = parse(edited)
        pairs = zip(parsed.declarations, again.declarations, strict=True)
        for position, (before, after) in enumerate(pairs):
            if position == index:
                assert after.constraint == ">=0.0.1"
                assert dataclasses.replace(after, constraint="", span=None, locked=None) == (
                    dataclasses.replace(before, constraint="", span=None, locked=None)
                )
            else:
                assert dataclasses.replace(after, span=None, column=0) == dataclasses.replace(
                    before, span=None, column=0
                )
    return parsed


PIPFILE = """\
[[source]]
name = "main"
url = "https://index.example/simple"
verify_ssl = true

[[source]]
name = "extra"
url = "https://index.example/${EXTRA}/simple"
verify_ssl = true

[packages]
requests = "*"  # anything
django = "==4.2.1"
"quoted-name" = '>=1,<2'
"socks-user[socks]" = "~=1.0"
bare = "2.1"
starred = "3.*"
empty = ""
tabled = {version = ">=1", extras = ["a"], markers = "python_version >= '3.9'"}
platform = {version = "*", sys_platform = "== 'win32'", markers = "os_name == 'nt'"}
gitdep = {git = "https://index.example/repo.git", ref = "v1", editable = true}
pathdep = {path = ".", editable = true}
filedep = {file = "https://index.example/x-1.0.tar.gz"}
noversion = {extras = ["b"]}

[dev-packages]
pytest = ">=8"

[packages.subtable]
version = "==1.0"

[docs]
sphinx = "*"

[requires]
python_version = "3.12"

[scripts]
test = "pytest -q"

[pipenv]
allow_prereleases = false
"""


def test_pipfile_forms() -> None:
    parsed = assert_lossless(PIPFILE)
    assert parsed.kind is FileKind.PIPFILE
    decls = by_name(parsed)
    for decl in parsed.declarations:
        assert decl.style is Style.PIPFILE
    requests = decls["main", "requests"]
    assert requests.constraint == "*" and requests.editable_version
    assert (requests.line, requests.column) == (12, 13)
    assert decls["main", "django"].locked == "4.2.1"
    assert decls["main", "quoted-name"].constraint == ">=1,<2"
    socks = decls["main", "socks-user"]
    assert socks.extras == ("socks",) and socks.constraint == "~=1.0"
    assert decls["main", "bare"].locked == "2.1"  # pipenv reads a bare version as ==
    assert decls["main", "starred"].locked is None
    empty = decls["main", "empty"]
    assert empty.constraint == "" and empty.span is not None and empty.editable_version
    tabled = decls["main", "tabled"]
    assert tabled.constraint == ">=1" and tabled.extras == ("a",)
    assert tabled.marker == "python_version >= '3.9'"
    platform = decls["main", "platform"]
    assert platform.marker == "(os_name == 'nt') and (sys_platform == 'win32')"
    gitdep = decls["main", "gitdep"]
    assert gitdep.url == "https://index.example/repo.git" and gitdep.editable
    assert gitdep.span is None and gitdep.line == 21
    assert decls["main", "pathdep"].url == "."
    assert decls["main", "filedep"].url == "https://index.example/x-1.0.tar.gz"
    noversion = decls["main", "noversion"]
    assert noversion.span is None and noversion.url is None and noversion.constraint == ""
    assert decls["main", "subtable"].locked == "1.0"
    assert decls["dev", "pytest"].constraint == ">=8"
    assert decls["group:docs", "sphinx"].constraint == "*"
    assert ("group:scripts", "test") not in decls
    assert ("group:requires", "python_version") not in decls
    assert parsed.index_urls == ("https://index.example/simple",)
    assert parsed.extra_index_urls == ("https://index.example/${EXTRA}/simple",)


def test_crlf() -> None:
    text = PIPFILE.replace("\n", "\r\n")
    parsed = assert_lossless(text)
    assert [(d.name, d.constraint, d.line) for d in parsed.declarations] == [
        (d.name, d.constraint, d.line) for d in parse(PIPFILE).declarations
    ]
    edited = apply_constraints(
        text, [(decl, "==9") for decl in parsed.declarations if decl.editable_version]
    )
    assert edited.count("\r\n") == text.count("\r\n")


def test_no_sources_and_empty_sections() -> None:
    parsed = parse("[packages]\n\n[dev-packages]\n")
    assert parsed.declarations == () and parsed.index_urls == ()


def test_unchanged_parse_never_alters_text() -> None:
    before = str(PIPFILE)
    assert parse(PIPFILE).text == before == PIPFILE


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[packages]\n\ngeckoboard.py ">=1.0.0, <2.0"\n', 3, "invalid TOML"),
        ('[packages]\nx = "==0 0"\n', 2, "invalid version specifier"),
        ('[packages]\nx = ">="\n', 2, "invalid version specifier"),
        ("[packages]\nx = 1\n", 2, "expected a version string or a table"),
        ('[packages]\n"_bad" = "*"\n', 2, "not a valid package name"),
        ('[packages]\nx = {version = "*", extras = "a"}\n', 2, "extras must be"),
        ("packages = 1\n", 1, r"\[packages\] must be a table"),
        ('[[source]]\nname = "x"\n', 2, "needs a url"),
    ],
)
def test_errors_point_at_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        parse(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"Pipfile:{line}: ")


@pytest.mark.parametrize(
    ("written", "meaning"),
    [
        ("*", ""),
        ("", ""),
        ("==1.2", "==1.2"),
        ("1.2", "==1.2"),
        ("3.*", "==3.*"),
        (">=1,<2", ">=1,<2"),
    ],
)
def test_pipfile_specifier(written: str, meaning: str) -> None:
    assert pipfile_specifier(written) == SpecifierSet(meaning)
