"""pyproject.toml reading: every dependency dialect, exact spans, lossless edits, clear errors.

The corpus test at the end runs the readers over every real-world ``pyproject.toml`` and Pipfile
in ``../shared/corpus`` (when present): each must parse or fail with an :class:`InputError`
that we expect, and every editable declaration must take an edit that changes only its span.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest

from greenbump.edit import apply_constraints, set_constraint
from greenbump.errors import InputError
from greenbump.model import Declaration, DependencyFile, FileKind, Span, Style
from greenbump.readers.pipfile import parse_pipfile
from greenbump.readers.pyproject import parse_pyproject
from greenbump.readers.toml_spans import MappedString, parse_toml

PATH = PurePosixPath("pyproject.toml")
Reader = Callable[[str, PurePosixPath], DependencyFile]
NEW = {Style.PEP508: ">=0.0.1", Style.POETRY: "^0.0.1", Style.PIPFILE: ">=0.0.1"}


def parse(text: str) -> DependencyFile:
    return parse_pyproject(text, PATH)


def by_name(parsed: DependencyFile) -> dict[tuple[str, str], Declaration]:
    return {(decl.group, decl.name): decl for decl in parsed.declarations}


def identity(decl: Declaration) -> tuple[object, ...]:
    """What must survive an edit elsewhere in the file (offsets may shift, meaning may not)."""
    return (
        decl.name,
        decl.group,
        decl.line,
        decl.constraint,
        decl.style,
        decl.extras,
        decl.marker,
        decl.url,
        decl.editable,
        decl.locked,
        decl.is_constraint,
        decl.span is None,
    )


def assert_spans_exact(text: str, parsed: DependencyFile) -> None:
    assert parsed.text is text
    for decl in parsed.declarations:
        if decl.span is not None:
            assert text[decl.span.start : decl.span.end] == decl.constraint, decl


def assert_lossless(text: str, reader: Reader, path: PurePosixPath = PATH) -> DependencyFile:
    """Edit each editable declaration alone; only its bytes change and the rest re-reads equal."""
    parsed = reader(text, path)
    assert_spans_exact(text, parsed)
    assert reader(text, path).declarations == parsed.declarations
    for index, decl in enumerate(parsed.declarations):
        if not decl.editable_version:
            continue
        assert decl.span is not None
        new = NEW[decl.style]
        edited = set_constraint(text, decl, new)
        assert edited == text[: decl.span.start] + new + text[decl.span.end :]
        again = reader(edited, path)
        assert_spans_exact(edited, again)
        assert len(again.declarations) == len(parsed.declarations)
        for position, (before, after) in enumerate(
            zip(parsed.declarations, again.declarations, strict=True)
        ):
            if position == index:
                assert after.constraint == new
                assert after.span is not None and after.span.start == decl.span.start
                assert dataclasses.replace(after, constraint="", locked=None, span=None) == (
                    dataclasses.replace(before, constraint="", locked=None, span=None)
                )
            else:
                assert identity(after) == identity(before)
    return parsed


PEP621 = """\
[build-system]
requires = ["setuptools>=61", "wheel"]  # build deps

[project]
name = "demo"
version = "1.0"
dependencies = [
    "requests[socks] >= 2.0 ; python_version < '3.8'",
    'attrs==23.1.0',  # a literal string
    "click",
    "rich[jupyter]",
    "pkg @ https://index.example/pkg-1.0.tar.gz",
    "old (>=1.0)",
    \"\"\"multi>=1\"\"\",
    "tomli>=2; python_version < \\"3.11\\"",
    "marked;sys_platform=='win32'",
    "Spaced_Name  ~=  1.4",
]

[project.optional-dependencies]
test = ["pytest>=8", "coverage[toml]~=7.0"]
"docs" = [
  # comments inside arrays
  "sphinx",
]

