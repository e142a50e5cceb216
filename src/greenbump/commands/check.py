"""``greenbump check``: what is outdated, what is vulnerable, what is safe to take."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from greenbump.commands import lazy_run


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the command's arguments."""
    parser = sub.add_parser(
        "check",
        help="report outdated and vulnerable dependencies",
        description="Report, per dependency, the current version, the latest allowed by its "
        "constraint, the latest overall, the kind of update, its age, and known "
        "vulnerabilities with the version that fixes them.",
    )
    parser.add_argument("path", nargs="?", default=".", type=Path, help="project directory")
    parser.add_argument("--format", choices=("table", "json", "markdown", "sarif"), default="table")
    parser.add_argument("--output", "-o", type=Path, help="write the report to this file")
    parser.add_argument("--python", help="target Python version or interpreter path")
    parser.add_argument("--advisories", help="OSV directory or zip (default: the OSV API)")
    parser.add_argument("--osv-api", help="OSV API base URL (default: the public service)")
    parser.add_argument(
        "--fail-on",
        choices=("vulnerable", "outdated", "never"),
        help="exit 1 when something is vulnerable (or could not be checked) / outdated",
    )
    parser.add_argument("--index-url", help="primary package index (overrides configuration)")
    parser.add_argument("--extra-index-url", action="append", default=[], help="more indexes")
    parser.add_argument("--allow-prereleases", action="store_true", default=None)
    parser.add_argument("--cache-ttl", type=int, help="seconds to reuse pages without validators")
    parser.add_argument("--refresh", action="store_true", help="ignore the HTTP cache")
    parser.add_argument("--jobs", type=int, default=16, help="concurrent index requests")
    parser.add_argument(
        "--index-timeout", type=float, default=30.0, help="seconds per index request (30)"
    )
    parser.set_defaults(run=lazy_run("greenbump.commands.check_run"))
