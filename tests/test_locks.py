"""Lock-file readers: uv.lock, poetry.lock, Pipfile.lock, pdm.lock and PEP 751 pylock.toml.

Small fixtures written here cover each format's sources, groups, hashes and odd corners (CRLF,
packages without a version, VCS and path entries, escapes, look-alike lines inside strings);
every span must index exactly its constraint, and editing one changes only its bytes and
re-parses. The fast-parse path of :mod:`greenbump.readers.locks._toml_load` is checked against
the plain parser, on generated documents and on every real lock. The corpus test at the end runs
the readers over every lock file in ``../shared/corpus/locks`` (when present).
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenbump.edit import apply_constraints, set_constraint
from greenbump.errors import InputError
from greenbump.model import Declaration, DependencyFile, FileKind, Span, Style
from greenbump.readers import parse
from greenbump.readers.locks import (
    detect_lock_kind,
    parse_pdm_lock,
    parse_pipfile_lock,
    parse_poetry_lock,
    parse_pylock,
    parse_uv_lock,
)
from greenbump.readers.locks._toml_load import TOML_PARSER, load_toml

INDEX = "https://index.example/simple"
FILES = "https://files.example/packages"
SHA_A = "sha256:" + "a" * 64
SHA_B = "sha256:" + "b" * 64
SHA_C = "sha256:" + "c" * 64
UPLOADED = 'upload-time = "2024-01-01T00:00:00Z"'


def spans_hold(dep_file: DependencyFile) -> None:
    """Every span indexes its constraint, and line/column point at the span's start."""
    for decl in dep_file.declarations:
        assert decl.style is Style.LOCKED
        if decl.span is None:
            continue
        assert dep_file.text[decl.span.start : decl.span.end] == decl.constraint
        before = dep_file.text[: decl.span.start]
        assert decl.line == before.count("\n") + 1
        assert decl.column == decl.span.start - (before.rfind("\n") + 1) + 1