[dependency-groups]
lint = ["ruff>=0.6"]
Dev = [{include-group = "lint"}, "mypy==1.10.0"]
"""


def test_pep621_forms_spans_and_groups() -> None:
    parsed = assert_lossless(PEP621, parse_pyproject)
    assert parsed.kind is FileKind.PYPROJECT
    assert parsed.path == PATH
    decls = by_name(parsed)

    requests = decls["main", "requests"]
    assert requests.constraint == ">= 2.0"
    assert requests.extras == ("socks",)
    assert requests.marker == 'python_version < "3.8"'
    assert requests.style is Style.PEP508
    assert (requests.line, requests.column) == (8, 22)
    assert requests.file == PATH

    attrs = decls["main", "attrs"]
    assert attrs.constraint == "==23.1.0"
    assert attrs.locked == "23.1.0"

    click = decls["main", "click"]
    assert click.constraint == ""
    assert click.span is not None and click.span.start == click.span.end
    assert PEP621[click.span.start - 5 : click.span.start + 1] == 'click"'
    assert click.editable_version

    rich = decls["main", "rich"]
    assert rich.constraint == ""
    assert rich.span is not None
    assert PEP621[rich.span.start - 9 : rich.span.start] == "[jupyter]"

    pkg = decls["main", "pkg"]
    assert pkg.url == "https://index.example/pkg-1.0.tar.gz"
    assert pkg.span is None and not pkg.editable_version

    assert decls["main", "old"].constraint == ">=1.0"
    assert decls["main", "multi"].constraint == ">=1"
    tomli = decls["main", "tomli"]
    assert tomli.constraint == ">=2"
    assert tomli.span is not None  # the escapes sit in the marker, not the specifier
    assert tomli.marker == 'python_version < "3.11"'
    assert decls["main", "marked"].constraint == ""
    assert decls["main", "Spaced_Name"].constraint == "~=  1.4"

    assert decls["extra:test", "pytest"].constraint == ">=8"
    assert decls["extra:test", "coverage"].extras == ("toml",)
    assert decls["extra:docs", "sphinx"].constraint == ""
    assert decls["group:lint", "ruff"].constraint == ">=0.6"
    assert decls["group:Dev", "mypy"].locked == "1.10.0"
    assert decls["build", "setuptools"].constraint == ">=61"
    assert decls["build", "wheel"].constraint == ""
    # declarations come in file order
    lines = [decl.line for decl in parsed.declarations]
    assert lines == sorted(lines)
    assert len(parsed.declarations) == 17


def test_inserting_a_version_where_none_was_stated() -> None:
    parsed = parse(PEP621)
    decls = by_name(parsed)
    edited = set_constraint(PEP621, decls["main", "rich"], ">=13")
    assert '"rich[jupyter]>=13"' in edited
    marked = by_name(parse(edited))["main", "marked"]  # offsets moved: read again
    edited = set_constraint(edited, marked, "==2")
    assert "\"marked==2;sys_platform=='win32'\"" in edited
    assert by_name(parse(edited))["main", "marked"].locked == "2"


def test_crlf_file_keeps_line_endings_and_spans() -> None:
    text = PEP621.replace("\n", "\r\n")
    parsed = assert_lossless(text, parse_pyproject)
    lf = parse(PEP621)
    assert [identity(decl) for decl in parsed.declarations] == [
        identity(decl) for decl in lf.declarations
    ]
    edited = apply_constraints(
        text, [(decl, ">=9") for decl in parsed.declarations if decl.editable_version]
    )
    assert edited.count("\r\n") == text.count("\r\n")
    assert "\n" not in edited.replace("\r\n", "")


POETRY = """\
[tool.poetry]
name = "demo"

[tool.poetry.dependencies]
python = "^3.9"
requests = "^2.31"   # caret
exact = "1.2.3"
pinned = "==4.0"
anything = "*"
ranged = ">=1,<2 || >=3"
'literal-key' = '~1.2'
table = { version = "^1.0", extras = ["a", "b"], markers = "sys_platform == 'linux'", \
python = "^3.10", optional = true }
gitdep = { git = "https://index.example/repo.git", branch = "main" }
pathdep = { path = "../lib", develop = true }
urldep = { url = "https://index.example/x-1.0.tar.gz" }
multi = [
    { version = "<2", python = "<3.8" },
    { version = ">=2", python = ">=3.8" },
]
bare-table = { extras = ["x"] }

[tool.poetry.dependencies.sub]
version = "~=2.1"
source = "private"

[tool.black]
line-length = 100

[tool.poetry.dev-dependencies]
pytest = "^8.0"

[tool.poetry.group.docs]
optional = true

[tool.poetry.group.docs.dependencies]
sphinx = ">= 7"

