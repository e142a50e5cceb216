"""The one way greenbump runs other programs (uv, git, pip, test commands).

Argument lists only, never a shell string, so nothing from an index or a file can become shell
syntax. Each run is logged with secrets redacted, can time out (the whole process group is
killed, so a test runner's children die with it), and a failure raises an error that carries
the command, exit code and output for the user.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from greenbump.errors import ExternalError
from greenbump.redact import redact_text

log = logging.getLogger(__name__)

# Every process :func:`run` is waiting for, in any thread, so an interrupted main thread can
# stop the test runs of its worker threads (:func:`kill_running`): they run in their own
# sessions, so ^C on the terminal never reaches them.
_live: set[subprocess.Popen[str]] = set()
_live_lock = threading.Lock()


@dataclass(frozen=True)
class Completed:
    """A finished command."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        """Exit status 0 and no time-out."""
        return self.returncode == 0 and not self.timed_out


class CommandFailed(ExternalError):
    """A command exited non-zero where success was required."""

    def __init__(self, result: Completed, what: str = "") -> None:
        self.result = result
        shown = " ".join(result.argv)
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        reason = "timed out" if result.timed_out else f"exit code {result.returncode}"
        message = f"{what or 'command'} failed ({reason}): {shown}"
        if tail:
            message += "\n  " + "\n  ".join(tail)
        super().__init__(redact_text(message))


def run(
    argv: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    check: bool = True,
    what: str = "",
    input_text: str | None = None,
) -> Completed:
    """Run ``argv``; raise :class:`CommandFailed` on failure when ``check`` is true."""
    args = tuple(str(a) for a in argv)
    started = time.monotonic()
    log.debug("run: %s (cwd=%s)", redact_text(" ".join(args)), cwd)
    try:
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,  # its own process group, so a time-out kills all of it
        )
    except FileNotFoundError as exc:
        raise ExternalError(f"{what or args[0]}: program not found: {args[0]}") from exc
    timed_out = False
    with _live_lock:
        _live.add(process)
    try:
        stdout, stderr = process.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process)
        stdout, stderr = process.communicate()
    except BaseException:
        _kill_group(process)
        process.wait()
        raise
    finally:
        with _live_lock:
            _live.discard(process)
    result = Completed(
        argv=args,
        returncode=process.returncode,
        stdout=stdout,
        stderr=stderr,
        duration=time.monotonic() - started,
        timed_out=timed_out,
    )
    log.debug("exit %s after %.2fs: %s", result.returncode, result.duration, args[0])
    if check and not result.ok:
        raise CommandFailed(result, what)
    return result


def kill_running() -> int:
    """Kill the process group of every command :func:`run` is still waiting for.

    For a main thread that was interrupted while worker threads run tests: their commands
    then end at once (as failed runs, which the caller must discard) instead of finishing.
    Returns how many groups were signalled.
    """
    with _live_lock:
        processes = list(_live)
    for process in processes:
        _kill_group(process)
    return len(processes)


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def process_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists (one we may not signal still counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
