"""Per-run event log (JSON lines) and the console verbosity of greenbump's ``logging``.

The history keeps what a run concluded; the log keeps how it got there: stages, decisions,
every command with its exit code and time, warnings. It lives in
``<project>/.greenbump/logs/<date>-<run id>.jsonl``, one JSON object per line, each line
written with a single ``write`` to a file opened for appending, so a run killed at any moment
leaves a log that is valid up to its last complete event, which is when the log matters most.

Every string passes through :func:`greenbump.redact.redact_text` (plus the secrets the run
knows) before it reaches the file: command lines and error messages carry index URLs with
credentials.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from greenbump.redact import redact_text

LOGGER_NAME = "greenbump"
LOG_DIR = "logs"
EVENT_KINDS = (
    "run_started",
    "stage_started",
    "stage_finished",
    "decision",
    "trial",
    "command",
    "call",
    "warning",
    "log",
    "run_finished",
)
_RESERVED = frozenset({"ts", "run", "kind"})


def log_path(root: Path, run_id: str, day: dt.date | None = None) -> Path:
    """Where the log of ``run_id`` goes in the project at ``root`` (without creating it)."""
    day = day or dt.datetime.now(dt.timezone.utc).date()
    return Path(root) / ".greenbump" / LOG_DIR / f"{day.isoformat()}-{run_id}.jsonl"


class RunLog:
    """The append-only event log of one run; safe to use from several threads."""

    def __init__(self, path: Path, run_id: str, secrets: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self.run_id = run_id
        self.secrets: set[str] = {s for s in secrets if s}
        self.calls: list[dict[str, Any]] = []  # for HistoryStore.finish_run(calls=...)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    @classmethod
    def open(cls, root: Path, run_id: str, secrets: Iterable[str] = ()) -> RunLog:
        """The log of ``run_id`` in the project at ``root`` (creating ``.greenbump/logs``)."""
        from greenbump.history import state_dir  # not at import: main.py imports this module

        folder = state_dir(Path(root)) / LOG_DIR
        folder.mkdir(mode=0o700, exist_ok=True)
        return cls(log_path(root, run_id), run_id, secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """More strings to mask from now on (credentials learnt during the run)."""
        with self._lock:
            self.secrets.update(s for s in secrets if s)

    def close(self) -> None:
        """Close the file (idempotent); later events are dropped."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- events --

    def event(self, kind: str, **fields: Any) -> None:
        """Append ``{"ts", "run", "kind", **fields}`` as one line, redacted, written at once."""
        from greenbump.history import redact_json, to_jsonable

        clash = _RESERVED & fields.keys()
        if clash:
            raise ValueError(f"reserved event field(s): {', '.join(sorted(clash))}")
        record = {
            "ts": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
            "run": self.run_id,
            "kind": kind,
            **to_jsonable(fields),
        }
        with self._lock:
            if self._fd is None:
                return
            line = json.dumps(redact_json(record, self.secrets), ensure_ascii=False) + "\n"
            data = line.encode("utf-8")
            while data:  # one write for any sane line; loop only if the kernel writes less
                written = os.write(self._fd, data)
                data = data[written:]

    def stage_started(self, stage: str) -> None:
        """A pipeline stage (read, query, plan, baseline, resolve, test, apply) began."""
        self.event("stage_started", stage=stage)

    def stage_finished(self, stage: str, duration: float, **fields: Any) -> None:
        """A stage ended after ``duration`` seconds."""
        self.event("stage_finished", stage=stage, duration=round(duration, 3), **fields)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """``with log.stage("plan"):`` logs the start and the end (also when it raises)."""
        started = time.monotonic()
        self.stage_started(name)
        failed = True
        try:
            yield
            failed = False
        finally:
            self.stage_finished(name, time.monotonic() - started, ok=not failed)

    def decision(self, package: str, action: str, reason: str = "", **fields: Any) -> None:
        """What happened to one package (planned, held, upgraded, capped) and why."""
        self.event("decision", package=package, action=action, reason=reason, **fields)

    def command(
        self,
        argv: Sequence[str] | str,
        exit_code: int | None,
        duration: float,
        *,
        call_kind: str | None = None,
        **fields: Any,
    ) -> None:
        """A finished subprocess; also counted as a call (``resolver`` for ``uv pip compile``)."""
        args = [argv] if isinstance(argv, str) else [str(a) for a in argv]
        self.event("command", argv=args, exit_code=exit_code, duration=round(duration, 3), **fields)
        kind = call_kind or _call_kind(" ".join(args))
        self._remember_call(kind, " ".join(args), duration, exit_code == 0)

    def call(self, kind: str, what: str, duration: float, ok: bool = True, **fields: Any) -> None:
        """A timed call that is not a subprocess (an index request, an in-process resolve)."""
        self.event("call", call_kind=kind, what=what, duration=round(duration, 3), ok=ok, **fields)
        self._remember_call(kind, what, duration, ok)

    def _remember_call(self, kind: str, what: str, duration: float, ok: bool) -> None:
        entry = {
            "kind": kind,
            "what": redact_text(what, self.secrets),
            "duration": round(duration, 3),
            "ok": ok,
        }
        with self._lock:
            self.calls.append(entry)

    def warning(self, message: str, **fields: Any) -> None:
        """Something the user should know that did not stop the run."""
        self.event("warning", message=message, **fields)

    def run_finished(self, status: str, **fields: Any) -> None:
        """The last event: the run's status (``upgraded``, ``held``, ``failed``, ...)."""
        self.event("run_finished", status=status, **fields)

    # -- logging --

    def handler(self, level: int = logging.DEBUG) -> RunLogHandler:
        """A :class:`logging.Handler` writing greenbump's log records into this log."""
        return RunLogHandler(self, level)

    @contextlib.contextmanager
    def capture(self, level: int = logging.DEBUG) -> Iterator[RunLogHandler]:
        """Forward the ``greenbump`` logger's records here for the duration of the block."""
        handler = self.handler(level)
        logger = logging.getLogger(LOGGER_NAME)
        logger.addHandler(handler)
        _refresh_level(logger)
        try:
            yield handler
        finally:
            logger.removeHandler(handler)
            _refresh_level(logger)