[[tool.poetry.dependencies.aot]]
version = "^1"
python = "~2.7 || ^3.4"

[[tool.poetry.dependencies.aot]]
version = "^2"
python = ["^3.8", "^4"]

[[tool.poetry.source]]
name = "private"
url = "https://index.example/private/simple"
priority = "supplemental"

[[tool.poetry.source]]
name = "main"
url = "https://index.example/simple"
priority = "primary"

[[tool.poetry.source]]
name = "only-some"
url = "https://index.example/explicit/simple"
priority = "explicit"
"""


def test_poetry_forms() -> None:
    parsed = assert_lossless(POETRY, parse_pyproject)
    decls = parsed.declarations
    names = [(decl.group, decl.name) for decl in decls]
    assert ("main", "python") not in names
    table = {(decl.group, decl.name): decl for decl in decls}
    for decl in decls:
        assert decl.style is Style.POETRY

    requests = table["main", "requests"]
    assert requests.constraint == "^2.31"
    assert (requests.line, requests.column) == (6, 13)
    assert requests.locked is None
    assert table["main", "exact"].locked == "1.2.3"
    assert table["main", "pinned"].locked == "4.0"
    assert table["main", "anything"].constraint == "*"
    assert table["main", "ranged"].constraint == ">=1,<2 || >=3"
    assert table["main", "literal-key"].constraint == "~1.2"

    entry = table["main", "table"]
    assert entry.constraint == "^1.0"
    assert entry.extras == ("a", "b")
    assert entry.marker is not None
    assert "sys_platform == 'linux'" in entry.marker
    assert 'python_full_version >= "3.10"' in entry.marker

    gitdep = table["main", "gitdep"]
    assert gitdep.url == "https://index.example/repo.git"
    assert gitdep.span is None and gitdep.line == 13
    pathdep = table["main", "pathdep"]
    assert pathdep.url == "../lib" and pathdep.editable and pathdep.span is None
    assert table["main", "urldep"].url == "https://index.example/x-1.0.tar.gz"
    bare = table["main", "bare-table"]
    assert bare.constraint == "" and bare.span is None and bare.extras == ("x",)

    multi = [decl for decl in decls if decl.name == "multi"]
    assert [decl.constraint for decl in multi] == ["<2", ">=2"]
    assert [decl.line for decl in multi] == [17, 18]
    assert multi[0].span != multi[1].span
    assert multi[0].marker == 'python_full_version < "3.8"'

    assert table["main", "sub"].constraint == "~=2.1"
    assert table["dev", "pytest"].constraint == "^8.0"
    assert table["group:docs", "sphinx"].constraint == ">= 7"
    aot = [decl for decl in decls if decl.name == "aot"]
    assert [decl.constraint for decl in aot] == ["^1", "^2"]
    assert aot[0].marker is not None and " or " in aot[0].marker
    assert aot[1].marker is not None and " or " in aot[1].marker

    assert parsed.index_urls == ("https://index.example/simple",)
    assert parsed.extra_index_urls == ("https://index.example/private/simple",)


UV = """\
[project]
name = "demo"
dependencies = ["httpx>=0.27", "member", "from-git"]

[tool.uv]
dev-dependencies = ["pytest>=8"]
constraint-dependencies = ["urllib3<3"]
override-dependencies = ["idna==3.7"]
index-url = "https://index.example/legacy/simple"
extra-index-url = ["https://index.example/extra/simple"]

[[tool.uv.index]]
name = "internal"
url = "https://index.example/internal/simple"

[[tool.uv.index]]
name = "torch"
url = "https://index.example/torch/simple"
explicit = true

[[tool.uv.index]]
name = "mirror"
url = "https://index.example/mirror/simple"
default = true

