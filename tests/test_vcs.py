"""The git boundary against real repositories: the user's branch, HEAD, index and files stay put."""

from __future__ import annotations

import datetime
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import greenbump
from gitenv import isolate_git
from greenbump.errors import ExternalError, InputError
from greenbump.vcs import BOT_EMAIL, BOT_NAME, Git, NothingToCommit, branch_name

REQUIREMENTS = b"a==1\r\nb==2\r\n"  # CRLF on purpose: bytes must survive every round trip
IDENTITY = {
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No system or global git config of the machine running the tests leaks in."""
    isolate_git(tmp_path, monkeypatch, IDENTITY)
    monkeypatch.setenv("GIT_EDITOR", "true")


def git(repo: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(
        ["git", "--no-optional-locks", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "--quiet", "--initial-branch=main")
    (root / "requirements.txt").write_bytes(REQUIREMENTS)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / ".gitignore").write_text("*.log\n")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "initial")
    return root.resolve()


def snapshot(root: Path) -> dict[str, object]:
    """Everything the user could notice: HEAD, branch, index, status and every file's bytes."""
    index = (root / ".git" / "index").read_bytes()
    files = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }
    return {
        "index": index,
        "head": git(root, "rev-parse", "HEAD"),
        "branch": git(root, "symbolic-ref", "--quiet", "HEAD", check=False),
        "main": git(root, "rev-parse", "refs/heads/main"),
        "status": git(root, "status", "--porcelain", "--untracked-files=all"),
        "files": files,
    }


def make_conflict(root: Path) -> None:
    """Branch ``other`` and ``main`` both change the first line of requirements.txt."""
    git(root, "branch", "other")
    (root / "requirements.txt").write_bytes(b"a==2\r\nb==2\r\n")
    git(root, "commit", "--quiet", "-am", "main side")
    git(root, "checkout", "--quiet", "other")
    (root / "requirements.txt").write_bytes(b"a==3\r\nb==2\r\n")
    git(root, "commit", "--quiet", "-am", "other side")
    git(root, "checkout", "--quiet", "main")


def only_main_worktree(root: Path) -> bool:
    listed = [line for line in git(root, "worktree", "list", "--porcelain").splitlines() if line]
    admin = root / ".git" / "worktrees"
    leftover = list(admin.iterdir()) if admin.exists() else []
    return (
        listed[0] == f"worktree {root}"
        and sum(line.startswith("worktree ") for line in listed) == 1
        and not leftover
    )


# -- finding the repository -----------------------------------------------------------------


def test_find_from_subfolder_and_file(repo: Path) -> None:
    assert Git.find(repo / "src").root == repo
    assert Git.find(repo / "src" / "app.py").root == repo


def test_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(InputError, match="not a git repository") as exc:
        Git.find(plain)
    assert exc.value.path is not None


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        Git.find(tmp_path / "nope" / "deeper")


