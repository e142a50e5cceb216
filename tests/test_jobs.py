"""``jobs``: parallel test environments, each in a slot of its own (environment, tree, reports).

Real uv, git and test runs against the local index. The test commands record where and when
they ran (outside the trees, in a log named by an environment variable), so the tests can see
that runs overlapped in different directories, that a set was tested once, and that the
parallel run's answer is the sequential one's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from greenbump.envs import EnvBuilder
from greenbump.indexconfig import IndexConfig, IndexUrl
from greenbump.main import main
from greenbump.upgrade import _slot_maker
from greenbump.vcs import Git
from greenbump.verify import OutcomeStore, Slot, TrialCancelled, Verifier
from isolation_app import ISOLATION_FILES, ISOLATION_RELEASES, MAXIMAL_GREEN_SET
from localindex import LocalIndex, Release
from upgrade_app import git, snapshot

OLD = dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc)
LOG_VARIABLE = "GREENBUMP_JOBS_TEST_LOG"

MakeIndex = Callable[..., LocalIndex]


def _records(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def _overlapping(records: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (a, b)
        for i, a in enumerate(records)
        for b in records[i + 1 :]
        if a["start"] < b["end"] and b["start"] < a["end"]
    ]


# --------------------------------------------------------------------------------------------
# The verifier on its own: a command that sleeps and logs, two threads.

RECORD = """\
import json, os, sys, time

start = time.time()
if len(sys.argv) > 2:
    open(sys.argv[2], "w").close()  # "I have started"
time.sleep(float(os.environ.get("RECORD_SLEEP", "2")))
import alpha

with open(sys.argv[1], "a", encoding="utf-8") as fh:
    fh.write(json.dumps({
        "cwd": os.getcwd(), "venv": os.environ["VIRTUAL_ENV"], "version": alpha.VERSION,
        "start": start, "end": time.time(),
    }) + "\\n")
