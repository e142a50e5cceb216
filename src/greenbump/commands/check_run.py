"""The work of ``greenbump check`` (imported only when the command runs)."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from greenbump.config import load_settings
from greenbump.errors import EXIT_GATE
from greenbump.inventory import build_inventory
from greenbump.launch import allow_quick_exit, collector_paused
from greenbump.project import load_project
from greenbump.query import advisory_source, check_vulnerabilities, fetching_pages, target_python
from greenbump.render import progress_bar
from greenbump.textio import write_text

if TYPE_CHECKING:
    from greenbump.checkreport import CheckReport


def run(args: argparse.Namespace) -> int:
    """Check the project and print the report.

    The index lookups start first and run in the background: advisories are read and the
    report code imported while the index answers. A check writes nothing but its cache
    entries and its output, all closed when it returns, so the process may end quickly.
    """
    allow_quick_exit()
    with collector_paused():
        return _checked(args)


def _checked(args: argparse.Namespace) -> int:
    project = load_project(args.path)
    settings = load_settings(project.root)
    python = target_python(args.python or settings.get("python"), project)
    packages = build_inventory(project, python)
    asked = sum(1 for p in packages if p.from_index)
    with (
        progress_bar("querying the index", asked) as advance,
        fetching_pages(
            project,
            packages,
            index_url=args.index_url or settings.get("index-url"),
            extra_index_urls=args.extra_index_url or settings.get("extra-index-url", []),
            ttl=float(
                args.cache_ttl if args.cache_ttl is not None else settings.get("cache-ttl", 300)
            ),
            refresh=args.refresh,
            jobs=args.jobs,
            timeout=args.index_timeout,
            on_page=advance,
        ) as pages,
    ):
        from greenbump.candidates import Filters  # while the index answers

        filters = Filters(
            python=python,
            allow_prereleases=bool(args.allow_prereleases or settings.get("allow-prereleases")),
        )
        source = advisory_source(args.advisories or settings.get("advisories"), args.osv_api)
        vulns = check_vulnerabilities(source, packages)
        # The report code loads while the index answers (emit's imports then cost nothing).
        import greenbump.checkformats  # noqa: F401
        from greenbump.checkreport import build_report

        report = build_report(
            str(project.root),
            packages,
            pages=pages(),
            vulns=vulns,
            filters=filters,
            advisory_source=source.label,
        )
    emit(report, args.format, args.output)
    return gate(report, args.fail_on or settings.get("fail-on") or "never")


def emit(report: CheckReport, fmt: str, output: Path | None) -> None:
    """Print (or write) the report in ``fmt``."""
    from greenbump.checkformats import HEADERS, summary_line, table_rows
    from greenbump.render import print_table

    if fmt == "table" and output is None:
        print_table(HEADERS, table_rows(report))
        print(summary_line(report))
        return
    if fmt == "table":
        fmt = "markdown"
    text = _render(report, fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        write_text(output, text)


def _render(report: CheckReport, fmt: str) -> str:
    from greenbump.checkformats import to_json, to_markdown, to_sarif
    from greenbump.render import print_json

    buffer = io.StringIO()
    if fmt == "json":
        print_json(to_json(report), buffer)
    elif fmt == "sarif":
        print_json(to_sarif(report), buffer)
    else:
        buffer.write(to_markdown(report))
    return buffer.getvalue()


def gate(report: CheckReport, fail_on: str) -> int:
    """The exit code ``--fail-on`` asks for."""
    if fail_on == "never":
        return 0
    if report.vulnerable or report.not_checked:
        return EXIT_GATE
    if fail_on == "outdated" and report.outdated:
        return EXIT_GATE
    return 0