[tool.uv.sources]
member = { workspace = true }
from-git = [{ git = "https://index.example/from-git.git", marker = "sys_platform == 'linux'" }]
torch = { index = "torch" }
"""


def test_uv_tables_and_indexes() -> None:
    parsed = assert_lossless(UV, parse_pyproject)
    decls = by_name(parsed)
    assert decls["dev", "pytest"].constraint == ">=8"
    urllib3 = decls["constraints", "urllib3"]
    assert urllib3.is_constraint and urllib3.constraint == "<3"
    assert not decls["main", "httpx"].is_constraint
    assert decls["overrides", "idna"].locked == "3.7"
    assert parsed.index_urls == (
        "https://index.example/mirror/simple",
        "https://index.example/legacy/simple",
    )
    assert parsed.extra_index_urls == (
        "https://index.example/internal/simple",
        "https://index.example/extra/simple",
    )
    # a workspace member or a git source is not a registry package: never version-edit it
    assert decls["main", "member"].url == "workspace"
    assert not decls["main", "member"].editable_version
    assert decls["main", "from-git"].url == "https://index.example/from-git.git"
    assert decls["main", "httpx"].editable_version


def test_pdm_dev_dependencies() -> None:
    text = """\
[project]
name = "demo"

[tool.pdm.dev-dependencies]
test = ["pytest>=8", "-e file:///${PROJECT_ROOT}/plugins/one#egg=plugin-one"]
lint = ["-e two @ file:///${PROJECT_ROOT}/two"]

[[tool.pdm.source]]
name = "pypi"
url = "https://index.example/mirror/simple"

[[tool.pdm.source]]
name = "extra"
url = "https://index.example/extra/simple"
"""
    parsed = assert_lossless(text, parse_pyproject)
    decls = by_name(parsed)
    assert decls["group:test", "pytest"].constraint == ">=8"
    one = decls["group:test", "plugin-one"]
    assert one.editable and one.url == "file:///${PROJECT_ROOT}/plugins/one#egg=plugin-one"
    assert decls["group:lint", "two"].url == "file:///${PROJECT_ROOT}/two"
    assert parsed.index_urls == ("https://index.example/mirror/simple",)
    assert parsed.extra_index_urls == ("https://index.example/extra/simple",)


def test_pdm_find_links_sources_are_recorded_and_pdm_urls_marked() -> None:
    text = """\
[project]
name = "demo"

[[tool.uv.index]]
url = "https://uv.invalid/${NOT_EXPANDED}/simple/"

[[tool.pdm.source]]
name = "local"
url = "file:///${PROJECT_ROOT}/wheels"
type = "find_links"

[[tool.pdm.source]]
name = "private"
url = "https://${PDM_USER}:${PDM_TOKEN}@idx.invalid/simple/"

[[tool.pdm.source]]
name = "other-kind"
url = "https://ignored.invalid/"
type = "something-else"
"""
    parsed = assert_lossless(text, parse_pyproject)
    assert parsed.find_links == ("file:///${PROJECT_ROOT}/wheels",)
    assert parsed.extra_index_urls == (
        "https://uv.invalid/${NOT_EXPANDED}/simple/",
        "https://${PDM_USER}:${PDM_TOKEN}@idx.invalid/simple/",
    )
    assert parsed.pdm_urls == (
        "file:///${PROJECT_ROOT}/wheels",
        "https://${PDM_USER}:${PDM_TOKEN}@idx.invalid/simple/",
    )


def test_dotted_keys_inline_tables_and_out_of_order_tables() -> None:
    text = """\
project.name = "demo"
project.dependencies = ["a>=1"]
tool.poetry.dependencies.b = "^2"

[tool.poetry.dependencies.c]
version = "^3"

[tool.other]
x = 1

[tool.poetry.group.dev.dependencies]
d = {version = "^4"}
"""
    decls = by_name(assert_lossless(text, parse_pyproject))
    assert decls["main", "a"].constraint == ">=1"
    assert decls["main", "b"].constraint == "^2"
    assert decls["main", "c"].constraint == "^3"
    assert decls["group:dev", "d"].constraint == "^4"
    assert decls["main", "b"].line == 3


def test_string_forms_and_escapes() -> None:
    text = """\