def test_git_missing(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(ExternalError, match="git not found"):
        Git.find(repo)


# -- state and require_clean ----------------------------------------------------------------


def test_clean_state(repo: Path) -> None:
    state = Git.find(repo).require_clean()
    assert state.head == git(repo, "rev-parse", "HEAD")
    assert state.branch == "main"
    assert not state.detached
    assert not state.dirty
    assert state.changed == ()
    assert state.operation is None


@pytest.mark.parametrize("change", ["modified", "staged", "untracked", "deleted"])
def test_dirty_tree_is_refused_unless_allowed(repo: Path, change: str) -> None:
    path = "src/new.py" if change == "untracked" else "src/app.py"
    if change == "deleted":
        (repo / path).unlink()
    else:
        (repo / path).write_text("changed\n")
    if change == "staged":
        git(repo, "add", path)
    vcs = Git.find(repo)
    state = vcs.state()
    assert state.dirty
    assert state.changed == (path,)
    with pytest.raises(InputError, match="uncommitted changes") as exc:
        vcs.require_clean()
    assert path in str(exc.value)
    assert vcs.require_clean(allow_dirty=True).changed == (path,)


def test_ignored_files_do_not_make_it_dirty(repo: Path) -> None:
    (repo / "debug.log").write_text("noise\n")
    assert not Git.find(repo).state().dirty


def test_rename_lists_both_paths(repo: Path) -> None:
    git(repo, "mv", "src/app.py", "src/main.py")
    assert set(Git.find(repo).state().changed) == {"src/app.py", "src/main.py"}


def test_dirty_message_names_a_few_paths(repo: Path) -> None:
    for i in range(8):
        (repo / f"new{i}.txt").write_text("x\n")
    with pytest.raises(InputError, match=r"new0\.txt.*and 3 more"):
        Git.find(repo).require_clean()


@pytest.mark.parametrize(
    ("command", "operation"),
    [
        (("merge", "other"), "merge"),
        (("cherry-pick", "other"), "cherry-pick"),
        (("revert", "--no-edit", "HEAD~1"), "revert"),
        (("bisect", "start"), "bisect"),
    ],
)
def test_unfinished_operation_is_always_refused(
    repo: Path, command: tuple[str, ...], operation: str
) -> None:
    make_conflict(repo)
    (repo / "requirements.txt").write_bytes(b"a==4\r\nb==2\r\n")  # so the revert conflicts
    git(repo, "commit", "--quiet", "-am", "main again")
    git(repo, *command, check=False)
    vcs = Git.find(repo)
    assert vcs.state().operation == operation
    with pytest.raises(InputError, match=f"a {operation} is in progress"):
        vcs.require_clean(allow_dirty=True)


def test_mid_rebase_is_refused(repo: Path) -> None:
    make_conflict(repo)
    git(repo, "checkout", "--quiet", "other")
    git(repo, "rebase", "main", check=False)
    vcs = Git.find(repo)
    state = vcs.state()
    assert state.operation == "rebase"
    with pytest.raises(InputError, match=r"rebase is in progress.*git rebase --abort"):
        vcs.require_clean(allow_dirty=True)


def test_detached_head_is_reported_and_allowed(repo: Path) -> None:
    git(repo, "checkout", "--quiet", "--detach")
    state = Git.find(repo).require_clean()
    assert state.detached
    assert state.branch is None
    assert state.head == git(repo, "rev-parse", "HEAD")


def test_repository_without_commits(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "--quiet", "--initial-branch=main")
    vcs = Git.find(root)
    state = vcs.state()
    assert state.head is None
    assert state.branch == "main"
    with pytest.raises(InputError, match="no commits"):
        vcs.require_clean(allow_dirty=True)
    with pytest.raises(InputError, match="no commits"), vcs.worktree():
        pass


# -- the scratch worktree -------------------------------------------------------------------


def test_worktree_is_outside_and_removed(repo: Path) -> None:
    vcs = Git.find(repo)
    with vcs.worktree("gb-test") as work:
        assert work.is_dir()
        assert not work.is_relative_to(repo)
        assert work.name.startswith("gb-test-")
        assert (work / "requirements.txt").read_bytes() == REQUIREMENTS
        assert git(work, "symbolic-ref", "--quiet", "HEAD", check=False) == ""  # detached
        assert work in vcs.worktrees()
    assert not work.exists()
    assert only_main_worktree(repo)


class Terminated(BaseException):
    """Stands in for the exception greenbump's SIGTERM handler raises."""


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt, Terminated])
def test_worktree_is_removed_when_the_block_fails(repo: Path, error: type[BaseException]) -> None:
    vcs = Git.find(repo)
    seen: list[Path] = []
    with pytest.raises(error), vcs.worktree() as work:
        seen.append(work)
        (work / "scratch.txt").write_text("left behind?\n")
        raise error
    assert seen
    assert not seen[0].exists()
    assert only_main_worktree(repo)


@pytest.mark.parametrize("mishap", ["folder deleted", "worktree locked"])
def test_worktree_record_is_cleaned_up_after_mishaps(repo: Path, mishap: str) -> None:
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        if mishap == "folder deleted":
            shutil.rmtree(work)
        else:
            git(repo, "worktree", "lock", "--reason", "test", str(work))
    assert not work.exists()
    assert only_main_worktree(repo)


def test_worktree_is_removed_on_sigterm(repo: Path) -> None:
    script = textwrap.dedent(
        """
        import signal, sys, time
        from pathlib import Path
        from greenbump.vcs import Git

        class Terminated(BaseException):
            pass

        def on_term(signum, frame):
            raise Terminated

        signal.signal(signal.SIGTERM, on_term)
        try:
            with Git.find(Path(sys.argv[1])).worktree("gb-sig") as work:
                print(work, flush=True)
                time.sleep(60)
        except Terminated:
            sys.exit(143)
        """
    )
    src = Path(greenbump.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(src)}
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(repo)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    work = Path(child.stdout.readline().strip())
    assert work.is_dir()
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 143
    child.stdout.close()
    assert not work.exists()
    assert only_main_worktree(repo)


