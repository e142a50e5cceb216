"""Commit series (one ``git fast-import`` for a run's commits) against real repositories.

The reference is :meth:`Git.commit`, one ``git add`` + ``git commit`` per commit: a series must
make the same trees, parents, messages and identities, whatever the repository's settings, and
leave the user's branch, HEAD, index and files alone.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gitenv import isolate_git
from greenbump.vcs import BOT_EMAIL, BOT_NAME, Git, NothingToCommit

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}

Step = tuple[Callable[[Path], None], list[str], str]


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No system or global git config of the machine running the tests leaks in."""
    isolate_git(tmp_path, monkeypatch, IDENTITY)
    # Fixed times, so that a series and single commits can be compared sha for sha.
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2024-05-01T12:00:00+02:00")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2024-05-01T12:00:00+02:00")


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "--no-optional-locks", *args], cwd=repo, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "sub dir").mkdir(parents=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    (root / "requirements.txt").write_bytes(b"a==1\nb==1\n")
    (root / "sub dir" / 'odd "name" é.txt').write_text("x==1\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "gone.txt").write_text("bye\n")
    (root / "link").symlink_to("requirements.txt")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "initial")
    return root.resolve()


def user_state(root: Path) -> dict[str, object]:
    """What the user could notice: refs, HEAD, index, status and every file's bytes."""
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and ".git" not in p.relative_to(root).parts
    }
    return {
        "refs": git(root, "for-each-ref"),
        "head": git(root, "rev-parse", "HEAD"),
        "index": (root / ".git" / "index").read_bytes(),
        "status": git(root, "status", "--porcelain"),
        "files": files,
    }


def write(rel: str, data: bytes) -> Callable[[Path], None]:
    def do(work: Path) -> None:
        (work / rel).write_bytes(data)

    return do


def steps() -> list[Step]:
    def chmod_x(work: Path) -> None:
        (work / "run.sh").chmod(0o755)

    def delete(work: Path) -> None:
        (work / "gone.txt").unlink()

    def relink(work: Path) -> None:
        (work / "link").unlink()
        (work / "link").symlink_to("sub dir")

    odd = 'sub dir/odd "name" é.txt'
    return [
        (write("requirements.txt", b"a==2\nb==1\n"), ["requirements.txt"], "Bump a from 1 to 2\n"),
        (
            write("requirements.txt", b"a==2\nb==2\n"),
            ["requirements.txt", odd],
            "  \n\nBump b from 1 to 2   \n\n\n\nFiles:\t\n- requirements.txt\n\n\n",
        ),
        (write(odd, b"x==2\r\n"), [odd], "Bump x\n\nCRLF stays CRLF without attributes"),
        (chmod_x, ["run.sh"], "Make run.sh executable"),
        (delete, ["gone.txt"], "Delete gone.txt"),
        (relink, ["link"], "Point link elsewhere"),
    ]


def one_by_one(vcs: Git, work: Path, scenario: list[Step]) -> list[str]:
    shas = []
    for change, paths, message in scenario:
        change(work)
        shas.append(vcs.commit(work, paths, message))
    return shas


def in_series(vcs: Git, work: Path, scenario: list[Step]) -> list[str]:
    series = vcs.commit_series(work)
    for change, paths, message in scenario:
        change(work)
        series.add(paths, message)
    assert len(series) == len(scenario)
    shas = series.write()
    assert len(series) == 0
    return shas


def described(repo: Path, shas: list[str]) -> list[str]:
    """Tree, parent, identities, time and raw message of each commit."""
    return [
        git(repo, "log", "-1", "--format=%T %P|%an <%ae> %ad|%cn <%ce> %cd|%B", "--date=raw", sha)
        for sha in shas
    ]


def both_ways(repo: Path, scenario: list[Step]) -> tuple[list[str], list[str], bool]:
    """The scenario committed one by one and as a series, in two scratch worktrees; and
    whether the series moved its worktree's HEAD or index (a replay through git commit)."""
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        reference = one_by_one(vcs, work, scenario)
    with vcs.worktree() as work:
        head = git(work, "rev-parse", "HEAD")
        index = git(work, "ls-files", "--stage")
        series = in_series(vcs, work, scenario)
        moved = git(work, "rev-parse", "HEAD") != head or git(work, "ls-files", "--stage") != index
    return reference, series, moved


def test_a_series_makes_the_commits_git_commit_makes(repo: Path) -> None:
    before = user_state(repo)
    reference, series, moved = both_ways(repo, steps())
    assert series == reference  # same trees, parents, identities, times and messages
    assert described(repo, series)[1].endswith("|Bump b from 1 to 2\n\nFiles:\n- requirements.txt")
    assert git(repo, "rev-parse", f"{series[0]}^") == before["head"]
    assert not moved  # the fast path: the worktree's HEAD and index stayed
    assert user_state(repo) == before  # no ref written, nothing of the user's touched


def test_a_series_without_any_identity_commits_as_greenbump(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in IDENTITY:
        monkeypatch.delenv(name)
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        series = vcs.commit_series(work)
        (work / "requirements.txt").write_bytes(b"a==3\n")
        series.add(["requirements.txt"], "bump")
        (sha,) = series.write()
    who = git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha)
    assert who == f"{BOT_NAME} <{BOT_EMAIL}>|{BOT_NAME} <{BOT_EMAIL}>"


