"""The work of ``greenbump rollback`` (imported only when the command runs)."""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import sys
from pathlib import Path

from greenbump.errors import EXIT_GATE, InputError
from greenbump.recording import recording
from greenbump.render import print_json, print_table
from greenbump.rollback import (
    SUMMARY_HEADERS,
    NothingToRollBack,
    Outcome,
    Request,
    pick_run,
    roll_back,
    summary_rows,
    to_json,
)


def run(args: argparse.Namespace) -> int:
    """Roll the run back under the project's lock, record it, and report it."""
    run_ref, path = _positionals(args.run_ref, args.path)
    root = path.resolve()
    if not root.is_dir():
        raise InputError("no such directory", path)
    request = Request(
        path=root,
        run=run_ref,
        package=args.package,
        delete_branch=args.delete_branch,
        force=args.force,
        index_url=args.index_url,
        extra_index_urls=tuple(args.extra_index_url),
    )
    outcome = _recorded(root, request, _argv(args, run_ref, path))
    if args.format == "json":
        print_json(to_json(outcome))
    else:
        title = f"{outcome.status}: run {outcome.target or '-'} ({outcome.mode})"
        if outcome.packages:
            print_table(SUMMARY_HEADERS, summary_rows(outcome), title=title)
        else:
            print(title)
        if outcome.deleted_branch:
            print(f"deleted branch {outcome.deleted_branch}")
        for note in outcome.notes:
            print(f"note: {note}")
    if outcome.message:
        sys.stderr.write(f"greenbump: {outcome.message}\n")
    return EXIT_GATE if outcome.status == "nothing-to-do" else 0


def _positionals(first: str | None, second: Path) -> tuple[str | None, Path]:
    """``rollback DIR`` means the latest run in DIR: a lone positional that is a directory
    is taken as the path, since run ids are never directory names in practice."""
    if first is not None and second == Path() and Path(first).is_dir():
        return None, Path(first)
    return first, second


def _argv(args: argparse.Namespace, run_ref: str | None, path: Path) -> list[str]:
    """The command as the history shows it (rebuilt from the arguments, not sys.argv)."""
    argv = ["greenbump", "rollback"]
    if run_ref:
        argv.append(run_ref)
    argv.append(str(path))
    if args.package:
        argv += ["--package", args.package]
    if args.delete_branch:
        argv.append("--delete-branch")
    if args.force:
        argv.append("--force")
    return argv


def _recorded(root: Path, request: Request, argv: list[str]) -> Outcome:
    """Roll back under the lock, with the run recorded however it ends (as upgrade does)."""
    run_id = secrets.token_hex(4)
    outcome = Outcome(run_id=run_id, started=dt.datetime.now(dt.timezone.utc))
    with recording(root, run_id, argv, request) as (store, log):
        try:
            detail = pick_run(store, request.run, exclude=run_id)
        except NothingToRollBack as exc:
            outcome.message = f"nothing to roll back: {exc}"
        else:
            roll_back(request, detail, outcome, _progress)
        for entry in outcome.packages:
            log.decision(entry.name, "reverted", to=entry.restored, commit=entry.commit)
        store.finish_run(to_json(outcome), calls=log.calls)
        log.run_finished(outcome.status)
    return outcome


def _progress(message: str) -> None:
    sys.stderr.write(f"greenbump: {message}\n")
    sys.stderr.flush()