"""


@pytest.fixture
def alpha_index(make_index: MakeIndex) -> LocalIndex:
    return make_index(
        [
            Release("alpha", version, module=f"VERSION = {version!r}\n", uploaded=OLD)
            for version in ("1.0.0", "1.1.0", "1.2.0")
        ]
    )


@pytest.fixture
def make_verifier(
    tmp_path: Path, alpha_index: LocalIndex
) -> Iterator[Callable[..., tuple[Verifier, list[int]]]]:
    """A verifier over a tiny project whose "tests" are RECORD; extra slots are copies."""
    made: list[Verifier] = []

    def make(
        jobs: int, *command_extra: str, store: OutcomeStore | None = None
    ) -> tuple[Verifier, list[int]]:
        project = tmp_path / "project"
        project.mkdir(exist_ok=True)
        (project / "record.py").write_text(RECORD, encoding="utf-8")
        created: list[int] = []

        def make_slot(number: int) -> Slot:
            tree = tmp_path / f"tree-{number}"
            tree.mkdir()
            (tree / "record.py").write_text(RECORD, encoding="utf-8")
            junit = tmp_path / "junit" / f"slot-{number}"
            junit.mkdir(parents=True)
            created.append(number)
            return Slot(number, tree, junit)

        index = IndexConfig(index=IndexUrl(url=alpha_index.index_url, source="test"))
        verifier = Verifier(
            project_dir=project,
            requirements=["alpha"],
            constraints=[],
            index=index,
            python=sys.executable,
            command=["python", "record.py", str(tmp_path / "log.jsonl"), *command_extra],
            builder=EnvBuilder(tmp_path / "envs", index.uv_args(), index.uv_env()),
            junit_dir=tmp_path / "junit",
            timeout=120,
            store=store,
            jobs=jobs,
            make_slot=make_slot,
        )
        made.append(verifier)
        return verifier, created

    yield make
    for verifier in made:
        verifier.close()


def test_concurrent_trials_of_one_set_run_the_tests_once(
    tmp_path: Path, make_verifier: Callable[..., tuple[Verifier, list[int]]]
) -> None:
    verifier, created = make_verifier(2, store=OutcomeStore(tmp_path / "outcomes"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        trials = list(pool.map(lambda _: verifier.trial({"alpha": "1.1.0"}), range(2)))

    records = _records(tmp_path / "log.jsonl")
    assert len(records) == 1, records  # the second caller waited for the first's outcome
    assert records[0]["version"] == "1.1.0"
    assert sorted(t.cached for t in trials) == [False, True]
    assert trials[0].outcome == trials[1].outcome
    assert trials[0].outcome is not None and trials[0].outcome.passed
    assert len(verifier.trials) == 1
    assert created == []  # nothing ran beside it: no second slot was made
    assert len(list((tmp_path / "outcomes").glob("*.json"))) == 1


def test_concurrent_trials_of_two_sets_overlap_in_their_own_slots(
    tmp_path: Path, make_verifier: Callable[..., tuple[Verifier, list[int]]]
) -> None:
    verifier, created = make_verifier(2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        trials = list(pool.map(verifier.trial, [{"alpha": "1.1.0"}, {"alpha": "1.2.0"}]))

    assert all(t.green and not t.cached for t in trials)
    assert {t.slot for t in trials} == {0, 1}
    assert created == [1]
    records = _records(tmp_path / "log.jsonl")
    assert sorted(r["version"] for r in records) == ["1.1.0", "1.2.0"]
    assert _overlapping(records), records  # the two runs were under way at the same time
    assert len({r["cwd"] for r in records}) == 2  # ... in different working directories
    assert {r["venv"] for r in records} == {str(t.venv) for t in trials}
    assert len({r["venv"] for r in records}) == 2

    # One at a time, slot 0 is enough: a set it already holds reuses its environment.
    again = verifier.trial({"alpha": "1.0.0"})
    assert again.slot == 0 and created == [1]
    assert verifier.slots_made == [0, 1]
    verifier.close()
    assert not verifier.builder.path_for(1).exists()
    assert verifier.builder.path_for(0).exists()


def test_one_job_never_makes_a_second_slot(
    tmp_path: Path, make_verifier: Callable[..., tuple[Verifier, list[int]]]
) -> None:
    verifier, created = make_verifier(1)
    with ThreadPoolExecutor(max_workers=2) as pool:
        trials = list(pool.map(verifier.trial, [{"alpha": "1.1.0"}, {"alpha": "1.2.0"}]))
    assert {t.slot for t in trials} == {0}
    assert created == []
    records = _records(tmp_path / "log.jsonl")
    assert len(records) == 2 and not _overlapping(records), records


def test_cancel_stops_a_running_trial_and_keeps_nothing(
    tmp_path: Path,
    make_verifier: Callable[..., tuple[Verifier, list[int]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RECORD_SLEEP", "60")
    started = tmp_path / "started"
    verifier, _ = make_verifier(2, str(started), store=OutcomeStore(tmp_path / "outcomes"))
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            verifier.trial({"alpha": "1.1.0"})
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    assert started.exists(), outcome
    begun = time.monotonic()
    verifier.cancel()
    thread.join(30)
    assert not thread.is_alive()
    assert time.monotonic() - begun < 20  # not the 60 s the command sleeps
    assert len(outcome) == 1 and isinstance(outcome[0], TrialCancelled), outcome
    assert verifier.trials == []
    assert not list((tmp_path / "outcomes").glob("*.json"))  # a killed run is not an outcome


# --------------------------------------------------------------------------------------------
# The extra scratch trees of an upgrade run.


def test_extra_trees_hold_the_first_trees_content(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "app").mkdir()
    (root / "app" / "code.py").write_text("A = 1\n")
    (root / "README").write_text("hello\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    (root / "app" / "code.py").write_text("A = 2\n")  # uncommitted, copied (--allow-dirty)
    changed = ("app/code.py",)
    repo = Git(root)
    with repo.worktree(prefix=f"greenbump-{os.getpid()}") as first, contextlib.ExitStack() as stack:
        repo.copy_paths(first, changed)
        # The user commits while the run goes on: further trees must not follow HEAD.
        (root / "README").write_text("changed\n")
        git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "later")
        verifier = Verifier(
            project_dir=first / "app",
            requirements=[],
            constraints=[],
            index=IndexConfig(index=None),
            python=sys.executable,
            command=["true"],
            builder=EnvBuilder(tmp_path / "envs"),
            junit_dir=tmp_path / "junit",
            editables=[first / "app"],
        )
        make = _slot_maker(repo, first, verifier, copied=changed, stack=stack, cleaner=None)
        slot = make(1)
        second = slot.project_dir.parent
        assert slot.project_dir == second / "app"
        assert slot.editables == (second / "app",)  # its own tree, not the first one's
        assert slot.junit_dir != verifier.junit_dir and slot.junit_dir.is_dir()
        assert second.name.startswith(f"greenbump-{os.getpid()}-")  # orphan clean-up finds it
        assert (second / "app" / "code.py").read_text() == "A = 2\n"
        assert (second / "README").read_text() == "hello\n"
        assert Git(second).tracked_tree_hash() == Git(first).tracked_tree_hash()
        assert len(repo.worktrees()) == 3
    assert repo.worktrees() == [root]
    assert not second.exists()


# --------------------------------------------------------------------------------------------
# A whole upgrade with isolation, one job and two.

# Records each test session (where, in which environment, when), outside the tree.
APP_CONFTEST = f"""\
import json, os, time

_START = time.time()


