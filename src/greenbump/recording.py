"""Run a command under the project's lock, recorded in its history and run log.

``upgrade`` and ``rollback`` both change a repository; both take the lock first (a run row is
"live" only while its lock is held, so a killed run reads back as interrupted), then record
whatever ends the run: a result, an error, ^C or SIGTERM.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from greenbump.errors import GateFailed
from greenbump.history import HistoryStore, RunLock
from greenbump.runlog import RunLog


@contextlib.contextmanager
def recording(
    root: Path, run_id: str, argv: Sequence[str], options: object
) -> Iterator[tuple[HistoryStore, RunLog]]:
    """Yield the store and log of a started run; the caller finishes it on success."""
    with (
        RunLock.acquire(root, run_id),
        HistoryStore.open(root) as store,
        RunLog.open(root, run_id) as log,
        log.capture(),
    ):
        store.start_run(run_id, list(argv), options, log_path=log.path)
        try:
            yield store, log
        except Exception as exc:
            status = "baseline-red" if isinstance(exc, GateFailed) else "failed"
            log.run_finished(status, error=str(exc))
            store.fail_run(run_id, str(exc), status=status)
            raise
        except BaseException:  # ^C and SIGTERM: the run stops here, its record says so
            log.run_finished("interrupted")
            store.mark_interrupted(run_id)
            raise
