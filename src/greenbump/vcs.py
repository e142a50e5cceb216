"""The git boundary: everything greenbump does to a repository goes through :class:`Git`.

greenbump's promise is that an upgrade never touches the user's branch, HEAD, index or work
tree. So all edits and test runs happen in a scratch ``git worktree`` in a temp folder outside
the user's tree, the result is committed on top of its detached HEAD (a run's commits in one
``git fast-import``, see :class:`CommitSeries`), and a new branch is pointed at the last commit
with ``git branch`` - the one write to the user's repository besides new objects, the
worktree's own bookkeeping and an optional ``info/exclude`` line.

Every git call is an argument list through :func:`greenbump.proc.run` with an environment that
cannot block or surprise: no terminal prompts, no pager, no editor, no user hooks, English
messages (we match a few), no optional index refreshes (``git status`` would otherwise rewrite
the user's index), and none of the ``GIT_DIR``-style variables a hook or wrapper may have
exported, which would silently point our commands at another repository or index. Revisions
are passed after ``--end-of-options`` and paths as literal pathspecs, so a name that looks like
an option or a glob means only itself.

``proc.run`` decodes output as text with universal newlines, which is lossless for the hex,
refs and NUL-separated path lists we parse but not for file contents; :meth:`Git.show_file`
therefore has git write the file to disk and reads the bytes back.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import logging
import os
import shutil
import stat
import string
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from greenbump import proc
from greenbump.errors import ExternalError, GreenbumpError, InputError
from greenbump.proc import process_alive
from greenbump.textio import read_text, write_text

log = logging.getLogger(__name__)

Operation = Literal["merge", "rebase", "am", "cherry-pick", "revert", "bisect"]

BOT_NAME = "greenbump"
BOT_EMAIL = "greenbump@localhost"

# Variables that relocate the repository, its index or object store. A greenbump started from
# a git hook or an IDE inherits them; honouring them would make `git add` in our worktree stage
# into the user's index, for example.
_RELOCATING_ENV = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_GRAFT_FILE",
        "GIT_SHALLOW_FILE",
        "GIT_REPLACE_REF_BASE",
        "GIT_NO_REPLACE_OBJECTS",
        "GIT_INTERNAL_SUPER_PREFIX",
    }
)

# Where git keeps the marker of each unfinished operation, in the order we report them: an
# `am` and a `rebase` share `rebase-apply`, told apart by the `applying` file.
_OPERATION_MARKERS: tuple[tuple[str, Operation], ...] = (
    ("rebase-merge", "rebase"),
    ("rebase-apply/applying", "am"),
    ("rebase-apply", "rebase"),
    ("MERGE_HEAD", "merge"),
    ("CHERRY_PICK_HEAD", "cherry-pick"),
    ("REVERT_HEAD", "revert"),
    ("BISECT_LOG", "bisect"),
)

_FINISH_HINT: Mapping[Operation, str] = {
    "merge": "git merge --continue or git merge --abort",
    "rebase": "git rebase --continue or git rebase --abort",
    "am": "git am --continue or git am --abort",
    "cherry-pick": "git cherry-pick --continue or git cherry-pick --abort",
    "revert": "git revert --continue or git revert --abort",
    "bisect": "git bisect reset",
}

# Asked for by Git.find with the top level, for state() and exclude().
_PREFETCHED_GIT_PATHS = (*(marker for marker, _ in _OPERATION_MARKERS), "info/exclude")

# What Git._config reads: the identity (name and email of user, author, committer) and the
# settings under which `git add` may store other bytes than the file holds, or refuse.
_COMMIT_CONFIG = (
    r"^((user|author|committer)\.(name|email)"
    r"|core\.(autocrlf|safecrlf|filemode|symlinks|sparsecheckout)|i18n\.commitencoding)$"
)
# Attributes under which `git add` may store other bytes than the file holds.
_CONVERSION_ATTRS = ("text", "eol", "crlf", "filter", "ident", "working-tree-encoding")
_LINE_END_ATTRS = frozenset({"text", "eol", "crlf"})

_SHOWN_DIRTY = 5  # how many dirty paths an error message names before "and N more"
_HASH_BATCH = 200  # paths per `git hash-object` call, well below any argv limit


class NothingToCommit(GreenbumpError):
    """:meth:`Git.commit` found the given paths unchanged: the caller should have checked."""


@dataclass(frozen=True)
class RepoState:
    """A snapshot of the user's repository, taken before greenbump does anything.

    ``head`` is ``None`` on an unborn branch (no commits yet), ``branch`` is ``None`` when HEAD
    is detached. ``changed`` lists repository-relative POSIX paths that differ from HEAD:
    staged and unstaged changes (both sides of a rename) and untracked files that are not
    ignored. ``operation`` names an unfinished merge, rebase, am, cherry-pick, revert or bisect.
    """

    root: Path
    head: str | None
    branch: str | None
    changed: tuple[str, ...]
    operation: Operation | None

    @property
    def dirty(self) -> bool:
        """Whether the work tree or index differs from HEAD (untracked files included)."""
        return bool(self.changed)

    @property
    def detached(self) -> bool:
        """HEAD points at a commit, not a branch; an upgrade then has no branch to name."""
        return self.branch is None


class Git:
    """One repository's work tree (the user's, or a scratch worktree), addressed by its root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._configs: dict[Path, _Config] = {}
        # Where git keeps named files of this work tree's git dir (``--git-path``). They never
        # move while we run, and asking costs a process, so each is asked once (or by find).
        self._git_paths: dict[str, Path] = {}

    def __repr__(self) -> str:
        return f"Git({str(self.root)!r})"

    # -- finding and inspecting -------------------------------------------------------------

    @classmethod
    def find(cls, path: Path) -> Git:
        """The repository whose work tree contains ``path`` (a file or a folder)."""
        path = Path(path).absolute()
        start = path if path.is_dir() else path.parent
        if not start.is_dir():
            raise InputError("no such file or directory", path)
        # The git paths that state() and exclude() need come with the same process.
        names = _PREFETCHED_GIT_PATHS
        args = ["rev-parse", "--show-toplevel"]
        for name in names:
            args += ["--git-path", name]
        result = _run_git(args, cwd=start, check=False)
        if not result.ok:
            message = result.stderr.strip()
            if "dubious ownership" in message:
                raise InputError(
                    "git refuses this repository (owned by another user); see "
                    "`git config --global --add safe.directory`",
                    path,
                )
            if "must be run in a work tree" in message:
                raise InputError("not inside a git work tree (a bare repository?)", path)
            if "not a git repository" in message:
                raise InputError("not a git repository", path)
            raise proc.CommandFailed(result, "git rev-parse")
        lines = result.stdout.rstrip("\n").split("\n")
        if len(lines) != 1 + len(names):  # a newline in a path: ask for the top level alone
            only = _run_git(["rev-parse", "--show-toplevel"], cwd=start)
            return cls(Path(only.stdout.rstrip("\n")))
        git = cls(Path(lines[0]))
        # Relative to ``start``; joined without normalising, so ``..`` follows symlinks as
        # the kernel does.
        git._git_paths = {name: start / line for name, line in zip(names, lines[1:], strict=True)}
        return git

    def state(self) -> RepoState:
        """Read HEAD, branch, changed paths and any unfinished operation.

        One ``git status`` gives HEAD, the branch and the changes (porcelain v2 with branch
        headers, no upstream counting); the operation markers are plain files.
        """
        out = self._git(
            [
                "status",
                "--porcelain=v2",
                "--branch",
                "--no-ahead-behind",
                "-z",
                "--untracked-files=all",
            ]
        ).stdout
        head, branch, changed = _parse_status(out)
        return RepoState(
            root=self.root,
            head=head,
            branch=branch,
            changed=tuple(changed),
            operation=self._operation(),
        )

    def head(self) -> str | None:
        """HEAD's commit sha, or ``None`` on an unborn branch."""
        result = self._git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], check=False)
        return result.stdout.strip() if result.ok else None

    def require_clean(self, allow_dirty: bool = False) -> RepoState:
        """Return the state if an upgrade may start here; raise :class:`InputError` if not.

        An unfinished operation is always refused: its HEAD and index are half-way states the
        user has not decided on. Uncommitted changes are refused unless ``allow_dirty``.
        A detached HEAD is fine; callers read ``state.detached``.
        """
        state = self.state()
        if state.operation is not None:
            raise InputError(
                f"a {state.operation} is in progress; finish it first "
                f"({_FINISH_HINT[state.operation]})",
                self.root,
            )
        if state.head is None:
            raise InputError("the repository has no commits yet", self.root)
        if state.dirty and not allow_dirty:
            shown = ", ".join(state.changed[:_SHOWN_DIRTY])
            if len(state.changed) > _SHOWN_DIRTY:
                shown += f" and {len(state.changed) - _SHOWN_DIRTY} more"
            raise InputError(
                f"the work tree has uncommitted changes ({shown}); commit or stash them, "
                "or allow a dirty tree (--allow-dirty)",
                self.root,
            )
        return state

    def _operation(self) -> Operation | None:
        markers = self._git_paths_of([marker for marker, _ in _OPERATION_MARKERS])
        for path, (_, operation) in zip(markers, _OPERATION_MARKERS, strict=False):
            if path.exists():
                return operation
        return None

    # -- the scratch worktree ---------------------------------------------------------------

    @contextlib.contextmanager
    def worktree(self, prefix: str = "greenbump", commit: str | None = None) -> Iterator[Path]:
        """Check HEAD (or ``commit``) out, detached, into a new temp folder outside the tree.

        The folder and git's record of it are removed when the block exits, however it exits
        (an exception, ^C, or a SIGTERM handler that raises). Commits made there survive in the
        object store; point a branch at them with :meth:`create_branch` before leaving.
        ``commit`` gives further scratch trees the first one's commit even if the user's HEAD
        moved in the meantime.
        """
        head = self.head() if commit is None else _rev(commit)
        if head is None:
            raise InputError("the repository has no commits yet", self.root)
        path = Path(tempfile.mkdtemp(prefix=f"{prefix}-")).resolve()
        try:
            if path.is_relative_to(self.root):
                raise InputError(
                    f"the temp folder {path} is inside the repository; set TMPDIR elsewhere",
                    self.root,
                )
            self._git(["worktree", "add", "--detach", "--quiet", str(path), head])
            yield path
        finally:
            self._drop_worktree(path)

    def _drop_worktree(self, path: Path) -> None:
        """Remove a scratch worktree; each step runs even if the one before failed."""
        removed = False
        try:
            with contextlib.suppress(GreenbumpError):
                removed = self._git(
                    ["worktree", "remove", "--force", "--force", str(path)], check=False
                ).ok
        finally:
            try:
                shutil.rmtree(path, ignore_errors=True)
            finally:
                with contextlib.suppress(GreenbumpError):
                    # Prune only when our entry is left: a blanket prune would also forget
                    # the user's worktrees on drives that are not mounted right now. A
                    # successful remove took the entry with it.
                    if not removed and path in self.worktrees():
                        self._git(["worktree", "unlock", str(path)], check=False)
                        self._git(["worktree", "prune"], check=False)

    def restore_worktree(self, worktree: Path) -> list[str]:
        """Put a scratch worktree back to its last commit; return what had changed.

        Test runs happen in the scratch tree; one that writes files (caches, fixtures it
        regenerates, build outputs not in .gitignore) must not leak into the next trial or a
        commit. Ignored files stay: they are the project's own business (build dirs, venvs).
        """
        status = self._git(
            ["status", "--porcelain", "--untracked-files=all"], cwd=worktree, check=False
        ).stdout
        changed = [line[3:] for line in status.splitlines() if line.strip()]
        if changed:
            self._git(["checkout", "--quiet", "--", "."], cwd=worktree, check=False)
            self._git(["clean", "-fdq"], cwd=worktree, check=False)
        return changed

    def drop_orphaned_worktrees(self, prefix: str = "greenbump") -> list[Path]:
        """Remove scratch worktrees left by greenbump processes that no longer exist.

        A SIGKILLed run cannot clean up; its worktree's folder name carries its pid
        (``<prefix>-<pid>-...``), so the next run removes exactly the orphans and never a
        worktree of a run that is still alive (another project in the same repository).
        """
        removed = []
        for path in self.worktrees()[1:]:
            pid = _orphan_pid(path.name, prefix)
            if pid is not None and not process_alive(pid):
                self._drop_worktree(path)
                removed.append(path)
        return removed

    def worktrees(self) -> list[Path]:
        """Every work tree git records for this repository, the main one first."""
        out = self._git(["worktree", "list", "--porcelain"]).stdout  # -z needs git 2.36
        return [
            Path(line[len("worktree ") :])
            for line in out.splitlines()
            if line.startswith("worktree ")
        ]

    def copy_paths(self, worktree: Path, paths: Iterable[str]) -> None:
        """Copy files (or folders) from this work tree into ``worktree`` at the same place.

        This carries a dirty tree's uncommitted changes over when the user allowed them: a
        path missing here is deleted there, symlinks are copied as links. Paths are
        repository-relative and may not leave the tree or enter ``.git``.
        """
        target_root = worktree.resolve()
        for rel in paths:
            parts = _relative_parts(rel)
            source = self.root.joinpath(*parts)
            target = target_root.joinpath(*parts)
            _require_inside(source.parent.resolve(), self.root.resolve(), rel)
            _require_inside(target.parent.resolve(), target_root, rel)
            _remove(target)  # never write through a link or into a folder that was a file
            if source.is_symlink():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(_link_target(source))
            elif source.is_dir():
                shutil.copytree(source, target, symlinks=True)
            elif source.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target, follow_symlinks=False)

    # -- writing: commit, branch, exclude ---------------------------------------------------

    def commit(
        self,
        worktree: Path,
        paths: Sequence[str],
        message: str,
        author: str | None = None,
        *,
        sign: bool = False,
    ) -> str:
        """Commit exactly ``paths`` (additions, edits, deletions) in ``worktree``; return the sha.

        Hooks never run (``--no-verify``, and no hooks path at all): they are the user's
        checks for their own commits, and may prompt or take minutes. Signing is off unless
        ``sign``, since a passphrase prompt would hang. If no identity is configured, the
        commit is made as greenbump so it cannot fail on a fresh machine or in CI.
        ``author`` is ``"Name <email>"``.
        """
        if not paths:
            raise NothingToCommit("nothing to commit: no paths given")
        if not message.strip():
            raise ValueError("empty commit message")
        if author is not None and not _is_ident(author):
            raise InputError(f"author must look like 'Name <email>', not {author!r}")
        for rel in paths:
            _relative_parts(rel)
        self._git(["add", "--all", "--", *paths], cwd=worktree)
        staged = self._git(
            ["diff", "--cached", "--quiet", "HEAD", "--", *paths], cwd=worktree, check=False
        )
        if staged.returncode == 0:
            raise NothingToCommit("nothing to commit: the given paths are unchanged")
        if staged.returncode != 1:
            raise proc.CommandFailed(staged, "git diff")
        args = ["commit", "--quiet", "--no-verify", "--cleanup=whitespace", "--file=-"]
        args.append("--gpg-sign" if sign else "--no-gpg-sign")
        if author is not None:
            args.append(f"--author={author}")
        args += ["--only", "--", *paths]
        env = self._identity_env(worktree)
        self._git(args, cwd=worktree, extra_env=env, input_text=message)
        return self._git(["rev-parse", "--verify", "HEAD"], cwd=worktree).stdout.strip()

    def commit_series(self, worktree: Path) -> CommitSeries:
        """Commits to build one after another on ``worktree``'s HEAD, written in one go.

        See :class:`CommitSeries`: a run's one commit per package costs a handful of git
        processes in all instead of four each.
        """
        return CommitSeries(self, worktree)

    def _identity_env(self, cwd: Path) -> dict[str, str]:
        """Fill in greenbump's identity for any name/email neither config nor env provides."""
        configured = {key for key, value in self._config(cwd) if (value or "").strip()}
        env: dict[str, str] = {}
        for role in ("author", "committer"):
            for field, default in (("name", BOT_NAME), ("email", BOT_EMAIL)):
                variable = f"GIT_{role.upper()}_{field.upper()}"
                if os.environ.get(variable, "").strip():
                    continue
                if f"user.{field}" in configured or f"{role}.{field}" in configured:
                    continue
                if field == "email" and os.environ.get("EMAIL", "").strip():
                    continue  # git's own fallback for user.email
                env[variable] = default
        return env

    def _config(self, cwd: Path) -> _Config:
        """The settings that decide how ``cwd``'s commits are made, as ``(key, value)``.

        Asked once per worktree: a run commits once per package, and the answer cannot change
        in between. Keys are lower case; a key set several times is listed several times.
        """
        cached = self._configs.get(cwd)
        if cached is None:
            result = self._git(
                ["config", "-z", "--get-regexp", _COMMIT_CONFIG], cwd=cwd, check=False
            )
            entries: list[tuple[str, str | None]] = []
            for entry in result.stdout.split("\0"):
                key, sep, value = entry.partition("\n")
                if key:
                    entries.append((key.lower(), value if sep else None))
            cached = self._configs[cwd] = tuple(entries)
        return cached

    def create_branch(self, name: str, sha: str) -> None:
        """Create branch ``name`` at commit ``sha`` without checking it out.

        An existing branch is never moved: the user may have work on it.
        """
        _check_branch_name(name)
        commit = self._git(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{_rev(sha)}^{{commit}}"],
            check=False,
        )
        if not commit.ok:
            raise InputError(f"not a commit: {sha!r}", self.root)
        # `git branch` itself refuses an existing name (without --force), so no look first.
        result = self._git(
            ["branch", "--no-track", "--end-of-options", name, commit.stdout.strip()],
            check=False,
        )
        if "already exists" in result.stderr:
            raise InputError(f"branch {name!r} already exists", self.root)
        if not result.ok:
            raise proc.CommandFailed(result, "git branch")

    def branch_exists(self, name: str) -> bool:
        """Whether ``refs/heads/<name>`` exists."""
        result = self._git(["show-ref", "--verify", "--quiet", f"refs/heads/{name}"], check=False)
        return result.ok

    def exclude(self, pattern: str) -> bool:
        """Add ``pattern`` to the repository's ``info/exclude``; return whether it was added.

        That file is local to this clone (never committed) and shared by all its worktrees, so
        it is where greenbump hides its own state without editing the user's ``.gitignore``.
        """
        if not pattern.strip() or "\n" in pattern or "\r" in pattern:
            raise ValueError(f"bad exclude pattern {pattern!r}")
        path = self._git_path("info/exclude")
        text = read_text(path) if path.exists() else ""
        if pattern in (line.rstrip("\r") for line in text.split("\n")):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        if text and not text.endswith("\n"):
            text += "\n"
        write_text(path, f"{text}{pattern}\n")
        return True

    # -- reading history and content --------------------------------------------------------

    def tracked_tree_hash(self, paths: Sequence[str] | None = None) -> str:
        """A digest of the tracked files' content as it is in the work tree right now.

        The index says what each tracked file held when last staged; files the work tree has
        changed since are hashed again with ``git hash-object``, deleted ones are marked. So
        the digest follows uncommitted edits and renamed modes but ignores untracked files and
        mere timestamp changes. ``paths`` limits it to those files or folders.
        """
        if paths is not None and not paths:
            return hashlib.sha256(b"greenbump-tree-v1\0").hexdigest()
        spec = ["--", *paths] if paths is not None else []
        records: dict[tuple[str, str], str] = {}
        for entry in self._git(["ls-files", "--stage", "-z", *spec]).stdout.split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            mode, sha, stage = meta.split(" ")
            records[(path, stage)] = f"{mode} {sha}"
        modified: dict[str, str] = {}  # path -> mode reported for the work tree
        raw = self._git(["diff-files", "-z", "--no-renames", *spec]).stdout.split("\0")
        for meta, path in zip(raw[::2], raw[1::2], strict=False):
            modified[path] = meta.lstrip(":").split(" ")[1]
        regular: list[str] = []
        for path, mode in modified.items():
            for stage in ("1", "2", "3"):
                records.pop((path, stage), None)
            full = self.root / path
            if not full.is_symlink() and not full.exists():
                records[(path, "0")] = "deleted"
            elif full.is_symlink():
                target = os.fsencode(_link_target(full))
                blob = hashlib.sha1(  # git's blob id of a symlink
                    b"blob %d\0%s" % (len(target), target), usedforsecurity=False
                )
                records[(path, "0")] = f"120000 {blob.hexdigest()}"
            elif full.is_dir():  # a submodule: its checked-out commit
                head = self._git(["rev-parse", "--verify", "HEAD"], cwd=full, check=False)
                records[(path, "0")] = f"160000 {head.stdout.strip() or 'none'}"
            else:
                if mode not in ("100644", "100755"):  # 000000 for an unmerged path
                    executable = full.stat().st_mode & stat.S_IXUSR
                    records[(path, "0")] = "100755" if executable else "100644"
                else:
                    records[(path, "0")] = mode
                regular.append(path)
        for start in range(0, len(regular), _HASH_BATCH):
            batch = regular[start : start + _HASH_BATCH]
            shas = self._git(["hash-object", "--", *batch]).stdout.split()
            for path, sha in zip(batch, shas, strict=True):
                records[(path, "0")] += f" {sha}"
        digest = hashlib.sha256(b"greenbump-tree-v1\0")
        for (path, stage), value in sorted(records.items()):
            digest.update(f"{path}\0{stage}\0{value}\0".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def changed_files(self, base: str, head: str) -> list[str]:
        """Paths that differ between two commits (added, modified, deleted; renames as two)."""
        out = self._git(
            [
                "diff-tree",
                "-r",
                "-z",
                "--name-only",
                "--no-renames",
                "--end-of-options",
                _rev(base),
                _rev(head),
                "--",
            ]
        ).stdout
        return [path for path in out.split("\0") if path]

    def log(self, revisions: str) -> list[tuple[str, str]]:
        """``(sha, subject)`` per commit in ``revisions`` (e.g. ``"main..topic"``), newest first."""
        out = self._git(
            [
                "-c",
                "log.showSignature=false",
                "log",
                "--no-decorate",
                "-z",
                "--format=%H%x1f%s",
                "--end-of-options",
                _rev(revisions),
                "--",
            ]
        ).stdout
        commits = []
        for record in out.split("\0"):
            sha, sep, subject = record.strip("\n").partition("\x1f")
            if sep:
                commits.append((sha, subject))
        return commits

    def show_file(self, rev: str, path: str) -> bytes:
        """The bytes of ``path`` at ``rev`` as a checkout would write them (for rollbacks).

        Raises :class:`InputError` if ``rev`` has no such file. A symlink yields its target.
        """
        parts = _relative_parts(path)
        rel = "/".join(parts)
        out = self._git(["ls-tree", "-z", "--full-tree", "--end-of-options", _rev(rev), "--", rel])
        entry = out.stdout.split("\0")[0]
        meta, _, listed = entry.partition("\t")
        fields = meta.split(" ")
        if listed != rel or len(fields) != 3 or fields[1] != "blob":
            raise InputError(f"not a file in {rev}", rel)
        mode, _, sha = fields
        with tempfile.TemporaryDirectory(prefix="greenbump-show-") as tmp:
            # A private index holding just this blob: checkout-index then writes it, filters
            # and all, under the prefix without touching the user's index or work tree.
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self._git(["update-index", "--add", "--cacheinfo", mode, sha, rel], extra_env=env)
            prefix = f"{Path(tmp) / 'out'}{os.sep}"
            self._git(["checkout-index", f"--prefix={prefix}", "--", rel], extra_env=env)
            written = Path(tmp, "out", *parts)
            if written.is_symlink():
                return os.fsencode(_link_target(written))
            return written.read_bytes()

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``ancestor`` is reachable from ``descendant`` (a commit is its own ancestor)."""
        result = self._git(
            ["merge-base", "--is-ancestor", "--end-of-options", _rev(ancestor), _rev(descendant)],
            check=False,
        )
        if result.returncode in (0, 1):
            return result.returncode == 0
        raise proc.CommandFailed(result, "git merge-base")

    # -- plumbing ---------------------------------------------------------------------------

    def _git_path(self, name: str) -> Path:
        """Where ``name`` lives in the git dir (handles worktrees and a moved ``.git``)."""
        return self._git_paths_of([name])[0]

    def _git_paths_of(self, names: Sequence[str]) -> list[Path]:
        """:meth:`_git_path` for several names, asking git (once) only for the unknown ones."""
        missing = [name for name in names if name not in self._git_paths]
        if missing:
            args = ["rev-parse"]
            for name in missing:
                args += ["--git-path", name]
            lines = self._git(args).stdout.splitlines()
            for name, line in zip(missing, lines, strict=False):
                self._git_paths[name] = self.root / line
        return [self._git_paths[name] for name in names if name in self._git_paths]

    def _git(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        check: bool = True,
        extra_env: Mapping[str, str] | None = None,
        input_text: str | None = None,
    ) -> proc.Completed:
        return _run_git(
            args,
            cwd=cwd if cwd is not None else self.root,
            check=check,
            extra_env=extra_env,
            input_text=input_text,
        )


@dataclass(frozen=True)
class _Entry:
    """A path as ``git add`` would find it: mode and bytes (a symlink's bytes are its target).

    ``mode`` is ``"other"`` for what the fast path does not write (a folder, a path below a
    symlink); ``permissions`` lets a replay put a regular file back as it was.
    """

    mode: str
    data: bytes = b""
    permissions: int = 0o644


@dataclass(frozen=True)
class _Pending:
    """One commit of a series: its message and the snapshot of its paths (``None``: deleted)."""

    message: str
    entries: dict[str, _Entry | None]


class CommitSeries:
    """Commits made one after another on a worktree's HEAD, written by one ``git fast-import``.

    :meth:`Git.commit` costs four git processes (add, diff, commit, rev-parse), and an upgrade
    run commits once per package: that made git the largest part of greenbump's own time. Here
    :meth:`add` only takes a snapshot of the paths (the bytes ``git add`` would stage), so the
    caller may edit the same files again for the next commit; :meth:`write` asks git once for
    what it needs (settings, attributes, the base tree, the identities) and builds every commit
    in one ``git fast-import`` stream. The commits are the ones the same :meth:`Git.commit` calls
    would have made: same trees and parents, messages cleaned up as ``--cleanup=whitespace``
    does, the same author and committer (config, environment, or greenbump's identity), no hook
    runs and no signature. Only the commit times are one instant. Unlike :meth:`Git.commit`,
    neither the worktree's HEAD nor its index moves and no ref is written: the caller points a
    branch at the last commit. fast-import starts no ``git gc --auto`` either.

    Where ``git add`` could store other bytes than the file holds (line-end conversion of a file
    that has CRs, clean filters, ``ident``, a working-tree encoding, ``core.filemode`` or
    ``core.symlinks`` off) or would refuse (a new path, which may be ignored; a sparse
    checkout; a fatal ``core.safecrlf``), or where a message or path is not UTF-8 text,
    :meth:`write` replays the series through :meth:`Git.commit` instead, one commit at a time,
    so that git decides as it always did.
    """

    def __init__(self, git: Git, worktree: Path) -> None:
        self._git = git
        self._root = worktree.resolve()
        self._pending: list[_Pending] = []

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, paths: Sequence[str], message: str) -> None:
        """Queue a commit of exactly ``paths`` as they are on disk now (see :meth:`Git.commit`)."""
        if not paths:
            raise NothingToCommit("nothing to commit: no paths given")
        if not message.strip():
            raise ValueError("empty commit message")
        entries = {rel: self._snapshot(rel) for rel in paths}
        self._pending.append(_Pending(message, entries))

    def write(self) -> list[str]:
        """Make the queued commits; return their shas, oldest first. The series is then empty.

        Raises :class:`NothingToCommit` if one of them would change nothing, before any is made.
        """
        pending, self._pending = self._pending, []
        if not pending:
            return []
        stream = self._stream(pending)
        if stream is None:
            return self._replay(pending)
        out = self._git._git(["fast-import", "--quiet"], cwd=self._root, input_text=stream).stdout
        shas = out.split()
        if len(shas) != len(pending):
            raise ExternalError(f"git fast-import made {len(shas)} commits of {len(pending)}")
        return shas

    # -- the fast path ----------------------------------------------------------------------

    def _stream(self, pending: Sequence[_Pending]) -> str | None:
        """The fast-import stream for ``pending``, or ``None`` where git must decide itself."""
        config = self._git._config(self._root)
        if not _plain_commits(config):
            return None
        paths = list(dict.fromkeys(path for commit in pending for path in commit.entries))
        if not _utf8(paths) or not all(_utf8([c.message]) for c in pending):
            return None
        base = self._base_tree(paths)
        if base is None or not self._as_stored(pending, paths, config):
            return None
        tree: dict[str, tuple[str, str] | None] = dict(base)
        width = len(next(iter(base.values()))[1]) if base else 40
        for commit in pending:
            changed = False
            for path, entry in commit.entries.items():
                before = tree.get(path)
                if before is None or (entry is not None and entry.mode == "other"):
                    return None  # new, re-added or unwritable: `git add` decides
                after = None if entry is None else (entry.mode, _blob_id(entry.data, width))
                changed = changed or after != before
                tree[path] = after
            if not changed:
                raise NothingToCommit("nothing to commit: the given paths are unchanged")
        messages = [_stripspace(commit.message) for commit in pending]
        if not all(messages) or any("\0" in message for message in messages):
            return None
        idents = self._idents()
        if idents is None:
            return None
        return _fast_import_stream(pending, messages, *idents)

    def _base_tree(self, paths: Sequence[str]) -> dict[str, tuple[str, str]] | None:
        """Mode and object id of each path at HEAD that is a file there; ``None`` if one is
        something else (a folder, a submodule)."""
        out = self._git._git(
            ["ls-tree", "-z", "--full-tree", "HEAD", "--", *paths], cwd=self._root
        ).stdout
        wanted = set(paths)
        base: dict[str, tuple[str, str]] = {}
        for record in out.split("\0"):
            meta, tab, path = record.partition("\t")
            if not tab or path not in wanted:
                continue
            mode, kind, sha = meta.split(" ")
            if kind != "blob":
                return None
            base[path] = (mode, sha)
        return base

    def _as_stored(
        self, pending: Sequence[_Pending], paths: Sequence[str], config: _Config
    ) -> bool:
        """Whether ``git add`` would store every snapshot's bytes unchanged."""
        out = self._git._git(
            ["check-attr", "-z", "--stdin", *_CONVERSION_ATTRS],
            cwd=self._root,
            input_text="".join(f"{path}\0" for path in paths),
        ).stdout
        fields = out.split("\0")
        line_ends: set[str] = set()  # paths whose CRLFs git may turn into LFs
        for path, attr, info in zip(fields[::3], fields[1::3], fields[2::3], strict=False):
            if info in ("unspecified", "unset"):
                continue
            if attr not in _LINE_END_ATTRS:
                return False  # a filter, ident or encoding: only git knows the result
            line_ends.add(path)
        autocrlf = _config_flag(config, "core.autocrlf", default=False, extra={"input": True})
        if autocrlf is not False:
            line_ends.update(paths)
        if not line_ends:
            return True
        if _config_flag(config, "core.safecrlf", default=False, extra={"warn": False}) is not False:
            return False  # may refuse an irreversible conversion
        return not any(
            entry is not None and b"\r" in entry.data
            for commit in pending
            for path, entry in commit.entries.items()
            if path in line_ends
        )

    def _idents(self) -> tuple[str, str] | None:
        """Author and committer as git would write them now (``Name <email> time zone``)."""
        env = self._git._identity_env(self._root)
        found = []
        for variable in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"):
            result = self._git._git(["var", variable], cwd=self._root, extra_env=env, check=False)
            ident = result.stdout.rstrip("\n")
            if not result.ok or not ident or "\n" in ident:
                return None  # `git commit` then says why
            found.append(ident)
        return found[0], found[1]

    # -- snapshots and the replay -----------------------------------------------------------

    def _snapshot(self, rel: str) -> _Entry | None:
        parts = _relative_parts(rel)
        full = self._root.joinpath(*parts)
        if full.parent.resolve() != self._root.joinpath(*parts[:-1]):
            return _Entry("other")  # below a symlink: `git add` refuses it
        try:
            info = full.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(info.st_mode):
            return _Entry("120000", os.fsencode(_link_target(full)))
        if stat.S_ISREG(info.st_mode):
            mode = "100755" if info.st_mode & stat.S_IXUSR else "100644"
            return _Entry(mode, full.read_bytes(), stat.S_IMODE(info.st_mode))
        return _Entry("other")

    def _replay(self, pending: Sequence[_Pending]) -> list[str]:
        """Commit one by one with :meth:`Git.commit`, each path put back as it was snapshot."""
        now = {path: self._snapshot(path) for commit in pending for path in commit.entries}
        shas = []
        try:
            for commit in pending:
                for path, entry in commit.entries.items():
                    self._put(path, entry)
                shas.append(self._git.commit(self._root, list(commit.entries), commit.message))
        finally:
            for path, entry in now.items():
                self._put(path, entry)
        return shas

    def _put(self, rel: str, entry: _Entry | None) -> None:
        if (entry is not None and entry.mode == "other") or self._snapshot(rel) == entry:
            return
        full = self._root.joinpath(*_relative_parts(rel))
        _remove(full)
        if entry is None:
            return
        full.parent.mkdir(parents=True, exist_ok=True)
        if entry.mode == "120000":
            full.symlink_to(os.fsdecode(entry.data))
        else:
            full.write_bytes(entry.data)
            full.chmod(entry.permissions)


_Config = tuple[tuple[str, str | None], ...]
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})


def _config_flag(
    config: _Config, key: str, *, default: bool, extra: Mapping[str, bool] | None = None
) -> bool | None:
    """A boolean setting as git reads it (last one wins); ``None`` when it is neither."""
    values = [value for name, value in config if name == key]
    if not values:
        return default
    value = values[-1]
    if value is None:  # `[core] autocrlf` with no `=`: true
        return True
    word = value.strip().lower()
    if extra and word in extra:
        return extra[word]
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def _plain_commits(config: _Config) -> bool:
    """Whether the settings let fast-import make what ``git add`` + ``git commit`` would."""
    encodings = [value for name, value in config if name == "i18n.commitencoding"]
    if encodings and (encodings[-1] or "").strip().lower() not in ("utf-8", "utf8"):
        return False  # git commit would record an encoding header
    return (
        _config_flag(config, "core.filemode", default=True) is True
        and _config_flag(config, "core.symlinks", default=True) is True
        and _config_flag(config, "core.sparsecheckout", default=False) is False
    )


def _utf8(values: Iterable[str]) -> bool:
    try:
        for value in values:
            value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _blob_id(data: bytes, width: int) -> str:
    """git's object id of a blob (SHA-1, or SHA-256 in a repository of 64-digit ids)."""
    header = b"blob %d\0" % len(data)
    if width == 64:
        return hashlib.sha256(header + data).hexdigest()
    return hashlib.sha1(header + data, usedforsecurity=False).hexdigest()


def _stripspace(message: str) -> str:
    """``git commit --cleanup=whitespace``: trailing blanks off, runs of blank lines collapsed
    to one, none at either end, one newline at the end (git's ``strbuf_stripspace``)."""
    lines: list[str] = []
    blank = False
    for raw in message.split("\n"):
        line = raw.rstrip(" \t\r")  # git's isspace(): not \v or \f
        if not line:
            blank = True
            continue
        if blank and lines:
            lines.append("")
        blank = False
        lines.append(line)
    return "".join(f"{line}\n" for line in lines)


def _quote(path: str) -> str:
    """A path for fast-import: C-style quoted, which it accepts for every path."""
    out = ['"']
    for char in path:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\{ord(char):03o}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _data(text: str) -> str:
    return f"data {len(text.encode('utf-8'))}\n{text}\n"


def _fast_import_stream(
    pending: Sequence[_Pending], messages: Sequence[str], author: str, committer: str
) -> str | None:
    """Commits on a scratch ref that is dropped (``reset``) before fast-import would write it,
    then ``get-mark`` for each, so fast-import prints the shas and leaves every ref alone."""
    ref = "refs/greenbump/fast-import"
    parts = ["feature done\n", "feature get-mark\n"]
    for number, (commit, message) in enumerate(zip(pending, messages, strict=True), 1):
        parts.append(f"commit {ref}\nmark :{number}\n")
        parts.append(f"author {author}\ncommitter {committer}\n")
        parts.append(_data(message))
        if number == 1:
            parts.append("from HEAD\n")
        for path, entry in commit.entries.items():
            if entry is None:
                parts.append(f"D {_quote(path)}\n")
                continue
            try:
                text = entry.data.decode("utf-8")
            except UnicodeDecodeError:
                return None  # the stream is text
            parts.append(f"M {entry.mode} inline {_quote(path)}\n")
            parts.append(_data(text))
        parts.append("\n")
    parts.extend(f"get-mark :{number}\n" for number in range(1, len(pending) + 1))
    parts.append(f"reset {ref}\n\ndone\n")
    return "".join(parts)


def branch_name(template: str, date: datetime.date | str, short_id: str) -> str:
    """Fill ``{date}`` (``YYYY-MM-DD``) and ``{id}`` into a template like ``greenbump/{date}-{id}``.

    Raises :class:`InputError` for other placeholders or when the result is not a valid
    branch name (spaces, ``..``, a trailing ``.lock`` and the other rules of git).
    """
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise InputError(f"bad branch template {template!r}: {exc}") from exc
    unknown = fields - {"date", "id"}
    if unknown:
        shown = ", ".join(f"{{{name}}}" for name in sorted(unknown))
        raise InputError(f"unknown placeholder {shown} in branch template {template!r}")
    day = date.strftime("%Y-%m-%d") if isinstance(date, datetime.date) else date
    name = template.format_map({"date": day, "id": short_id})
    _check_branch_name(name, template)
    return name


def _check_branch_name(name: str, template: str | None = None) -> None:
    source = f" (from template {template!r})" if template is not None else ""
    # `@{-1}` would be resolved to the previous branch; a leading dash reads as an option.
    ok = bool(name) and not name.startswith("-") and "@{" not in name
    if ok:
        ok = _valid_branch_name(name)
    if not ok:
        raise InputError(f"not a valid branch name: {name!r}{source}")


@functools.lru_cache(maxsize=64)
def _valid_branch_name(name: str) -> bool:
    """git's verdict on a branch name; it depends on the name alone, so it is asked once.

    A run checks its branch name twice (when it is made from the template, and again when the
    branch is created).
    """
    return _run_git(["check-ref-format", "--branch", name], cwd=None, check=False).ok


def _parse_status(out: str) -> tuple[str | None, str | None, list[str]]:
    """HEAD, branch and changed paths from ``git status --porcelain=v2 --branch -z``.

    Changed paths are listed as git lists them: both sides of a rename or copy (the new path
    first), unmerged and untracked paths; each once.
    """
    head: str | None = None
    branch: str | None = None
    paths: dict[str, None] = {}
    records = out.split("\0")
    i = 0
    while i < len(records):
        record = records[i]
        i += 1
        if record.startswith("# "):
            key, _, value = record[2:].partition(" ")
            if key == "branch.oid":
                head = None if value == "(initial)" else value
            elif key == "branch.head":
                branch = None if value == "(detached)" else value
            continue
        kind = record[:1]
        if kind == "1":  # 1 XY sub mH mI mW hH hI path
            paths[record.split(" ", 8)[-1]] = None
        elif kind == "2":  # 2 XY sub mH mI mW hH hI Xscore path, then the source path
            paths[record.split(" ", 9)[-1]] = None
            if i < len(records):
                paths[records[i]] = None
                i += 1
        elif kind == "u":  # u XY sub m1 m2 m3 mW h1 h2 h3 path
            paths[record.split(" ", 10)[-1]] = None
        elif kind in ("?", "!") and len(record) > 2:
            paths[record[2:]] = None
    return head, branch, list(paths)


def _rev(value: str) -> str:
    """Refuse a revision argument that is empty or could be read as an option."""
    if not value or value.startswith("-") or "\0" in value:
        raise InputError(f"not a valid revision: {value!r}")
    return value


def _relative_parts(rel: str) -> tuple[str, ...]:
    """Split a repository-relative POSIX path, refusing ones that leave the tree or enter .git."""
    pure = PurePosixPath(rel)
    parts = pure.parts
    if (
        not parts
        or pure.is_absolute()
        or "\\" in rel
        or "\0" in rel
        or any(part in ("..", ".") for part in rel.split("/"))
        or parts[0] == ".git"
    ):
        raise InputError("not a plain repository-relative path", rel)
    return parts


def _require_inside(folder: Path, root: Path, rel: str) -> None:
    if not folder.is_relative_to(root):
        raise InputError(f"path leads outside the work tree ({folder})", rel)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _link_target(link: Path) -> str:
    """The target exactly as stored: ``Path.readlink`` would normalize ``./a`` or ``a/``."""
    return os.readlink(link)  # noqa: PTH115


def _is_ident(author: str) -> bool:
    name, sep, rest = author.partition("<")
    return bool(
        sep and name.strip() and rest.endswith(">") and "<" not in rest and ">" not in rest[:-1]
    )


def _git_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _RELOCATING_ENV}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_EDITOR="true",
        GIT_SEQUENCE_EDITOR="true",
        GIT_PAGER="cat",
        GIT_OPTIONAL_LOCKS="0",
        LC_ALL="C",
        LANGUAGE="C",
    )
    if extra:
        env.update(extra)
    return env