def pytest_sessionfinish(session, exitstatus):
    log = os.environ.get({LOG_VARIABLE!r})
    if log:
        time.sleep(0.3)
        record = {{"cwd": os.getcwd(), "venv": os.environ.get("VIRTUAL_ENV"),
                   "start": _START, "end": time.time()}}
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\\n")
"""


def _isolation_app(root: Path) -> Path:
    files = {**ISOLATION_FILES, "tests/conftest.py": APP_CONFTEST}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return root


def _scratch_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob(f"greenbump-{os.getpid()}-*")}


def _env_slots() -> set[str]:
    envs = Path(platformdirs.user_cache_dir("greenbump")) / "envs"
    return {f"{p.parent.name}/{p.name}" for p in envs.glob("*/slot-*")}


def _upgrade(
    capsys: pytest.CaptureFixture[str], root: Path, index: LocalIndex, *extra: str
) -> tuple[int, dict[str, Any], str]:
    code = main(["upgrade", str(root), "--index-url", index.index_url, "--format", "json", *extra])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip().startswith("{") else {}, err


def _answer(root: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """Everything the user gets from a run, minus run ids, times and temp paths."""
    branch = doc["branch"]
    return {
        "status": doc["status"],
        "packages": {
            p["name"]: (p["status"], p["to"], p["reason"], tuple(p["failing_tests"]))
            for p in doc["packages"]
        },
        "notes": sorted(doc.get("notes", [])),
        "requirements.txt": git(root, "show", f"{branch}:requirements.txt"),
        "requirements-dev.txt": git(root, "show", f"{branch}:requirements-dev.txt"),
        "commits": sorted(git(root, "log", "--format=%s", f"main..{branch}").splitlines()),
    }


def test_two_jobs_give_the_one_job_answer_with_overlapping_runs(
    tmp_path: Path,
    make_index: MakeIndex,
    wheelhouse: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    index = make_index(ISOLATION_RELEASES)
    answers = {}
    runs = {}
    for jobs in (1, 2):
        root = _isolation_app(tmp_path / f"app-{jobs}")
        before = snapshot(root)
        scratch_before = _scratch_dirs()
        log = tmp_path / f"sessions-{jobs}.jsonl"
        monkeypatch.setenv(LOG_VARIABLE, str(log))

        code, doc, err = _upgrade(capsys, root, index, "--jobs", str(jobs))

        assert code == 0, err
        assert doc["status"] == "upgraded", json.dumps(doc, indent=1)[:4000]
        answers[jobs] = _answer(root, doc)
        runs[jobs] = _records(log)
        # Nothing is left behind: no worktree in the user's repository, no scratch folder,
        # no environment beyond slot 0; the user's files, HEAD and status are as they were.
        assert Git(root).worktrees() == [root]
        assert _scratch_dirs() == scratch_before
        assert snapshot(root) == {**before, "branches": snapshot(root)["branches"]}
        assert {slot.split("/")[1] for slot in _env_slots()} == {"slot-0"}

    assert answers[2] == answers[1]
    got = {name: entry[:2] for name, entry in answers[1]["packages"].items()}
    assert {k: v for k, v in got.items() if k != "pytest"} == MAXIMAL_GREEN_SET

    # One job: every run in the same tree and environment, one after the other.
    assert len({r["cwd"] for r in runs[1]}) == 1
    assert len({r["venv"] for r in runs[1]}) == 1
    assert not _overlapping(runs[1])
    # Two jobs: runs overlapped, each pair in two different trees and environments.
    overlapping = _overlapping(runs[2])
    assert overlapping, runs[2]
    assert all(a["cwd"] != b["cwd"] and a["venv"] != b["venv"] for a, b in overlapping)
    assert len({r["cwd"] for r in runs[2]}) == 2
    for record in runs[2]:
        assert Path(record["cwd"]).name.startswith(f"greenbump-{os.getpid()}-")


def test_two_jobs_remember_outcomes_across_runs(
    tmp_path: Path,
    make_index: MakeIndex,
    wheelhouse: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The cache key is the same whichever slot tested a set (same tree hash, slot 0's spec)."""
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    index = make_index(ISOLATION_RELEASES)
    root = _isolation_app(tmp_path / "app")
    code, first, err = _upgrade(capsys, root, index, "--jobs", "2")
    assert code == 0, err
    code, second, err = _upgrade(capsys, root, index, "--jobs", "2")
    assert code == 0, err
    # Only the baseline ran again (a set uv cannot resolve is asked again: it runs no tests).
    ran = [(r["pins"], r["resolved"]) for r in second["test_runs"] if not r["cached"]]
    assert [resolved for _, resolved in ran] == [True, *([False] * (len(ran) - 1))], ran
    assert len([r for r in first["test_runs"] if r["resolved"]]) > 4  # isolation did run
    assert _answer(root, second)["packages"] == _answer(root, first)["packages"]


def test_jobs_must_be_positive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], local_index: LocalIndex
) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "requirements.txt").write_text("alpha==1.0.0\n")
    (root / "pyproject.toml").write_text("[tool.greenbump]\njobs = 0\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    code = main(["upgrade", str(root), "--index-url", local_index.index_url])
    assert code == 2
    assert "jobs must be at least 1" in capsys.readouterr().err
    code = main(["upgrade", str(root), "--index-url", local_index.index_url, "--jobs", "0"])
    assert code == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    assert git(root, "status", "--porcelain") == ""