def edits_round_trip(dep_file: DependencyFile, kind: FileKind, sample: int = 0) -> None:
    """Editing each editable entry changes only its bytes, and the result re-parses to it.

    With ``sample``, only about that many entries are edited one by one (all are edited at once).
    """
    editable = [d for d in dep_file.declarations if d.editable_version]
    step = max(1, len(editable) // sample) if sample else 1
    for number, decl in enumerate(editable[::step]):
        assert decl.span is not None
        new = ("==" if decl.constraint.startswith("==") else "") + f"99.{number}.0"
        text = set_constraint(dep_file.text, decl, new)
        assert text[: decl.span.start] == dep_file.text[: decl.span.start]
        assert text[decl.span.start + len(new) :] == dep_file.text[decl.span.end :]
        again = parse(text, dep_file.path, kind)
        assert len(again.declarations) == len(dep_file.declarations)
        index = dep_file.declarations.index(decl)
        assert again.declarations[index].constraint == new
        assert again.declarations[index].name == decl.name
        spans_hold(again)
    if editable:
        changes = [(d, "1.0") for d in editable if not d.constraint.startswith("==")]
        changes += [(d, "==1.0") for d in editable if d.constraint.startswith("==")]
        again = parse(apply_constraints(dep_file.text, changes), dep_file.path, kind)
        assert [d.constraint for d in again.declarations if d.editable_version] == [
            "==1.0" if d.constraint.startswith("==") else "1.0" for d in editable
        ]


def by_name(dep_file: DependencyFile) -> dict[str, Declaration]:
    return {d.name: d for d in dep_file.declarations}


def at(text: str, needle: str, occurrence: int = 0) -> tuple[int, int]:
    """(line, column) of the ``occurrence``-th ``needle`` in ``text``."""
    offset = -1
    for _ in range(occurrence + 1):
        offset = text.index(needle, offset + 1)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def error(reader: object, text: str, path: str) -> InputError:
    assert callable(reader)
    with pytest.raises(InputError) as caught:
        reader(text, PurePosixPath(path))
    assert caught.value.path == PurePosixPath(path)
    assert caught.value.line is not None
    return caught.value


# -- uv.lock ---------------------------------------------------------------------------------------

UV_LOCK = f"""\
version = 1
revision = 3
requires-python = ">=3.10"

[[package]]
name = "anyio"
version = "4.6.0"
source = {{ registry = "{INDEX}" }}
dependencies = [
    {{ name = "idna" }},
    {{ name = "exceptiongroup", marker = "python_full_version < '3.11'" }},
]
sdist = {{ url = "{FILES}/anyio-4.6.0.tar.gz", hash = "{SHA_A}", size = 1, {UPLOADED} }}
wheels = [
    {{ url = "{FILES}/anyio-4.6.0-py3-none-any.whl", hash = "{SHA_B}", size = 2 }},
]

[package.optional-dependencies]
version = [
    {{ name = "trio" }},
]

[[package]]
name = "demo"
source = {{ editable = "." }}
dependencies = [
    {{ name = "anyio" }},
]

[package.metadata]
requires-dist = [{{ name = "anyio", specifier = ">=4" }}]

[[package]]
name = "idna"
version = "3.10"
source = {{ registry = "{INDEX}" }}

[[package]]
name = "stubs"
version = "0"
source = {{ git = "https://git.example/org/stubs.git#0123abc" }}

[[package]]
name = "local-wheel"
version = "1.0"
source = {{ path = "wheels/local_wheel-1.0-py3-none-any.whl" }}

[[package]]
name = "tool"
version = "2.0"
source = {{ virtual = "tools/tool" }}
"""


def test_uv_lock_entries() -> None:
    dep_file = parse_uv_lock(UV_LOCK, PurePosixPath("uv.lock"))
    assert dep_file.kind is FileKind.UV_LOCK
    assert [d.name for d in dep_file.declarations] == [
        "anyio",
        "demo",
        "idna",
        "stubs",
        "local-wheel",
        "tool",
    ]
    decls = by_name(dep_file)
    anyio = decls["anyio"]
    assert (anyio.constraint, anyio.locked, anyio.group, anyio.url) == (
        "4.6.0",
        "4.6.0",
        "lock",
        None,
    )
    assert (anyio.line, anyio.column) == at(UV_LOCK, "4.6.0")
    assert anyio.hashes == (SHA_A, SHA_B)
    assert anyio.editable_version
    # the project itself: no version, editable, not version-editable
    demo = decls["demo"]
    assert (demo.constraint, demo.span, demo.locked, demo.url, demo.editable) == (
        "",
        None,
        None,
        ".",
        True,
    )
    assert demo.line == at(UV_LOCK, '"demo"')[0]
    stubs = decls["stubs"]
    assert (stubs.url, stubs.span, stubs.locked) == (
        "git+https://git.example/org/stubs.git#0123abc",
        None,
        "0",
    )
    assert decls["local-wheel"].url == "wheels/local_wheel-1.0-py3-none-any.whl"
    assert (decls["tool"].url, decls["tool"].editable) == ("tools/tool", False)
    assert all(d.span is None for d in dep_file.declarations if d.name not in {"anyio", "idna"})
    spans_hold(dep_file)
    edits_round_trip(dep_file, FileKind.UV_LOCK)


def test_uv_lock_crlf() -> None:
    text = UV_LOCK.replace("\n", "\r\n")
    dep_file = parse_uv_lock(text, PurePosixPath("uv.lock"))
    spans_hold(dep_file)
    assert by_name(dep_file)["idna"].constraint == "3.10"
    edits_round_trip(dep_file, FileKind.UV_LOCK)
    edited = set_constraint(text, by_name(dep_file)["idna"], "3.11")
    assert edited.count("\r\n") == text.count("\r\n")
    assert edited.replace('"3.11"', '"3.10"') == text


def test_uv_lock_without_packages() -> None:
    dep_file = parse_uv_lock("version = 1\nrevision = 3\n", PurePosixPath("uv.lock"))
    assert dep_file.declarations == ()


def test_uv_lock_entry_without_name_is_an_error() -> None:
    text = '[[package]]\nname = "a"\nversion = "1"\n\n[[package]]\nversion = "2"\n'
    exc = error(parse_uv_lock, text, "uv.lock")
    assert exc.line == 5
    assert "no `name`" in exc.message


def test_uv_lock_version_must_be_a_string() -> None:
    exc = error(parse_uv_lock, '\n[[package]]\nname = "a"\nversion = 1\n', "uv.lock")
    assert (exc.line, "`version` must be a string" in exc.message) == (2, True)


def test_invalid_toml_reports_its_line() -> None:
    text = '[[package]]\nname = "a"\nversion = "1\n'
    exc = error(parse_uv_lock, text, "sub/uv.lock")
    assert exc.line == 3
    assert str(exc).startswith("sub/uv.lock:3: invalid TOML:")
    exc = error(parse_poetry_lock, '[[package]]\nname = "a"\nname = "b"\n', "poetry.lock")
    assert exc.line == 3
    exc = error(parse_uv_lock, "a = [1,\n", "uv.lock")
    assert exc.line is not None


# -- where the scan must not be fooled -------------------------------------------------------------


def test_look_alike_lines_in_multiline_strings_are_ignored() -> None:
    text = (
        '[[package]]\nname = "a"\ndescription = """\n'
        '[[package]]\nname = "a"\nversion = "9.9"\n"""\nversion = "1.0"\n'
        "[[package]]\nname = 'b'\nnote = '''\nversion = \"2.0\"\n'''\nversion = '2.0'\n"
    )
    dep_file = parse_poetry_lock(text, PurePosixPath("poetry.lock"))
    spans_hold(dep_file)
    a, b = dep_file.declarations
    assert (a.constraint, a.line) == ("1.0", 8)
    assert (b.constraint, b.line) == ("2.0", 14)
    edits_round_trip(dep_file, FileKind.POETRY_LOCK)


def test_version_keys_of_subtables_are_not_the_package_version() -> None:
    text = (
        '[[package]]\nname = "a"\n\n[package.dependencies]\nversion = "^1.0"\n\n'
        '[[package]]\nname = "b"\nversion = "2.0"\n\n[package.extras]\nversion = ["x"]\n'
    )
    dep_file = parse_poetry_lock(text, PurePosixPath("poetry.lock"))
    a, b = dep_file.declarations
    assert (a.constraint, a.span, a.locked) == ("", None, None)
    assert (b.constraint, b.line) == ("2.0", 9)
    spans_hold(dep_file)


def test_escaped_or_unusual_versions_get_no_span() -> None:
    text = (
        '[[ package ]]  # spaced header\nname = "a"\nversion = "1.0\\u002e1"\n\n'
        '[[package]]\nname = "b"\n"version" = "2.0"\n\n'
        "[[package]]\nname = 'c'\nversion = '3.0'\n"
    )
    dep_file = parse_pdm_lock(text, PurePosixPath("pdm.lock"))
    a, b, c = dep_file.declarations
    assert (a.constraint, a.span, a.locked) == ("1.0.1", None, "1.0.1")
    assert (b.constraint, b.span, b.locked) == ("2.0", None, "2.0")
    assert (c.constraint, c.locked) == ("3.0", "3.0")
    assert c.span is not None
    spans_hold(dep_file)


def test_nested_array_at_line_start_never_misplaces_a_span() -> None:
    text = (
        '[[package]]\nname = "a"\nmatrix = [\n["x", "y"],\n]\nversion = "1.0"\n\n'
        '[[package]]\nname = "b"\nversion = "2.0"\n'
    )
    dep_file = parse_uv_lock(text, PurePosixPath("uv.lock"))
    spans_hold(dep_file)
    a, b = dep_file.declarations
    assert a.locked == "1.0"  # the scan lost track of it: no span, but the value is right
    assert b.span is not None


def test_inline_package_array_has_no_positions() -> None:
    text = 'version = 1\npackage = [{ name = "a", version = "1.0" }]\n'
    (decl,) = parse_uv_lock(text, PurePosixPath("uv.lock")).declarations
    assert (decl.name, decl.locked, decl.span, decl.line) == ("a", "1.0", None, 2)


def test_bom_is_allowed() -> None:
    text = '\ufeff[[package]]\nname = "a"\nversion = "1.0"\n'
    dep_file = parse_uv_lock(text, PurePosixPath("uv.lock"))
    spans_hold(dep_file)
    assert dep_file.declarations[0].span == Span(text.index("1.0"), text.index("1.0") + 3)


# -- poetry.lock -----------------------------------------------------------------------------------

POETRY_LOCK = f"""\
# This file is automatically @generated by Poetry 2.1.1 and should not be changed by hand.

[[package]]
name = "certifi"
version = "2024.8.30"
description = "Mozilla's CA bundle."
optional = false
python-versions = ">=3.6"
groups = ["main"]
files = [
    {{file = "certifi-2024.8.30-py3-none-any.whl", hash = "{SHA_A}"}},
    {{file = "certifi-2024.8.30.tar.gz", hash = "{SHA_B}"}},
]

[[package]]
name = "colorama"
version = "0.4.6"
description = "Cross-platform colored terminal text."
optional = false
python-versions = "*"
groups = ["dev", "test"]
markers = "sys_platform == \\"win32\\""
files = []

[[package]]
name = "mylib"
version = "0.1.0"
description = ""
optional = false
python-versions = "^3.9"
groups = ["main"]
files = []
develop = true

[package.source]
type = "directory"
url = "libs/mylib"

[[package]]
name = "toolbox"
version = "1.2.0"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = []

[package.source]
type = "git"
url = "https://git.example/org/toolbox.git"
reference = "main"
resolved_reference = "abc123"

[[package]]
name = "private"
version = "3.0"
description = ""
optional = false
python-versions = "*"
groups = ["main", "dev"]
files = []

[package.source]
type = "legacy"
url = "{INDEX}"
reference = "internal"

[metadata]
lock-version = "2.1"
python-versions = "^3.9"
content-hash = "0000"
"""


def test_poetry_lock_entries() -> None:
    dep_file = parse_poetry_lock(POETRY_LOCK, PurePosixPath("poetry.lock"))
    decls = by_name(dep_file)
    certifi = decls["certifi"]
    assert (certifi.constraint, certifi.group, certifi.hashes) == (
        "2024.8.30",
        "lock",
        (SHA_A, SHA_B),
    )
    colorama = decls["colorama"]
    assert (colorama.group, colorama.marker) == ("lock:dev,test", 'sys_platform == "win32"')
    mylib = decls["mylib"]
    assert (mylib.url, mylib.editable, mylib.span, mylib.locked) == (
        "libs/mylib",
        True,
        None,
        "0.1.0",
    )
    toolbox = decls["toolbox"]
    assert (toolbox.url, toolbox.span) == ("git+https://git.example/org/toolbox.git@abc123", None)
    private = decls["private"]  # from a private index: still version-editable
    assert (private.url, private.group, private.editable_version) == (None, "lock", True)
    spans_hold(dep_file)
    edits_round_trip(dep_file, FileKind.POETRY_LOCK)


def test_poetry_lock_1x_categories_and_metadata_files() -> None:
    text = f"""\
[[package]]
category = "main"
description = ""
name = "Flask"
optional = false
python-versions = "*"
version = "1.0"

[[package]]
category = "dev"
description = ""
name = "pytest"
optional = false
python-versions = "*"
version = "7.0"

[metadata]
content-hash = "0000"
lock-version = "1.1"
python-versions = "^3.8"

[metadata.files]
Flask = [
    {{file = "Flask-1.0.tar.gz", hash = "{SHA_A}"}},
]
pytest = ["{SHA_B}", "{SHA_C}"]
"""
    dep_file = parse_poetry_lock(text, PurePosixPath("poetry.lock"))
    flask, pytest_ = dep_file.declarations
    assert (flask.name, flask.group, flask.hashes) == ("Flask", "lock", (SHA_A,))
    assert (pytest_.group, pytest_.hashes) == ("lock:dev", (SHA_B, SHA_C))
    assert (flask.line, flask.column) == at(text, "1.0")
    spans_hold(dep_file)
    edits_round_trip(dep_file, FileKind.POETRY_LOCK)


def test_poetry_lock_with_empty_inline_package_array() -> None:
    text = 'package = []\n\n[metadata]\nlock-version = "2.0"\ncontent-hash = "0"\n'
    assert parse_poetry_lock(text, PurePosixPath("poetry.lock")).declarations == ()


def test_package_must_be_an_array_of_tables() -> None:
    exc = error(parse_poetry_lock, '\n\npackage = "x"\n', "poetry.lock")
    assert exc.line == 3


# -- Pipfile.lock ----------------------------------------------------------------------------------

PIPFILE_LOCK = {
    "_meta": {
        "hash": {"sha256": "0" * 64},
        "pipfile-spec": 6,
        "requires": {"python_version": "3.12"},
        "sources": [
            {"name": "main", "url": INDEX, "verify_ssl": True},
            {"name": "other", "url": "https://other.example/simple", "verify_ssl": True},
        ],
    },
    "default": {
        "requests": {
            "extras": ["socks"],
            "hashes": [SHA_A, SHA_B],
            "index": "main",
            "markers": "python_version >= '3.8'",
            "version": "==2.32.3",
        },
        "legacy": {"hashes": [SHA_C], "version": "===1.0.0"},
        "mypkg": {"editable": True, "path": "."},
        "vcspkg": {"git": "https://git.example/org/vcspkg.git", "ref": "abc123"},
        "odd": {"version": "==1.\u0030"},
    },
    "develop": {
        "requests": {"hashes": [SHA_A], "version": "==2.32.3"},
        "pytest": {"hashes": [], "version": "==8.3.3"},
    },
    "docs": {"sphinx": {"version": "==8.0.0"}},
}


def pipfile_lock_text(data: object = PIPFILE_LOCK, indent: int = 4) -> str:
    return json.dumps(data, indent=indent, sort_keys=False) + "\n"


def test_pipfile_lock_entries() -> None:
    text = pipfile_lock_text()
    dep_file = parse_pipfile_lock(text, PurePosixPath("Pipfile.lock"))
    assert dep_file.index_urls == (INDEX,)
    assert dep_file.extra_index_urls == ("https://other.example/simple",)
    assert [(d.name, d.group) for d in dep_file.declarations] == [
        ("requests", "lock"),
        ("legacy", "lock"),
        ("mypkg", "lock"),
        ("vcspkg", "lock"),
        ("odd", "lock"),
        ("requests", "lock:dev"),
        ("pytest", "lock:dev"),
        ("sphinx", "lock:docs"),
    ]
    requests, legacy, mypkg, vcspkg, odd, dev_requests, *_ = dep_file.declarations
    assert (requests.constraint, requests.locked) == ("==2.32.3", "2.32.3")
    assert (requests.hashes, requests.extras) == ((SHA_A, SHA_B), ("socks",))
    assert requests.marker == "python_version >= '3.8'"
    assert (requests.line, requests.column) == at(text, "==2.32.3")
    assert (dev_requests.line, dev_requests.column) == at(text, "==2.32.3", 1)
    assert (legacy.constraint, legacy.locked) == ("===1.0.0", "1.0.0")
    assert (mypkg.url, mypkg.editable, mypkg.span, mypkg.constraint) == (".", True, None, "")
    assert mypkg.line == at(text, '"mypkg"')[0]
    assert (vcspkg.url, vcspkg.span) == ("git+https://git.example/org/vcspkg.git@abc123", None)
    assert (odd.constraint, odd.locked) == ("==1.0", "1.0")
    spans_hold(dep_file)
    edits_round_trip(dep_file, FileKind.PIPFILE_LOCK)


def test_pipfile_lock_escaped_version_and_crlf() -> None:
    text = pipfile_lock_text().replace('"==1.0"', '"==1.\\u0030"').replace("\n", "\r\n")
    dep_file = parse_pipfile_lock(text, PurePosixPath("Pipfile.lock"))
    odd = next(d for d in dep_file.declarations if d.name == "odd")
    assert (odd.constraint, odd.span, odd.locked) == ("==1.0", None, "1.0")
    spans_hold(dep_file)
    edits_round_trip(dep_file, FileKind.PIPFILE_LOCK)


def test_pipfile_lock_compact_json_and_string_entries() -> None:
    data = {"_meta": {}, "default": {"six": "==1.16.0", "idna": {"version": "==3.10"}}}
    text = json.dumps(data, separators=(",", ":"))
    dep_file = parse_pipfile_lock(text, PurePosixPath("Pipfile.lock"))
    six, idna = dep_file.declarations
    assert (six.constraint, six.locked) == ("==1.16.0", "1.16.0")
    assert (six.line, six.column) == at(text, "==1.16.0")
    assert idna.constraint == "==3.10"
    spans_hold(dep_file)
    edits_round_trip(dep_file, FileKind.PIPFILE_LOCK)


def test_pipfile_lock_duplicate_keys_resolve_like_json() -> None:
    text = '{"default": {"a": {"version": "==1"}, "a": {"version": "==2"}}}'
    (decl,) = parse_pipfile_lock(text, PurePosixPath("Pipfile.lock")).declarations
    assert (decl.constraint, decl.span) == ("==2", Span(text.rindex("==2"), text.rindex("==2") + 3))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('{\n  "_meta": {}\n  "default": {}\n}\n', 3, "invalid JSON: Expecting ',' delimiter"),
        ('\n    "_meta": {},\n    "default": {}\n}', 2, "invalid JSON"),
        ('{\n"_meta": {},\n"default": "text"\n}', 3, "section 'default' must be an object"),
        ('{\n"develop": []\n}', 2, "section 'develop' must be an object"),
        ('{"default": {\n"a": ["junk"]}}', 2, "a: entry must be an object"),
        ('{"default": {\n"a": {"version": 1}}}', 2, "`version` must be a string"),
        ("[1, 2]", 1, "must be a JSON object"),
        ("", 1, "invalid JSON"),
    ],
)
def test_pipfile_lock_errors(text: str, line: int, message: str) -> None:
    exc = error(parse_pipfile_lock, text, "Pipfile.lock")
    assert exc.line == line
    assert message in exc.message