def _call_kind(command: str) -> str:
    words = command.split()
    if "pip" in words and "compile" in words:
        return "resolver"
    if "lock" in words and any(w.endswith(("uv", "poetry", "pdm", "pipenv")) for w in words):
        return "resolver"
    return "subprocess"


class RunLogHandler(logging.Handler):
    """Turns ``logging`` records into run-log events.

    :mod:`greenbump.proc` logs ``run: <argv> (cwd=...)`` then ``exit <code> after <s>s``
    from the same thread; the pair becomes one ``command`` event with the full command line.
    A record with a ``greenbump_event`` attribute (``extra={"greenbump_event": {"kind": ...,
    ...}}``) is logged as that event. Warnings and errors become ``warning`` events, the rest
    ``log`` events.
    """

    def __init__(self, log: RunLog, level: int = logging.DEBUG) -> None:
        super().__init__(level)
        self.log = log
        self._pending: dict[int | None, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` as an event; never raises into the code that logged."""
        try:
            self._emit(record)
        except Exception:  # logging must not break a run
            self.handleError(record)

    def _emit(self, record: logging.LogRecord) -> None:
        custom = getattr(record, "greenbump_event", None)
        if isinstance(custom, dict) and isinstance(custom.get("kind"), str):
            fields = {k: v for k, v in custom.items() if k not in _RESERVED}
            self.log.event(custom["kind"], **fields)
            return
        if record.name == f"{LOGGER_NAME}.proc" and self._proc_record(record):
            return
        message = record.getMessage()
        kind = "warning" if record.levelno >= logging.WARNING else "log"
        self.log.event(kind, message=message, level=record.levelname.lower(), logger=record.name)

    def _proc_record(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        template = str(record.msg)
        if template.startswith("run: ") and args:
            self._pending[record.thread] = str(args[0])
            return True
        if template.startswith("exit ") and len(args) == 3:
            code, duration, program = args
            argv = self._pending.pop(record.thread, str(program))
            self.log.command(
                argv,
                int(code) if isinstance(code, int) else None,
                float(duration) if isinstance(duration, int | float) else 0.0,
            )
            return True
        return False


# -- console -----------------------------------------------------------------------------------


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def add_verbosity_flags(parser: argparse.ArgumentParser) -> None:
    """``-v`` (repeatable: info, then debug) and ``-q`` (errors only) on ``parser``."""
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more output (-vv: debug)"
    )
    parser.add_argument("-q", "--quiet", action="count", default=0, help="only errors")


def console_level(verbose: int = 0, quiet: int = 0) -> int:
    """The console level for ``-v``/``-q`` counts: warnings by default."""
    if quiet:
        return logging.ERROR
    if verbose >= 2:
        return logging.DEBUG
    if verbose == 1:
        return logging.INFO
    return logging.WARNING


def configure_console(level: int, stream: TextIO | None = None) -> logging.Handler:
    """Show the ``greenbump`` logger's records at ``level`` and above on stderr.

    Only greenbump's logger is touched (never the root logger), so an embedding program keeps
    its own logging. Calling it again replaces the earlier console handler.
    """
    logger = logging.getLogger(LOGGER_NAME)
    for old in [h for h in logger.handlers if getattr(h, "_greenbump_console", False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(_RedactingFormatter("greenbump: %(levelname)s: %(message)s"))
    handler._greenbump_console = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    _refresh_level(logger)
    return handler


def _refresh_level(logger: logging.Logger) -> None:
    """Let through what the most verbose handler wants, and no more (debug is not free)."""
    levels = [max(h.level, logging.DEBUG) for h in logger.handlers]
    logger.setLevel(min(levels) if levels else logging.NOTSET)


def read_log(path: Path) -> list[dict[str, Any]]:
    """The events of a run log; a line cut short by a kill (the last one) is skipped."""
    events: list[dict[str, Any]] = []
    with Path(path).open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.endswith("\n"):
                break
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    events.append(value)
    return events
