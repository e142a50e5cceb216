"""Run history: what every ``greenbump upgrade`` decided, tested and committed, kept per project.

The store is one SQLite file, ``<project>/.greenbump/history.sqlite``, because a run's record
must survive the process (``greenbump show`` after the terminal is gone, after a crash, after a
``kill -9``) and SQLite gives atomic multi-table writes with nothing to install. WAL mode lets
``greenbump history`` read while a run writes. The layout is versioned with
``PRAGMA user_version`` and upgraded in place by an ordered list of migrations, each batch in
one transaction, so an old file is never left half-migrated and a file from a newer greenbump
is refused instead of misread.

Secrets: everything written (options, the report, error messages) goes through
:func:`greenbump.redact.redact_text` first, with the secrets the caller knows about, because
index URLs with passwords end up in options, reasons and errors.

Runs that die without saying so (SIGKILL, power loss) stay ``running`` in the file. A run is
only really running while its process holds the project's :class:`RunLock`, so readers show
every other ``running`` row as ``interrupted``, and the next writable open fixes the rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import errno
import fcntl
import json
import os
import shlex
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from greenbump.errors import ExternalError, InputError
from greenbump.proc import process_alive
from greenbump.redact import redact_text

STATE_DIR = ".greenbump"
DB_NAME = "history.sqlite"
LOCK_NAME = "lock"
EXCLUDE_PATTERN = ".greenbump/"

# Each entry moves the file from version ``index`` to ``index + 1``. Append only: released
# greenbumps have applied the earlier entries to users' files, so they must never change.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: runs, their package decisions and their test runs.
    (
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            started TEXT NOT NULL,
            ended TEXT,
            command TEXT NOT NULL,
            options TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL,
            branch TEXT,
            commits TEXT NOT NULL DEFAULT '[]',
            report TEXT
        )""",
        """CREATE TABLE package_outcomes (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            name TEXT NOT NULL,
            from_version TEXT,
            to_version TEXT,
            latest_version TEXT,
            kind TEXT,
            status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            failing_tests TEXT NOT NULL DEFAULT '[]',
            advisories TEXT NOT NULL DEFAULT '[]',
            files TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (run_id, seq)
        )""",
        """CREATE TABLE test_runs (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            env_hash TEXT,
            versions TEXT NOT NULL DEFAULT '{}',
            duration REAL,
            passed INTEGER,
            failing_tests TEXT NOT NULL DEFAULT '[]',
            cached INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, seq)
        )""",
    ),
    # 2: interrupted runs, where the log is, errors, commits per package, and call timings
    # (index requests, resolver and subprocess calls) for finding where a run's time went.
    (
        "ALTER TABLE runs ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE runs ADD COLUMN pid INTEGER",
        "ALTER TABLE runs ADD COLUMN log_path TEXT",
        "ALTER TABLE runs ADD COLUMN error TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE package_outcomes ADD COLUMN error TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE package_outcomes ADD COLUMN commit_sha TEXT",
        "ALTER TABLE test_runs ADD COLUMN resolved INTEGER",
        "ALTER TABLE test_runs ADD COLUMN env_seconds REAL",
        """CREATE TABLE calls (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('index', 'resolver', 'subprocess')),
            what TEXT NOT NULL,
            duration REAL NOT NULL,
            ok INTEGER NOT NULL,
            PRIMARY KEY (run_id, seq)
        )""",
        "CREATE INDEX runs_by_start ON runs (started)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

CALL_KINDS = ("index", "resolver", "subprocess")


# -- where the state lives ---------------------------------------------------------------------

_excluded: set[Path] = set()


def state_dir(root: Path) -> Path:
    """``<root>/.greenbump``, created (private to the user) and hidden from git.

    The folder holds the history, logs and lock: machine-local state that must never be
    committed, so it goes into ``.git/info/exclude`` (local to the clone) rather than the
    user's ``.gitignore``. Outside a git repository, or without git, there is nothing to hide.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError("no such directory", root)
    folder = root / STATE_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    key = root.resolve()
    if key not in _excluded:
        _exclude_from_git(root)
        _excluded.add(key)
    return folder


def _exclude_from_git(root: Path) -> None:
    from greenbump.vcs import Git

    try:
        Git.find(root).exclude(EXCLUDE_PATTERN)
    except (InputError, ExternalError):
        return  # not a repository, or no git: nothing can commit the folder by accident


def default_db_path(root: Path) -> Path:
    """Where a project's history lives (without creating anything)."""
    return Path(root) / STATE_DIR / DB_NAME


def db_path_for(path: Path) -> Path:
    """A project directory means its default database; anything else is the database file."""
    path = Path(path)
    return default_db_path(path) if path.is_dir() else path


# -- the lock ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockHolder:
    """Who holds a run lock, as far as the lock file says (``None``: not written yet)."""

    pid: int | None
    run_id: str | None


def lock_holder(path: Path) -> LockHolder | None:
    """The live holder of the lock file at ``path``, or ``None`` when nobody holds it.

    Probing takes a shared lock for an instant: it fails exactly while some process (this one
    included, through another open) holds the exclusive run lock. The kernel drops a lock when
    its process dies, so a dead run's file never counts as held.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(fd: int) -> LockHolder:
    try:
        data = os.pread(fd, 4096, 0)
        info = json.loads(data.decode("utf-8"))
        pid = info.get("pid")
        run_id = info.get("run")
        return LockHolder(
            pid if isinstance(pid, int) else None, run_id if isinstance(run_id, str) else None
        )
    except (OSError, ValueError, AttributeError):
        return LockHolder(None, None)


class RunLock:
    """One greenbump run per project at a time: an exclusive ``flock`` on ``.greenbump/lock``.

    Two runs on one project would fight over the branch, the scratch worktree and the history,
    so the second fails at once with a message naming the first. ``flock`` belongs to the open
    file, and the kernel releases it when the process exits however it exits, so a stale lock
    from a crashed or killed run never blocks. The file keeps the holder's pid and run id, for
    that message and for telling live ``running`` rows from dead ones. The descriptor is not
    inherited by subprocesses (Python's default), so a test run's orphans cannot keep it.
    """

    def __init__(self, path: Path, run_id: str, fd: int) -> None:
        self.path = path
        self.run_id = run_id
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: Path, run_id: str) -> RunLock:
        """Take the lock of the project at ``path`` (or the lock file ``path``) for ``run_id``.

        Raises :class:`InputError` naming the holder when another run has it.
        """
        path = Path(path)
        lock_path = state_dir(path) / LOCK_NAME if path.is_dir() else path
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            cls._take(fd, lock_path)
            record = {"pid": os.getpid(), "run": run_id, "started": _now()}
            data = json.dumps(record).encode("utf-8")
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        except BaseException:
            os.close(fd)
            raise
        return cls(lock_path, run_id, fd)

    @staticmethod
    def _take(fd: int, lock_path: Path) -> None:
        # A holder whose record is missing or names a dead pid is a probe (lock_holder) or a
        # run that has just taken the lock and not yet written its record: retry briefly
        # rather than report a phantom.
        holder = LockHolder(None, None)
        for _ in range(40):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                holder = _read_holder(fd)
            except OSError as exc:  # pragma: no cover - filesystems without flock
                if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP):
                    raise InputError(f"cannot lock {lock_path}: {exc.strerror}") from exc
                raise
            if holder.pid is not None and process_alive(holder.pid):
                break
            time.sleep(0.05)
        raise InputError(
            f"another greenbump run (pid {holder.pid if holder.pid is not None else '?'}, "
            f"run {holder.run_id or '?'}) holds {lock_path}"
        )

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Give the lock up (idempotent); the record is cleared so nobody reads a stale owner."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# -- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """One line of ``greenbump history``."""

    id: str
    started: str
    ended: str | None
    command: str
    status: str
    branch: str | None
    upgraded: int
    held: int
    interrupted: bool

    @property
    def duration(self) -> float | None:
        """Wall-clock seconds from start to end; ``None`` while running or when cut short."""
        return _seconds_between(self.started, self.ended)

    def to_json(self) -> dict[str, Any]:
        """The summary as JSON (``greenbump history --format json``)."""
        return {
            "id": self.id,
            "started": self.started,
            "ended": self.ended,
            "duration": None if self.duration is None else round(self.duration, 3),
            "command": self.command,
            "status": self.status,
            "branch": self.branch,
            "upgraded": self.upgraded,
            "held": self.held,
            "interrupted": self.interrupted,
        }


@dataclass(frozen=True)
class PackageOutcome:
    """What a run decided for one package, and why."""

    name: str
    from_version: str | None
    to_version: str | None
    latest: str | None
    kind: str | None
    status: str
    reason: str
    failing_tests: tuple[str, ...]
    advisories: tuple[str, ...]
    files: tuple[str, ...]
    error: str
    commit: str | None

    def to_json(self) -> dict[str, Any]:
        """Same keys as a package in the upgrade JSON report."""
        return {
            "name": self.name,
            "from": self.from_version,
            "to": self.to_version,
            "latest": self.latest,
            "kind": self.kind,
            "status": self.status,
            "reason": self.reason,
            "failing_tests": list(self.failing_tests),
            "advisories_fixed": list(self.advisories),
            "files": list(self.files),
            "error": self.error,
            "commit": self.commit,
        }


@dataclass(frozen=True)
class TrialRecord:
    """One test run (a trial) of one version set."""

    seq: int
    env_hash: str | None
    versions: dict[str, str]
    resolved: bool | None
    passed: bool | None
    failing_tests: tuple[str, ...]
    duration: float | None
    env_seconds: float | None
    cached: bool

    def to_json(self) -> dict[str, Any]:
        """Same keys as a test run in the upgrade JSON report."""
        return {
            "seq": self.seq,
            "env_hash": self.env_hash,
            "pins": dict(self.versions),
            "resolved": self.resolved,
            "passed": self.passed,
            "new_failures": list(self.failing_tests),
            "duration": self.duration,
            "env_seconds": self.env_seconds,
            "cached": self.cached,
        }


@dataclass(frozen=True)
class CallRecord:
    """One timed call to the outside world: an index request, the resolver, a subprocess."""

    seq: int
    kind: str
    what: str
    duration: float
    ok: bool

    def to_json(self) -> dict[str, Any]:
        """The call as JSON."""
        return {
            "kind": self.kind,
            "what": self.what,
            "duration": round(self.duration, 3),
            "ok": self.ok,
        }


@dataclass(frozen=True)
class RunDetail:
    """Everything recorded about one run (``greenbump show``)."""

    summary: RunSummary
    options: dict[str, Any]
    commits: tuple[str, ...]
    packages: tuple[PackageOutcome, ...]
    trials: tuple[TrialRecord, ...]
    calls: tuple[CallRecord, ...]
    durations: dict[str, float]
    notes: tuple[str, ...]
    baseline_failures: tuple[str, ...]
    error: str
    log_path: str | None
    pid: int | None
    report: dict[str, Any] | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The run as JSON (``greenbump show --format json``), without the raw report."""
        return {
            **self.summary.to_json(),
            "options": self.options,
            "commits": list(self.commits),
            "baseline_failures": list(self.baseline_failures),
            "durations": dict(self.durations),
            "packages": [p.to_json() for p in self.packages],
            "test_runs": [t.to_json() for t in self.trials],
            "calls": [c.to_json() for c in self.calls],
            "notes": list(self.notes),
            "error": self.error,
            "log": self.log_path,
        }


# -- the store ---------------------------------------------------------------------------------


class HistoryStore:
    """The run history of one project (or one database file)."""

    def __init__(
        self, connection: sqlite3.Connection, path: Path, secrets: Iterable[str] = ()
    ) -> None:
        self._db = connection
        self.path = path
        self.lock_path = path.parent / LOCK_NAME
        self.secrets: set[str] = set(secrets)

    @classmethod
    def open(cls, path: Path, *, create: bool = True, secrets: Iterable[str] = ()) -> HistoryStore:
        """Open (creating and migrating as needed) the history at ``path``.

        ``path`` is a project directory (its ``.greenbump/history.sqlite``) or a database
        file. With ``create=False`` a missing database is an :class:`InputError` and nothing
        is created, for commands that only read. ``secrets`` are masked in everything written.
        """
        path = Path(path)
        if path.is_dir():
            db = state_dir(path) / DB_NAME if create else default_db_path(path)
        else:
            db = path
        if not db.exists():
            if not create:
                raise InputError("no run history here (no greenbump run has been recorded)", db)
            db.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(db, timeout=10.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise InputError(f"cannot open the run history: {exc}", db) from exc
        store = cls(connection, db, secrets)
        try:
            store._prepare()
        except BaseException:
            connection.close()
            raise
        return store

    def close(self) -> None:
        """Close the database (the last connection folds the WAL back into the file)."""
        self._db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """More strings to mask from now on (credentials learnt during the run)."""
        self.secrets.update(s for s in secrets if s)

    # -- setup --

    def _prepare(self) -> None:
        try:
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA foreign_keys = ON")
            version = self.schema_version()
            if version > SCHEMA_VERSION:
                raise self._too_new(version)
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network filesystem
                raise InputError(f"cannot use WAL mode for the run history (got {mode})", self.path)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"not a usable run history database: {exc}", self.path) from exc
        with contextlib.suppress(sqlite3.OperationalError):  # a read-only file: just read
            self._reap()

    def _too_new(self, version: int) -> InputError:
        return InputError(
            f"the run history was written by a newer greenbump (history schema {version}; this "
            f"greenbump knows up to {SCHEMA_VERSION}): upgrade greenbump, or move the file away",
            self.path,
        )

    def schema_version(self) -> int:
        """The file's ``PRAGMA user_version``: how many migrations it has had."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def journal_mode(self) -> str:
        """``wal`` once open (for tests and diagnostics)."""
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    def _migrate(self) -> None:
        if self.schema_version() == SCHEMA_VERSION:
            return
        with self._transaction():
            # Re-read inside the write transaction: another process may have migrated already.
            version = self.schema_version()
            if version > SCHEMA_VERSION:
                raise self._too_new(version)
            for steps in MIGRATIONS[version:]:
                for statement in steps:
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _live_run(self) -> tuple[bool, str | None]:
        """(whether some run holds the lock, the run id it recorded)."""
        holder = lock_holder(self.lock_path)
        if holder is None:
            return False, None
        return True, holder.run_id

    def _dead(self, run_id: str, status: str, live: tuple[bool, str | None]) -> bool:
        held, holder = live
        if status != "running":
            return False
        if held and holder is None:
            return False  # the holder has not written its record yet: assume it is this run
        return run_id != holder

    def _reap(self) -> None:
        """Mark runs whose process died without a word as interrupted."""
        live = self._live_run()
        rows = self._db.execute("SELECT id FROM runs WHERE status = 'running'").fetchall()
        dead = [row[0] for row in rows if self._dead(row[0], "running", live)]
        if not dead:
            return
        with self._transaction():
            self._db.executemany(
                "UPDATE runs SET status = 'interrupted', interrupted = 1 "
                "WHERE id = ? AND status = 'running'",
                [(run_id,) for run_id in dead],
            )

    # -- writing --

    def _clean(self, value: Any) -> Any:
        return redact_json(value, self.secrets)

    def _dumps(self, value: Any) -> str:
        return json.dumps(self._clean(value), ensure_ascii=False, sort_keys=False)

    def start_run(
        self,
        run_id: str,
        command: str | Sequence[str],
        options: Any = None,
        *,
        log_path: Path | None = None,
    ) -> None:
        """Record that a run started (status ``running``), before it can fail or be killed.

        ``options`` is anything :func:`to_jsonable` understands (the ``Options`` dataclass, a
        dict); it is stored redacted.
        """
        shown = command if isinstance(command, str) else shlex.join(command)
        with self._transaction():
            self._db.execute(
                "INSERT INTO runs (id, started, command, options, status, pid, log_path) "
                "VALUES (?, ?, ?, ?, 'running', ?, ?)",
                (
                    run_id,
                    _now(),
                    self._clean(shown),
                    self._dumps(to_jsonable(options) if options is not None else {}),
                    os.getpid(),
                    None if log_path is None else str(log_path),
                ),
            )

    def finish_run(
        self, report: Mapping[str, Any], *, calls: Iterable[Mapping[str, Any]] = ()
    ) -> None:
        """Store a finished run from its upgrade JSON report, all in one transaction.

        ``report`` is :func:`greenbump.upgradereport.to_json` output; ``calls`` are timings
        (``kind``, ``what``, ``duration``, ``ok``), e.g. :attr:`greenbump.runlog.RunLog.calls`,
        added to any ``calls`` the report carries. A run never started is inserted whole.
        Calling it again for the same run replaces the earlier record.
        """
        data: dict[str, Any] = self._clean(to_jsonable(dict(report)))
        run_id = str(data["run_id"])
        packages = list(data.get("packages") or [])
        trials = list(data.get("test_runs") or [])
        all_calls = [*(data.get("calls") or []), *self._clean(to_jsonable(list(calls)))]
        with self._transaction():
            exists = self._db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone()
            if not exists:
                self._db.execute(
                    "INSERT INTO runs (id, started, command, status) VALUES (?, ?, 'upgrade', ?)",
                    (run_id, str(data.get("started") or _now()), "running"),
                )
            self._db.execute(
                "UPDATE runs SET ended = ?, status = ?, branch = ?, commits = ?, report = ?, "
                "interrupted = 0 WHERE id = ?",
                (
                    _now(),
                    str(data.get("status") or "unknown"),
                    data.get("branch"),
                    json.dumps(list(data.get("commits") or [])),
                    json.dumps(data, ensure_ascii=False),
                    run_id,
                ),
            )
            for table in ("package_outcomes", "test_runs", "calls"):
                self._db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))  # noqa: S608
            self._db.executemany(
                "INSERT INTO package_outcomes (run_id, seq, name, from_version, to_version, "
                "latest_version, kind, status, reason, failing_tests, advisories, files, error, "
                "commit_sha) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        seq,
                        str(p.get("name", "")),
                        p.get("from"),
                        p.get("to"),
                        p.get("latest"),
                        p.get("kind"),
                        str(p.get("status", "")),
                        str(p.get("reason") or ""),
                        json.dumps(list(p.get("failing_tests") or [])),
                        json.dumps(list(p.get("advisories_fixed") or [])),
                        json.dumps(list(p.get("files") or [])),
                        str(p.get("error") or ""),
                        p.get("commit"),
                    )
                    for seq, p in enumerate(packages)
                ],
            )
            self._db.executemany(
                "INSERT INTO test_runs (run_id, seq, env_hash, versions, duration, passed, "
                "failing_tests, cached, resolved, env_seconds) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        seq,
                        t.get("env_hash"),
                        json.dumps(dict(t.get("pins") or {})),
                        t.get("duration"),
                        _bool_or_none(t.get("passed")),
                        json.dumps(list(t.get("new_failures") or [])),
                        int(bool(t.get("cached"))),
                        _bool_or_none(t.get("resolved")),
                        t.get("env_seconds"),
                    )
                    for seq, t in enumerate(trials)
                ],
            )
            self._db.executemany(
                "INSERT INTO calls (run_id, seq, kind, what, duration, ok) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        seq,
                        c.get("kind") if c.get("kind") in CALL_KINDS else "subprocess",
                        str(c.get("what", "")),
                        float(c.get("duration") or 0.0),
                        int(bool(c.get("ok", True))),
                    )
                    for seq, c in enumerate(all_calls)
                ],
            )

    def fail_run(self, run_id: str, error: str, *, status: str = "failed") -> None:
        """Close a run that ended in an error before it had a report."""
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET ended = ?, status = ?, error = ? WHERE id = ?",
                (_now(), status, self._clean(error), run_id),
            )

    def mark_interrupted(self, run_id: str) -> None:
        """Close a run stopped by ^C or SIGTERM (the process still had time to say so)."""
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET ended = ?, status = 'interrupted', interrupted = 1 "
                "WHERE id = ? AND status = 'running'",
                (_now(), run_id),
            )

    # -- reading --

    _SUMMARY_SQL = """
        SELECT r.id, r.started, r.ended, r.command, r.status, r.branch, r.interrupted,
            (SELECT count(*) FROM package_outcomes p
                WHERE p.run_id = r.id AND p.status = 'upgraded'),
            (SELECT count(*) FROM package_outcomes p WHERE p.run_id = r.id AND p.status = 'held')
        FROM runs r
    """

    def _summary(self, row: Sequence[Any], live: tuple[bool, str | None]) -> RunSummary:
        run_id, started, ended, command, status, branch, interrupted, upgraded, held = row
        dead = self._dead(run_id, status, live)
        return RunSummary(
            id=run_id,
            started=started,
            ended=ended,
            command=command,
            status="interrupted" if dead else status,
            branch=branch,
            upgraded=int(upgraded),
            held=int(held),
            interrupted=bool(interrupted) or dead,
        )

    def runs(self, limit: int | None = 20) -> list[RunSummary]:
        """The most recent runs, newest first."""
        live = self._live_run()
        sql = self._SUMMARY_SQL + " ORDER BY r.started DESC, r.rowid DESC"
        params: tuple[int, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (max(0, limit),)
        return [self._summary(row, live) for row in self._db.execute(sql, params)]

    def latest(self) -> RunDetail | None:
        """The most recent run, or ``None`` when there is none."""
        newest = self.runs(limit=1)
        return self.run(newest[0].id) if newest else None

    def resolve_id(self, prefix: str) -> str:
        """The one run id equal to, or else starting with, ``prefix``."""
        prefix = prefix.strip()
        if not prefix:
            raise InputError("empty run id")
        if self._db.execute("SELECT 1 FROM runs WHERE id = ?", (prefix,)).fetchone():
            return prefix
        rows = self._db.execute(
            "SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY started DESC",
            (len(prefix), prefix),
        ).fetchall()
        if not rows:
            raise InputError(f"no run {prefix!r} in the history (see `greenbump history`)")
        if len(rows) > 1:
            shown = ", ".join(row[0] for row in rows[:6]) + (", ..." if len(rows) > 6 else "")
            raise InputError(f"run id {prefix!r} is ambiguous: it matches {shown}")
        return str(rows[0][0])

    def run(self, run_id_or_prefix: str) -> RunDetail:
        """One run by id or unique id prefix (``latest`` means the newest run)."""
        if run_id_or_prefix == "latest":
            newest = self.runs(limit=1)
            if not newest:
                raise InputError("the run history is empty")
            run_id = newest[0].id
        else:
            run_id = self.resolve_id(run_id_or_prefix)
        live = self._live_run()
        summary_row = self._db.execute(self._SUMMARY_SQL + " WHERE r.id = ?", (run_id,)).fetchone()
        summary = self._summary(summary_row, live)
        options, commits, report, error, log_path, pid = self._db.execute(
            "SELECT options, commits, report, error, log_path, pid FROM runs WHERE id = ?",
            (run_id,),
        ).fetchone()
        data: dict[str, Any] | None = json.loads(report) if report else None
        packages = tuple(
            PackageOutcome(
                name=row[0],
                from_version=row[1],
                to_version=row[2],
                latest=row[3],
                kind=row[4],
                status=row[5],
                reason=row[6],
                failing_tests=tuple(json.loads(row[7])),
                advisories=tuple(json.loads(row[8])),
                files=tuple(json.loads(row[9])),
                error=row[10],
                commit=row[11],
            )
            for row in self._db.execute(
                "SELECT name, from_version, to_version, latest_version, kind, status, reason, "
                "failing_tests, advisories, files, error, commit_sha FROM package_outcomes "
                "WHERE run_id = ? ORDER BY seq",
                (run_id,),
            )
        )
        trials = tuple(
            TrialRecord(
                seq=row[0],
                env_hash=row[1],
                versions=dict(json.loads(row[2])),
                resolved=None if row[3] is None else bool(row[3]),
                passed=None if row[4] is None else bool(row[4]),
                failing_tests=tuple(json.loads(row[5])),
                duration=row[6],
                env_seconds=row[7],
                cached=bool(row[8]),
            )
            for row in self._db.execute(
                "SELECT seq, env_hash, versions, resolved, passed, failing_tests, duration, "
                "env_seconds, cached FROM test_runs WHERE run_id = ? ORDER BY seq",
                (run_id,),
            )
        )
        calls = tuple(
            CallRecord(seq=row[0], kind=row[1], what=row[2], duration=row[3], ok=bool(row[4]))
            for row in self._db.execute(
                "SELECT seq, kind, what, duration, ok FROM calls WHERE run_id = ? ORDER BY seq",
                (run_id,),
            )
        )
        durations = {str(k): float(v) for k, v in ((data or {}).get("durations") or {}).items()}
        return RunDetail(
            summary=summary,
            options=dict(json.loads(options or "{}")),
            commits=tuple(json.loads(commits or "[]")),
            packages=packages,
            trials=trials,
            calls=calls,
            durations=durations,
            notes=tuple((data or {}).get("notes") or ()),
            baseline_failures=tuple((data or {}).get("baseline_failures") or ()),
            error=error or "",
            log_path=log_path,
            pid=pid,
            report=data,
        )


# -- helpers -----------------------------------------------------------------------------------


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: dataclasses, paths, versions, enums, durations and sets.

    Options carry ``Path``, ``Version``, ``SpecifierSet``, enums and ``timedelta``; storing them
    must never fail a run, so anything unknown becomes its ``str``.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted((to_jsonable(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return str(value)


def redact_json(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` (JSON data) with every string, keys included, passed through redact_text."""
    known = tuple(secrets)
    if isinstance(value, str):
        return redact_text(value, known)
    if isinstance(value, Mapping):
        return {redact_text(str(k), known): redact_json(v, known) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_json(v, known) for v in value]
    return value


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def _bool_or_none(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def _seconds_between(started: str, ended: str | None) -> float | None:
    if not ended:
        return None
    try:
        return (
            dt.datetime.fromisoformat(ended) - dt.datetime.fromisoformat(started)
        ).total_seconds()
    except (ValueError, TypeError):
        return None
