"""Upgrades judged against a baseline whose tests fail, even one whose tests cannot import.

The case comes from a real application: its old pins no longer worked with today's
transitive releases, so its test module failed to import at the current versions. An upgrade
that leaves the module as unimportable as before must not count as green (nothing passed at
baseline, so only a run that passes shows an upgrade is no worse), and the result must say the
baseline was red.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from greenbump.main import main
from localindex import LocalIndex, Release
from upgrade_app import OLD, git

RELEASES = [
    Release("alpha", "1.0.0", module="VALUE = 1\n", uploaded=OLD),
    Release("alpha", "2.0.0", module="VALUE = 2\n", uploaded=OLD),
    Release("beta", "1.0.0", module="VALUE = 1\n", uploaded=OLD),
    Release("beta", "2.0.0", module="VALUE = 2\n", uploaded=OLD),
]


def _app(root: Path, test_source: str) -> Path:
    root.mkdir()
    (root / "requirements.txt").write_text("alpha==1.0.0\nbeta==1.0.0\n")
    (root / "requirements-dev.txt").write_text("-r requirements.txt\npytest\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_app.py").write_text(test_source)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return root


@pytest.fixture
def index(
    make_index: Callable[..., LocalIndex], wheelhouse: Path, monkeypatch: pytest.MonkeyPatch
) -> LocalIndex:
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    return make_index(RELEASES)


def _upgrade(
    capsys: pytest.CaptureFixture[str], root: Path, index: LocalIndex, report: Path
) -> tuple[int, dict[str, object], str]:
    markdown = report.with_suffix(".md")
    argv = ["upgrade", str(root), "--index-url", index.index_url]
    code = main([*argv, "--report", str(report), "--report", str(markdown)])
    out, _err = capsys.readouterr()
    return code, json.loads(report.read_text()), out


def test_an_upgrade_that_fixes_an_unimportable_baseline_is_kept_and_a_breaking_one_held(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _app(
        tmp_path / "app",
        "import alpha, beta\n\n"
        "assert alpha.VALUE == 2  # the module imports only once alpha moves\n\n\n"
        "def test_beta():\n    assert beta.VALUE == 1\n",
    )
    code, doc, out = _upgrade(capsys, root, index, tmp_path / "report.json")
    assert code == 0, out
    packages = {p["name"]: p for p in doc["packages"]}  # type: ignore[attr-defined]
    assert packages["alpha"]["status"] == "upgraded"
    assert packages["beta"]["status"] == "held"
    assert "tests/test_app.py::test_beta" in packages["beta"]["failing_tests"]
    assert doc["baseline_failures"] == ["tests/test_app.py"]
    assert "tests/test_app.py: AssertionError: assert 1 == 2" in str(doc["baseline_error"])
    assert "already failed at the current versions (baseline)" in out
    assert "only sets whose tests all pass were accepted" in out
    assert "breaks tests/test_app.py::test_beta" in out
    assert "[tests/test_app.py::test_beta]" not in out  # named once, not again in brackets
    markdown = (tmp_path / "report.md").read_text()
    assert "already failed at the current versions" in markdown
    assert "assert 1 == 2" in markdown
    branch = str(doc["branch"])
    assert git(root, "show", f"{branch}:requirements.txt") == "alpha==2.0.0\nbeta==1.0.0\n"


def test_upgrades_that_leave_the_tests_unimportable_are_not_green(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _app(
        tmp_path / "app",
        "import alpha\n\nassert alpha.VALUE == 3  # no release fixes this\n\n\n"
        "def test_nothing():\n    pass\n",
    )
    code, doc, out = _upgrade(capsys, root, index, tmp_path / "report.json")
    assert code == 1, out
    assert doc["status"] == "held"
    packages = {p["name"]: p for p in doc["packages"]}  # type: ignore[attr-defined]
    assert packages["alpha"]["status"] == packages["beta"]["status"] == "held"
    assert "no tested set passes the tests" in packages["alpha"]["reason"]
    assert "AssertionError: assert 2 == 3" in packages["alpha"]["error"]
    assert doc["commits"] == []
    assert "greenbump/" not in git(root, "branch", "--list")
