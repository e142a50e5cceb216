"""Rendering an upgrade's result: terminal summary, versioned JSON, Markdown (a PR body)."""

from __future__ import annotations

from collections.abc import Callable
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
        "baseline_error": result.baseline_error or None,
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
                _why(entry),
            )
        )
    return rows


SUMMARY_HEADERS = ("package", "from", "to", "latest", "status", "why")


def _why(entry: PackageResult) -> str:
    """The reason, with the failing tests unless the reason already names them."""
    shown = [t for t in entry.failing_tests[:3] if t not in entry.reason]
    return entry.reason + (f" [{', '.join(shown)}]" if shown else "")


def _short_of_target(entry: PackageResult) -> bool:
    """Upgraded, but not as far as planned: a version above it broke something."""
    return (
        entry.status == "upgraded"
        and entry.to is not None
        and entry.target.target is not None
        and entry.to < entry.target.target
    )


def baseline_note(result: Result) -> str | None:
    """What the summary and reports say when tests already failed at the current versions."""
    if not result.baseline_failures:
        return None
    failing = ", ".join(result.baseline_failures[:5])
    more = len(result.baseline_failures) - 5
    if more > 0:
        failing += f" and {more} more"
    if result.baseline_passed_nothing:
        judged = "no test passed there, so only sets whose tests all pass were accepted"
    else:
        judged = "upgrades were judged by the tests that passed there"
    return f"tests already failed at the current versions (baseline): {failing}; {judged}"


def to_markdown(result: Result) -> str:
    """A note ready to paste as a pull-request body."""
    upgraded = [e for e in result.packages if e.status in ("upgraded", "planned")]
    held = [e for e in result.packages if e.status == "held"]
    title = "Planned dependency upgrades" if result.dry_run else "Dependency upgrades"
    stopped = result.status == "failed"
    lines = [f"# {title}{': the run stopped' if stopped else ''}", ""]
    if stopped:
        error = next((n for n in reversed(result.notes) if n.startswith("stopped: ")), "")
        lines += [f"> **Stopped before committing:** {escape_md(error[9:])}", ""]
    lines.append(
        f"{len(upgraded)} {'planned' if result.dry_run or stopped else 'upgraded'}, "
        f"{len(held)} held back" + (f", branch `{result.branch}`" if result.branch else "") + "."
    )
    lines.append("")
    note = baseline_note(result)
    if note:
        lines += [f"> **Note:** {escape_md(note)}", ""]
        if result.baseline_error:
            lines += ["```", *_fenced(result.baseline_error), "```", ""]
    if upgraded:
        lines += ["| package | from | to | kind | advisories fixed |", "|---|---|---|---|---|"]
        for e in upgraded:
            lines.append(
                f"| {escape_md(e.target.package.name)} | {e.target.current} | {e.to} "
                f"| {_kind(e) or ''} | {escape_md(', '.join(e.target.advisories_fixed))} |"
            )
        lines.append("")
    short = [e for e in upgraded if _short_of_target(e)]
    lines += _section(
        "Upgraded, but not as far as planned",
        short,
        lambda e: f"{e.to} instead of {e.target.target}",
    )
    lines += _section("Held back", held, lambda e: str(e.target.current))
    return "\n".join(lines) + "\n"


def _section(
    title: str, entries: list[PackageResult], versions: Callable[[PackageResult], str]
) -> list[str]:
    """A heading and one item per package: versions, reason, failing tests, error."""
    if not entries:
        return []
    lines = [f"## {title}", ""]
    for e in entries:
        name = escape_md(e.target.package.name)
        lines.append(f"- **{name}** {versions(e)}: {escape_md(e.reason)}")
        lines += _evidence(e)
    return [*lines, ""]


def _evidence(entry: PackageResult) -> list[str]:
    """Failing tests and the first lines of the error, indented under a list item."""
    lines = []
    if entry.failing_tests:
        lines.append(f"  - failing tests: {escape_md(', '.join(entry.failing_tests[:10]))}")
    if entry.error:
        lines += ["", "  ```", *[f"  {line}" for line in _fenced(entry.error)], "  ```"]
    return lines


def _fenced(text: str, count: int = 8) -> list[str]:
    """The first lines of ``text``, safe inside a code fence."""
    return [line.replace("```", "` ` `") for line in text.splitlines()[:count]]
