"""``upgrade --python X.Y``: test environments use that Python, or the run stops with exit 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.version import Version

from greenbump.errors import InputError
from greenbump.main import main
from greenbump.query import find_interpreter
from localindex import LocalIndex
from upgrade_app import RELEASES, git, make_app, snapshot


def _other_python() -> str | None:
    """Another installed Python that needs no more from the wheelhouse than this one."""
    for candidate in ("3.13", "3.12", "3.11"):
        if candidate == f"{sys.version_info[0]}.{sys.version_info[1]}":
            continue
        try:
            find_interpreter(Version(candidate))
        except InputError:
            continue
        return candidate
    return None


def test_a_version_with_no_interpreter_is_exit_2_and_changes_nothing(
    tmp_path: Path,
    make_index: Callable[..., LocalIndex],
    capsys: pytest.CaptureFixture[str],
) -> None:
    index = make_index(RELEASES)
    root = make_app(tmp_path / "app", (1, 2))
    before = snapshot(root)
    code = main(["upgrade", str(root), "--index-url", index.index_url, "--python", "3.99"])
    _out, err = capsys.readouterr()
    assert code == 2
    assert "no Python 3.99 interpreter found" in err
    assert "Traceback" not in err
    assert snapshot(root) == before


def test_the_requested_python_runs_the_tests(
    tmp_path: Path,
    make_index: Callable[..., LocalIndex],
    wheelhouse: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    python = _other_python()
    if python is None:
        pytest.skip("no second Python 3.11+ interpreter on this machine")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    index = make_index(RELEASES)
    root = make_app(tmp_path / "app", (1, 2))
    major, minor = python.split(".")
    (root / "tests" / "test_python.py").write_text(
        "import sys\n\n\ndef test_python():\n"
        f"    assert sys.version_info[:2] == ({major}, {minor})\n"
    )
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "python test")
    code = main(
        [
            "upgrade",
            str(root),
            "--index-url",
            index.index_url,
            "--python",
            python,
            "--format",
            "json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "upgraded"
    assert all(run["passed"] for run in doc["test_runs"])  # test_python passed: right Python