# -- pdm.lock --------------------------------------------------------------------------------------

PDM_LOCK = f"""\
# This file is @generated by PDM.
# It is not intended for manual editing.

[metadata]
groups = ["default", "test"]
strategy = ["inherit_metadata"]
lock_version = "4.5.0"
content_hash = "sha256:0000"

[[metadata.targets]]
requires_python = ">=3.9"

[[package]]
name = "httpx"
version = "0.27.2"
requires_python = ">=3.8"
summary = "The next generation HTTP client."
groups = ["default"]
files = [
    {{file = "httpx-0.27.2-py3-none-any.whl", hash = "{SHA_A}"}},
]

[[package]]
name = "httpx"
version = "0.27.2"
extras = ["socks"]
requires_python = ">=3.8"
summary = "The next generation HTTP client."
groups = ["default"]
dependencies = [
    "httpx==0.27.2",
    "socksio==1.*",
]
files = [
    {{file = "httpx-0.27.2-py3-none-any.whl", hash = "{SHA_A}"}},
]

[[package]]
name = "pytest"
version = "8.3.3"
summary = ""
groups = ["test"]
marker = "python_version >= \\"3.9\\""

[[package]]
name = "fromgit"
version = "0.1"
git = "https://git.example/org/fromgit.git"
ref = "main"
revision = "abc123"
summary = ""
groups = ["default"]

[[package]]
name = "localpkg"
version = "0.2"
path = "./localpkg"
editable = true
summary = ""
groups = ["test"]
"""


