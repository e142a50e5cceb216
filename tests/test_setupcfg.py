"""setup.cfg reading: the values setuptools sees, exact spans, lossless edits, clear errors."""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath

import pytest

from greenbump.edit import apply_constraints, set_constraint
from greenbump.errors import InputError
from greenbump.model import Declaration, DependencyFile, FileKind, Include, Style
from greenbump.readers.setupcfg import parse_setup_cfg

PATH = PurePosixPath("setup.cfg")


def parse(text: str) -> DependencyFile:
    return parse_setup_cfg(text, PATH)


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
        assert len(again.declarations) == len(parsed.declarations)
        for position, (before, after) in enumerate(
            zip(parsed.declarations, again.declarations, strict=True)
        ):
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


SETUP_CFG = """\
[metadata]
name = demo
description = install_requires = not-a-requirement

; a comment in INI style
[options]
packages = find:
install_requires =
    requests[socks] >= 2.0 ; python_version < "3.8"
    # a comment line inside the value
    click

    attrs==23.1.0  # inline comment
\t; another comment
    tomli>=2;python_version<"3.11"
    pkg @ https://index.example/pkg-1.0.tar.gz
    split-over \\
      >=1.5
setup_requires = setuptools>=61; wheel
python_requires = >=3.9

[options.extras_require]
test =
    pytest>=8
    coverage[toml]~=7.0
docs = sphinx
windows =
    pywin32>=300; sys_platform == "win32"

[options.entry_points]
console_scripts =
    demo = demo.cli:main
"""


def test_setup_cfg_forms() -> None:
    parsed = assert_lossless(SETUP_CFG)
    assert parsed.kind is FileKind.SETUP_CFG
    decls = by_name(parsed)
    requests = decls["main", "requests"]
    assert requests.constraint == ">= 2.0"
    assert requests.extras == ("socks",)
    assert requests.marker == 'python_version < "3.8"'
    assert (requests.line, requests.column) == (9, 21)
    assert requests.style is Style.PEP508
    click = decls["main", "click"]
    assert click.constraint == "" and click.span is not None and click.editable_version
    assert decls["main", "attrs"].locked == "23.1.0"
    assert decls["main", "attrs"].constraint == "==23.1.0"
    assert decls["main", "tomli"].constraint == ">=2"
    assert decls["main", "pkg"].url == "https://index.example/pkg-1.0.tar.gz"
    assert decls["main", "pkg"].span is None
    joined = decls["main", "split-over"]
    assert joined.constraint == ">=1.5" and joined.line == 18  # where the version starts
    assert decls["build", "setuptools"].constraint == ">=61"
    assert decls["build", "wheel"].constraint == ""
    assert decls["extra:test", "pytest"].constraint == ">=8"
    assert decls["extra:test", "coverage"].extras == ("toml",)
    assert decls["extra:docs", "sphinx"].constraint == ""
    assert decls["extra:windows", "pywin32"].marker == 'sys_platform == "win32"'
    assert ("main", "demo") not in decls
    assert len(parsed.declarations) == 12


def test_inserting_a_version_in_a_one_line_value() -> None:
    decls = by_name(parse(SETUP_CFG))
    edited = set_constraint(SETUP_CFG, decls["build", "wheel"], ">=0.40")
    assert "setup_requires = setuptools>=61; wheel>=0.40\n" in edited


def test_crlf_and_tabs() -> None:
    text = SETUP_CFG.replace("\n", "\r\n")
    parsed = assert_lossless(text)
    assert [(d.name, d.constraint, d.line) for d in parsed.declarations] == [
        (d.name, d.constraint, d.line) for d in parse(SETUP_CFG).declarations
    ]
    edited = apply_constraints(
        text, [(decl, ">=9") for decl in parsed.declarations if decl.editable_version]
    )
    assert edited.count("\r\n") == text.count("\r\n")


def test_key_colon_delimiter_dashes_and_first_line_values() -> None:
    text = "[options]\ninstall-requires: first>=1\n  second<2\n"
    decls = by_name(assert_lossless(text))
    assert decls["main", "first"].constraint == ">=1"
    assert decls["main", "second"].constraint == "<2"
    assert decls["main", "first"].line == 2


def test_file_directive_is_an_include() -> None:
    parsed = parse("[options]\ninstall_requires = file: requirements.in, extra.txt\n")
    assert parsed.declarations == ()
    assert parsed.includes == (
        Include("requirements.in", 2, is_constraint=False),
        Include("extra.txt", 2, is_constraint=False),
    )


def test_unrelated_files_and_sections() -> None:
    assert parse("").declarations == ()
    assert parse("[flake8]\nmax-line-length = 100\n").declarations == ()


def test_unchanged_parse_never_alters_text() -> None:
    before = str(SETUP_CFG)
    parsed = parse(SETUP_CFG)
    assert parsed.text == before == SETUP_CFG


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[options]\ninstall_requires =\n    ok>=1\n    bad>=\n", 4, "invalid requirement 'bad>='"),
        (
            "[options]\ninstall_requires = a>=1; python_version < '3'\n",
            2,
            "splits a one-line value",
        ),
        ("install_requires = a\n", 1, r"\[section\] header"),
        ("[options]\njust words\n", 2, "key = value"),
        ("[options]\na = 1\n[options]\nb = 2\n", 3, "appears twice"),
        ("[options]\ninstall_requires = a\ninstall_requires = b\n", 3, "appears twice"),
        ("[options.extras_require]\nx =\n  ok\n  not a req\n", 4, "invalid requirement"),
    ],
)
def test_errors_point_at_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        parse(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"setup.cfg:{line}: ")


def test_byte_order_mark_and_dangling_backslash() -> None:
    text = "\ufeff[options]\ninstall_requires =\n    a>=1\n    \\\n"
    decls = by_name(assert_lossless(text))
    assert list(decls) == [("main", "a")]
    assert decls["main", "a"].constraint == ">=1"
