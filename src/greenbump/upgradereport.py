"""Rendering an upgrade's result: terminal summary, versioned JSON, Markdown (a PR body)."""

from __future__ import annotations

from typing import Any

from greenbump import __version__
from greenbump.candidates import update_kind
from greenbump.markdown import escape_md
from greenbump.upgrade import SCHEMA_VERSION, PackageResult, Result


def _kind(entry: PackageResult) -> str | None:
    if entry.to is None or entry.target.current is None:
        return None
    return update_kind(entry.target.current, entry.to).value


def to_json(result: Result) -> dict[str, Any]:
    """The JSON report (schema in the README)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "greenbump", "version": __version__},
        "run_id": result.run_id,
        "started": result.started.isoformat(),
        "status": result.status,
        "dry_run": result.dry_run,
        "branch": result.branch,
        "commits": list(result.commits),
        "baseline_failures": list(result.baseline_failures),
        "durations": {k: round(v, 3) for k, v in result.durations.items()},
        "packages": [
            {
                "name": entry.target.key,
                "from": str(entry.target.current) if entry.target.current else None,
                "to": str(entry.to) if entry.to else None,
                "latest": str(entry.target.latest) if entry.target.latest else None,
                "kind": _kind(entry),
                "files": list(entry.files),
                "status": entry.status,
                "reason": entry.reason,
                "failing_tests": list(entry.failing_tests),
                "error": entry.error,
                "advisories_fixed": list(entry.target.advisories_fixed),
                "commit": entry.commit,
            }
            for entry in result.packages
        ],
        "test_runs": [
            {
                "env_hash": trial.env_hash,
                "pins": dict(trial.pins),
                "resolved": trial.resolution.ok,
                "passed": trial.outcome.passed if trial.outcome else None,
                "new_failures": list(trial.new_failures),
                "duration": round(trial.outcome.duration, 3) if trial.outcome else None,
                "env_seconds": round(trial.env_seconds, 3),
                "cached": trial.cached,
            }
            for trial in result.trials
        ],
        "notes": list(result.notes),
    }


def summary_rows(result: Result) -> list[tuple[str, ...]]:
    """Rows for the terminal table: every package that was planned, moved or held."""
    rows: list[tuple[str, ...]] = []
    for entry in result.packages:
        if entry.status == "unchanged" and entry.target.latest is None:
            continue
        rows.append(
            (
                entry.target.package.name,
                str(entry.target.current or "?"),
                str(entry.to or ""),
                str(entry.target.latest or ""),
                entry.status,
                entry.reason
                + (f" [{', '.join(entry.failing_tests[:3])}]" if entry.failing_tests else ""),
            )
        )
    return rows


SUMMARY_HEADERS = ("package", "from", "to", "latest", "status", "why")


def to_markdown(result: Result) -> str:
    """A note ready to paste as a pull-request body."""
    upgraded = [e for e in result.packages if e.status in ("upgraded", "planned")]
    held = [e for e in result.packages if e.status == "held"]
    title = "Planned dependency upgrades" if result.dry_run else "Dependency upgrades"
    lines = [f"# {title}", ""]
    lines.append(
        f"{len(upgraded)} {'planned' if result.dry_run else 'upgraded'}, {len(held)} held back"
        + (f", branch `{result.branch}`" if result.branch else "")
        + "."
    )
    lines.append("")
    if upgraded:
        lines += ["| package | from | to | kind | advisories fixed |", "|---|---|---|---|---|"]
        for e in upgraded:
            lines.append(
                f"| {escape_md(e.target.package.name)} | {e.target.current} | {e.to} "
                f"| {_kind(e) or ''} | {escape_md(', '.join(e.target.advisories_fixed))} |"
            )
        lines.append("")
    if held:
        lines += ["## Held back", ""]
        for e in held:
            lines.append(
                f"- **{escape_md(e.target.package.name)}** {e.target.current}: "
                f"{escape_md(e.reason)}"
            )
            if e.failing_tests:
                lines.append(f"  - failing tests: {escape_md(', '.join(e.failing_tests[:10]))}")
            if e.error:
                lines += [
                    "",
                    "  ```",
                    *[f"  {line.replace('```', '` ` `')}" for line in e.error.splitlines()[:8]],
                    "  ```",
                ]
        lines.append("")
    return "\n".join(lines) + "\n"