def test_pdm_lock_entries() -> None:
    dep_file = parse_pdm_lock(PDM_LOCK, PurePosixPath("pdm.lock"))
    httpx, httpx_socks, pytest_, fromgit, localpkg = dep_file.declarations
    assert (httpx.constraint, httpx.group, httpx.hashes, httpx.extras) == (
        "0.27.2",
        "lock",
        (SHA_A,),
        (),
    )
    assert httpx_socks.extras == ("socks",)
    assert httpx_socks.span != httpx.span
    assert (pytest_.group, pytest_.marker) == ("lock:test", 'python_version >= "3.9"')
    assert (fromgit.url, fromgit.span) == ("git+https://git.example/org/fromgit.git@abc123", None)
    assert (localpkg.url, localpkg.editable, localpkg.span) == ("./localpkg", True, None)
    spans_hold(dep_file)
    edits_round_trip(dep_file, FileKind.PDM_LOCK)


def test_old_pdm_lock_hashes_from_metadata_files() -> None:
    text = f"""\
[[package]]
name = "six"
version = "1.16.0"
summary = ""

[metadata]
lock_version = "4.0"
content_hash = "sha256:0000"

[metadata.files]
"six 1.16.0" = [
    {{url = "{FILES}/six-1.16.0.tar.gz", hash = "{SHA_C}"}},
]
"""
    (decl,) = parse_pdm_lock(text, PurePosixPath("pdm.lock")).declarations
    assert (decl.hashes, decl.group) == ((SHA_C,), "lock")


