"""``greenbump upgrade``: take the project from behind to current, green or not at all."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from greenbump.commands import lazy_run


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the command's arguments."""
    parser = sub.add_parser(
        "upgrade",
        help="upgrade dependencies, run the tests, commit what stays green on a new branch",
        description="Plan target versions under the policy, check with uv that they install "
        "together, test the current and the upgraded set in fresh environments, and commit each "
        "upgrade on a new branch greenbump/<date>-<id>. The user's branch and work tree are "
        "left as they were.",
    )
    parser.add_argument("path", nargs="?", default=".", type=Path, help="project directory")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--no-commit", action="store_true", help="leave the edits in the work tree")
    parser.add_argument("--allow-dirty", action="store_true", help="work on an unclean tree")
    parser.add_argument(
        "--report",
        action="append",
        type=Path,
        default=[],
        help="write a report (.json, .md or .html); repeatable",
    )
    parser.add_argument(
        "--notify", action="store_true", help="send the summary as [tool.greenbump.notify] says"
    )
    parser.add_argument("--report-url", help="link to the report or pull request in notifications")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--test", help="test command (default: detect pytest, tox or nox)")
    parser.add_argument("--python", help="interpreter for test environments (default: this one)")
    parser.add_argument(
        "--install",
        action="append",
        help="a file or group (as `deps` shows it) that makes the test environment; repeatable",
    )
    parser.add_argument(
        "--level", choices=("patch", "minor", "major"), help="largest update kind (default major)"
    )
    parser.add_argument("--only", action="append", help="only these packages (names or globs)")
    parser.add_argument("--exclude", action="append", help="never these packages")
    parser.add_argument("--hold", action="append", help="cap a package, e.g. 'django<6'")
    parser.add_argument("--allow-prereleases", action="store_true", default=None)
    parser.add_argument("--min-release-age", type=int, help="days a release must be public (3)")
    parser.add_argument("--security-only", action="store_true", default=None)
    parser.add_argument("--bump-lower-bounds", action="store_true")
    parser.add_argument("--timeout", type=int, help="seconds per test run")
    parser.add_argument("--jobs", type=int, help="parallel test environments")
    parser.add_argument("--branch", help="branch name template (default greenbump/{date}-{id})")
    parser.add_argument("--require-green-baseline", action="store_true")
    parser.add_argument("--index-url", help="primary package index (overrides configuration)")
    parser.add_argument("--extra-index-url", action="append", default=[])
    parser.add_argument("--advisories", help="OSV directory or zip to name fixed advisories")
    parser.add_argument("--osv-api", help="OSV API base URL")
    parser.add_argument("--cache-ttl", type=int)
    parser.add_argument("--refresh", action="store_true")
    parser.add_argument("--index-timeout", type=float, default=30.0, help="seconds per request")
    parser.set_defaults(run=lazy_run("greenbump.commands.upgrade_run"))
