"""A small application in a real git repository, and the releases it upgrades to.

Shared by the upgrade, interruption and isolation tests: requirements.txt pins five packages
of the local index, requirements-dev.txt adds pytest (from the offline wheelhouse), and one test
checks the packages' behaviour.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from localindex import Release

OLD = dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc)


def _mod(value: int) -> str:
    return f"VALUE = {value}\n"


RELEASES = [
    Release("alpha", "1.0.0", module=_mod(1), uploaded=OLD),
    Release("alpha", "1.1.0", module=_mod(1), uploaded=OLD),
    Release("alpha", "2.0.0", module=_mod(2), uploaded=OLD),
    Release("beta", "1.0.0", module=_mod(1), uploaded=OLD),
    Release("beta", "1.2.0", module=_mod(1), uploaded=OLD),
    Release("gamma", "1.0.0", module=_mod(1), uploaded=OLD),
    Release("gamma", "1.1.0", module=_mod(1), uploaded=OLD),
    Release("gamma", "1.2.0", module=_mod(1), uploaded=OLD, yanked="broken"),
    Release("delta", "1.0.0", module=_mod(1), uploaded=OLD),
    Release("delta", "2.0.0", module=_mod(1), uploaded=OLD, requires_python=">=3.99"),
    Release("epsilon", "1.0.0", module=_mod(1), uploaded=OLD),
    Release("epsilon", "1.0.1", module=_mod(1), uploaded=dt.datetime.now(dt.timezone.utc)),
]

TEST_FILE = """\
import alpha, beta, gamma, delta, epsilon


def test_values():
    assert alpha.VALUE in ALLOWED
    assert beta.VALUE == 1
"""


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def make_app(root: Path, allowed: tuple[int, ...]) -> Path:
    root.mkdir()
    (root / "requirements.txt").write_text(
        "# runtime pins\nalpha==1.0.0\nbeta==1.0.0  # keep this comment\r\n"
        "gamma==1.0.0\ndelta==1.0.0\nepsilon==1.0.0\n"
    )
    (root / "requirements-dev.txt").write_text("-r requirements.txt\npytest\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_app.py").write_text(f"ALLOWED = {allowed!r}\n" + TEST_FILE)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every byte the user owns: files (not .git, not greenbump's own excluded .greenbump/),
    HEAD, status and branches."""
    files = {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] not in (".git", ".greenbump")
    }
    files["HEAD"] = git(root, "rev-parse", "HEAD").encode()
    files["status"] = git(root, "status", "--porcelain").encode()
    files["branches"] = git(root, "branch", "--list").encode()
    return files