# -- pylock.toml -----------------------------------------------------------------------------------

PYLOCK_WHEEL = f"url = '{FILES}/attrs.whl', size = 2, hashes = {{ sha256 = '{'a' * 64}' }}"
PYLOCK = f"""\
lock-version = '1.0'
environments = ["sys_platform == 'linux'"]
requires-python = '>=3.10'
created-by = 'some-tool'

[[packages]]
name = 'attrs'
version = '25.1.0'
requires-python = '>=3.8'
index = '{INDEX}'
sdist = {{ name = 'attrs.tar.gz', url = '{FILES}/a.tar.gz', hashes = {{ sha256 = '{"c" * 64}' }} }}
wheels = [
    {{ name = 'attrs.whl', upload-time = 2025-01-25T11:30:10+00:00, {PYLOCK_WHEEL} }},
]

[[packages]]
name = "cattrs"
version = "24.1.2"
marker = "python_version >= '3.11'"

[[packages.wheels]]
url = "{FILES}/cattrs-24.1.2-py3-none-any.whl"
hashes = {{ sha256 = "{"b" * 64}" }}

[[packages]]
name = "from-vcs"
version = "0.3"

[packages.vcs]
type = "git"
url = "https://git.example/org/from-vcs.git"
commit-id = "abc123"

[[packages]]
name = "source-tree"

[packages.directory]
path = "./src/tree"
editable = true

[[packages]]
name = "tarball"
version = "1.0"

[packages.archive]
url = "{FILES}/tarball-1.0.tar.gz"
hashes = {{ sha256 = "{"c" * 64}" }}

[tool.some-tool]
version = "9.9"
"""


