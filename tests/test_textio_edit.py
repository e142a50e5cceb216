"""Lossless reading, atomic writing and span splicing."""

from __future__ import annotations

import stat
from pathlib import Path, PurePosixPath

import pytest

from greenbump.discover import kind_by_name
from greenbump.edit import apply_constraints, set_constraint, splice
from greenbump.errors import InputError
from greenbump.model import Declaration, FileKind, Span
from greenbump.textio import line_col, read_text, write_text


def test_read_write_is_byte_identical(tmp_path: Path) -> None:
    data = "\ufeffa==1\r\nb>=2 # keep\r\n\tc\n".encode()
    path = tmp_path / "requirements.txt"
    path.write_bytes(data)
    text = read_text(path)
    assert text.startswith("\ufeff")
    assert "\r\n" in text
    write_text(path, text)
    assert path.read_bytes() == data


def test_write_keeps_mode_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("a==1\n")
    path.chmod(0o640)
    write_text(path, "a==2\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_text() == "a==2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["requirements.txt"]


def test_failed_write_leaves_old_file(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("a==1\n")
    with pytest.raises(UnicodeEncodeError):
        write_text(path, "a==2\ud800\n")  # a lone surrogate cannot be encoded
    assert path.read_text() == "a==1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["requirements.txt"]


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"a==1\nb==2 # caf\xe9\n")
    with pytest.raises(InputError) as exc:
        read_text(path)
    assert exc.value.line == 2
    assert "not valid UTF-8" in str(exc.value)


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(InputError, match="binary file"):
        read_text(path)


def test_line_col() -> None:
    text = "ab\ncd\r\nef"
    assert line_col(text, 0) == (1, 1)
    assert line_col(text, 4) == (2, 2)
    assert line_col(text, 8) == (3, 2)


def _decl(text: str, old: str, name: str = "a") -> Declaration:
    start = text.index(old)
    return Declaration(
        name=name,
        file=PurePosixPath("r.txt"),
        line=1,
        column=start + 1,
        constraint=old,
        span=Span(start, start + len(old)),
    )


def test_set_constraint_changes_only_the_span() -> None:
    text = "a>=1.0  # pinned\r\nb==2\r\n"
    assert set_constraint(text, _decl(text, ">=1.0"), ">=2.0") == "a>=2.0  # pinned\r\nb==2\r\n"


def test_stale_declaration_is_refused() -> None:
    text = "a>=1.0\n"
    decl = _decl(text, ">=1.0")
    with pytest.raises(ValueError, match="expected"):
        splice("a==3.0\n", decl.span or Span(0, 0), decl.constraint, "==4")


def test_apply_several_edits_in_one_file() -> None:
    text = "a==1\nb==2\nc==3\n"
    changes = [(_decl(text, "==1", "a"), "==10"), (_decl(text, "==3", "c"), "==30")]
    assert apply_constraints(text, changes) == "a==10\nb==2\nc==30\n"


def test_url_declaration_is_not_editable() -> None:
    decl = Declaration(
        name="a",
        file=PurePosixPath("r.txt"),
        line=3,
        column=1,
        constraint="",
        span=None,
        url="https://example.invalid/a.whl",
    )
    with pytest.raises(InputError, match=r"r.txt:3: a has no editable version"):
        set_constraint("a @ https://example.invalid/a.whl\n", decl, "==1")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("requirements.txt", FileKind.REQUIREMENTS),
        ("requirements-dev.in", FileKind.REQUIREMENTS),
        ("dev-requirements.txt", FileKind.REQUIREMENTS),
        ("requirements/base.txt", FileKind.REQUIREMENTS),
        ("constraints.txt", FileKind.REQUIREMENTS),
        ("pyproject.toml", FileKind.PYPROJECT),
        ("setup.cfg", FileKind.SETUP_CFG),
        ("Pipfile", FileKind.PIPFILE),
        ("Pipfile.lock", FileKind.PIPFILE_LOCK),
        ("uv.lock", FileKind.UV_LOCK),
        ("poetry.lock", FileKind.POETRY_LOCK),
        ("pdm.lock", FileKind.PDM_LOCK),
        ("pylock.toml", FileKind.PYLOCK),
        ("pylock.dev.toml", FileKind.PYLOCK),
        ("MANIFEST.in", None),
        ("README.txt", None),
        ("setup.py", None),
    ],
)
def test_kind_by_name(name: str, kind: FileKind | None) -> None:
    assert kind_by_name(PurePosixPath(name)) is kind
