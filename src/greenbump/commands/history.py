"""``greenbump history``: the project's past runs, newest first, from ``.greenbump/``."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenbump.errors import InputError
from greenbump.render import print_json, print_table

if TYPE_CHECKING:  # the store (sqlite3 and all) is imported when a command reads it
    from greenbump.history import HistoryStore, RunSummary

JSON_SCHEMA_VERSION = 1
HEADERS = ("run", "started", "duration", "status", "upgraded", "held", "branch")


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the command's arguments."""
    parser = sub.add_parser(
        "history",
        help="list past greenbump runs of a project",
        description="List the recorded runs of the project, newest first: when each started, "
        "how long it took, how it ended, how many upgrades it made or held back, and its "
        "branch. Runs whose process died are shown as interrupted.",
    )
    add_store_arguments(parser)
    parser.add_argument("--limit", type=int, default=20, help="how many runs (default 20)")
    parser.set_defaults(run=run)


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """The optional project path and ``--format`` that every command reading the history takes.

    ``history`` and ``show`` must agree on where the history is found and how it is printed.
    """
    parser.add_argument(
        "path",
        nargs="?",
        default=".",
        type=Path,
        help="project directory, or a history database file",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    """Print the run list; a project with no history is not an error, just empty."""
    from greenbump.history import db_path_for

    if args.limit < 1:
        raise InputError("--limit must be at least 1")
    store = open_existing(args.path)
    if store is None:
        runs: list[RunSummary] = []
    else:
        with store:
            runs = store.runs(args.limit)
    if args.format == "json":
        print_json({"schema_version": JSON_SCHEMA_VERSION, "runs": [r.to_json() for r in runs]})
        return 0
    if not runs:
        print(f"no runs recorded in {db_path_for(args.path)}")
        return 0
    print_table(HEADERS, [_row(r) for r in runs])
    return 0


def open_existing(path: Path) -> HistoryStore | None:
    """The history at ``path`` (project or database file) if there is one; never creates it."""
    from greenbump.history import HistoryStore, db_path_for

    if not Path(path).exists():
        raise InputError("no such file or directory", path)
    if not db_path_for(path).exists():
        return None
    return HistoryStore.open(path, create=False)


def _row(summary: RunSummary) -> tuple[str, ...]:
    return (
        summary.id,
        format_time(summary.started),
        "running" if summary.status == "running" else format_duration(summary.duration),
        summary.status,
        str(summary.upgraded),
        str(summary.held),
        summary.branch or "",
    )


def format_time(stamp: str | None) -> str:
    """An ISO timestamp as local ``YYYY-MM-DD HH:MM:SS`` (what a person compares to a clock)."""
    if not stamp:
        return ""
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if when.tzinfo is not None:
        when = when.astimezone()
    return when.strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None) -> str:
    """``12ms``, ``2.4s``, ``12s``, ``3m05s``, ``1h02m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