def test_pylock_entries() -> None:
    dep_file = parse_pylock(PYLOCK, PurePosixPath("pylock.toml"))
    attrs, cattrs, from_vcs, tree, tarball = dep_file.declarations
    assert (attrs.constraint, attrs.locked, attrs.group) == ("25.1.0", "25.1.0", "lock")
    assert attrs.hashes == (SHA_C, SHA_A)
    assert (cattrs.marker, cattrs.hashes, cattrs.constraint) == (
        "python_version >= '3.11'",
        (SHA_B,),
        "24.1.2",
    )
    assert (from_vcs.url, from_vcs.span) == (
        "git+https://git.example/org/from-vcs.git@abc123",
        None,
    )
    assert (tree.url, tree.editable, tree.constraint, tree.locked) == ("./src/tree", True, "", None)
    assert (tarball.url, tarball.hashes, tarball.span) == (
        f"{FILES}/tarball-1.0.tar.gz",
        (SHA_C,),
        None,
    )
    spans_hold(dep_file)
    edits_round_trip(dep_file, FileKind.PYLOCK)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("lock-version = '666'\n", 1, "unsupported `lock-version` '666'"),
        ("\nlock-version = '2.0'\npackages = []\n", 2, "unsupported `lock-version` '2.0'"),
        ("lock-version = 1.0\npackages = []\n", 1, "must be a version like '1.0'"),
        ("created-by = 'x'\n\n[[packages]]\nname = 'a'\n", 1, "`lock-version` is missing"),
        ("lock-version = '1.0'\ncreated-by = 'x'\n", 1, "without `packages`"),
        ("lock-version = '1.0'\n\n[[packages]]\nversion = '1.0'\n", 3, "entry 1 has no `name`"),
        (
            "lock-version = '1.0'\n\n[[packages]]\nname = 'a'\nvcs = 'x'\n",
            3,
            "`vcs` must be a table",
        ),
        ("this is not valid toml!\n", 1, "invalid TOML"),
    ],
)
def test_invalid_pylock(text: str, line: int, message: str) -> None:
    exc = error(parse_pylock, text, "pylock.toml")
    assert exc.line == line
    assert message in exc.message


def test_pylock_minor_versions_are_accepted() -> None:
    text = "lock-version = '1.7'\npackages = []\n"
    assert parse_pylock(text, PurePosixPath("pylock.dev.toml")).declarations == ()


