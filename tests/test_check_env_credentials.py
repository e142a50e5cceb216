"""``greenbump check`` against an index whose credentials only the environment holds.

The project's files name the index with variable references, as pip's requirement files
(``${NAME}``) and pipenv's Pipfile sources (``$NAME`` and ``${NAME}``) allow; the local index
demands basic auth. The check must log in with the expanded values, never print them (not
with ``-vv`` either, nor in a refusal), keep the files' text as it was, and, when a variable
is not set, say which one and in which file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from greenbump.main import main
from localindex import DEFAULT_CATALOGUE, LocalIndex

SECRET = "env-only-S3cret-9f2"


@pytest.fixture
def private_index(make_index: Callable[..., LocalIndex]) -> LocalIndex:
    return make_index(DEFAULT_CATALOGUE, auth=("alice", SECRET))


def _host(index: LocalIndex) -> str:
    """``127.0.0.1:PORT`` of the running index."""
    return index.index_url.split("://", 1)[1].split("/", 1)[0]


def _requirements_project(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "requirements.txt").write_text(
        "--index-url http://${IDX_USER}:${IDX_TOKEN}@${IDX_HOST}/simple/\n"
        "alpha==1.0.0\n"
        "beta==1.0.0\n"
    )
    return root


def _pipfile_project(tmp_path: Path, index: LocalIndex) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "Pipfile").write_text(
        "[[source]]\n"
        f'url = "http://$IDX_USER:${{IDX_TOKEN}}@{_host(index)}/simple/"\n'
        'name = "private"\n'
        "verify_ssl = false\n"
        "\n"
        "[packages]\n"
        'alpha = "==1.0.0"\n'
        'beta = "==1.0.0"\n'
    )
    return root


def _check(
    capsys: pytest.CaptureFixture[str], root: Path, osv: Path, *more: str
) -> tuple[int, str, str]:
    code = main(["check", str(root), "--advisories", str(osv), *more])
    out, err = capsys.readouterr()
    return code, out, err


def _latest(out: str) -> dict[str, str]:
    return {p["name"]: p["latest"] for p in json.loads(out)["packages"]}


def _authenticated(index: LocalIndex) -> bool:
    pages = [r for r in index.requests if r.path.startswith("/simple/")]
    return bool(pages) and all(r.status == 200 for r in pages)


def test_requirements_file_credentials_from_the_environment(
    tmp_path: Path,
    private_index: LocalIndex,
    osv: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _requirements_project(tmp_path)
    before = (root / "requirements.txt").read_bytes()
    monkeypatch.setenv("IDX_USER", "alice")
    monkeypatch.setenv("IDX_TOKEN", SECRET)
    monkeypatch.setenv("IDX_HOST", _host(private_index))
    code, out, err = _check(capsys, root, osv, "--format", "json", "-vv")
    assert code == 0, err
    assert _latest(out) == {"alpha": "2.0.0", "beta": "2.0.0"}
    assert _authenticated(private_index)
    assert SECRET not in out + err
    code, out, err = _check(capsys, root, osv, "-vv", "--refresh")  # the table, and its logs
    assert code == 0, err
    assert "alpha" in out
    assert SECRET not in out + err
    assert (root / "requirements.txt").read_bytes() == before


def test_a_refused_expanded_password_is_not_shown(
    tmp_path: Path,
    private_index: LocalIndex,
    osv: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "wrong-but-secret-Pw-41"
    root = _requirements_project(tmp_path)
    monkeypatch.setenv("IDX_USER", "alice")
    monkeypatch.setenv("IDX_TOKEN", wrong)
    monkeypatch.setenv("IDX_HOST", _host(private_index))
    code, out, err = _check(capsys, root, osv, "-vv")
    assert code == 3, err
    assert "HTTP 401" in err
    assert "alice:****@127.0.0.1" in err
    assert wrong not in out + err


def test_an_unset_password_variable_is_named_in_the_refusal(
    tmp_path: Path,
    private_index: LocalIndex,
    osv: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _requirements_project(tmp_path)
    monkeypatch.setenv("IDX_USER", "alice")
    monkeypatch.delenv("IDX_TOKEN", raising=False)
    monkeypatch.setenv("IDX_HOST", _host(private_index))
    code, _, err = _check(capsys, root, osv)
    assert code == 3, err
    assert "HTTP 401" in err
    assert "(from requirements.txt; environment variable IDX_TOKEN is not set)" in err


def test_an_unset_host_variable_is_an_input_error(
    tmp_path: Path,
    private_index: LocalIndex,
    osv: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _requirements_project(tmp_path)
    monkeypatch.setenv("IDX_USER", "alice")
    monkeypatch.setenv("IDX_TOKEN", SECRET)
    monkeypatch.delenv("IDX_HOST", raising=False)
    code, out, err = _check(capsys, root, osv)
    assert code == 2, err
    assert "requirements.txt: index URL" in err
    assert "environment variable IDX_HOST is not set" in err
    assert SECRET not in out + err
    assert not private_index.requests


def test_pipfile_source_credentials_from_the_environment(
    tmp_path: Path,
    private_index: LocalIndex,
    osv: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _pipfile_project(tmp_path, private_index)
    before = (root / "Pipfile").read_bytes()
    monkeypatch.setenv("IDX_USER", "alice")
    monkeypatch.setenv("IDX_TOKEN", SECRET)
    code, out, err = _check(capsys, root, osv, "--format", "json", "-vv")
    assert code == 0, err
    assert _latest(out) == {"alpha": "2.0.0", "beta": "2.0.0"}
    assert _authenticated(private_index)
    assert SECRET not in out + err
    assert (root / "Pipfile").read_bytes() == before
