"""Run history, run lock and run log against real SQLite files, real processes and real git."""

from __future__ import annotations

import copy
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from greenbump import proc
from greenbump.errors import InputError
from greenbump.history import SCHEMA_VERSION, HistoryStore, RunLock, lock_holder, state_dir
from greenbump.main import main
from greenbump.runlog import RunLog, configure_console, console_level, read_log

SECRET = "s3cretPassw0rd"
BARE_TOKEN = "tok-9f8e7d6c5b4a"  # a known secret that shows up outside any URL
SECRET_URL = f"https://alice:{SECRET}@private.example/simple"

# The first layout (version 1), written out by hand as an older greenbump left it.
V1_SCHEMA = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, started TEXT NOT NULL, ended TEXT, command TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}', status TEXT NOT NULL, branch TEXT,
    commits TEXT NOT NULL DEFAULT '[]', report TEXT
);
CREATE TABLE package_outcomes (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    name TEXT NOT NULL, from_version TEXT, to_version TEXT, latest_version TEXT, kind TEXT,
    status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
    failing_tests TEXT NOT NULL DEFAULT '[]', advisories TEXT NOT NULL DEFAULT '[]',
    files TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (run_id, seq)
);
CREATE TABLE test_runs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    env_hash TEXT, versions TEXT NOT NULL DEFAULT '{}', duration REAL, passed INTEGER,
    failing_tests TEXT NOT NULL DEFAULT '[]', cached INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, seq)
);
INSERT INTO runs (id, started, ended, command, status, branch, commits)
    VALUES ('0ld0ld00', '2024-01-02T03:04:05.000+00:00', '2024-01-02T03:05:05.000+00:00',
            'upgrade', 'upgraded', 'greenbump/2024-01-02-0ld0ld00', '["abc123"]');
INSERT INTO runs (id, started, command, status)
    VALUES ('0ldrun11', '2024-01-03T03:04:05.000+00:00', 'upgrade', 'running');
INSERT INTO package_outcomes (run_id, seq, name, from_version, to_version, status, reason)
    VALUES ('0ld0ld00', 0, 'attrs', '22.1.0', '23.2.0', 'upgraded', 'newer release');
INSERT INTO test_runs (run_id, seq, env_hash, versions, duration, passed)
    VALUES ('0ld0ld00', 0, 'e1', '{"attrs": "23.2.0"}', 1.5, 1);