# -- content sniffing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (UV_LOCK, FileKind.UV_LOCK),
        ('version = 1\n\n[[package]]\nname = "a"\nversion = "1"\n', FileKind.UV_LOCK),
        ('[[package]]\nname = "a"\nversion = "1"\nsource = { registry = "x" }\n', FileKind.UV_LOCK),
        (POETRY_LOCK, FileKind.POETRY_LOCK),
        ('[[package]]\ncategory = "main"\nname = "a"\nversion = "1"\n', FileKind.POETRY_LOCK),
        ('package = []\n\n[metadata]\nlock-version = "2.0"\n', FileKind.POETRY_LOCK),
        (PDM_LOCK, FileKind.PDM_LOCK),
        ('[[package]]\nname = "a"\nversion = "1"\nsummary = ""\n', FileKind.PDM_LOCK),
        (PYLOCK, FileKind.PYLOCK),
        ("[[packages]]\nname = 'a'\n", FileKind.PYLOCK),
        (pipfile_lock_text(), FileKind.PIPFILE_LOCK),
        ('    "_meta": {},\n    "default": {}\n}\n', FileKind.PIPFILE_LOCK),
        ('[{"package": {"key": "a"}}]', None),
        ('{"name": "x", "version": "1"}', None),
        ('[project]\nname = "x"\nversion = "1"\n', None),
        ('[[source]]\nurl = "x"\n\n[packages]\nrequests = "*"\n', None),
        ("requests==2.0\n", None),
        ("", None),
    ],
)
def test_detect_lock_kind(text: str, kind: FileKind | None) -> None:
    assert detect_lock_kind(text) is kind


# -- the fast parse path ---------------------------------------------------------------------------


def same_as_plain_parse(text: str) -> None:
    """``load_toml`` gives exactly what the parser gives, or fails on the same line and column."""
    try:
        expected = TOML_PARSER.loads(text)
    except TOML_PARSER.TOMLDecodeError as exc:
        with pytest.raises(InputError) as caught:
            load_toml(text, PurePosixPath("x.lock"), set_aside=True)
        if "(at line " not in str(exc):  # "(at end of document)"
            assert caught.value.line == text.count("\n") + 1
            return
        line, column = str(exc).rsplit("(at line ", 1)[1].rstrip(")").split(", column ")
        assert caught.value.line == int(line)
        assert f"(column {column})" in caught.value.message
    else:
        assert load_toml(text, PurePosixPath("x.lock"), set_aside=True) == expected


@pytest.mark.parametrize(
    "text",
    [
        UV_LOCK,
        POETRY_LOCK,
        PDM_LOCK,
        PYLOCK,
        UV_LOCK.replace("\n", "\r\n"),
        # a repeated key inside a record: the parser must still see it
        'files = [\n    {file = "a.whl", hash = "x", file = "b.whl"},\n]\n',
        # a record where no value may stand
        '[[package]]\n{ file = "a.whl", hash = "sha256:00" },\n',
        # records missing a comma between them
        'files = [\n    { file = "a.whl", hash = "sha256:00" }\n    { file = "b.whl" },\n]\n',
        # a record, then the same key again as a table
        'sdist = { url = "https://files.example/a.tar.gz", size = 1 }\n\n[sdist]\nx = 1\n',
        # short records that cannot hold a placeholder, and ones with booleans and zeros
        "a = [\n{x=1},\n{ yanked = true, size = 0, big = 123456789012345678901234567890 },\n]\n",
        # records inside a multi-line string must stay text
        'a = """\n{ url = "https://files.example/a.whl", hash = "sha256:00" },\n"""\n',
        # a real key that looks like the placeholder
        'a = [\n    { "\\u0000" = 0 },\n    { url = "https://files.example/a.whl", n = 1 },\n]\n',
        # control characters are not allowed in strings
        'a = [\n    { url = "https://files.example/\x01a.whl", size = 1 },\n]\n',
        # trailing junk after a record
        'a = [\n    { url = "https://files.example/a.whl", size = 1 }, junk\n]\n',
    ],
)
def test_fast_parse_matches_plain_parse(text: str) -> None:
    same_as_plain_parse(text)


_KEYS = st.sampled_from(["url", "hash", "size", "file", "name", "upload-time", "yanked", "x y"])
_VALUES = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=12).map(json.dumps),
    st.text(alphabet="abc\\\"'\t\x00\x7f", max_size=6).map(lambda s: f'"{s}"'),
    st.integers(min_value=-5, max_value=10**20).map(str),
    st.sampled_from(["true", "false", "0", "00", "1_000", "'lit'", "[1]", "{}", "1979-05-27"]),
)
_RECORD = st.lists(st.tuples(_KEYS, _VALUES), min_size=0, max_size=4).map(
    lambda pairs: "{ " + ", ".join(f"{key} = {value}" for key, value in pairs) + " }"
)


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(
        st.tuples(_RECORD, st.sampled_from([",", "", " ,", ", # c", ",,"])), max_size=4
    ),
    statement=_RECORD,
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_fast_parse_matches_plain_parse_on_generated_records(
    records: list[tuple[str, str]], statement: str, newline: str
) -> None:
    lines = ["[[package]]", 'name = "a"', f"sdist = {statement}", "wheels = ["]
    lines += [f"    {record}{comma}" for record, comma in records]
    lines += ["]", ""]
    same_as_plain_parse(newline.join(lines))


# -- the real-world corpus -------------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "locks"

_BY_NAME = {
    "uv.lock": FileKind.UV_LOCK,
    "poetry.lock": FileKind.POETRY_LOCK,
    "Pipfile.lock": FileKind.PIPFILE_LOCK,
    "pdm.lock": FileKind.PDM_LOCK,
}

