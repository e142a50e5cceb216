"""The pip requirements-file reader and hash editor.

Explicit cases cover each piece of pip's syntax; property tests generate whole files and check
that every span indexes the original text and that editing one constraint changes only its
bytes; the corpus test runs the reader over every real-world requirements file in
``../shared/corpus/requirements`` (when present).
"""

from __future__ import annotations

import shlex
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from greenbump.apply import apply_upgrade
from greenbump.candidates import UpdateKind
from greenbump.edit import set_constraint
from greenbump.errors import InputError
from greenbump.indexconfig import resolve_index_config
from greenbump.model import Declaration, DependencyFile, FileKind, Include, Span, Style
from greenbump.project import load_project
from greenbump.readers import parse
from greenbump.readers.requirements import (
    _parse_requirement,
    _shell_split,
    compile_command,
    is_compiled,
    parse_requirements,
    replace_hashes,
)

PATH = PurePosixPath("requirements.txt")
SHA_A = "sha256:" + "a" * 64
SHA_B = "sha256:" + "b" * 64
SHA_C = "sha256:" + "c" * 64
SHA_D = "sha256:" + "d" * 64


def read(text: str, path: PurePosixPath = PATH) -> DependencyFile:
    return parse_requirements(text, path)


def only(text: str) -> Declaration:
    decls = read(text).declarations
    assert len(decls) == 1, decls
    return decls[0]


def at(text: str, span: Span | None) -> str:
    assert span is not None
    return text[span.start : span.end]


def error(text: str, path: PurePosixPath = PATH) -> InputError:
    with pytest.raises(InputError) as info:
        read(text, path)
    return info.value


# -- plain requirements ---------------------------------------------------------------------------


def test_pin_is_located_exactly() -> None:
    text = "# deps\nrequests==2.31.0\n"
    decl = only(text)
    assert decl.name == "requests"
    assert decl.file == PATH
    assert (decl.line, decl.column) == (2, 9)
    assert decl.constraint == "==2.31.0"
    assert at(text, decl.span) == "==2.31.0"
    assert decl.style is Style.PEP508
    assert decl.group == "main"
    assert decl.locked == "2.31.0"
    assert decl.is_constraint is False
    assert decl.url is None
    assert decl.editable is False
    assert decl.editable_version


def test_reading_keeps_the_text() -> None:
    text = "\ufeffa==1\r\nb>=2  # keep\r\n"
    assert read(text).text is text
    assert read(text).kind is FileKind.REQUIREMENTS
    assert read(text).path == PATH


def test_specifier_is_kept_as_written_with_inner_spaces() -> None:
    text = "Django >= 4.2, < 5.0  # LTS\n"
    decl = only(text)
    assert decl.constraint == ">= 4.2, < 5.0"
    assert at(text, decl.span) == ">= 4.2, < 5.0"
    assert (decl.line, decl.column) == (1, 8)
    assert decl.locked is None


def test_bare_name_has_an_empty_span_where_a_version_goes() -> None:
    text = "flask\n"
    decl = only(text)
    assert decl.constraint == ""
    assert decl.span == Span(5, 5)
    assert (decl.line, decl.column) == (1, 1)
    assert set_constraint(text, decl, ">=3") == "flask>=3\n"


def test_bare_name_with_extras_and_marker_inserts_after_the_extras() -> None:
    text = 'uvicorn[standard, http] ; python_version >= "3.9"\n'
    decl = only(text)
    assert decl.extras == ("standard", "http")
    assert decl.marker == 'python_version >= "3.9"'
    assert decl.span == Span(23, 23)
    edited = set_constraint(text, decl, "==0.30.0")
    assert edited == 'uvicorn[standard, http]==0.30.0 ; python_version >= "3.9"\n'
    assert only(edited).constraint == "==0.30.0"


def test_extras_then_specifier() -> None:
    text = "celery [redis, sqs] ~= 5.3\n"
    decl = only(text)
    assert decl.name == "celery"
    assert decl.extras == ("redis", "sqs")
    assert decl.constraint == "~= 5.3"
    assert at(text, decl.span) == "~= 5.3"


@pytest.mark.parametrize(
    ("line", "constraint", "marker"),
    [
        ('pylint == 1.9.5 ; python_version == "2.7"', "== 1.9.5", 'python_version == "2.7"'),
        (
            'jaraco.windows >= 3.9.1;platform_system=="Windows"',
            ">= 3.9.1",
            'platform_system=="Windows"',
        ),
        ("pytest>=4.6.10,<5 ; python_version < '3'", ">=4.6.10,<5", "python_version < '3'"),
        ("torch==1.5.0+cpu ; sys_platform != 'darwin'", "==1.5.0+cpu", "sys_platform != 'darwin'"),
        ("foo ; ", "", None),
    ],
)
def test_markers(line: str, constraint: str, marker: str | None) -> None:
    decl = only(line + "\n")
    assert decl.constraint == constraint
    assert decl.marker == marker


def test_parenthesised_specifier_of_old_files() -> None:
    text = "name (>=1.0, <2) ; os_name == 'posix'\n"
    decl = only(text)
    assert decl.constraint == ">=1.0, <2"
    assert at(text, decl.span) == ">=1.0, <2"
    assert set_constraint(text, decl, "==9.9.9") == "name (==9.9.9) ; os_name == 'posix'\n"


def test_empty_parentheses_take_the_version_inside() -> None:
    text = "name ()\n"
    decl = only(text)
    assert decl.constraint == ""
    assert set_constraint(text, decl, "==1") == "name (==1)\n"


@pytest.mark.parametrize(
    ("line", "locked"),
    [
        ("a==1.0", "1.0"),
        ("a == 1.0", "1.0"),
        ("a===foobar", "foobar"),
        ("a==1.0+abc.5", "1.0+abc.5"),
        ("a==1.*", None),
        ("a!=1.0", None),
        ("a~=1.0", None),
        ("a==1.0,<2", None),
        ("a>=1", None),
        ("a", None),
    ],
)
def test_locked_only_for_exact_pins(line: str, locked: str | None) -> None:
    assert only(line + "\n").locked == locked


def test_names_keep_their_spelling() -> None:
    decl = only("Zope.Interface_x-Y>=5\n")
    assert decl.name == "Zope.Interface_x-Y"
    assert decl.key == "zope-interface-x-y"


# -- URLs, paths, VCS, editables ------------------------------------------------------------------


def test_direct_url_reference() -> None:
    text = "pkg[extra] @ https://files.example/pkg-1.0.tar.gz ; python_version > '3.8'\n"
    decl = only(text)
    assert decl.name == "pkg"
    assert decl.url == "https://files.example/pkg-1.0.tar.gz"
    assert decl.extras == ("extra",)
    assert decl.marker == "python_version > '3.8'"
    assert decl.span is None
    assert decl.constraint == ""
    assert not decl.editable_version
    with pytest.raises(InputError):
        set_constraint(text, decl, "==2")


def test_vcs_line_with_egg_fragment_is_not_a_comment() -> None:
    text = "git+https://git.example/org/repo.git@v1.2#egg=my_pkg&subdirectory=src\n"
    decl = only(text)
    assert decl.name == "my_pkg"
    assert decl.url == "git+https://git.example/org/repo.git@v1.2#egg=my_pkg&subdirectory=src"
    assert decl.span is None
    assert (decl.line, decl.column) == (1, 1)


def test_url_egg_may_carry_extras_and_a_marker_after_semicolon_space() -> None:
    text = "https://files.example/b.tar.gz#egg=b[x,y] ; python_version<'3.12'\n"
    decl = only(text)
    assert decl.name == "b"
    assert decl.extras == ("x", "y")
    assert decl.marker == "python_version<'3.12'"
    assert decl.url == "https://files.example/b.tar.gz#egg=b[x,y]"


def test_wheel_url_and_path_are_named_by_the_wheel() -> None:
    text = (
        "https://files.example/Foo_Bar-1.0-py3-none-any.whl\n"
        "./dist/numpy-1.9.2-cp34-none-win32.whl\n"
    )
    first, second = read(text).declarations
    assert (first.name, first.url) == (
        "Foo_Bar",
        "https://files.example/Foo_Bar-1.0-py3-none-any.whl",
    )
    assert (second.name, second.url) == ("numpy", "./dist/numpy-1.9.2-cp34-none-win32.whl")
    assert first.span is None and second.span is None


def test_unnamed_urls_and_paths_parse_without_declarations() -> None:
    text = (
        "https://files.example/archive.tar.gz\n"
        "./libs/local-project\n"
        ".\n"
        "lib/recaptcha-client-1.0.6.tar.gz\n"
        "../sibling[extra]\n"
        "ok==1\n"
    )
    assert [decl.name for decl in read(text).declarations] == ["ok"]


def test_bad_wheel_file_name_is_an_error() -> None:
    assert "wheel" in error("https://files.example/nope.whl\n").message


def test_egg_fragment_must_be_a_requirement() -> None:
    exc = error("git+https://git.example/r.git#egg=Lasagne==0.2.git\n")
    assert exc.line == 1
    assert "egg" in exc.message


def test_plain_git_scheme_is_not_a_url_for_pip() -> None:
    assert "invalid requirement" in error("git://git.example/r.git#egg=r\n").message


def test_editables() -> None:
    text = (
        "-e git+https://git.example/r.git@main#egg=proj[dev]\n"
        "--editable=hg+https://hg.example/x#egg=other\n"
        "-e git://git.example/old.git#egg=old\n"
        "-e .\n"
        "-e ./packages/thing[test]\n"
        "-e file:///srv/src/named#egg=named\n"
    )
    decls = read(text).declarations
    assert [d.name for d in decls] == ["proj", "other", "old", "named"]
    assert all(d.editable and d.span is None and not d.editable_version for d in decls)
    assert decls[0].extras == ("dev",)
    assert decls[0].url == "git+https://git.example/r.git@main#egg=proj[dev]"
    assert (decls[0].line, decls[0].column) == (1, 4)
    assert (decls[1].line, decls[1].column) == (2, 12)


@pytest.mark.parametrize(
    "line",
    [
        "-e git+https://git.example/r.git",  # no #egg=
        "-e https://files.example/pkg.tar.gz",  # not a VCS URL
        "-e ../dependency-one#egg=dependency-one",  # pip reads the fragment as part of a path
    ],
)
def test_invalid_editables(line: str) -> None:
    exc = error("a==1\n" + line + "\n")
    assert exc.line == 2
    assert "editable" in exc.message


# -- comments, continuations, line endings --------------------------------------------------------


def test_comments() -> None:
    text = (
        "# full line\n"
        "   # indented\n"
        "a==1  # trailing\n"
        "b==2\t# after a tab\n"
        "https://files.example/c.tar.gz#egg=c  # real comment\n"
    )
    decls = read(text).declarations
    assert [(d.name, d.constraint) for d in decls] == [("a", "==1"), ("b", "==2"), ("c", "")]
    assert decls[2].url == "https://files.example/c.tar.gz#egg=c"


def test_hash_sign_glued_to_a_version_is_not_a_comment() -> None:
    assert error("a==1#nope\n").line == 1


def test_continuation_joins_lines_and_keeps_offsets() -> None:
    text = "requests \\\n    >=2.0 \\\n    ; python_version >= '3'\nnext==1\n"
    first, second = read(text).declarations
    assert first.name == "requests"
    assert first.constraint == ">=2.0"
    assert (first.line, first.column) == (2, 5)
    assert at(text, first.span) == ">=2.0"
    assert first.marker == "python_version >= '3'"
    assert (second.line, second.column) == (4, 5)
    edited = set_constraint(text, first, "==2.32.3")
    assert edited == "requests \\\n    ==2.32.3 \\\n    ; python_version >= '3'\nnext==1\n"


def test_continuation_inside_a_name_is_joined_without_space() -> None:
    decl = only("dj\\\nango==4.2\n")
    assert decl.name == "django"
    assert (decl.line, decl.column) == (2, 5)


def test_specifier_split_over_lines_is_not_editable() -> None:
    text = "foo>=1,\\\n<2\n"
    decl = only(text)
    assert decl.constraint == ">=1,<2"
    assert decl.span is None
    assert not decl.editable_version


def test_comment_line_ends_a_continuation() -> None:
    text = "requests==2.25.0 \\\n# comment\nurllib3==2\n"
    assert [(d.name, d.line) for d in read(text).declarations] == [
        ("requests", 1),
        ("urllib3", 3),
    ]


def test_backslash_on_the_last_line() -> None:
    text = "a==1 \\"
    decl = only(text)
    assert at(text, decl.span) == "==1"


def test_crlf_file_edits_keep_crlf() -> None:
    text = "a==1\r\nb >= 2 \\\r\n  , <3\r\n"
    a, b = read(text).declarations
    assert at(text, a.span) == "==1"
    assert b.constraint == ">= 2   , <3"
    assert b.span is None
    edited = set_constraint(text, a, "==1.5")
    assert edited == "a==1.5\r\nb >= 2 \\\r\n  , <3\r\n"


def test_lone_carriage_returns_split_lines_like_pip() -> None:
    text = "a==1\rb==2\r"
    a, b = read(text).declarations
    assert (a.name, b.name) == ("a", "b")
    assert at(text, b.span) == "==2"


def test_byte_order_mark_is_skipped() -> None:
    text = "\ufeffa==1\nb==2\n"
    a, _b = read(text).declarations
    assert a.name == "a"
    assert (a.line, a.column) == (1, 2)
    assert at(text, a.span) == "==1"
    assert set_constraint(text, a, "==3") == "\ufeffa==3\nb==2\n"


def test_empty_and_blank_files() -> None:
    for text in ("", "\n", "   \n\t\n", "# only a comment\n", "\ufeff"):
        parsed = read(text)
        assert parsed.declarations == ()
        assert parsed.includes == ()


# -- options --------------------------------------------------------------------------------------


def test_includes_are_recorded_as_written() -> None:
    text = (
        "-r base.txt\n"
        "--requirement=dev/extra.txt\n"
        "-rtight.txt\n"
        "-c constraints.txt\n"
        "--constraint https://files.example/constraints.txt\n"
        "-r first.txt -r ignored-by-pip.txt\n"
        "-r 'quoted name.txt'\n"
        "-r ${REQS_DIR}/x.txt\n"
        "a==1 -r not-an-include.txt\n"
    )
    assert read(text).includes == (
        Include("base.txt", 1, False),
        Include("dev/extra.txt", 2, False),
        Include("tight.txt", 3, False),
        Include("constraints.txt", 4, True),
        Include("https://files.example/constraints.txt", 5, True),
        Include("first.txt", 6, False),
        Include("quoted name.txt", 7, False),
        Include("${REQS_DIR}/x.txt", 8, False),
    )


def test_index_urls() -> None:
    text = (
        "--index-url https://index.example/simple\n"
        "--extra-index-url=https://extra.example/simple\n"
        "--extra https://abbreviated.example/simple\n"
        "-i https://${TOKEN}@private.example/simple\n"
        "a==1 --index-url https://ignored.example/simple\n"
    )
    parsed = read(text)
    # pip lets the last --index-url win; the effective index comes first.
    assert parsed.index_urls == (
        "https://${TOKEN}@private.example/simple",
        "https://index.example/simple",
    )
    assert parsed.extra_index_urls == (
        "https://extra.example/simple",
        "https://abbreviated.example/simple",
    )


def test_find_links_and_no_index_are_recorded_as_written() -> None:
    text = (
        "-f ./wheels\n"
        "--find-links=https://${FL_USER}:${FL_TOKEN}@files.invalid/wheels/\n"
        "--find https://abbreviated.invalid/links/ \\\n"
        "    --find-links ${WHEELS}/more\n"
        "-f/attached/path\n"
        "a==1 --find-links https://ignored.invalid/ --no-index\n"  # pip: not for this line
        "--no-index\n"
        "b==2\n"
    )
    parsed = read(text)
    assert parsed.find_links == (
        "./wheels",
        "https://${FL_USER}:${FL_TOKEN}@files.invalid/wheels/",
        "https://abbreviated.invalid/links/",
        "${WHEELS}/more",
        "/attached/path",
    )
    assert parsed.no_index is True
    assert [d.name for d in parsed.declarations] == ["a", "b"]


def test_without_those_lines_a_file_has_no_find_links_and_uses_indexes() -> None:
    parsed = read("--index-url https://idx.invalid/simple/\na==1 --no-index -f ./x\n")
    assert parsed.find_links == ()
    assert parsed.no_index is False


def test_a_compiled_file_records_its_find_links_and_no_index() -> None:
    text = (
        "#\n"
        "# This file is autogenerated by pip-compile with Python 3.12\n"
        "# by the following command:\n"
        "#\n"
        "#    pip-compile --no-index --find-links=wheels requirements.in\n"
        "#\n"
        "--no-index\n"
        "--find-links wheels\n"
        "\n"
        "alpha==1.0.0\n"
        "    # via -r requirements.in\n"
    )
    parsed = read(text)
    assert parsed.kind is FileKind.PIP_COMPILE
    assert parsed.find_links == ("wheels",)
    assert parsed.no_index is True
    assert [d.locked for d in parsed.declarations] == ["1.0.0"]


def test_global_options_are_accepted() -> None:
    text = (
        "--pre\n"
        "--no-binary :all:\n"
        "--only-binary=numpy,scipy\n"
        "--prefer-binary\n"
        "--require-hashes\n"
        "--no-index\n"
        "--find-links https://files.example/wheels/\n"
        "-f ./wheelhouse\n"
        "--trusted-host files.example\n"
        "--use-feature=fast-deps\n"
        "--pypi-url https://index.example/simple\n"
        "--index-url https://index.example/simple some trailing junk\n"
        "a==1\n"
    )
    parsed = read(text)
    assert [d.name for d in parsed.declarations] == ["a"]


def test_per_requirement_options_are_accepted() -> None:
    text = (
        'a==1 --global-option="--no-user-cfg"\n'
        "b==2 --config-settings=editable_mode=compat -C key=value\n"
        "c==3 --no-binary c\n"
    )
    assert [d.constraint for d in read(text).declarations] == ["==1", "==2", "==3"]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("--unknown-option", "no such option: --unknown-option"),
        ("--no-use-wheel", "no such option"),
        ("--install-option=--prefix=/x", "no such option"),
        ("-x", "no such option: -x"),
        ("--p", "ambiguous option"),
        ("--pre=yes", "does not take a value"),
        ("-r", "requires 1 argument"),
        ("--index-url", "requires 1 argument"),
        ("a==1 --hash=md5:abcd", "allowed hash algorithms"),
        ("a==1 --hash=deadbeef", "hash name followed by a value"),
        ("a==1 -C novalue", "KEY=VAL"),
        ("--no-binary -x", "requires 1 argument"),
        ('a==1 --global-option="unclosed', "could not split"),
    ],
)
def test_bad_options(line: str, fragment: str) -> None:
    exc = error("ok==1\n\n" + line + "\n", PurePosixPath("reqs/dev.txt"))
    assert exc.line == 3
    assert fragment in exc.message
    assert str(exc).startswith("reqs/dev.txt:3: ")


def test_tab_before_an_option_is_not_a_separator_for_pip() -> None:
    assert "invalid requirement" in error("a==1\t--hash=" + SHA_A + "\n").message


# -- invalid requirements -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "test>>1.2.0",
        "pytest >= 2.0.0 [tests]",
        "fabric==dev",
        "foo=1.0",
        "SomePackage1 SomePackage2",
        "<<<<<<< HEAD",
        "[options]",
        "foo; bad marker",
        "; python_version < '3'",
        "foo>=1.0[extra]",
    ],
)
def test_invalid_requirements(line: str) -> None:
    exc = error("# header\nok==1\n" + line + "\n")
    assert exc.line == 3
    assert exc.message.startswith("invalid requirement: ")
    assert exc.path is not None and exc.path.as_posix() == "requirements.txt"


def test_error_points_at_the_first_line_of_a_continued_line() -> None:
    exc = error("ok==1\nbad \\\n  >>1 \\\n  ; os_name=='nt'\n")
    assert exc.line == 2
    assert str(exc).startswith("requirements.txt:2: invalid requirement: ")


# -- environment variables ------------------------------------------------------------------------


def test_env_var_in_version_is_not_editable() -> None:
    text = "foo==${FOO_VERSION}\nbar~=${V}\n"
    foo, bar = read(text).declarations
    assert foo.constraint == "==${FOO_VERSION}"
    assert foo.span is None
    assert foo.locked is None
    assert bar.constraint == "~=${V}"
    assert bar.span is None


def test_env_var_elsewhere_keeps_the_span() -> None:
    text = "${PKG_NAME}[${EXTRA}]>=1.0\npkg @ https://${USER}:${PASS}@files.example/p.tar.gz\n"
    first, second = read(text).declarations
    assert first.name == "${PKG_NAME}"
    assert first.extras == ("${EXTRA}",)
    assert at(text, first.span) == ">=1.0"
    assert second.url == "https://${USER}:${PASS}@files.example/p.tar.gz"


def test_an_upgrade_writes_index_lines_with_variables_back_untouched(tmp_path: Path) -> None:
    """The index configuration expands the variables; the file keeps its references."""
    index_lines = (
        "--index-url https://${IDX_USER}:${IDX_TOKEN}@idx.invalid/simple/\r\n"
        "--extra-index-url https://$IDX_USER:${lower}@extra.invalid/simple/ \\\n"
        "    --trusted-host extra.invalid\n"
    )
    text = index_lines + "alpha==1.0.0  # pinned\nbeta>=1.0\n"
    (tmp_path / "requirements.txt").write_bytes(text.encode())
    project = load_project(tmp_path)
    env = {"IDX_USER": "alice", "IDX_TOKEN": "tok-from-env", "lower": "x", "HOME": str(tmp_path)}
    config = resolve_index_config(tmp_path, project.files, env, index_strategy="first-index")
    assert config.index is not None
    assert config.index.auth == ("alice", "tok-from-env")
    for name, target in (("alpha", "2.0.0"), ("beta", "2.1.0")):
        apply_upgrade(
            tmp_path,
            project.files,
            name,
            Version(target),
            page=None,
            index=config,
            level=UpdateKind.MAJOR,
            bump_lower_bounds=True,
        )
    after = (tmp_path / "requirements.txt").read_bytes().decode()
    assert after == index_lines + "alpha==2.0.0  # pinned\nbeta>=2.1.0\n"


# -- hashes ---------------------------------------------------------------------------------------

COMMAND = (
    "pip-compile --allow-unsafe --generate-hashes --output-file=requirements/main.txt "
    "--strip-extras requirements/main.in"
)
COMPILED = f"""#
# This file is autogenerated by pip-compile with Python 3.12
# by the following command:
#
#    {COMMAND}
#
alembic==1.13.1 \\
    --hash={SHA_A} \\
    --hash={SHA_B}
    # via -r requirements/main.in
attrs==23.2.0 \\
    --hash={SHA_C}
    # via
    #   alembic
    #   other
"""


def test_hash_pinned_compiled_file() -> None:
    parsed = read(COMPILED)
    assert parsed.kind is FileKind.PIP_COMPILE
    assert parsed.options == (
        "--allow-unsafe",
        "--generate-hashes",
        "--output-file=requirements/main.txt",
        "--strip-extras",
    )
    alembic, attrs = parsed.declarations
    assert alembic.hashes == (SHA_A, SHA_B)
    assert at(COMPILED, alembic.hashes_span) == f"--hash={SHA_A} \\\n    --hash={SHA_B}"
    assert alembic.locked == "1.13.1"
    assert attrs.hashes == (SHA_C,)
    assert at(COMPILED, attrs.hashes_span) == f"--hash={SHA_C}"
    assert (attrs.line, attrs.column) == (11, 6)


def test_hash_with_separate_value_and_on_one_line() -> None:
    text = f"cffi==1.14.3 --hash {SHA_A} --hash={SHA_B}\n"
    decl = only(text)
    assert decl.hashes == (SHA_A, SHA_B)
    assert at(text, decl.hashes_span) == f"--hash {SHA_A} --hash={SHA_B}"


def test_hash_option_without_requirement_is_ignored_like_pip() -> None:
    assert read(f"--hash={SHA_A}\n").declarations == ()


def test_replace_hashes_keeps_the_layout() -> None:
    alembic = read(COMPILED).declarations[0]
    edited = replace_hashes(COMPILED, alembic, [SHA_C, SHA_D, SHA_A])
    expected = COMPILED.replace(
        f"--hash={SHA_A} \\\n    --hash={SHA_B}",
        f"--hash={SHA_C} \\\n    --hash={SHA_D} \\\n    --hash={SHA_A}",
    )
    assert edited == expected
    assert read(edited).declarations[0].hashes == (SHA_C, SHA_D, SHA_A)


def test_replace_single_hash_on_its_own_line_uses_that_layout() -> None:
    attrs = read(COMPILED).declarations[1]
    edited = replace_hashes(COMPILED, attrs, [SHA_A, SHA_B])
    assert f"attrs==23.2.0 \\\n    --hash={SHA_A} \\\n    --hash={SHA_B}\n    # via\n" in edited
    assert read(edited).declarations[1].hashes == (SHA_A, SHA_B)


def test_replace_single_hash_on_the_requirement_line_stays_on_it() -> None:
    text = f"cffi==1.14.3 --hash={SHA_A}  # pinned\n"
    edited = replace_hashes(text, only(text), [SHA_B, SHA_C])
    assert edited == f"cffi==1.14.3 --hash={SHA_B} --hash={SHA_C}  # pinned\n"


def test_replace_hashes_keeps_the_separate_value_spelling_and_crlf() -> None:
    text = f"a==1 \\\r\n  --hash {SHA_A} \\\r\n  --hash {SHA_B}\r\nb==2\r\n"
    edited = replace_hashes(text, read(text).declarations[0], [SHA_C, SHA_D, SHA_A])
    assert edited == (
        f"a==1 \\\r\n  --hash {SHA_C} \\\r\n  --hash {SHA_D} \\\r\n  --hash {SHA_A}\r\nb==2\r\n"
    )


def test_replace_hashes_with_none_removes_them() -> None:
    alembic = read(COMPILED).declarations[0]
    edited = replace_hashes(COMPILED, alembic, [])
    assert "alembic==1.13.1\n    # via -r requirements/main.in\n" in edited
    assert read(edited).declarations[0].hashes == ()


def test_replace_hashes_after_a_version_change_on_the_same_line() -> None:
    alembic = read(COMPILED).declarations[0]
    bumped = set_constraint(COMPILED, alembic, "==1.14.0")
    edited = replace_hashes(bumped, alembic, [SHA_D])
    assert f"alembic==1.14.0 \\\n    --hash={SHA_D}\n    # via" in edited
    parsed = read(edited).declarations[0]
    assert (parsed.constraint, parsed.hashes) == ("==1.14.0", (SHA_D,))


def test_replace_hashes_refuses_bad_input() -> None:
    text = f"a==1 --hash={SHA_A}\nb==2\n"
    a, b = read(text).declarations
    with pytest.raises(ValueError, match="not a hash"):
        replace_hashes(text, a, ["sha256:not hex"])
    with pytest.raises(ValueError, match="no --hash"):
        replace_hashes(text, b, [SHA_B])
    with pytest.raises(ValueError, match="not in the text"):
        replace_hashes("c==1\n", a, [SHA_B])


def test_replace_hashes_refuses_interleaved_options() -> None:
    text = f"a==1 --hash={SHA_A} --global-option=x --hash={SHA_B}\n"
    with pytest.raises(InputError, match="between"):
        replace_hashes(text, only(text), [SHA_C])


# -- pip-compile headers --------------------------------------------------------------------------

UV_HEADER = """# This file was autogenerated by uv via the following command:
#    uv pip compile --universal --python-version 3.11 -o requirements/test.txt requirements/test.in
certifi==2024.2.2
    # via requests
"""

OLD_HEADER = """#
# This file is autogenerated by pip-compile
# To update, run:
#
#    pip-compile --output-file requirements.txt requirements.in
#
six==1.16.0
"""

CUSTOM_HEADER = """#
# This file is autogenerated by pip-compile with Python 3.12
# by the following command:
#
#    make upgrade
#
six==1.16.0
"""


def test_uv_header() -> None:
    assert is_compiled(UV_HEADER)
    assert compile_command(UV_HEADER) == [
        "uv",
        "pip",
        "compile",
        "--universal",
        "--python-version",
        "3.11",
        "-o",
        "requirements/test.txt",
        "requirements/test.in",
    ]
    parsed = read(UV_HEADER)
    assert parsed.kind is FileKind.PIP_COMPILE
    assert parsed.options == (
        "--universal",
        "--python-version",
        "3.11",
        "-o",
        "requirements/test.txt",
    )


def test_old_pip_compile_header() -> None:
    assert compile_command(OLD_HEADER) == [
        "pip-compile",
        "--output-file",
        "requirements.txt",
        "requirements.in",
    ]
    assert read(OLD_HEADER).options == ("--output-file", "requirements.txt")


def test_custom_compile_command_header() -> None:
    assert is_compiled(CUSTOM_HEADER)
    assert compile_command(CUSTOM_HEADER) == ["make", "upgrade"]
    parsed = read(CUSTOM_HEADER)
    assert parsed.kind is FileKind.PIP_COMPILE
    assert parsed.options == ()


def test_crlf_bom_header() -> None:
    text = "\ufeff" + COMPILED.replace("\n", "\r\n")
    assert is_compiled(text)
    assert compile_command(text) is not None
    assert read(text).declarations[0].hashes == (SHA_A, SHA_B)


@pytest.mark.parametrize(
    "text",
    [
        "requests==2\n",
        "# simple comment\nsome-package==0.3.1\n",
        "a==1\n# This file is autogenerated by pip-compile\n",  # not in the leading block
        "",
    ],
)
def test_hand_written_files_are_not_compiled(text: str) -> None:
    assert not is_compiled(text)
    assert compile_command(text) is None
    assert read(text).kind is FileKind.REQUIREMENTS
    assert read(text).options == ()


def test_dispatch_through_the_readers_package() -> None:
    parsed = parse(COMPILED, PATH, FileKind.PIP_COMPILE)
    assert parsed.kind is FileKind.PIP_COMPILE
    assert parse("a==1\n", PATH, FileKind.REQUIREMENTS).declarations[0].name == "a"


# -- edits change only the constraint -------------------------------------------------------------


def assert_only_span_changed(text: str, edited: str, span: Span, new: str) -> None:
    assert edited[: span.start] == text[: span.start]
    assert edited[span.start : span.start + len(new)] == new
    assert edited[span.start + len(new) :] == text[span.end :]


def comparable(decl: Declaration) -> tuple[object, ...]:
    return (
        decl.name,
        decl.extras,
        decl.marker,
        decl.url,
        decl.editable,
        decl.hashes,
        decl.style,
        decl.group,
    )


def check_edits(text: str, limit: int | None = None) -> None:
    """Edit each editable declaration in turn and check the result re-parses as expected."""
    before = read(text).declarations
    edits = 0
    for index, decl in enumerate(before):
        if decl.span is None:
            continue
        if limit is not None and edits >= limit:
            break
        edits += 1
        assert text[decl.span.start : decl.span.end] == decl.constraint
        if not decl.editable_version:
            continue
        edited = set_constraint(text, decl, "==9.9.9")
        assert_only_span_changed(text, edited, decl.span, "==9.9.9")
        after = read(edited).declarations
        assert [comparable(d) for d in after] == [comparable(d) for d in before]
        for other, (old, new) in enumerate(zip(before, after, strict=True)):
            if other == index:
                assert new.constraint == "==9.9.9"
                assert new.locked == "9.9.9"
            else:
                assert (new.constraint, new.line) == (old.constraint, old.line)


def test_edits_in_a_mixed_file() -> None:
    text = (
        "\ufeff# mixed\r\n"
        "-r base.txt\r\n"
        "a\r\n"
        "b[x] ; python_version < '3.13'\r\n"
        "c >= 1.0, < 2  # comment\r\n"
        "d (==1.0)\r\n"
        f"e==1.0 \\\r\n    --hash={SHA_A} \\\r\n    --hash={SHA_B}\r\n"
        "f @ https://files.example/f.tar.gz\r\n"
        "-e git+https://git.example/g.git#egg=g\r\n"
        "h \\\r\n  ~=2.1\r\n"
    )
    check_edits(text)


# -- property tests -------------------------------------------------------------------------------

NAMES = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,8}[A-Za-z0-9])?", fullmatch=True)
RELEASES = st.lists(st.integers(0, 99), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)
SUFFIXES = st.sampled_from(["", "a1", "b2", "rc1", ".post1", ".dev0"])
SPACES = st.sampled_from(["", " ", "  ", "\t"])
MARKERS = st.sampled_from(
    [
        'python_version < "3.12"',
        "sys_platform == 'win32'",
        'platform_machine != "x86_64" and os_name == "posix"',
        "extra == 'test'",
    ]
)


@st.composite
def clauses(draw: st.DrawFn) -> str:
    operator = draw(st.sampled_from(["==", ">=", "<=", "<", ">", "!=", "~=", "===", "==*"]))
    space = draw(SPACES)
    release = draw(RELEASES)
    if operator == "==*":
        return "==" + space + release + ".*"
    if operator == "~=" and "." not in release:
        release += ".0"
    version = release + draw(SUFFIXES)
    if operator == "==" and draw(st.booleans()):
        version += "+local." + draw(st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True))
    return operator + space + version


@st.composite
def requirement_lines(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """One requirement line and what the reader must find in it."""
    name = draw(NAMES)
    line = name
    extras: tuple[str, ...] = ()
    if draw(st.booleans()):
        extras = tuple(draw(st.lists(NAMES, min_size=1, max_size=3)))
        line += draw(SPACES) + "[" + ("," + draw(SPACES)).join(extras) + "]"
    constraint = ""
    if draw(st.booleans()):
        constraint = ("," + draw(SPACES)).join(draw(st.lists(clauses(), min_size=1, max_size=3)))
        line += draw(SPACES) + constraint
    marker = None
    if draw(st.booleans()):
        marker = draw(MARKERS)
        line += draw(SPACES) + ";" + draw(SPACES) + marker
    hashes: tuple[str, ...] = ()
    if draw(st.booleans()):
        hashes = tuple(
            draw(st.sampled_from(["sha256", "sha384", "sha512"]))
            + ":"
            + draw(st.from_regex(r"[0-9a-f]{8,64}", fullmatch=True))
            for _ in range(draw(st.integers(1, 3)))
        )
        separator = draw(st.sampled_from([" ", " \\\n    ", " \\\n"]))
        line += separator + separator.join(f"--hash={value}" for value in hashes)
    if draw(st.booleans()):
        line += draw(st.sampled_from([" ", "  ", "\t"])) + "#" + draw(COMMENT_TEXT)
    if draw(st.integers(0, 4)) == 0:
        # A continuation between name and specifier (only where whitespace may go).
        cut = len(name) + (0 if not extras else line[len(name) :].index("]") + 1)
        line = line[:cut] + draw(st.sampled_from(["\\\n", " \\\n  ", "\\\n\t"])) + line[cut:]
    expected: dict[str, object] = {
        "name": name,
        "extras": extras,
        "constraint": constraint,
        "marker": marker,
        "hashes": hashes,
    }
    return line, expected


COMMENT_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\\"
    ),
    max_size=20,
)
OTHER_LINES = st.sampled_from(
    [
        "",
        "# a comment",
        "   # indented comment \\",
        "-r base.txt",
        "-c constraints.txt",
        "--index-url https://index.example/simple",
        "--extra-index-url https://extra.example/simple",
        "--pre",
        "-e git+https://git.example/r.git#egg=editable_one",
        "https://files.example/x.tar.gz",
    ]
)


@st.composite
def files(draw: st.DrawFn) -> tuple[str, list[dict[str, object]]]:
    lines: list[str] = []
    expected: list[dict[str, object]] = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            line, want = draw(requirement_lines())
            lines.append(line)
            expected.append(want)
        else:
            other = draw(OTHER_LINES)
            lines.append(other)
            if "#egg=" in other:
                expected.append({"name": "editable_one"})
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(line.replace("\n", newline) for line in lines)
    if draw(st.booleans()):
        text += newline
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text, expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files())
def test_generated_files_parse_and_edit_losslessly(
    case: tuple[str, list[dict[str, object]]],
) -> None:
    text, expected = case
    parsed = read(text)
    assert parsed.text == text
    assert len(parsed.declarations) == len(expected)
    for decl, want in zip(parsed.declarations, expected, strict=True):
        assert decl.name == want["name"]
        if "constraint" not in want:
            assert decl.editable
            continue
        assert decl.extras == want["extras"]
        assert decl.constraint == want["constraint"]
        assert decl.marker == want["marker"]
        assert decl.hashes == want["hashes"]
        assert decl.span is not None
        assert text[decl.span.start : decl.span.end] == decl.constraint
        if decl.constraint:  # line and column are those of the constraint
            line_start = text.rfind("\n", 0, decl.span.start) + 1
            first_line = line_start == 0 and text.startswith("\ufeff")
            assert decl.line == text.count("\n", 0, decl.span.start) + 1
            assert decl.column == decl.span.start - line_start + 1 - first_line
        if decl.hashes:
            assert decl.hashes_span is not None
            covered = text[decl.hashes_span.start : decl.hashes_span.end]
            assert covered.startswith("--hash=") and covered.endswith(decl.hashes[-1])
    check_edits(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(files(), st.data())
def test_generated_hashes_can_be_replaced(
    case: tuple[str, list[dict[str, object]]], data: st.DataObject
) -> None:
    text, _expected = case
    hashed = [decl for decl in read(text).declarations if decl.hashes]
    assume(hashed)
    decl = data.draw(st.sampled_from(hashed))
    new = data.draw(
        st.lists(st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True), min_size=0, max_size=4)
    )
    edited = replace_hashes(text, decl, new)
    after = read(edited).declarations
    before = read(text).declarations
    assert len(after) == len(before)
    for old, fresh in zip(before, after, strict=True):
        if old.line == decl.line and old.name == decl.name:
            assert fresh.hashes == tuple(new)
            assert fresh.constraint == old.constraint
        else:
            assert fresh.hashes == old.hashes
    # Everything outside the hash options is byte-for-byte the same.
    assert decl.hashes_span is not None
    if new:
        assert edited.startswith(text[: decl.hashes_span.start])
        assert edited.endswith(text[decl.hashes_span.end :])


FUZZ_ALPHABET = st.sampled_from(
    [*"abcxyz019-_.=<>~!;,[]()@#\\ \t\r\n\"'${}:/*+&%?", "\ufeff", "\x0c", "\u2028"]
)
FUZZ_TOKENS = st.sampled_from(
    [
        "foo",
        "==1.0",
        " >= 2",
        " ; python_version < '3'",
        " --hash=sha256:ab",
        " --hash",
        "-r x.txt",
        "-e ",
        "git+https://git.example/r.git",
        "#egg=n",
        "${VAR}",
        " \\\n",
        "\r\n",
        "\n",
        " # c",
        "[x]",
        "@ https://files.example/a.whl",
        "--index-url=",
        "-i",
        "'",
        '"',
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.text(FUZZ_ALPHABET, max_size=60), st.lists(FUZZ_TOKENS, max_size=12).map("".join))
)
def test_arbitrary_text_parses_or_raises_input_error(text: str) -> None:
    try:
        parsed = read(text)
    except InputError as exc:
        assert exc.path is not None
        assert exc.line is not None and exc.line >= 1
        return
    for decl in parsed.declarations:
        if decl.span is not None:
            assert text[decl.span.start : decl.span.end] == decl.constraint
    check_edits(text)


SHELL_TEXT = st.text(st.sampled_from(list("ab-=: \t\\'\"")), max_size=20)


@settings(max_examples=300, deadline=None)
@given(SHELL_TEXT)
def test_option_splitting_matches_shlex(text: str) -> None:
    try:
        expected = shlex.split(text)
    except ValueError:
        with pytest.raises(ValueError):
            _shell_split(text, 0)
        return
    tokens = _shell_split(text, 0)
    assert [token.value for token in tokens] == expected
    for token in tokens:
        assert shlex.split(text[token.start : token.end]) == [token.value]


# -- the real-world corpus ------------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "requirements"


def _corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    found = []
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix in (".txt", ".in", ".pip") or (
            not path.suffix and path.parent.name == "requirements"
        ):
            found.append(path)
    return found


CORPUS_FILES = _corpus_files()


@pytest.mark.skipif(not CORPUS_FILES, reason="../shared/corpus/requirements is not present")
def test_corpus_files_parse_or_fail_cleanly() -> None:
    failures: dict[str, str] = {}
    parsed_count = 0
    for path in CORPUS_FILES:
        relative = PurePosixPath(path.relative_to(CORPUS).as_posix())
        text = path.read_bytes().decode("utf-8")
        try:
            parsed = read(text, relative)
        except InputError as exc:
            assert exc.path is not None and exc.line is not None, exc
            failures[relative.as_posix()] = exc.message
            continue
        parsed_count += 1
        assert parsed.text == text
        check_edits(text, limit=3)
    # Most files are ordinary; the failures are the deliberately broken inputs of parser test
    # suites (pip's and pip-requirements-parser's data, Dependabot's invalid fixtures).
    assert parsed_count > 10 * len(failures), failures
    for known_bad in (
        "pip-requirements-parser/tests/requirements_parser_reqfiles/fail_1.txt",
        "dependabot-core/python/spec/fixtures/requirements/invalid_lines.txt",
    ):
        if (CORPUS / known_bad).is_file():
            assert known_bad in failures


@pytest.mark.skipif(not CORPUS_FILES, reason="../shared/corpus/requirements is not present")
def test_corpus_compiled_files_are_detected() -> None:
    compiled = [path for path in CORPUS_FILES if "autogenerated by pip-compile" in path.read_text()]
    assert compiled
    for path in compiled:
        text = path.read_text()
        assert is_compiled(text), path
        assert compile_command(text), path


_NAMES = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,8}[A-Za-z0-9])?", fullmatch=True)
_VERSIONS = st.one_of(
    st.from_regex(
        r"v?[0-9]{1,3}(\.[0-9]{1,3}){0,3}((a|b|rc)[0-9])?(\.post[0-9])?(\.dev[0-9])?",
        fullmatch=True,
    ),
    st.from_regex(r"[0-9]\.[0-9](\.\*|\+[a-z0-9]{1,4}|-[0-9]|[a-z]{1,3})?", fullmatch=True),
    st.text(alphabet="0123456789.*+!-_abcv ", min_size=1, max_size=8),
)


@settings(max_examples=400)
@given(name=_NAMES, gap=st.sampled_from(["", " ", "\t", "  "]), version=_VERSIONS)
def test_plain_pins_are_read_as_packaging_reads_them(name: str, gap: str, version: str) -> None:
    """The shortcut for ``name==version`` accepts and names exactly what packaging does."""
    from packaging.requirements import InvalidRequirement, Requirement

    text = f"{name}{gap}=={gap}{version}".strip()
    try:
        expected = Requirement(text)
    except InvalidRequirement:
        with pytest.raises(ValueError):
            _parse_requirement(text)
        return
    parsed = _parse_requirement(text)
    assert (parsed.name, parsed.url) == (expected.name, expected.url)