[project]
dependencies = [
    'literal>=1',
    '''
multi-literal>=2''',
    \"\"\"continued \\
        >=3\"\"\",
    "escaped\\u003e=4",
    "tab-escape>=5\\t",
    "quoted>=6 ; extra == \\"x\\"",
    "backslash-marker>=7 ; os_name == 'n\\\\t'",
]
"""
    parsed = assert_lossless(text, parse_pyproject)
    decls = by_name(parsed)
    assert decls["main", "literal"].constraint == ">=1"
    assert decls["main", "multi-literal"].constraint == ">=2"
    assert decls["main", "multi-literal"].line == 5
    continued = decls["main", "continued"]
    assert continued.constraint == ">=3" and continued.span is not None
    assert continued.line == 7
    escaped = decls["main", "escaped"]
    assert escaped.constraint == ">=4"
    assert escaped.span is None and not escaped.editable_version  # "\u003e" is not ">" in text
    assert decls["main", "tab-escape"].span is not None
    assert decls["main", "quoted"].constraint == ">=6"
    assert decls["main", "backslash-marker"].span is not None


def test_unchanged_parse_never_alters_text() -> None:
    for text in (PEP621, POETRY, UV, PEP621.replace("\n", "\r\n")):
        before = str(text)
        parsed = parse(text)
        assert parsed.text == before
        assert text == before
        assert apply_constraints(text, []) == before


def test_empty_and_dependency_free_files() -> None:
    assert parse("").declarations == ()
    assert parse("[project]\nname = 'x'\n[tool.black]\nline-length = 1\n").declarations == ()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[project]\ndependencies = [\n  'a>=1',\n  'b>=',\n]\n", 4, "invalid requirement 'b>='"),
        ("[project\nname = 1\n", 1, "invalid TOML"),
        ("a = 1\na = 2\n", 2, "invalid TOML"),
        ("[project]\ndependencies = 'requests'\n", 2, "must be an array"),
        ("[build-system]\nrequires = [1, 2]\n", 2, "only requirement strings"),
        ("[project]\n\ndependencies = [\n  {a = 1},\n]\n", 4, "only requirement strings"),
        ("project = 1\n", 1, r"\[project\] must be a table"),
        (
            "[dependency-groups]\na = ['x']\nb = [{include-group = 'nope'}]\n",
            3,
            "unknown group 'nope'",
        ),
        (
            "[dependency-groups]\na = [{include-group = 'b'}]\nb = [{include-group = 'a'}]\n",
            2,
            "include cycle",
        ),
        ("[dependency-groups]\nDev = []\ndev = []\n", 3, "name the same group"),
        ("[dependency-groups]\na = [{other = 'x'}]\n", 2, "include-group"),
        ("[tool.poetry.dependencies]\nfoo = '2.18.^'\n", 2, "invalid Poetry version constraint"),
        ("[tool.poetry.dependencies]\n\nfoo = 3\n", 3, "expected a version string"),
        ("[tool.poetry.dependencies]\nfoo = {version = 3}\n", 2, "must be a string"),
        ("[tool.poetry.dependencies]\n'bad name!' = '*'\n", 2, "not a valid package name"),
        (
            "[tool.poetry.dependencies]\nfoo = {version = '^1', python = '3.x.y'}\n",
            2,
            "invalid python constraint",
        ),
        (
            "[[tool.poetry.source]]\nname = 'x'\nurl = 'https://index.example/simple'\n"
            "priority = 'sometimes'\n",
            2,
            "unknown priority",
        ),
        ("[tool.uv]\nconstraint-dependencies = ['a @@ b']\n", 2, "invalid requirement"),
    ],
)
def test_errors_point_at_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        parse(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"pyproject.toml:{line}: ")


def test_toml_spans_locates_strings_and_keys() -> None:
    text = 'a = "x"\n[t]\n"k" = { b = \'y\' }\nc = [1, "z"]\n'
    doc = parse_toml(text, PATH)
    located = doc.string(doc.root["t"]["k"]["b"])
    assert located is not None
    assert text[located.start : located.start + 1] == "y"
    assert doc.line_of(doc.root["t"]["c"]) == 4
    assert doc.line_of(doc.root["t"]) == 3
    assert doc.string("not an item") is None


def test_mapped_string_spans() -> None:
    source = 'say "a\\tb c"'
    mapped = MappedString("a\tb c", 5, (5, 6, 8, 9, 10, 11), source)
    assert mapped.span(2, 5) == Span(8, 11)
    assert mapped.span(0, 2) is None  # the tab is written as an escape
    assert mapped.span(1, 1) == Span(6, 6)
    assert mapped.span(3, 9) is None
    assert MappedString.verbatim("b c", 8, source).span(0, 3) == Span(8, 11)


# -- the real-world corpus -------------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

# Files that must fail, and why: each is broken on purpose by the project it comes from.
KNOWN_INVALID = {
    "pyproject/pip/tests/data/src/pep518_invalid_requires/pyproject.toml": (
        "pip's test data: requires = [1, 2, 3] is not a list of strings"
    ),
    "locks/dependabot-core/python/spec/fixtures/pipfile_files/unparseable": (
        "Dependabot's 'unparseable' fixture: a key without '='"
    ),
    "locks/dependabot-core/python/spec/fixtures/pyproject_files/unparseable.toml": (
        "Dependabot's 'unparseable' fixture: not TOML"
    ),
    "locks/dependabot-core/python/spec/fixtures/pyproject_files/invalid_wildcard.toml": (
        "Dependabot's fixture for the invalid Poetry constraint '2.18.^'"
    ),
}
_PIPFILE_HEADER = re.compile(r"^\[(packages|dev-packages)\]|^\[\[source\]\]", re.MULTILINE)
_PYPROJECT_HEADER = re.compile(r"^\[(project|tool\.|build-system|dependency-groups)", re.MULTILINE)


def _manifest_kind(path: Path) -> FileKind | None:
    """Sniff what a corpus file is: names in the lock fixtures do not tell."""
    name = path.name
    if name.startswith("pylock") or (name != "Pipfile" and "." in name and path.suffix != ".toml"):
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if name == "Pipfile" or (_PIPFILE_HEADER.search(text) and not _PYPROJECT_HEADER.search(text)):
        return FileKind.PIPFILE
    if path.suffix == ".toml" or _PYPROJECT_HEADER.search(text):
        return FileKind.PYPROJECT
    return None


def _corpus_files() -> list[tuple[str, FileKind]]:
    found: list[tuple[str, FileKind]] = []
    for folder in ("pyproject", "locks"):
        base = CORPUS / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            kind = _manifest_kind(path) if path.is_file() else None
            if kind is not None:
                found.append((path.relative_to(CORPUS).as_posix(), kind))
    return found


CORPUS_FILES = _corpus_files()


@pytest.mark.skipif(not CORPUS_FILES, reason="../shared/corpus is not present")
@pytest.mark.parametrize(("relative", "kind"), CORPUS_FILES, ids=[f for f, _ in CORPUS_FILES])
def test_corpus_manifest(relative: str, kind: FileKind) -> None:
    text = (CORPUS / relative).read_text(encoding="utf-8")
    reader: Reader = parse_pipfile if kind is FileKind.PIPFILE else parse_pyproject
    path = PurePosixPath(relative)
    if relative in KNOWN_INVALID:
        with pytest.raises(InputError) as caught:
            reader(text, path)
        assert str(caught.value).startswith(relative)
        return
    parsed = reader(text, path)
    assert parsed.kind is kind
    assert_spans_exact(text, parsed)
    editable = [decl for decl in parsed.declarations if decl.editable_version]
    for decl in editable:  # each edit alone changes exactly the span's bytes
        assert decl.span is not None
        edited = set_constraint(text, decl, NEW[decl.style])
        assert edited == text[: decl.span.start] + NEW[decl.style] + text[decl.span.end :]
    if not editable:
        return
    # all edits at once, then one re-read: every other fact about every declaration survives
    edited = apply_constraints(text, [(decl, NEW[decl.style]) for decl in editable])
    again = reader(edited, path)
    assert_spans_exact(edited, again)
    assert len(again.declarations) == len(parsed.declarations)
    for before, after in zip(parsed.declarations, again.declarations, strict=True):
        if before.editable_version:
            assert after.constraint == NEW[before.style]
            assert (after.name, after.group, after.line) == (before.name, before.group, before.line)
        else:
            assert identity(after) == identity(before)


@pytest.mark.skipif(not CORPUS_FILES, reason="../shared/corpus is not present")
def test_corpus_known_invalid_files_are_present() -> None:
    listed = {relative for relative, _ in CORPUS_FILES}
    assert set(KNOWN_INVALID) <= listed


def test_byte_order_mark_is_skipped_and_offsets_still_exact() -> None:
    text = "\ufeff" + PEP621
    parsed = assert_lossless(text, parse_pyproject)
    assert [identity(decl) for decl in parsed.declarations] == [
        identity(decl) for decl in parse(PEP621).declarations
    ]
