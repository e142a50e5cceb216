"""``greenbump deps``: list every dependency a project declares, where, and what is locked."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from greenbump.config import load_settings
from greenbump.model import Declaration
from greenbump.project import Project, load_project
from greenbump.render import print_json, print_table

SCHEMA_VERSION = 1


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the command's arguments."""
    parser = sub.add_parser(
        "deps",
        help="list declared dependencies and their locked versions",
        description="List the dependencies declared in a project's files, with the file and "
        "line of each declaration, its group, its constraint and the version locked for it.",
    )
    parser.add_argument("path", nargs="?", default=".", type=Path, help="project directory")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--locks", action="store_true", help="also list every entry of lock and compiled files"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """List the project's dependencies."""
    project = load_project(args.path)
    load_settings(project.root)  # a broken [tool.greenbump] is reported by every command
    rows = list(_rows(project, include_locks=args.locks))
    if args.format == "json":
        print_json(_document(project, rows))
        return 0
    print_table(
        ("where", "group", "name", "constraint", "locked"),
        [
            (
                f"{d.file}:{d.line}",
                d.group,
                d.name + (f"[{','.join(d.extras)}]" if d.extras else ""),
                _shown_constraint(d),
                locked or "",
            )
            for d, locked in rows
        ],
    )
    _print_summary(project)
    return 0


def _rows(project: Project, *, include_locks: bool) -> list[tuple[Declaration, str | None]]:
    rows: list[tuple[Declaration, str | None]] = []
    for dep_file in project.files:
        if dep_file.kind.is_lock and not include_locks:
            continue
        pins = project.locked_versions(dep_file)
        rows.extend((decl, decl.locked or pins.get(decl.key)) for decl in dep_file.declarations)
    return rows


def _shown_constraint(decl: Declaration) -> str:
    if decl.url is not None:
        return ("-e " if decl.editable else "") + decl.url
    shown = decl.constraint or "(any)"
    if decl.marker:
        shown += f" ; {decl.marker}"
    return shown


def _print_summary(project: Project) -> None:
    counts = ", ".join(f"{f.path} ({f.kind.value}, {len(f.declarations)})" for f in project.files)
    print(f"\n{len(project.files)} files: {counts}" if project.files else "no dependency files")


def _document(project: Project, rows: list[tuple[Declaration, str | None]]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "project": str(project.root),
        "files": [
            {"path": str(f.path), "kind": f.kind.value, "declarations": len(f.declarations)}
            for f in project.files
        ],
        "dependencies": [
            {
                "name": decl.key,
                "declared_name": decl.name,
                "file": str(decl.file),
                "line": decl.line,
                "column": decl.column,
                "group": decl.group,
                "constraint": decl.constraint,
                "style": decl.style.value,
                "extras": list(decl.extras),
                "marker": decl.marker,
                "url": decl.url,
                "editable": decl.editable,
                "hashed": bool(decl.hashes),
                "is_constraint": decl.is_constraint,
                "locked": locked,
            }
            for decl, locked in rows
        ],
    }