def _run_git(
    args: Sequence[str],
    *,
    cwd: Path | None,
    check: bool = True,
    extra_env: Mapping[str, str] | None = None,
    input_text: str | None = None,
) -> proc.Completed:
    argv = [
        "git",
        "-c",
        "core.pager=cat",
        "-c",
        f"core.hooksPath={os.devnull}",  # no user hook runs, whatever the command
        "--literal-pathspecs",
        *args,
    ]
    verb = next((arg for arg in args if not arg.startswith("-") and "=" not in arg), "")
    try:
        return proc.run(
            argv,
            cwd=cwd,
            env=_git_env(extra_env),
            check=check,
            what=f"git {verb}".rstrip(),
            input_text=input_text,
        )
    except proc.CommandFailed:
        raise
    except ExternalError as exc:
        # proc reports a missing program (or a missing cwd, which we never pass) this way.
        if isinstance(exc.__cause__, FileNotFoundError) and (cwd is None or cwd.is_dir()):
            raise ExternalError("git not found: install git or put it on PATH") from exc
        raise


def _orphan_pid(name: str, prefix: str) -> int | None:
    """The pid in a scratch folder name ``<prefix>-<pid>-<random>``, if it is one of ours."""
    head, _, rest = name.partition(f"{prefix}-")
    pid, _, _ = rest.partition("-")
    return int(pid) if not head and pid.isdigit() else None
