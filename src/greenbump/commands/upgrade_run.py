"""The work of ``greenbump upgrade`` (imported only when the command runs)."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import shlex
import sys
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from greenbump.config import Settings, load_settings
from greenbump.errors import EXIT_GATE, GreenbumpError, InputError
from greenbump.htmlreport import render_html
from greenbump.notify import send_notifications, validate_settings
from greenbump.plan import LEVELS, Policy, parse_holds
from greenbump.project import load_project
from greenbump.query import find_interpreter, target_python
from greenbump.recording import recording
from greenbump.redact import redact_text
from greenbump.render import fancy, print_json, print_table
from greenbump.textio import write_text
from greenbump.upgrade import Options, Result, failed, new_result, run_upgrade
from greenbump.upgradereport import (
    SUMMARY_HEADERS,
    baseline_note,
    summary_rows,
    to_json,
    to_markdown,
)
from greenbump.vcs import Git


def run(args: argparse.Namespace) -> int:
    """Run the upgrade and report it."""
    root = args.path.resolve()
    if not args.dry_run:  # a merge or rebase in progress is the first thing to say, not its files
        Git.find(root).require_clean(args.allow_dirty)
    settings = load_settings(root)
    options = options_from(args, settings, root)
    notify_settings = None
    if settings.get("notify") is not None:
        notify_settings = validate_settings(settings.get("notify"), settings.source)
    if args.notify and notify_settings is None:
        raise InputError("--notify needs a [tool.greenbump.notify] table", root / "pyproject.toml")
    for report in args.report:
        _check_report_suffix(report)
    progress = _progress_printer()
    partial = new_result()
    try:
        if options.dry_run:  # changes nothing, so it writes no history either
            result = run_upgrade(options, progress, into=partial)
        else:
            result = _recorded_run(root, options, progress, args.command_line, partial)
    except GreenbumpError as exc:
        # The reports asked for still say what was found and where the run stopped.
        for report in args.report:
            write_report(failed(partial, redact_text(str(exc))), report)
        raise
    for report in args.report:
        write_report(result, report)
    if args.notify and notify_settings is not None:
        deliveries = send_notifications(
            to_json(result),
            notify_settings,
            report_link=args.report_url or result.branch,
            project=root.name,
            markdown=to_markdown(result),
        )
        for delivery in deliveries:
            if not delivery.ok:
                sys.stderr.write(
                    f"greenbump: warning: notification to {delivery.target} "
                    f"failed: {delivery.error}\n"
                )
    if args.format == "json":
        print_json(to_json(result))
    else:
        print_table(SUMMARY_HEADERS, summary_rows(result), title=_title(result))
        for note in result.notes:
            print(f"note: {note}")
        baseline = baseline_note(result)
        if baseline:
            print(f"note: {baseline}")
            for line in result.baseline_error.splitlines()[:5]:
                print(f"  {line}")
    if result.status == "held" and not any(p.status == "upgraded" for p in result.packages):
        return EXIT_GATE
    return 0


def _recorded_run(
    root: Path, options: Options, progress: Any, argv: list[str], into: Result
) -> Result:
    """Run under the project's lock, recorded in its history and run log.

    The lock comes first: a run row is "live" only while its lock is held, so a killed run is
    read back as interrupted. Whatever ends the run (result, error, ^C, SIGTERM) is recorded.
    """
    with recording(root, into.run_id, argv, options) as (store, log):
        result = run_upgrade(options, progress, log=log, into=into)
        store.add_secrets(log.secrets)
        store.finish_run(to_json(result), calls=log.calls)
        log.run_finished(result.status)
    return result


def options_from(args: argparse.Namespace, settings: Settings, root: Path) -> Options:
    """Flags over ``[tool.greenbump]`` over defaults."""

    def pick(flag: Any, key: str, default: Any = None) -> Any:
        return flag if flag is not None else settings.get(key, default)

    test = pick(args.test, "test")
    if isinstance(test, str):
        test = shlex.split(test)
    python = pick(args.python, "python")
    project = load_project(root)
    policy = Policy(
        level=LEVELS[pick(args.level, "level", "major")],
        only=tuple(args.only or settings.get("only", [])),
        exclude=tuple(args.exclude or settings.get("exclude", [])),
        holds=parse_holds(args.hold or settings.get("hold", [])),
        allow_prereleases=bool(pick(args.allow_prereleases, "allow-prereleases", False)),
        min_release_age=dt.timedelta(days=int(pick(args.min_release_age, "min-release-age", 3))),
        security_only=bool(pick(args.security_only, "security-only", False)),
        bump_lower_bounds=args.bump_lower_bounds,
    )
    jobs = pick(args.jobs, "jobs", 1)
    if jobs < 1:
        raise InputError(
            "--jobs must be at least 1"
            if args.jobs is not None
            else "[tool.greenbump] jobs must be at least 1"
        )
    return Options(
        path=root,
        policy=policy,
        python=target_python(python, project),
        test_command=test,
        timeout=float(pick(args.timeout, "timeout", 1800)),
        dry_run=args.dry_run,
        no_commit=args.no_commit,
        allow_dirty=args.allow_dirty,
        require_green_baseline=args.require_green_baseline,
        branch_template=pick(args.branch, "branch", "greenbump/{date}-{id}"),
        index_url=pick(args.index_url, "index-url"),
        extra_index_urls=tuple(args.extra_index_url or settings.get("extra-index-url", [])),
        advisories=pick(args.advisories, "advisories"),
        osv_api=args.osv_api,
        cache_ttl=float(pick(args.cache_ttl, "cache-ttl", 300)),
        refresh=args.refresh,
        index_timeout=args.index_timeout,
        install=tuple(args.install or settings.get("install", [])),
        interpreter=_interpreter(python),
        jobs=int(jobs),
    )


def _interpreter(python: str | None) -> str | None:
    """``--python``'s interpreter for test environments: as given, or found for a version."""
    if not python:
        return None
    if not python[:1].isdigit():
        return python
    try:
        version = Version(python)
    except InvalidVersion as exc:
        raise InputError(f"--python {python!r} is neither a version nor an interpreter") from exc
    return find_interpreter(version)


def write_report(result: Result, path: Path) -> None:
    """Write ``result`` as JSON or Markdown, by the file's suffix."""
    if path.suffix == ".json":
        buffer = io.StringIO()
        print_json(to_json(result), buffer)
        write_text(path, buffer.getvalue())
    elif path.suffix in (".md", ".markdown"):
        write_text(path, to_markdown(result))
    elif path.suffix in (".html", ".htm"):
        write_text(path, render_html(to_json(result)))
    else:
        _check_report_suffix(path)


def _check_report_suffix(path: Path) -> None:
    if path.suffix not in (".json", ".md", ".markdown", ".html", ".htm"):
        raise InputError(f"unknown report format {path.suffix!r} (use .json, .md or .html)", path)


def _title(result: Result) -> str:
    if result.dry_run:
        return "plan (dry run: nothing changed)"
    if result.branch:
        return f"{result.status}: branch {result.branch} ({len(result.commits)} commits)"
    return result.status


def _progress_printer() -> Any:
    def show(message: str) -> None:
        stream = sys.stderr
        if fancy(stream):
            stream.write(f"\r\x1b[2K… {message}")
        else:
            stream.write(f"greenbump: {message}\n")
        stream.flush()

    return show
