"""``greenbump show``: one recorded run in full, to answer "why was X held back?" later."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from greenbump.commands.history import (
    JSON_SCHEMA_VERSION,
    add_store_arguments,
    format_duration,
    format_time,
    open_existing,
)
from greenbump.errors import InputError
from greenbump.render import print_json, print_table

if TYPE_CHECKING:  # imported when the command runs, not when any command parses arguments
    from greenbump.history import PackageOutcome, RunDetail

PACKAGE_HEADERS = ("package", "from", "to", "latest", "status", "why")
TRIAL_HEADERS = ("#", "env", "passed", "new failures", "tests", "env build", "cached")
STAGE_HEADERS = ("stage", "time")


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the command's arguments."""
    parser = sub.add_parser(
        "show",
        help="show one past run: decisions, test runs, timings",
        description="Show one recorded run: the decision for each package with its reason and "
        "failing tests, every test run with its duration, the time per stage, and the branch "
        "and commits it made. RUN is a run id, a unique prefix of one, or 'latest'.",
    )
    parser.add_argument("run_id", metavar="RUN", help="run id, unique prefix, or 'latest'")
    add_store_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the run."""
    from greenbump.history import db_path_for

    store = open_existing(args.path)
    if store is None:
        raise InputError("no runs recorded here", db_path_for(args.path))
    with store:
        detail = store.run(args.run_id)
    if args.format == "json":
        print_json({"schema_version": JSON_SCHEMA_VERSION, "run": detail.to_json()})
    else:
        print_detail(detail)
    return 0


def print_detail(detail: RunDetail) -> None:
    """The human view: a header, then packages, test runs and stage timings as tables."""
    s = detail.summary
    print(f"run {s.id}: {s.status}")
    print(f"  command   {s.command}")
    print(f"  started   {format_time(s.started)}")
    if s.ended:
        print(f"  ended     {format_time(s.ended)} ({format_duration(s.duration)})")
    if s.branch:
        print(f"  branch    {s.branch}")
    if detail.commits:
        print(f"  commits   {', '.join(c[:12] for c in detail.commits)}")
    if detail.error:
        print(f"  error     {detail.error}")
    if detail.log_path:
        print(f"  log       {detail.log_path}")
    if s.interrupted:
        print("  the run was interrupted before it finished; its log shows how far it got")
    if detail.baseline_failures:
        print(f"  failing at baseline: {', '.join(detail.baseline_failures[:10])}")
    rows = [_package_row(p) for p in detail.packages if _worth_showing(p)]
    if rows:
        print()
        print_table(PACKAGE_HEADERS, rows, title="packages")
    if detail.trials:
        print()
        print_table(
            TRIAL_HEADERS,
            [
                (
                    str(t.seq + 1),
                    (t.env_hash or "")[:12],
                    _passed(t.resolved, t.passed),
                    ", ".join(t.failing_tests[:5]) + (" ..." if len(t.failing_tests) > 5 else ""),
                    format_duration(t.duration),
                    format_duration(t.env_seconds),
                    "yes" if t.cached else "",
                )
                for t in detail.trials
            ],
            title="test runs",
        )
    if detail.durations:
        print()
        print_table(
            STAGE_HEADERS,
            [(stage, format_duration(sec)) for stage, sec in detail.durations.items()],
            title="stages",
        )
    for note in detail.notes:
        print(f"note: {note}")


def _worth_showing(p: PackageOutcome) -> bool:
    """Skip packages that were already current: the question is always about the others."""
    return p.status != "unchanged" or (p.latest is not None and p.latest != p.from_version)


def _package_row(p: PackageOutcome) -> tuple[str, ...]:
    why = p.reason
    if p.failing_tests:
        shown = ", ".join(p.failing_tests[:3]) + (" ..." if len(p.failing_tests) > 3 else "")
        why += f" [failing: {shown}]"
    if p.advisories:
        why += f" (fixes {', '.join(p.advisories)})"
    return (
        p.name,
        p.from_version or "?",
        p.to_version or "",
        p.latest or "",
        p.status,
        why.replace("\n", " "),
    )


def _passed(resolved: bool | None, passed: bool | None) -> str:
    if resolved is False:
        return "did not resolve"
    if passed is None:
        return "did not install"
    return "yes" if passed else "no"
