"""Kill ``greenbump upgrade`` at random moments; the user's repository must not notice.

Each trial starts a real run (subprocess) on a real git repository against the local index,
sends SIGINT, SIGTERM or SIGKILL after a random delay spread over the run's stages, and then
checks: the branch, HEAD, index and work tree are byte-for-byte as before (a finished run may
only have added its ``greenbump/*`` branch), no temporary file or environment was left in the
project, SIGINT/SIGTERM exit 130/143 and remove their scratch worktree, and a following run
succeeds. The default suite runs a few trials per signal; ``--run-slow`` runs 60 each.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from localindex import LocalIndex
from upgrade_app import RELEASES, git, make_app, snapshot

SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
SEEDS = {"SIGINT": 11, "SIGTERM": 23, "SIGKILL": 37}
EXPECTED_EXIT = {"SIGINT": 130, "SIGTERM": 143}
DEFAULT_TRIALS = 10
SLOW_TRIALS = 60


def _command(root: Path, index: LocalIndex) -> list[str]:
    return [sys.executable, "-m", "greenbump", "upgrade", str(root), "--index-url", index.index_url]


def _state(root: Path) -> dict[str, bytes]:
    state = snapshot(root)
    state["index"] = (root / ".git" / "index").read_bytes()
    state.pop("branches")
    return state


def _trial(root: Path, index: LocalIndex, name: str, delay: float) -> tuple[int, str]:
    process = subprocess.Popen(
        _command(root, index), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(delay)
    if process.poll() is None:
        process.send_signal(SIGNALS[name])
    _, err = process.communicate(timeout=120)
    return process.returncode, err


def _check_after(root: Path, before: dict[str, bytes], code: int, name: str, err: str) -> None:
    assert _state(root) == before, f"{name}: the user's repository changed"
    branches = [b.strip("* ").strip() for b in git(root, "branch", "--list").splitlines()]
    assert all(b == "main" or b.startswith("greenbump/") for b in branches)
    assert "Traceback" not in err, err
    if code in (130, 143):
        assert code == EXPECTED_EXIT[name]
        listed = git(root, "worktree", "list", "--porcelain").count("worktree ")
        assert listed == 1, f"{name}: the scratch worktree was left behind"
    else:
        assert code in (0, -signal.SIGKILL), f"{name}: exit {code}: {err}"


def _run_trials(
    app: Callable[[], tuple[Path, LocalIndex]], name: str, trials: int, seed: int
) -> None:
    root, index = app()
    before = _state(root)
    started = time.monotonic()
    done = subprocess.run(_command(root, index), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    duration = time.monotonic() - started
    rng = random.Random(seed)  # noqa: S311 - reproducible delays, not cryptography
    stopped = 0
    for _ in range(trials):
        delay = rng.uniform(0.2, duration * 1.1)  # after the interpreter itself started
        code, err = _trial(root, index, name, delay)
        _check_after(root, before, code, name, err)
        stopped += code != 0
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "greenbump",
            "history",
            str(root),
            "--format",
            "json",
            "--limit",
            "1000",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    statuses = [run["status"] for run in json.loads(listed)["runs"]]
    assert "running" not in statuses  # a killed run reads as interrupted, never as running
    # Runs stopped before the history was opened leave no record; the others say interrupted.
    assert statuses.count("interrupted") <= stopped
    again = subprocess.run(_command(root, index), capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert _state(root) == before
    # The next run removed what killed runs could not: no scratch worktree is left.
    assert git(root, "worktree", "list", "--porcelain").count("worktree ") == 1


@pytest.fixture
def app(
    tmp_path: Path,
    make_index: Callable[..., LocalIndex],
    wheelhouse: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[], tuple[Path, LocalIndex]]:
    index = make_index(RELEASES)
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    return lambda: (make_app(tmp_path / "app", (1, 2)), index)


@pytest.mark.parametrize("name", list(SIGNALS))
def test_interrupted_runs_leave_the_repository_as_it_was(
    app: Callable[[], tuple[Path, LocalIndex]], name: str
) -> None:
    _run_trials(app, name, DEFAULT_TRIALS, seed=SEEDS[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SIGNALS))
def test_interrupted_runs_many_trials(
    app: Callable[[], tuple[Path, LocalIndex]], name: str
) -> None:
    _run_trials(app, name, SLOW_TRIALS, seed=int(os.environ.get("GREENBUMP_TRIAL_SEED", "7")))


NO_COMMIT_TRIALS = 5


@pytest.mark.parametrize("name", ["SIGTERM", "SIGKILL"])
def test_interrupted_no_commit_runs_leave_whole_files(
    app: Callable[[], tuple[Path, LocalIndex]], name: str
) -> None:
    """With --no-commit the files are written at the very end: each is old or new, never half."""
    root, index = app()
    command = [*_command(root, index), "--no-commit"]
    old = (root / "requirements.txt").read_bytes()
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    duration = time.monotonic() - started
    new = (root / "requirements.txt").read_bytes()
    assert new != old
    git(root, "checkout", "--", "requirements.txt")
    before = _state(root)
    rng = random.Random(SEEDS[name])  # noqa: S311 - reproducible delays, not cryptography
    for _ in range(NO_COMMIT_TRIALS):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.2, duration * 1.1))
        if process.poll() is None:
            process.send_signal(SIGNALS[name])
        process.communicate(timeout=120)
        assert (root / "requirements.txt").read_bytes() in (old, new)
        if name != "SIGKILL":  # SIGTERM cleans up at once; a SIGKILLed temp file waits
            assert not [p for p in root.iterdir() if p.name.endswith(".greenbump-tmp")]
        git(root, "checkout", "--", "requirements.txt")
        # Our reset restats git's index file, so its bytes are not compared here.
        after = {k: v for k, v in _state(root).items() if not k.endswith(".greenbump-tmp")}
        assert {**after, "index": b""} == {**before, "index": b""}
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert not [p for p in root.iterdir() if p.name.endswith(".greenbump-tmp")]
