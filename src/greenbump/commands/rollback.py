"""``greenbump rollback``: undo a recorded upgrade run on the current branch."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from greenbump.commands import lazy_run


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the command's arguments."""
    parser = sub.add_parser(
        "rollback",
        help="undo a recorded upgrade: restore the dependency files, one revert commit each",
        description="Undo an upgrade run from the history (default: the newest upgrade run "
        "that changed something and is not rolled back yet). If its branch was merged, every "
        "file it changed is restored to its exact bytes before the run, one 'Revert NAME to A' "
        "commit per package on the current branch. A --no-commit run's edits are restored from "
        "HEAD. An unmerged branch has nothing to undo; --delete-branch deletes it.",
    )
    parser.add_argument(  # not "run": that attribute is the command's entry point
        "run_ref",
        nargs="?",
        metavar="RUN",
        help="run id or unique prefix (see greenbump history); default: the newest upgrade",
    )
    parser.add_argument("path", nargs="?", default=".", type=Path, help="project directory")
    parser.add_argument("--package", help="undo only this package's upgrade")
    parser.add_argument(
        "--delete-branch", action="store_true", help="delete the run's greenbump/... branch"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="restore the pre-run bytes even where the files changed after the run",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--index-url", help="primary package index (for re-locking)")
    parser.add_argument("--extra-index-url", action="append", default=[])
    parser.set_defaults(run=lazy_run("greenbump.commands.rollback_run"))