PRAGMA user_version = 1;
"""


def make_report(
    run_id: str = "a1b2c3d4", started: str = "2024-05-01T10:00:00+00:00"
) -> dict[str, Any]:
    """A report shaped exactly like ``greenbump.upgradereport.to_json`` output."""
    return {
        "schema_version": 1,
        "tool": {"name": "greenbump", "version": "0.1.0"},
        "run_id": run_id,
        "started": started,
        "status": "upgraded",
        "dry_run": False,
        "branch": f"greenbump/2024-05-01-{run_id}",
        "commits": ["0123456789abcdef0123456789abcdef01234567"],
        "baseline_failures": ["tests/test_flaky.py::test_clock"],
        "durations": {
            "read": 0.012,
            "query": 1.204,
            "plan": 0.003,
            "baseline": 8.5,
            "resolve": 0.9,
            "test": 9.1,
            "apply": 0.4,
        },
        "packages": [
            {
                "name": "requests",
                "from": "2.31.0",
                "to": "2.32.3",
                "latest": "2.32.3",
                "kind": "minor",
                "files": ["requirements.txt"],
                "status": "upgraded",
                "reason": "newer release within policy",
                "failing_tests": [],
                "error": "",
                "advisories_fixed": ["GHSA-9wx4-h78v-vm56"],
                "commit": "0123456789abcdef0123456789abcdef01234567",
            },
            {
                "name": "django",
                "from": "4.2.0",
                "to": None,
                "latest": "5.0.6",
                "kind": None,
                "files": [],
                "status": "held",
                "reason": "the tests fail with the full set of upgrades",
                "failing_tests": ["tests/test_views.py::test_index", "tests/test_admin.py::test_x"],
                "error": "AssertionError: 404 != 200",
                "advisories_fixed": [],
                "commit": None,
            },
            {
                "name": "idna",
                "from": "3.7",
                "to": None,
                "latest": "3.7",
                "kind": None,
                "files": [],
                "status": "unchanged",
                "reason": "already at the latest release",
                "failing_tests": [],
                "error": "",
                "advisories_fixed": [],
                "commit": None,
            },
        ],
        "test_runs": [
            {
                "env_hash": "5f0c2a9e11aa",
                "pins": {"requests": "2.31.0", "django": "4.2.0", "idna": "3.7"},
                "resolved": True,
                "passed": False,
                "new_failures": [],
                "duration": 8.1,
                "env_seconds": 2.25,
                "cached": False,
            },
            {
                "env_hash": "77aa01bb22cc",
                "pins": {"requests": "2.32.3", "django": "5.0.6", "idna": "3.7"},
                "resolved": True,
                "passed": False,
                "new_failures": ["tests/test_views.py::test_index"],
                "duration": 8.9,
                "env_seconds": 3.0,
                "cached": False,
            },
        ],
        "notes": ["requirements.txt: kept the hashes of unchanged pins"],
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "requirements.txt").write_text("requests==2.31.0\n")
    return root


def raw(db: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Read the file behind the store's back, as another program would."""
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


# -- schema ------------------------------------------------------------------------------------


