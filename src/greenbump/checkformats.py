"""``greenbump check`` output: table rows, JSON (versioned), Markdown and SARIF 2.1.0.

SARIF is what code-scanning services ingest; each vulnerability becomes a result located at the
line that declares or locks the package, with one rule per advisory. Every format is built from
:class:`~greenbump.checkreport.CheckReport` alone.
"""

from __future__ import annotations

from typing import Any

from greenbump import __version__
from greenbump.checkreport import SCHEMA_VERSION, CheckReport, PackageReport


def _version_of(release: object | None) -> str | None:
    return str(getattr(release, "version", "")) or None if release is not None else None


def table_rows(report: CheckReport) -> list[tuple[str, ...]]:
    """Rows for the terminal table (``HEADERS``)."""
    rows: list[tuple[str, ...]] = []
    for item in report.packages:
        cands = item.candidates
        rows.append(
            (
                item.package.where,
                item.package.name,
                str(item.package.current or "?"),
                (_version_of(cands.latest_allowed) or "-") if cands else "-",
                (_version_of(cands.latest) or "-") if cands else "-",
                item.kind.value if item.kind else "",
                f"{item.latest_age_days}d" if item.latest_age_days is not None else "",
                _vuln_cell(item),
            )
        )
    return rows


HEADERS = ("where", "package", "current", "allowed", "latest", "kind", "age", "vulnerabilities")


def _vuln_cell(item: PackageReport) -> str:
    if item.findings:
        ids = ", ".join(f.id for f in item.findings)
        return f"{ids} (fix: {item.fix})" if item.fix else f"{ids} (no fix)"
    if not item.checked:
        return f"not checked: {item.not_checked_reason}"
    return "none known"


def summary_line(report: CheckReport) -> str:
    """One line a person reads first."""
    vulns = sum(len(p.findings) for p in report.vulnerable)
    text = (
        f"{len(report.packages)} packages: {len(report.outdated)} outdated, "
        f"{vulns} known vulnerabilities in {len(report.vulnerable)} packages"
    )
    if report.not_checked:
        text += f", {len(report.not_checked)} not checked for vulnerabilities"
    return text


def to_json(report: CheckReport) -> dict[str, Any]:
    """The versioned JSON document (schema in the README)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "greenbump", "version": __version__},
        "project": report.project,
        "python": str(report.python),
        "generated": report.generated.isoformat(),
        "advisory_source": report.advisory_source,
        "summary": {
            "packages": len(report.packages),
            "outdated": len(report.outdated),
            "vulnerable": len(report.vulnerable),
            "not_checked": len(report.not_checked),
        },
        "packages": [_package_json(item) for item in report.packages],
    }


def _package_json(item: PackageReport) -> dict[str, Any]:
    cands = item.candidates
    return {
        "name": item.package.key,
        "declared_name": item.package.name,
        "direct": item.package.direct,
        "declared_in": [f"{d.file}:{d.line}" for d in item.package.declarations],
        "current": str(item.package.current) if item.package.current else None,
        "current_from": item.package.current_from,
        "python": str(item.python) if item.python else None,
        "latest": _version_of(cands.latest) if cands else None,
        "latest_allowed": _version_of(cands.latest_allowed) if cands else None,
        "latest_patch": _version_of(cands.latest_patch) if cands else None,
        "latest_minor": _version_of(cands.latest_minor) if cands else None,
        "latest_major": _version_of(cands.latest_major) if cands else None,
        "update_kind": item.kind.value if item.kind else None,
        "latest_age_days": item.latest_age_days,
        "vulnerabilities_checked": item.checked,
        "not_checked_reason": item.not_checked_reason,
        "vulnerabilities": [
            {
                "id": f.id,
                "aliases": list(f.aliases),
                "summary": f.summary,
                "fixed_versions": list(f.fixed),
                "fix": f.fix,
            }
            for f in item.findings
        ],
        "fix": item.fix,
    }


def to_markdown(report: CheckReport) -> str:
    """A note for people: what is dangerous, what is behind ("what will change" preview)."""
    from greenbump.markdown import escape_md  # deferred: its html import builds a large table

    lines = [f"# Dependency check: {escape_md(report.project)}", "", summary_line(report), ""]
    if report.vulnerable:
        lines += [
            "## Vulnerable",
            "",
            "| package | current | advisories | fix |",
            "|---|---|---|---|",
        ]
        for item in report.vulnerable:
            ids = ", ".join(escape_md(f.id) for f in item.findings)
            lines.append(
                f"| {escape_md(item.package.name)} | {item.package.current} | {ids} "
                f"| {escape_md(item.fix or 'none')} |"
            )
        lines.append("")
    if report.outdated:
        lines += [
            "## Outdated",
            "",
            "| package | declared in | current | latest | kind | age |",
            "|---|---|---|---|---|---|",
        ]
        for item in report.outdated:
            cands = item.candidates
            latest = _version_of(cands.latest_major) if cands else None
            lines.append(
                f"| {escape_md(item.package.name)} | {escape_md(item.package.where)} "
                f"| {item.package.current} | {escape_md(latest or '')} "
                f"| {item.kind.value if item.kind else ''} "
                f"| {item.latest_age_days if item.latest_age_days is not None else '?'} days |"
            )
        lines.append("")
    if report.not_checked:
        lines += ["## Not checked for vulnerabilities", ""]
        lines += [
            f"- {escape_md(p.package.name)}: {escape_md(p.not_checked_reason or '')}"
            for p in report.not_checked
        ]
        lines.append("")
    lines.append(f"Advisories: {escape_md(report.advisory_source)}")
    return "\n".join(lines) + "\n"


def to_sarif(report: CheckReport) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one result per vulnerability."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for item in report.vulnerable:
        decl = item.package.declarations[0]
        for finding in item.findings:
            rules.setdefault(
                finding.id,
                {
                    "id": finding.id,
                    "name": finding.id.replace("-", ""),
                    "shortDescription": {"text": finding.summary or finding.id},
                    "help": {"text": f"Upgrade to {finding.fix}" if finding.fix else "No fix"},
                    "properties": {"aliases": list(finding.aliases), "tags": ["security"]},
                },
            )
            fix_text = f"; upgrade to {item.fix}" if item.fix else ""
            results.append(
                {
                    "ruleId": finding.id,
                    "level": "error",
                    "message": {
                        "text": f"{item.package.name} {item.package.current} is affected by "
                        f"{finding.id}{fix_text}"
                    },
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": str(decl.file)},
                                "region": {"startLine": decl.line, "startColumn": decl.column},
                            }
                        }
                    ],
                }
            )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "greenbump",
                        "version": __version__,
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }
