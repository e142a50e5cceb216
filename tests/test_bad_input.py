"""Bad input of every kind: one clear ``file:line: message``, exit 2, no traceback, no change.

Each case is a small project written here; every command that reads it (``deps``, ``check``,
``upgrade --dry-run``) must refuse it the same way and leave every byte on disk as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenbump.errors import InputError
from greenbump.main import main
from greenbump.model import FileKind
from greenbump.readers import parse
from localindex import LocalIndex

CASES: dict[str, tuple[dict[str, bytes], str]] = {
    "malformed TOML": (
        {"pyproject.toml": b'[project]\nname = "x"\ndependencies = ["a",\n[oops\n'},
        "pyproject.toml:4:",
    ),
    "invalid requirement line": (
        {"requirements.txt": b"alpha==1.0.0\nbeta >>= 2\n"},
        "requirements.txt:2:",
    ),
    "invalid PEP 508 in pyproject": (
        {"pyproject.toml": b'[project]\nname = "x"\ndependencies = [\n"a b c",\n]\n'},
        "pyproject.toml:4:",
    ),
    "include cycle": (
        {
            "requirements.txt": b"-r more-requirements.txt\n",
            "more-requirements.txt": b"-r requirements.txt\n",
        },
        "include cycle",
    ),
    "missing include": (
        {"requirements.txt": b"alpha==1.0.0\n-c constraints/missing.txt\n"},
        "requirements.txt:2: included file not found",
    ),
    "non-UTF-8 file": (
        {"requirements.txt": b"alpha==1.0.0\nbeta==1.0.0 # caf\xe9\n"},
        "requirements.txt:2: not valid UTF-8",
    ),
    "binary file": (
        {"requirements.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"},
        "requirements.txt:3: binary file",
    ),
    "conflicting duplicate pins": (
        {"requirements.txt": b"alpha==1.0.0\nbeta==1.0.0\nalpha==1.1.0\n"},
        "requirements.txt:3: conflicting pins for alpha",
    ),
    "unknown option": (
        {"requirements.txt": b"--no-such-option\nalpha==1.0.0\n"},
        "requirements.txt:1:",
    ),
    "bad poetry constraint": (
        {"pyproject.toml": b'[tool.poetry.dependencies]\npython = "^3.10"\nalpha = "1.2.^"\n'},
        "pyproject.toml:3:",
    ),
    "bad greenbump setting": (
        {"pyproject.toml": b'[project]\nname = "x"\n\n[tool.greenbump]\nlevle = "minor"\n'},
        "pyproject.toml:5: unknown key 'levle'",
    ),
}


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _disk(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


COMMANDS: dict[str, Callable[[Path, str], list[str]]] = {
    "deps": lambda root, url: ["deps", str(root)],
    "check": lambda root, url: ["check", str(root), "--index-url", url, "--advisories", str(root)],
    "upgrade": lambda root, url: ["upgrade", str(root), "--dry-run", "--index-url", url],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_clear_error(
    tmp_path: Path,
    case: str,
    command: str,
    local_index: LocalIndex,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files, expected = CASES[case]
    root = tmp_path / "project"
    root.mkdir()
    _write(root, files)
    before = _disk(root)
    code = main(COMMANDS[command](root, local_index.index_url))
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err
    assert "Traceback" not in err
    assert err.count("\n") <= 4, err  # one message, not a dump
    assert _disk(root) == before


def test_huge_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (tmp_path / "requirements.txt").open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    assert main(["deps", str(tmp_path)]) == 2
    assert "too large" in capsys.readouterr().err


def test_include_through_symlink_outside_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("alpha==1.0.0\n")
    root = tmp_path / "project"
    root.mkdir()
    (root / "linked.txt").symlink_to(outside)
    (root / "requirements.txt").write_text("-r linked.txt\n")
    assert main(["deps", str(root)]) == 2
    assert "requirements.txt:1: include points outside the project" in capsys.readouterr().err


def test_symlinked_dependency_file_is_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "requirements.txt").write_text("alpha==1.0.0\n")
    root = tmp_path / "project"
    root.mkdir()
    (root / "requirements.txt").symlink_to(outside / "requirements.txt")
    assert main(["deps", str(root), "--format", "json"]) == 0
    assert '"dependencies": []' in capsys.readouterr().out


def test_project_without_dependencies_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    assert main(["deps", str(tmp_path)]) == 0
    assert "1 files: pyproject.toml (pyproject, 0)" in capsys.readouterr().out


def test_unknown_package_names_its_line(
    tmp_path: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "requirements.txt").write_text("alpha==1.0.0\nnot-on-the-index==1.0\n")
    code = main(["upgrade", str(tmp_path), "--dry-run", "--index-url", local_index.index_url])
    assert code == 2
    assert "requirements.txt:2: unknown package 'not-on-the-index'" in capsys.readouterr().err


TOML_KINDS = [
    FileKind.PYPROJECT,
    FileKind.PIPFILE,
    FileKind.UV_LOCK,
    FileKind.POETRY_LOCK,
    FileKind.PDM_LOCK,
    FileKind.PYLOCK,
]


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(max_size=400),
    kind=st.sampled_from([*TOML_KINDS, FileKind.SETUP_CFG, FileKind.PIPFILE_LOCK]),
)
def test_readers_never_crash_on_arbitrary_text(text: str, kind: FileKind) -> None:
    from pathlib import PurePosixPath

    with contextlib.suppress(InputError):
        parse(text, PurePosixPath("f"), kind)


_TOML_ATOMS = st.sampled_from(
    [
        "[project]\n",
        "dependencies = [",
        '"a>=1",',
        "\"b ; python_version<'3'\"",
        "]\n",
        "[tool.poetry.dependencies]\n",
        'x = "^1.2"\n',
        'y = {version = "~1"}\n',
        "[[package]]\n",
        'name = "a"\n',
        'version = "1.0"\n',
        "# c\n",
        '"""\n',
        "'",
        "=",
        "\r\n",
        "[dependency-groups]\n",
        'dev = [{include-group = "dev"}]\n',
        "\ufeff",
        "[tool.uv]\n",
        "dev-dependencies = []\n",
    ]
)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(_TOML_ATOMS, max_size=14), kind=st.sampled_from(TOML_KINDS))
def test_toml_readers_only_raise_input_errors(parts: list[str], kind: FileKind) -> None:
    from pathlib import PurePosixPath

    text = "".join(parts)
    try:
        parsed = parse(text, PurePosixPath("f.toml"), kind)
    except InputError:
        return
    for decl in parsed.declarations:
        if decl.span is not None:
            assert text[decl.span.start : decl.span.end] == decl.constraint


def test_environment_is_isolated() -> None:
    assert not any(k.startswith(("PIP_INDEX", "UV_INDEX")) for k in os.environ)