def test_copy_paths_carries_uncommitted_changes(repo: Path) -> None:
    (repo / "requirements.txt").write_bytes(b"a==1\r\nb==3\r\n")
    (repo / "notes.txt").write_text("new\n")
    (repo / "src" / "app.py").unlink()
    (repo / "link").symlink_to("requirements.txt")
    vcs = Git.find(repo)
    changed = vcs.require_clean(allow_dirty=True).changed
    assert set(changed) == {"requirements.txt", "notes.txt", "src/app.py", "link"}
    with vcs.worktree() as work:
        vcs.copy_paths(work, changed)
        assert (work / "requirements.txt").read_bytes() == b"a==1\r\nb==3\r\n"
        assert (work / "notes.txt").read_text() == "new\n"
        assert not (work / "src" / "app.py").exists()
        assert (work / "link").readlink() == Path("requirements.txt")
        assert Git.find(work).state().changed == Git.find(repo).state().changed


@pytest.mark.parametrize("bad", ["../outside", "/etc/passwd", ".git/config", "a/../../b", ""])
def test_copy_paths_refuses_paths_leaving_the_tree(repo: Path, bad: str) -> None:
    vcs = Git.find(repo)
    with vcs.worktree() as work, pytest.raises(InputError):
        vcs.copy_paths(work, [bad])


def test_copy_paths_does_not_write_through_a_symlinked_folder(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "sub").mkdir()
    (repo / "sub" / "f.txt").write_text("x\n")
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        (work / "sub").symlink_to(outside)
        with pytest.raises(InputError, match="outside"):
            vcs.copy_paths(work, ["sub/f.txt"])
    assert list(outside.iterdir()) == []


# -- commit and branch ----------------------------------------------------------------------


def test_commit_and_branch_leave_the_user_untouched(repo: Path) -> None:
    # A dirty user tree makes the check stronger: staged, unstaged and untracked changes.
    (repo / "src" / "app.py").write_text("print('staged')\n")
    git(repo, "add", "src/app.py")
    (repo / "src" / "app.py").write_text("print('unstaged')\n")
    (repo / "todo.txt").write_text("untracked\n")
    before = snapshot(repo)
    vcs = Git.find(repo)
    head = vcs.require_clean(allow_dirty=True).head
    assert head is not None
    new = b"a==2\r\nb==2\r\n"
    with vcs.worktree() as work:
        (work / "requirements.txt").write_bytes(new)
        (work / "unrelated.txt").write_text("not part of the commit\n")
        sha = vcs.commit(work, ["requirements.txt"], "Bump a to 2\n\nFrom greenbump.\n")
        vcs.create_branch("greenbump/test-1", sha)
    assert snapshot(repo) == before
    assert git(repo, "rev-parse", "refs/heads/greenbump/test-1") == sha
    assert git(repo, "rev-parse", f"{sha}^") == head
    assert vcs.show_file(sha, "requirements.txt") == new
    assert vcs.show_file("HEAD", "requirements.txt") == REQUIREMENTS
    assert vcs.show_file(head, "src/app.py") == b"print('hi')\n"
    assert vcs.changed_files(head, sha) == ["requirements.txt"]
    assert vcs.log(f"{head}..{sha}") == [(sha, "Bump a to 2")]
    assert git(repo, "log", "-1", "--format=%B", sha) == "Bump a to 2\n\nFrom greenbump."
    assert git(repo, "log", "-1", "--format=%an <%ae>", sha) == "Test User <test@example.com>"
    assert vcs.is_ancestor(head, sha)
    assert not vcs.is_ancestor(sha, head)
    assert only_main_worktree(repo)