def test_new_store_has_the_current_schema_in_wal_mode(project: Path) -> None:
    with HistoryStore.open(project) as store:
        assert store.path == project / ".greenbump" / "history.sqlite"
        assert store.schema_version() == SCHEMA_VERSION
        assert store.journal_mode() == "wal"
    db = project / ".greenbump" / "history.sqlite"
    assert raw(db, "PRAGMA journal_mode") == [("wal",)]  # persistent, seen by other openers
    tables = {row[0] for row in raw(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "package_outcomes", "test_runs", "calls"} <= tables
    with HistoryStore.open(project) as store:  # reopening migrates nothing and loses nothing
        assert store.schema_version() == SCHEMA_VERSION
        assert store.runs() == []


def test_version_1_database_is_migrated_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    connection = sqlite3.connect(db)
    connection.executescript(V1_SCHEMA)
    connection.close()

    with HistoryStore.open(db) as store:
        assert store.schema_version() == SCHEMA_VERSION
        runs = {r.id: r for r in store.runs()}
        assert runs["0ld0ld00"].status == "upgraded"
        assert runs["0ld0ld00"].upgraded == 1
        assert runs["0ld0ld00"].duration == 60.0
        detail = store.run("0ld0")
        assert detail.commits == ("abc123",)
        assert detail.packages[0].name == "attrs"
        assert detail.packages[0].error == ""  # column added by migration 2, default applied
        assert detail.trials[0].versions == {"attrs": "23.2.0"}
        assert detail.trials[0].resolved is None
        assert detail.calls == ()
        # a v1 run left 'running' has no live lock holder: fixed up on open
        assert runs["0ldrun11"].status == "interrupted"
    columns = {row[1] for row in raw(db, "PRAGMA table_info(runs)")}
    assert {"interrupted", "pid", "log_path", "error"} <= columns
    assert raw(db, "SELECT status, interrupted FROM runs WHERE id = '0ldrun11'") == [
        ("interrupted", 1)
    ]


def test_failed_migration_rolls_back_completely(tmp_path: Path) -> None:
    db = tmp_path / "clash.sqlite"
    connection = sqlite3.connect(db)
    connection.executescript(V1_SCHEMA)
    connection.execute("CREATE TABLE calls (x)")  # migration 2 creates it: it must fail
    connection.close()
    with pytest.raises(InputError, match="not a usable run history"):
        HistoryStore.open(db)
    assert raw(db, "PRAGMA user_version") == [(1,)]
    columns = {row[1] for row in raw(db, "PRAGMA table_info(runs)")}
    assert "interrupted" not in columns  # the ALTERs before the failure were rolled back


def test_newer_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite"
    connection = sqlite3.connect(db)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    connection.close()
    with pytest.raises(InputError, match="newer greenbump") as exc:
        HistoryStore.open(db)
    assert str(db) in str(exc.value)


def test_not_a_database_is_an_input_error(tmp_path: Path) -> None:
    db = tmp_path / "junk.sqlite"
    db.write_bytes(b"this is not sqlite at all, just text" * 50)
    with pytest.raises(InputError, match="run history"):
        HistoryStore.open(db)


def test_read_only_open_creates_nothing(project: Path) -> None:
    with pytest.raises(InputError, match="no run history"):
        HistoryStore.open(project, create=False)
    assert not (project / ".greenbump").exists()


# -- writing and reading runs ------------------------------------------------------------------


def test_report_round_trip(project: Path) -> None:
    report = make_report()
    with RunLock.acquire(project, "a1b2c3d4"), HistoryStore.open(project) as store:
        store.start_run("a1b2c3d4", ["greenbump", "upgrade", "."], {"dry_run": False})
        assert store.runs()[0].status == "running"  # its lock is held: it is live
        store.finish_run(
            copy.deepcopy(report),
            calls=[
                {"kind": "index", "what": "GET /simple/requests/", "duration": 0.2, "ok": True},
                {"kind": "subprocess", "what": "uv pip compile", "duration": 1.1, "ok": False},
            ],
        )
        store.finish_run(copy.deepcopy(report))  # again: replaces, never duplicates
        store.finish_run(
            copy.deepcopy(report),
            calls=[
                {"kind": "resolver", "what": "uv pip compile -", "duration": 0.75, "ok": True},
            ],
        )
        detail = store.run("a1b2")

    summary = detail.summary
    assert summary.id == "a1b2c3d4"
    assert summary.status == "upgraded"
    assert not summary.interrupted
    assert (summary.upgraded, summary.held) == (1, 1)
    assert summary.branch == report["branch"]
    assert summary.command == "greenbump upgrade ."
    assert summary.duration is not None and summary.duration >= 0
    assert detail.commits == tuple(report["commits"])
    assert detail.options == {"dry_run": False}
    assert detail.durations == report["durations"]
    assert detail.notes == tuple(report["notes"])
    assert detail.baseline_failures == tuple(report["baseline_failures"])
    assert [p.to_json() for p in detail.packages] == report["packages"]
    assert [{k: v for k, v in t.to_json().items() if k != "seq"} for t in detail.trials] == report[
        "test_runs"
    ]
    assert [c.to_json() for c in detail.calls] == [
        {"kind": "resolver", "what": "uv pip compile -", "duration": 0.75, "ok": True}
    ]
    assert detail.report == report


def test_finish_without_start_inserts_the_run(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.sqlite") as store:
        store.finish_run(make_report("feedf00d"))
        latest = store.latest()
        assert latest is not None
        assert latest.summary.id == "feedf00d"
        assert latest.summary.status == "upgraded"


def test_failed_and_interrupted_runs(project: Path) -> None:
    with HistoryStore.open(project) as store:
        store.start_run("11111111", "upgrade", None)
        store.fail_run("11111111", f"index {SECRET_URL} unreachable")
        store.start_run("22222222", "upgrade", None)
        store.mark_interrupted("22222222")
        runs = {r.id: r for r in store.runs()}
        assert runs["11111111"].status == "failed"
        assert SECRET not in store.run("1111").error
        assert runs["22222222"].status == "interrupted"
        assert runs["22222222"].interrupted
        assert runs["22222222"].ended is not None


def test_prefix_lookup_and_errors(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.sqlite") as store:
        store.finish_run(make_report("abc12345", "2024-05-01T10:00:00+00:00"))
        store.finish_run(make_report("abc19999", "2024-05-02T10:00:00+00:00"))
        store.finish_run(make_report("def00000", "2024-05-03T10:00:00+00:00"))
        assert store.run("abc12").summary.id == "abc12345"
        assert store.run("abc19999").summary.id == "abc19999"
        assert store.run("d").summary.id == "def00000"
        assert store.run("latest").summary.id == "def00000"
        with pytest.raises(InputError, match=r"ambiguous.*abc19999, abc12345"):
            store.run("abc1")
        with pytest.raises(InputError, match="no run 'zzz'"):
            store.run("zzz")
        with pytest.raises(InputError, match="empty"):
            store.run("  ")
        assert [r.id for r in store.runs()] == ["def00000", "abc19999", "abc12345"]
        assert [r.id for r in store.runs(limit=2)] == ["def00000", "abc19999"]


# -- the lock and interrupted runs -------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from greenbump.history import HistoryStore, RunLock
    from greenbump.runlog import RunLog

    root, secret_url, token = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    lock = RunLock.acquire(root, "deadbeef")
    log = RunLog.open(root, "deadbeef", secrets=[token])
    store = HistoryStore.open(root, secrets=[token])
    store.start_run(
        "deadbeef",
        ["greenbump", "upgrade", "--index-url", secret_url],
        {"index_url": secret_url, "header": "Bearer " + token},
        log_path=log.path,
    )
    log.stage_started("query")
    log.command(["uv", "pip", "compile", "--index-url", secret_url], 0, 1.5)
    log.warning("slow index " + secret_url + " with " + token)
    log.decision("django", "held", "word " * 40_000)  # a line far larger than any buffer
    print("ready", flush=True)
    sys.stdin.readline()
    log.stage_started("test")
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.fixture
def running_child(project: Path) -> Iterator[subprocess.Popen[str]]:
    """A greenbump-like process that holds the lock and a 'running' run until told to die."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(project), SECRET_URL, BARE_TOKEN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()


def test_second_run_fails_at_once_with_the_holder(
    project: Path, running_child: subprocess.Popen[str]
) -> None:
    lock_file = project / ".greenbump" / "lock"
    with pytest.raises(InputError) as exc:
        RunLock.acquire(project, "cafebabe")
    assert str(exc.value) == (
        f"another greenbump run (pid {running_child.pid}, run deadbeef) holds {lock_file}"
    )
    holder = lock_holder(lock_file)
    assert holder is not None
    assert (holder.pid, holder.run_id) == (running_child.pid, "deadbeef")
    with HistoryStore.open(project) as store:  # a live run is neither shown nor fixed up as dead
        assert store.runs()[0].status == "running"
    db = project / ".greenbump" / "history.sqlite"
    assert raw(db, "SELECT status FROM runs") == [("running",)]


def test_same_process_second_lock_fails_and_release_frees(project: Path) -> None:
    first = RunLock.acquire(project, "first111")
    with pytest.raises(InputError, match=rf"pid {os.getpid()}, run first111\) holds "):
        RunLock.acquire(project, "second22")
    first.release()
    first.release()  # idempotent
    assert lock_holder(project / ".greenbump" / "lock") is None
    with RunLock.acquire(project, "second22") as second:
        assert second.held
    assert not second.held


def test_killed_run_reads_as_interrupted_and_frees_the_lock(
    project: Path, running_child: subprocess.Popen[str]
) -> None:
    db = project / ".greenbump" / "history.sqlite"
    with HistoryStore.open(project) as store:
        assert store.runs()[0].status == "running"
        assert running_child.stdin is not None
        running_child.stdin.write("die\n")
        running_child.stdin.flush()
        assert running_child.wait(timeout=30) == -signal.SIGKILL
        # read through the same open store: the row still says 'running', the reader says not
        assert raw(db, "SELECT status FROM runs") == [("running",)]
        summary = store.runs()[0]
        assert (summary.status, summary.interrupted) == ("interrupted", True)
        assert store.run("dead").summary.status == "interrupted"
    with HistoryStore.open(project) as store:  # the next open fixes the row
        assert raw(db, "SELECT status, interrupted FROM runs") == [("interrupted", 1)]
        detail = store.run("deadbeef")
    with RunLock.acquire(project, "nextrun1"):  # the dead holder's lock never blocks
        pass

    assert detail.log_path is not None
    log_file = Path(detail.log_path)
    lines = log_file.read_bytes().split(b"\n")
    assert lines[-1] == b""  # ends on a complete line
    events = [json.loads(line) for line in lines[:-1]]  # every line is valid JSON
    assert [e["kind"] for e in events] == [
        "stage_started",
        "command",
        "warning",
        "decision",
        "stage_started",
    ]
    assert all(e["run"] == "deadbeef" and e["ts"] for e in events)
    assert events[1]["exit_code"] == 0
    assert len(events[3]["reason"]) == 200_000
    assert read_log(log_file) == events

    secrets_seen = all_bytes(project / ".greenbump")
    for secret in (SECRET, quote(SECRET, safe=""), BARE_TOKEN):
        assert secret.encode() not in secrets_seen
    assert b"alice:****@private.example" in secrets_seen


def test_read_log_skips_a_line_cut_by_a_kill(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_text('{"kind": "stage_started"}\n{"kind": "comm')
    assert read_log(path) == [{"kind": "stage_started"}]


# -- secrets -----------------------------------------------------------------------------------


def test_planted_secrets_never_reach_the_files(project: Path) -> None:
    report = make_report("5ec0e7aa")
    report["packages"][1]["reason"] = f"install failed from {SECRET_URL}"
    report["packages"][1]["error"] = f"401 from {SECRET_URL}?token={BARE_TOKEN}"
    report["notes"].append(f"credentials {BARE_TOKEN} came from netrc")
    with (
        RunLog.open(project, "5ec0e7aa", secrets=[BARE_TOKEN]) as log,
        HistoryStore.open(project) as store,
    ):
        store.add_secrets([BARE_TOKEN])
        store.start_run(
            "5ec0e7aa",
            ["greenbump", "upgrade", "--index-url", SECRET_URL],
            {"index_url": SECRET_URL, "extra_index_urls": (f"{SECRET_URL}/extra",)},
            log_path=log.path,
        )
        log.command(["uv", "pip", "install", "--index-url", SECRET_URL], 1, 0.5)
        log.event(
            "decision",
            package="django",
            reason=f"{SECRET_URL} said no",
            nested={"urls": [SECRET_URL], SECRET_URL: BARE_TOKEN},
        )
        with log.capture():
            logging.getLogger("greenbump.index").warning("cannot reach %s", SECRET_URL)
            logging.getLogger("greenbump.x").debug("token is %s", BARE_TOKEN)
        store.finish_run(report, calls=log.calls)
        detail = store.run("5ec0")
        assert "****" in detail.packages[1].reason
        assert "****" in detail.options["index_url"]
    data = all_bytes(project / ".greenbump")
    for secret in (SECRET, quote(SECRET, safe=""), BARE_TOKEN):
        assert secret.encode() not in data
    assert b"private.example" in data  # redacted, not dropped


# -- run log and logging -----------------------------------------------------------------------


def test_log_handler_records_commands_and_warnings(project: Path) -> None:
    with RunLog.open(project, "10991099") as log:
        assert log.path.parent == project / ".greenbump" / "logs"
        assert log.path.name.endswith("-10991099.jsonl")
        with log.capture():
            proc.run([sys.executable, "-c", "pass"], what="python")
            proc.run([sys.executable, "-c", "raise SystemExit(3)"], check=False)
            logging.getLogger("greenbump.vcs").info("made branch %s", "greenbump/x")
            logging.getLogger("greenbump.index").warning("cache not writable")
            logging.getLogger("greenbump.index").debug(
                "custom", extra={"greenbump_event": {"kind": "call", "call_kind": "index"}}
            )
        logging.getLogger("greenbump.vcs").warning("after capture: not logged")
        with log.stage("plan"):
            log.decision("requests", "planned", "newer release", to="2.32.3")
        log.run_finished("upgraded", upgraded=1)
        calls = list(log.calls)
    events = read_log(log.path)
    kinds = [e["kind"] for e in events]
    assert kinds == [
        "command",
        "command",
        "log",
        "warning",
        "call",
        "stage_started",
        "decision",
        "stage_finished",
        "run_finished",
    ]
    first, second = events[0], events[1]
    assert first["argv"] == [f"{sys.executable} -c pass"]
    assert (first["exit_code"], second["exit_code"]) == (0, 3)
    assert events[2]["message"] == "made branch greenbump/x"
    assert events[3]["logger"] == "greenbump.index"
    assert events[7]["stage"] == "plan" and events[7]["ok"] is True
    assert [c["ok"] for c in calls] == [True, False]
    assert all(c["kind"] == "subprocess" for c in calls)


def test_log_rejects_reserved_fields(project: Path) -> None:
    with RunLog.open(project, "0000aaaa") as log, pytest.raises(ValueError, match="reserved"):
        log.event("decision", run="other")


def test_console_verbosity_touches_only_greenbump(capsys: pytest.CaptureFixture[str]) -> None:
    import io

    assert console_level() == logging.WARNING
    assert console_level(verbose=1) == logging.INFO
    assert console_level(verbose=2) == logging.DEBUG
    assert console_level(verbose=2, quiet=1) == logging.ERROR
    stream = io.StringIO()
    root_level = logging.getLogger().level
    handler = configure_console(console_level(verbose=1), stream)
    try:
        configure_console(console_level(verbose=1), stream)  # replaces, does not stack
        logging.getLogger("greenbump.index").info("fetching %s", SECRET_URL)
        logging.getLogger("greenbump.index").debug("too chatty")
        logging.getLogger("other").warning("not ours")
    finally:
        logger = logging.getLogger("greenbump")
        for h in [h for h in logger.handlers if getattr(h, "_greenbump_console", False)]:
            logger.removeHandler(h)
        logger.setLevel(logging.NOTSET)
    assert handler not in logging.getLogger("greenbump").handlers
    assert logging.getLogger().level == root_level
    text = stream.getvalue()
    assert text.count("fetching") == 1
    assert "alice:****@private.example" in text
    assert "too chatty" not in text
    assert "not ours" not in text


# -- setup -------------------------------------------------------------------------------------


def test_state_dir_is_excluded_from_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    repo = tmp_path / "repo"
    (repo / "services" / "api").mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", str(repo)], check=True)
    project = repo / "services" / "api"  # a project below the repository root
    (project / "requirements.txt").write_text("attrs==23.2.0\n")

    with HistoryStore.open(project) as store, RunLog.open(project, "abcdabcd") as log:
        store.start_run("abcdabcd", "upgrade", None, log_path=log.path)
        log.stage_started("read")
    HistoryStore.open(project).close()

    exclude = (repo / ".git" / "info" / "exclude").read_text()
    assert exclude.splitlines().count(".greenbump/") == 1
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".greenbump" not in status
    assert "services/api/requirements.txt" in status


def test_state_dir_outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    folder = state_dir(tmp_path)
    assert folder == tmp_path / ".greenbump"
    assert folder.is_dir()
    assert folder.stat().st_mode & 0o077 == 0


# -- the commands ------------------------------------------------------------------------------


@pytest.fixture
def populated(project: Path) -> Path:
    with HistoryStore.open(project) as store:
        store.start_run("a1b2c3d4", ["greenbump", "upgrade"], {"level": "major"})
        store.finish_run(make_report("a1b2c3d4", "2024-05-01T10:00:00+00:00"))
        store.start_run("a1ffffff", ["greenbump", "upgrade"], {})
        store.fail_run("a1ffffff", "the current versions do not resolve together")
        store.start_run("b0b0b0b0", ["greenbump", "upgrade", "--dry-run"], {})
        store.mark_interrupted("b0b0b0b0")
    return project


def test_history_command_table(populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", str(populated)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["run", "started", "duration", "status", "upgraded", "held", "branch"]
    rows = {line.split()[0]: line for line in out[1:]}
    assert set(rows) == {"a1b2c3d4", "a1ffffff", "b0b0b0b0"}
    assert "upgraded" in rows["a1b2c3d4"]
    assert "greenbump/2024-05-01-a1b2c3d4" in rows["a1b2c3d4"]
    assert "failed" in rows["a1ffffff"]
    assert "interrupted" in rows["b0b0b0b0"]

    assert main(["history", str(populated), "--limit", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_history_command_json(populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", str(populated), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema_version"] == 1
    by_id = {r["id"]: r for r in document["runs"]}
    assert by_id["a1b2c3d4"]["upgraded"] == 1
    assert by_id["a1b2c3d4"]["held"] == 1
    assert by_id["b0b0b0b0"]["interrupted"] is True
    assert set(by_id["a1b2c3d4"]) >= {"started", "ended", "duration", "status", "branch"}


def test_history_command_without_history(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", str(project)]) == 0
    assert "no runs recorded" in capsys.readouterr().out
    assert main(["history", str(project), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"schema_version": 1, "runs": []}
    assert not (project / ".greenbump").exists()
    assert main(["show", "abc", str(project)]) == 2
    assert "no runs recorded" in capsys.readouterr().err


def test_show_command_table(populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "a1b2", str(populated)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("run a1b2c3d4: upgraded\n")
    assert "greenbump/2024-05-01-a1b2c3d4" in out
    assert "0123456789ab" in out  # the commit, shortened
    assert "the tests fail with the full set of upgrades" in out
    assert "tests/test_views.py::test_index" in out
    assert "fixes GHSA-9wx4-h78v-vm56" in out
    assert "idna" not in out  # already current: not a decision worth showing
    assert "test runs" in out and "77aa01bb22cc" in out
    assert "stages" in out and "baseline" in out and "8.5s" in out
    assert "failing at baseline: tests/test_flaky.py::test_clock" in out
    assert "note: requirements.txt: kept the hashes" in out

    assert main(["show", "a1f", str(populated)]) == 0
    out = capsys.readouterr().out
    assert "failed" in out and "do not resolve together" in out


def test_show_command_json_and_errors(populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["show", "latest", str(populated / ".greenbump" / "history.sqlite"), "--format", "json"]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert document["schema_version"] == 1
    assert document["run"]["id"] in {"a1b2c3d4", "a1ffffff", "b0b0b0b0"}

    assert main(["show", "a1b2c3d4", str(populated), "--format", "json"]) == 0
    run = json.loads(capsys.readouterr().out)["run"]
    assert run["status"] == "upgraded"
    assert run["options"] == {"level": "major"}
    assert [p["name"] for p in run["packages"]] == ["requests", "django", "idna"]
    assert run["packages"][1]["failing_tests"] == [
        "tests/test_views.py::test_index",
        "tests/test_admin.py::test_x",
    ]
    assert run["durations"]["test"] == 9.1
    assert len(run["test_runs"]) == 2

    assert main(["show", "a1", str(populated)]) == 2
    assert "ambiguous" in capsys.readouterr().err
    assert main(["show", "zz", str(populated)]) == 2
    assert "no run 'zz'" in capsys.readouterr().err