def test_a_series_keeps_a_configured_identity(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in IDENTITY:
        monkeypatch.delenv(name)
    git(repo, "config", "user.name", "Repo Owner")
    git(repo, "config", "user.email", "owner@example.com")
    git(repo, "config", "author.name", "Author Only")
    reference, series, _ = both_ways(repo, steps()[:2])
    assert series == reference
    assert "|Author Only <owner@example.com> " in described(repo, series)[0]
    assert "|Repo Owner <owner@example.com> " in described(repo, series)[0]


@pytest.mark.parametrize(
    "setting",
    [
        ("attributes", "* text=auto\n"),
        ("attributes", "*.txt eol=crlf\n"),
        ("config", "core.autocrlf=true"),
        ("config", "core.autocrlf=input"),
    ],
)
def test_line_end_conversion_is_git_s_own(repo: Path, setting: tuple[str, str]) -> None:
    """With CRs in a file that git may convert, the series is replayed through git commit."""
    kind, value = setting
    if kind == "attributes":
        (repo / ".gitattributes").write_text(value)
        git(repo, "add", ".gitattributes")
        git(repo, "commit", "--quiet", "-m", "attributes")
    else:
        key, _, val = value.partition("=")
        git(repo, "config", key, val)
    scenario = [
        (write("requirements.txt", b"a==2\r\nb==1\r\n"), ["requirements.txt"], "crlf"),
        (write("requirements.txt", b"a==2\nb==2\n"), ["requirements.txt"], "lf"),
    ]
    reference, series, moved = both_ways(repo, scenario)
    assert series == reference
    assert moved  # replayed: git commit moved the scratch HEAD


def test_line_end_attributes_without_crs_take_the_fast_path(repo: Path) -> None:
    (repo / ".gitattributes").write_text("* text=auto\n")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "--quiet", "-m", "attributes")
    scenario = [(write("requirements.txt", b"a==5\n"), ["requirements.txt"], "lf only")]
    reference, series, moved = both_ways(repo, scenario)
    assert series == reference
    assert not moved


def test_a_clean_filter_is_git_s_own(repo: Path) -> None:
    (repo / ".gitattributes").write_text("*.txt filter=upper\n")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "--quiet", "-m", "attributes")
    git(repo, "config", "filter.upper.clean", "tr a-z A-Z")
    git(repo, "config", "filter.upper.smudge", "cat")
    scenario = [(write("requirements.txt", b"a==6\n"), ["requirements.txt"], "filtered")]
    reference, series, moved = both_ways(repo, scenario)
    assert series == reference
    assert git(repo, "show", f"{series[0]}:requirements.txt") == "A==6"
    assert moved


def test_a_new_path_is_left_to_git_add(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.lock\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "--quiet", "-m", "ignore")
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        series = vcs.commit_series(work)
        (work / "new.txt").write_text("new\n")
        series.add(["new.txt"], "add a file")
        (sha,) = series.write()
        assert git(repo, "show", f"{sha}:new.txt") == "new"
        series = vcs.commit_series(work)
        (work / "poetry.lock").write_text("ignored\n")
        series.add(["poetry.lock"], "add an ignored file")
        with pytest.raises(Exception, match="ignored"):  # what git add says
            series.write()


def test_a_commit_that_changes_nothing_is_refused_before_any_is_made(repo: Path) -> None:
    vcs = Git.find(repo)
    objects = git(repo, "count-objects")
    with vcs.worktree() as work:
        series = vcs.commit_series(work)
        (work / "requirements.txt").write_bytes(b"a==9\n")
        series.add(["requirements.txt"], "bump")
        series.add(["requirements.txt"], "again")  # same content: nothing to commit
        with pytest.raises(NothingToCommit):
            series.write()
        with pytest.raises(NothingToCommit):
            series.add([], "no paths")
        with pytest.raises(ValueError, match="empty commit message"):
            series.add(["requirements.txt"], " \n")
    assert git(repo, "count-objects") == objects
    assert vcs.commit_series(repo).write() == []


def test_after_the_series_the_files_are_as_the_caller_left_them(repo: Path) -> None:
    """A replay writes each commit's snapshot back, then the files as they were at write()."""
    git(repo, "config", "core.autocrlf", "true")
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        series = vcs.commit_series(work)
        (work / "requirements.txt").write_bytes(b"a==2\r\n")
        series.add(["requirements.txt"], "one")
        (work / "requirements.txt").write_bytes(b"a==3\r\n")
        series.add(["requirements.txt"], "two")
        (work / "requirements.txt").write_bytes(b"a==4 not committed\n")
        series.write()
        assert (work / "requirements.txt").read_bytes() == b"a==4 not committed\n"


def test_user_hooks_never_run(repo: Path) -> None:
    marker = repo.parent / "hook-ran"
    for hook in (
        "pre-commit",
        "commit-msg",
        "post-commit",
        "post-rewrite",
        "reference-transaction",
    ):
        script = repo / ".git" / "hooks" / hook
        script.write_text(f"#!/bin/sh\necho {hook} >> '{marker}'\nexit 1\n")
        script.chmod(0o755)
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        series = vcs.commit_series(work)
        (work / "requirements.txt").write_bytes(b"a==2\n")
        series.add(["requirements.txt"], "bump")
        series.write()
    assert not marker.exists()


def test_state_reads_branch_head_and_changes_in_one_status(repo: Path) -> None:
    vcs = Git.find(repo / "sub dir")
    clean = vcs.state()
    assert (clean.branch, clean.head, clean.changed) == ("main", git(repo, "rev-parse", "HEAD"), ())
    git(repo, "mv", "gone.txt", "moved.txt")
    (repo / "untracked.txt").write_text("u\n")
    (repo / "requirements.txt").write_text("edited\n")
    state = vcs.state()
    assert set(state.changed) == {"moved.txt", "gone.txt", "untracked.txt", "requirements.txt"}
    git(repo, "checkout", "--quiet", "--detach")
    assert vcs.state().branch is None