def test_inherited_git_variables_cannot_redirect_us(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A greenbump started from a git hook inherits GIT_DIR and GIT_INDEX_FILE; ignore them."""
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "--quiet")
    stray_index = tmp_path / "stray-index"
    before = snapshot(repo)
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(stray_index))
    vcs = Git.find(repo / "src")
    assert vcs.root == repo
    with vcs.worktree() as work:
        (work / "requirements.txt").write_bytes(b"a==2\n")
        sha = vcs.commit(work, ["requirements.txt"], "bump")
        vcs.create_branch("greenbump/hooked", sha)
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert not stray_index.exists()
    assert snapshot(repo) == before
    assert git(repo, "rev-parse", "greenbump/hooked") == sha
    assert git(other, "for-each-ref") == ""


def test_commit_stages_additions_and_deletions(repo: Path) -> None:
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        (work / "src" / "app.py").unlink()
        (work / "constraints.txt").write_text("c==1\n")
        sha = vcs.commit(work, ["src/app.py", "constraints.txt"], "swap")
    assert sorted(vcs.changed_files("HEAD", sha)) == ["constraints.txt", "src/app.py"]


def test_commit_without_any_identity(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in IDENTITY:
        monkeypatch.delenv(name)
    monkeypatch.setenv("EMAIL", "")  # git's last fallback before guessing from the host
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        (work / "requirements.txt").write_bytes(b"a==2\n")
        sha = vcs.commit(work, ["requirements.txt"], "bump")
    who = git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha)
    assert who == f"{BOT_NAME} <{BOT_EMAIL}>|{BOT_NAME} <{BOT_EMAIL}>"


def test_commit_keeps_a_configured_identity(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in IDENTITY:
        monkeypatch.delenv(name)
    git(repo, "config", "user.name", "Repo Owner")
    git(repo, "config", "user.email", "owner@example.com")
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        (work / "requirements.txt").write_bytes(b"a==2\n")
        sha = vcs.commit(work, ["requirements.txt"], "bump", author="Bot <bot@example.com>")
    who = git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha)
    assert who == "Bot <bot@example.com>|Repo Owner <owner@example.com>"


def test_commit_refuses_a_bad_author_and_nothing_to_commit(repo: Path) -> None:
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        with pytest.raises(NothingToCommit):
            vcs.commit(work, ["requirements.txt"], "nothing changed")
        (work / "requirements.txt").write_bytes(b"a==2\n")
        with pytest.raises(InputError, match="Name <email>"):
            vcs.commit(work, ["requirements.txt"], "bump", author="just a name")


def test_user_hooks_never_run(repo: Path) -> None:
    marker = repo.parent / "hook-ran"
    hooks = repo / ".git" / "hooks"
    for hook in ("pre-commit", "commit-msg", "post-commit", "post-checkout"):
        script = hooks / hook
        script.write_text(f"#!/bin/sh\necho {hook} >> '{marker}'\nexit 1\n")
        script.chmod(0o755)
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        (work / "requirements.txt").write_bytes(b"a==2\n")
        vcs.commit(work, ["requirements.txt"], "bump")
    assert not marker.exists()


def test_create_branch_never_moves_an_existing_branch(repo: Path) -> None:
    vcs = Git.find(repo)
    head = git(repo, "rev-parse", "HEAD")
    vcs.create_branch("greenbump/x", head)
    with pytest.raises(InputError, match="already exists"):
        vcs.create_branch("greenbump/x", head)
    with pytest.raises(InputError, match="already exists"):
        vcs.create_branch("main", head)
    assert vcs.branch_exists("greenbump/x")
    assert not vcs.branch_exists("greenbump/y")


@pytest.mark.parametrize("name", ["has space", "a..b", "-x", "x.lock", "@{-1}", "end/", ""])
def test_create_branch_refuses_invalid_names(repo: Path, name: str) -> None:
    with pytest.raises(InputError, match="not a valid branch name"):
        Git.find(repo).create_branch(name, "HEAD")


def test_create_branch_refuses_a_non_commit(repo: Path) -> None:
    with pytest.raises(InputError, match="not a commit"):
        Git.find(repo).create_branch("greenbump/x", "does-not-exist")


def test_branch_name_template() -> None:
    day = datetime.date(2024, 5, 1)
    assert branch_name("greenbump/{date}-{id}", day, "a1b2c3") == "greenbump/2024-05-01-a1b2c3"
    assert branch_name("deps/{id}", "ignored", "7") == "deps/7"
    assert branch_name("up-{date}", "2024w18", "") == "up-2024w18"


@pytest.mark.parametrize(
    ("template", "short_id", "message"),
    [
        ("greenbump/{when}", "x", "unknown placeholder"),
        ("greenbump/{date", "x", "bad branch template"),
        ("greenbump/{id}", "has space", "not a valid branch name"),
        ("greenbump/{id}", "a..b", "not a valid branch name"),
        ("greenbump/{id}.lock", "x", "not a valid branch name"),
    ],
)
def test_branch_name_refuses(template: str, short_id: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        branch_name(template, datetime.date(2024, 5, 1), short_id)


# -- info/exclude ---------------------------------------------------------------------------


def test_exclude_is_idempotent_and_takes_effect(repo: Path) -> None:
    exclude = repo / ".git" / "info" / "exclude"
    exclude.parent.mkdir(exist_ok=True)
    exclude.write_text("# mine\nfoo")  # no final newline
    vcs = Git.find(repo)
    assert vcs.exclude(".greenbump/")
    assert not vcs.exclude(".greenbump/")
    assert exclude.read_text() == "# mine\nfoo\n.greenbump/\n"
    (repo / ".greenbump").mkdir()
    (repo / ".greenbump" / "state.json").write_text("{}\n")
    assert not vcs.state().dirty


def test_exclude_from_a_worktree_writes_the_shared_file(repo: Path) -> None:
    vcs = Git.find(repo)
    with vcs.worktree() as work:
        assert Git.find(work).exclude("cache/")
        assert not vcs.exclude("cache/")
    assert "cache/\n" in (repo / ".git" / "info" / "exclude").read_text()


# -- the tracked tree hash ------------------------------------------------------------------


def test_tracked_tree_hash_follows_content(repo: Path) -> None:
    vcs = Git.find(repo)
    original = vcs.tracked_tree_hash()
    assert original == vcs.tracked_tree_hash()

    requirements = repo / "requirements.txt"
    os.utime(requirements, (1_000_000_000, 1_000_000_000))  # only the timestamp
    (repo / "untracked.txt").write_text("ignored by the hash\n")
    assert vcs.tracked_tree_hash() == original

    requirements.write_bytes(b"a==1\r\nb==3\r\n")
    edited = vcs.tracked_tree_hash()
    assert edited != original
    only_app = vcs.tracked_tree_hash(["src"])
    assert only_app == Git.find(repo).tracked_tree_hash(["src/app.py"])

    git(repo, "add", "requirements.txt")
    assert vcs.tracked_tree_hash() == edited  # staging changes nothing in the content

    requirements.write_bytes(REQUIREMENTS)
    assert vcs.tracked_tree_hash() == original  # staged differs, work tree is back

    (repo / "src" / "app.py").chmod(0o755)
    assert vcs.tracked_tree_hash() not in {original, edited}
    assert vcs.tracked_tree_hash(["src"]) != only_app
    assert vcs.tracked_tree_hash(["requirements.txt"]) == Git.find(repo).tracked_tree_hash(
        ["requirements.txt"]
    )

    (repo / "src" / "app.py").unlink()
    assert vcs.tracked_tree_hash(["src"]) not in {only_app}
    assert vcs.tracked_tree_hash([]) == vcs.tracked_tree_hash([])


def test_tracked_tree_hash_sees_symlink_targets(repo: Path) -> None:
    (repo / "link").symlink_to("requirements.txt")
    git(repo, "add", "link")
    git(repo, "commit", "--quiet", "-m", "link")
    vcs = Git.find(repo)
    before = vcs.tracked_tree_hash()
    (repo / "link").unlink()
    (repo / "link").symlink_to("src/app.py")
    changed = vcs.tracked_tree_hash()
    assert changed != before
    (repo / "link").unlink()
    (repo / "link").symlink_to("requirements.txt")
    assert vcs.tracked_tree_hash() == before


# -- reading history ------------------------------------------------------------------------


def test_show_file_of_a_missing_path(repo: Path) -> None:
    vcs = Git.find(repo)
    with pytest.raises(InputError, match="not a file"):
        vcs.show_file("HEAD", "nope.txt")
    with pytest.raises(InputError, match="not a file"):
        vcs.show_file("HEAD", "src")
    with pytest.raises(InputError):
        vcs.show_file("HEAD", "../requirements.txt")


def test_revisions_that_look_like_options_are_refused(repo: Path, tmp_path: Path) -> None:
    vcs = Git.find(repo)
    target = tmp_path / "written"
    with pytest.raises(InputError, match="not a valid revision"):
        vcs.log(f"--output={target}")
    with pytest.raises(InputError, match="not a valid revision"):
        vcs.changed_files("--help", "HEAD")
    assert not target.exists()


def test_log_and_changed_files_over_several_commits(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    (repo / "src" / "app.py").write_text("v2\n")
    git(repo, "commit", "--quiet", "-am", "second: with a colon")
    (repo / "requirements.txt").unlink()
    git(repo, "commit", "--quiet", "-am", "third")
    vcs = Git.find(repo)
    subjects = [subject for _, subject in vcs.log(f"{base}..HEAD")]
    assert subjects == ["third", "second: with a colon"]
    assert vcs.changed_files(base, "HEAD") == ["requirements.txt", "src/app.py"]
    assert vcs.log("HEAD~1..HEAD")[0][0] == git(repo, "rev-parse", "HEAD")