# Corpus files the readers must reject, and why: each is broken on purpose by the test suite it
# comes from. Anything else that fails is a reader bug.
EXPECTED_INVALID = {
    "dependabot-core/python/spec/fixtures/pipfile_files/edited.lock": "a package entry is a list",
    "dependabot-core/python/spec/fixtures/pipfile_files/edited_array.lock": (
        "a package entry is a list"
    ),
    "dependabot-core/python/spec/fixtures/pipfile_files/malformed_default_section.lock": (
        '"default" is a string, not an object of packages'
    ),
    "dependabot-core/python/spec/fixtures/pipfile_files/malformed_develop_section.lock": (
        '"develop" is a list, not an object of packages'
    ),
    "dependabot-core/python/spec/fixtures/pipfile_files/unparseable.lock": (
        "JSON without its opening brace"
    ),
    "pip-audit/test/assets/pylock.invalid-version.toml": "lock-version '666'",
    "pip-audit/test/assets/pylock.invalid.toml": "not TOML",
    "pip-audit/test/assets/pylock.missing-packages.toml": "no `packages`",
    "pip-audit/test/assets/pylock.missing-version.toml": "no `lock-version`",
    "pip-audit/test/assets/pylock.package-missing-name.toml": "a package without `name`",
    "poetry/tests/fixtures/invalid_lock/poetry.lock": "not TOML",
}


def _corpus_locks() -> list[tuple[Path, FileKind]]:
    if not CORPUS.is_dir():
        return []
    found = []
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file():
            continue
        kind = _BY_NAME.get(path.name)
        if kind is None and path.name.startswith("pylock") and path.suffix == ".toml":
            kind = FileKind.PYLOCK
        if kind is None and path.suffix in (".lock", ".json"):
            kind = detect_lock_kind(path.read_text(encoding="utf-8"))
        if kind is not None:
            found.append((path, kind))
    return found


CORPUS_LOCKS = _corpus_locks()


@pytest.mark.skipif(not CORPUS_LOCKS, reason="../shared/corpus/locks is not present")
def test_corpus_locks_parse_or_fail_cleanly() -> None:
    rejected: dict[str, str] = {}
    parsed = 0
    for path, kind in CORPUS_LOCKS:
        relative = path.relative_to(CORPUS).as_posix()
        text = path.read_text(encoding="utf-8")
        try:
            dep_file = parse(text, PurePosixPath(relative), kind)
        except InputError as exc:
            assert exc.line is not None, f"{relative}: {exc}"
            assert exc.path == PurePosixPath(relative)
            rejected[relative] = str(exc)
            continue
        parsed += 1
        spans_hold(dep_file)
        assert all(d.locked is not None or d.span is None for d in dep_file.declarations)
    assert sorted(rejected) == sorted(EXPECTED_INVALID), rejected
    assert parsed >= 100


@pytest.mark.skipif(not CORPUS_LOCKS, reason="../shared/corpus/locks is not present")
@pytest.mark.parametrize(
    ("path", "kind"),
    [
        pytest.param(path, kind, id=path.relative_to(CORPUS).as_posix())
        for path, kind in CORPUS_LOCKS
        if path.relative_to(CORPUS).as_posix() not in EXPECTED_INVALID
        and path.stat().st_size > 100_000
    ],
)
def test_corpus_large_locks_edit_round_trip(path: Path, kind: FileKind) -> None:
    text = path.read_text(encoding="utf-8")
    dep_file = parse(text, PurePosixPath(path.name), kind)
    located = [d for d in dep_file.declarations if d.span is not None]
    unlocated = [d for d in dep_file.declarations if d.span is None and d.url is None]
    assert located
    assert all(not d.locked for d in unlocated)  # only versionless entries lack a span
    changes = [(d, ("==" if d.constraint.startswith("==") else "") + "0.0.1") for d in located]
    again = parse(apply_constraints(text, changes), dep_file.path, kind)
    assert [d.name for d in again.declarations] == [d.name for d in dep_file.declarations]
    assert [d.locked for d in again.declarations if d.span is not None] == ["0.0.1"] * len(located)


@pytest.mark.skipif(not CORPUS_LOCKS, reason="../shared/corpus/locks is not present")
def test_corpus_small_locks_edit_round_trip() -> None:
    for path, kind in CORPUS_LOCKS:
        relative = path.relative_to(CORPUS).as_posix()
        if relative in EXPECTED_INVALID or path.stat().st_size > 100_000:
            continue
        dep_file = parse(path.read_text(encoding="utf-8"), PurePosixPath(relative), kind)
        edits_round_trip(dep_file, kind, sample=8)


@pytest.mark.skipif(not CORPUS_LOCKS, reason="../shared/corpus/locks is not present")
def test_corpus_fast_parse_matches_plain_parse() -> None:
    for path, kind in CORPUS_LOCKS:
        if kind is not FileKind.PIPFILE_LOCK:
            same_as_plain_parse(path.read_text(encoding="utf-8"))
