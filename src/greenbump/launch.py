"""Process entry point: signal handlers first, everything else after.

A signal can arrive while Python is still importing greenbump's modules (httpx, rich...). The
handlers are installed before those imports, so ^C and SIGTERM at any moment end in the same
clean exit (130 / 143, cleanup run, no traceback).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from greenbump.errors import EXIT_SIGINT, EXIT_SIGTERM, Terminated


class _Exit:
    quick = False  # set by allow_quick_exit


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def allow_quick_exit() -> None:
    """Let this run end without the interpreter's teardown (see :func:`_exit_now`).

    For commands that leave nothing behind but closed files and their output: ``check``.
    """
    _Exit.quick = True


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a short run that keeps what it allocates.

    A first check holds every release of every dependency (18,000 for a large application)
    until its report is written, and the collector walked them over and over as they were
    made: about a tenth of the run's CPU. What such a run frees, reference counting frees; the
    few cycles it makes (exceptions with their tracebacks) are bounded by the run, and the
    collector is back on when it returns, for callers that run many checks in one process.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def entry() -> None:
    """Run the command line and exit with its code."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from greenbump.main import main

        code = main()
        _ignore_late_signals()
    except KeyboardInterrupt:
        sys.stderr.write("greenbump: interrupted\n")
        code = EXIT_SIGINT
    except Terminated:
        sys.stderr.write("greenbump: terminated\n")
        code = EXIT_SIGTERM
    _ignore_late_signals()
    if _Exit.quick:
        _exit_now(code)
    sys.exit(code)


def _exit_now(code: int) -> None:
    """Run the exit handlers, flush the output and end the process without the teardown.

    Freeing every module and object at exit is CPU a short command pays for nothing: about
    40 ms of a 0.5 s ``check`` on a two-core machine (the same reason mypy ends this way).
    Only when no other thread runs (nothing to join) and the output flushed; otherwise, or
    if anything fails here, the normal exit runs.
    """
    if threading.active_count() > 1:
        return
    try:
        atexit._run_exitfuncs()  # logging's flush, weakref finalizers (temporary folders)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # e.g. a reader that went away: the normal exit deals with it
        return
    os._exit(code)


def _ignore_late_signals() -> None:
    """The work is done (or cleaned up): a signal arriving while the interpreter shuts down
    must not turn a finished run into a death by signal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
