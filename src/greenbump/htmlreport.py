"""A self-contained HTML report of an upgrade run, rendered from the JSON report.

The renderer takes the dict of :func:`greenbump.upgradereport.to_json` (or the same JSON read
back from a stored run), not a live :class:`~greenbump.upgrade.Result`, so an old run's
``report.json`` can be turned into a page at any time and the page shows exactly what the JSON
says.

The page is one file: inline CSS, inline SVG charts, no JavaScript, no external URL. It is meant
to be attached to a CI run or mailed around, opened offline, and archived, so it must not depend
on anything that can disappear or track the reader. A ``Content-Security-Policy`` in the page
forbids scripts and every fetch; that is a second line of defence only.

The first line is escaping. Package names, versions, reasons, test ids and error output come
from package indexes, advisory databases and the project's own test suite: all third-party
text. Every value from the report goes through :func:`_e` (``html.escape`` with ``quote=True``)
on its way into text, attributes and SVG ``<title>`` elements alike, so a package called
``<script>alert(1)</script>`` or an error containing ``" onmouseover="x`` renders as text.
Error excerpts are also passed through :func:`greenbump.redact.redact_text` in case a test
printed an index URL with credentials in it.

Optional fields, shown when present so producers can add them without a schema bump:
``packages[].release_age_days`` (number) or ``packages[].released`` (ISO date of the target
release); ``packages[].advisories_remaining`` (ids still affecting the package after the run);
top-level ``advisories_remaining`` (ids, or objects with ``id``, ``package``, ``version``,
``summary``, ``fixed_in``); ``test_runs[].install_error``.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from greenbump.redact import redact_text

__all__ = ["render_html"]

# Failing-test ids and error lines shown per held package: enough to act on, short enough that
# a run holding back twenty packages still gives a readable page.
_MAX_FAILING_TESTS = 25
_MAX_ERROR_LINES = 40
# Test runs drawn in the chart; a long bisection beyond this is summarised in a caption.
_MAX_CHART_RUNS = 80

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"

_CSS = """
:root {
  --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --panel: #f6f8fa; --line: #d1d9e0;
  --green: #1a7f37; --green-bg: #dafbe1; --red: #cf222e; --red-bg: #ffebe9;
  --amber: #9a6700; --amber-bg: #fff8c5; --blue: #0969da; --blue-bg: #ddf4ff;
  --grey: #818b98;
}
* { box-sizing: border-box; }
body {
  margin: 0; padding: 24px 32px 48px; color: var(--fg); background: var(--bg);
  font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
}
main { max-width: 1120px; margin: 0 auto; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 {
  font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line);
}
h3 { font-size: 15px; margin: 0 0 6px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.meta code { color: var(--fg); }
code, pre, .mono {
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px;
}
.badge {
  display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px;
  font-weight: 600; vertical-align: middle; border: 1px solid transparent;
}
.s-upgraded, .s-passed { color: var(--green); background: var(--green-bg); border-color: #aceebb; }
.s-held, .s-failed, .s-baseline-red {
  color: var(--red); background: var(--red-bg); border-color: #ffcecb;
}
.s-planned { color: var(--blue); background: var(--blue-bg); border-color: #b6e3ff; }
.s-nothing-to-do, .s-unchanged, .s-other {
  color: var(--muted); background: var(--panel); border-color: var(--line);
}
.s-unresolved { color: var(--amber); background: var(--amber-bg); border-color: #f5e0a0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 0; }
.card {
  flex: 1 1 140px; padding: 10px 14px; background: var(--panel); border: 1px solid var(--line);
  border-radius: 8px;
}
.card .n { font-size: 24px; font-weight: 600; display: block; }
.card .l { color: var(--muted); font-size: 12px; }
.card.good .n { color: var(--green); } .card.bad .n { color: var(--red); }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td {
  text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top;
}
th { background: var(--panel); font-weight: 600; font-size: 12.5px; color: var(--muted); }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.arrow { color: var(--muted); }
.held {
  border: 1px solid #ffcecb; border-left: 4px solid var(--red); border-radius: 6px;
  padding: 10px 14px; margin: 10px 0; background: #fffafa;
}
.held p { margin: 2px 0 6px; }
.held ul { margin: 4px 0 8px; padding-left: 20px; }
pre {
  margin: 6px 0 0; padding: 10px 12px; background: #0d1117; color: #e6edf3; border-radius: 6px;
  overflow-x: auto; white-space: pre-wrap; word-break: break-word;
}
.muted { color: var(--muted); }
.chart { width: 100%; height: auto; display: block; margin: 8px 0; }
.chart text { font-size: 11px; fill: var(--fg); }
.chart .axis { stroke: var(--line); }
.chart .tick { fill: var(--muted); }
.legend { display: flex; gap: 16px; flex-wrap: wrap; color: var(--muted); font-size: 12px; }
.legend i {
  display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 4px;
  vertical-align: -2px;
}
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print { body { padding: 0; } pre { white-space: pre-wrap; } }
"""

# Chart colours (SVG fill values, fixed: they are ours, never from the report).
_STAGE_COLOURS = ("#0969da", "#8250df", "#bf3989", "#bc4c00", "#1a7f37", "#0e7490", "#57606a")
_PASSED = "#2da44e"
_FAILED = "#cf222e"
_UNRESOLVED = "#d4a72c"
_ENV = "#afb8c1"


def _e(value: object) -> str:
    """``value`` as text safe in HTML content *and* in double- or single-quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def _str(value: object) -> str:
    return "" if value is None else str(value)


def _num(value: object) -> float | None:
    """A finite number from the report, or None: stored reports may be hand-edited or partial."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _dicts(value: object) -> list[Mapping[str, Any]]:
    return [item for item in _list(value) if isinstance(item, Mapping)]


def _seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.0f} s" if value == int(value) else f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    if minutes < 120:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _status_class(status: str) -> str:
    """A CSS class for a status; only known statuses map to their own class (no data in CSS)."""
    known = {"upgraded", "held", "planned", "nothing-to-do", "baseline-red", "unchanged"}
    return f"s-{status}" if status in known else "s-other"


def _badge(text: str, css: str) -> str:
    return f'<span class="badge {css}">{_e(text)}</span>'


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _release_age(package: Mapping[str, Any], started: dt.datetime | None) -> str:
    days = _num(package.get("release_age_days"))
    if days is None:
        released = _parse_time(package.get("released"))
        if released is not None and started is not None:
            days = (started - released).total_seconds() / 86400
    if days is None:
        return ""
    if days < 1:
        return "< 1 day"
    whole = int(days)
    return f"{whole} day" if whole == 1 else f"{whole} days"


def _join(items: Iterable[object]) -> str:
    return ", ".join(_e(item) for item in items)


def _error_excerpt(text: str) -> str:
    lines = redact_text(text).rstrip().splitlines()
    if len(lines) > _MAX_ERROR_LINES:
        lines = [*lines[:_MAX_ERROR_LINES], f"… {len(lines) - _MAX_ERROR_LINES} more lines"]
    return "\n".join(lines)


def render_html(report: Mapping[str, Any]) -> str:
    """The whole page for one upgrade report (``upgradereport.to_json`` shape).

    Tolerates missing or oddly typed fields, because stored reports outlive schema changes and
    a report page that crashes on an old file is worse than one with an empty section.
    """
    packages = _dicts(report.get("packages"))
    upgraded = [p for p in packages if p.get("status") in ("upgraded", "planned")]
    held = [p for p in packages if p.get("status") == "held"]
    unchanged = [p for p in packages if p.get("status") == "unchanged"]
    runs = _dicts(report.get("test_runs"))
    dry_run = report.get("dry_run") is True
    status = _str(report.get("status")) or "unknown"
    started = _parse_time(report.get("started"))
    title = "Planned dependency upgrades" if dry_run else "Dependency upgrades"

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>greenbump: {_e(title.lower())} ({_e(status)})</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        _header(report, title, status, started),
        _summary(report, upgraded, held, unchanged, runs, dry_run=dry_run),
        _upgraded_section(upgraded, started, dry_run),
        _held_section(held),
        _advisories_section(report, packages),
        _baseline_section(report),
        _timeline_section(report, runs),
        _notes_section(report),
        _footer(report),
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def _header(report: Mapping[str, Any], title: str, status: str, started: dt.datetime | None) -> str:
    meta = []
    run_id = _str(report.get("run_id"))
    if run_id:
        meta.append(f"run <code>{_e(run_id)}</code>")
    if started is not None:
        meta.append(_e(started.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")))
    elif report.get("started"):
        meta.append(_e(report.get("started")))
    branch = _str(report.get("branch"))
    if branch:
        meta.append(f"branch <code>{_e(branch)}</code>")
    commits = _list(report.get("commits"))
    if commits:
        meta.append(f"{len(commits)} commit{'s' if len(commits) != 1 else ''}")
    if report.get("dry_run") is True:
        meta.append("dry run: nothing was changed")
    return (
        f"<header><h1>{_e(title)} {_badge(status, _status_class(status))}</h1>"
        f'<p class="meta">{" · ".join(meta)}</p></header>'
    )


def _card(number: object, label: str, tone: str = "") -> str:
    css = f"card {tone}".strip()
    return (
        f'<div class="{css}"><span class="n">{_e(number)}</span>'
        f'<span class="l">{_e(label)}</span></div>'
    )


def _summary(
    report: Mapping[str, Any],
    upgraded: Sequence[Mapping[str, Any]],
    held: Sequence[Mapping[str, Any]],
    unchanged: Sequence[Mapping[str, Any]],
    runs: Sequence[Mapping[str, Any]],
    *,
    dry_run: bool,
) -> str:
    fixed = {_str(a) for p in upgraded for a in _list(p.get("advisories_fixed"))}
    passed = sum(1 for r in runs if r.get("passed") is True)
    total = sum(
        v for v in (_num(x) for x in _mapping(report.get("durations")).values()) if v is not None
    )
    cards = [
        _card(len(upgraded), "planned" if dry_run else "upgraded", "good" if upgraded else ""),
        _card(len(held), "held back", "bad" if held else ""),
        _card(len(unchanged), "unchanged"),
        _card(len(fixed), "advisories fixed", "good" if fixed else ""),
        _card(f"{passed}/{len(runs)}", "test runs passed"),
        _card(_seconds(total) if total else "-", "total time"),
    ]
    return f'<section id="summary"><div class="cards">{"".join(cards)}</div></section>'


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _upgraded_section(
    upgraded: Sequence[Mapping[str, Any]], started: dt.datetime | None, dry_run: bool
) -> str:
    heading = "Planned" if dry_run else "Upgraded"
    if not upgraded:
        return f'<section id="upgraded"><h2>{heading}</h2><p class="muted">None.</p></section>'
    ages = [_release_age(p, started) for p in upgraded]
    show_age = any(ages)
    head = ["package", "from", "to", "kind"]
    if show_age:
        head.append("release age")
    head += ["advisories fixed", "files"]
    rows = []
    for package, age in zip(upgraded, ages, strict=True):
        files = _list(package.get("files"))
        cells = [
            f"<td><strong>{_e(package.get('name'))}</strong></td>",
            f'<td class="num mono">{_e(package.get("from") or "?")}</td>',
            f'<td class="num mono"><span class="arrow">→</span> {_e(package.get("to"))}</td>',
            f"<td>{_e(package.get('kind') or '')}</td>",
        ]
        if show_age:
            cells.append(f'<td class="num">{_e(age)}</td>')
        cells += [
            f'<td class="mono">{_join(_list(package.get("advisories_fixed")))}</td>',
            f'<td class="mono">{_join(files)}</td>',
        ]
        rows.append(f'<tr data-package="{_e(package.get("name"))}">{"".join(cells)}</tr>')
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    return (
        f'<section id="upgraded"><h2>{heading} ({len(upgraded)})</h2>'
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _held_section(held: Sequence[Mapping[str, Any]]) -> str:
    if not held:
        return ""
    blocks = []
    for package in held:
        name = _e(package.get("name"))
        current = _e(package.get("from") or "?")
        wanted = package.get("to") or package.get("latest")
        target = (
            f' <span class="arrow">→</span> <span class="mono">{_e(wanted)}</span>'
            if wanted
            else ""
        )
        body = [f'<h3>{name} <span class="mono">{current}</span>{target}</h3>']
        reason = _str(package.get("reason"))
        if reason:
            body.append(f"<p>{_e(redact_text(reason))}</p>")
        failing = [_str(t) for t in _list(package.get("failing_tests"))]
        if failing:
            shown = failing[:_MAX_FAILING_TESTS]
            items = "".join(f'<li class="mono">{_e(t)}</li>' for t in shown)
            more = len(failing) - len(shown)
            if more:
                items += f'<li class="muted">and {more} more</li>'
            body.append(f"<p><strong>Failing tests</strong> ({len(failing)})</p><ul>{items}</ul>")
        error = _str(package.get("error"))
        if error.strip():
            body.append(f"<p><strong>Error</strong></p><pre>{_e(_error_excerpt(error))}</pre>")
        blocks.append(f'<div class="held" data-package="{name}">{"".join(body)}</div>')
    return f'<section id="held"><h2>Held back ({len(held)})</h2>{"".join(blocks)}</section>'


def _advisories_section(report: Mapping[str, Any], packages: Sequence[Mapping[str, Any]]) -> str:
    fixed_rows = []
    for package in packages:
        if package.get("status") not in ("upgraded", "planned"):
            continue
        for advisory in _list(package.get("advisories_fixed")):
            fixed_rows.append(
                f'<tr><td class="mono">{_e(advisory)}</td><td>{_e(package.get("name"))}</td>'
                f'<td class="mono">{_e(package.get("from") or "?")} → '
                f"{_e(package.get('to'))}</td></tr>"
            )
    remaining_rows = []
    for package in packages:
        for advisory in _list(package.get("advisories_remaining")):
            remaining_rows.append(
                f'<tr><td class="mono">{_e(advisory)}</td><td>{_e(package.get("name"))}</td>'
                f'<td class="mono">{_e(package.get("to") or package.get("from") or "?")}</td>'
                "<td></td><td></td></tr>"
            )
    for item in _list(report.get("advisories_remaining")):
        if isinstance(item, Mapping):
            fixed_in = item.get("fixed_in")
            fixed_text = _join(fixed_in) if isinstance(fixed_in, list) else _e(fixed_in or "")
            remaining_rows.append(
                f'<tr><td class="mono">{_e(item.get("id"))}</td>'
                f"<td>{_e(item.get('package') or '')}</td>"
                f'<td class="mono">{_e(item.get("version") or "")}</td>'
                f'<td class="mono">{fixed_text}</td><td>{_e(item.get("summary") or "")}</td></tr>'
            )
        else:
            remaining_rows.append(
                f'<tr><td class="mono">{_e(item)}</td><td></td><td></td><td></td><td></td></tr>'
            )
    if not fixed_rows and not remaining_rows:
        return ""
    out = ['<section id="advisories"><h2>Advisories</h2>']
    if fixed_rows:
        out.append(
            f"<h3>Fixed by this run ({len(fixed_rows)})</h3><table><thead><tr><th>advisory</th>"
            f"<th>package</th><th>versions</th></tr></thead><tbody>{''.join(fixed_rows)}</tbody></table>"
        )
    if remaining_rows:
        out.append(
            f"<h3>Still open ({len(remaining_rows)})</h3><table><thead><tr><th>advisory</th>"
            "<th>package</th><th>version</th><th>fixed in</th><th>summary</th></tr></thead>"
            f"<tbody>{''.join(remaining_rows)}</tbody></table>"
        )
    out.append("</section>")
    return "".join(out)


def _baseline_section(report: Mapping[str, Any]) -> str:
    failures = [_str(t) for t in _list(report.get("baseline_failures"))]
    if not failures:
        return ""
    items = "".join(f'<li class="mono">{_e(t)}</li>' for t in failures[:_MAX_FAILING_TESTS])
    more = len(failures) - _MAX_FAILING_TESTS
    if more > 0:
        items += f'<li class="muted">and {more} more</li>'
    return (
        f'<section id="baseline"><h2>Failing before any upgrade ({len(failures)})</h2>'
        '<p class="muted">These tests already failed with the current versions, so they do not '
        f"count against an upgrade.</p><ul>{items}</ul></section>"
    )


def _notes_section(report: Mapping[str, Any]) -> str:
    notes = [_str(n) for n in _list(report.get("notes")) if _str(n).strip()]
    if not notes:
        return ""
    items = "".join(f"<li>{_e(redact_text(n))}</li>" for n in notes)
    return f'<section id="notes"><h2>Notes</h2><ul>{items}</ul></section>'


def _footer(report: Mapping[str, Any]) -> str:
    tool = _mapping(report.get("tool"))
    name = _str(tool.get("name")) or "greenbump"
    version = _str(tool.get("version"))
    schema = _str(report.get("schema_version"))
    return (
        f"<footer>Generated by {_e(name)} {_e(version)}"
        + (f" from a schema {_e(schema)} report" if schema else "")
        + ".</footer>"
    )


# --- the timeline -------------------------------------------------------------------------

_CHART_WIDTH = 1000
_LABEL_WIDTH = 190
_RIGHT_MARGIN = 60  # room for the duration printed after the last bar
_ROW = 22
_BAR = 14


def _ticks(total: float) -> list[float]:
    """Round axis ticks (1-2-5 steps), about six of them, for a span of ``total`` seconds."""
    if total <= 0:
        return [0.0]
    raw = total / 6
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    count = int(total / step + 1e-9)
    return [i * step for i in range(count + 1)]


def _axis(y: int, total: float, scale: float) -> list[str]:
    end = _CHART_WIDTH - _RIGHT_MARGIN + 10
    out = [f'<line class="axis" x1="{_LABEL_WIDTH}" y1="{y}" x2="{end}" y2="{y}"/>']
    for tick in _ticks(total):
        x = _LABEL_WIDTH + tick * scale
        out.append(f'<line class="axis" x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}"/>')
        out.append(
            f'<text class="tick" x="{x:.1f}" y="{y + 16}" text-anchor="middle">'
            f"{_e(_seconds(tick))}</text>"
        )
    return out


def _label(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _timeline_section(report: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]) -> str:
    stages = [
        (_str(name), seconds)
        for name, value in _mapping(report.get("durations")).items()
        if (seconds := _num(value)) is not None and seconds >= 0
    ]
    if not stages and not runs:
        return ""
    out = ['<section id="timeline"><h2>Timeline</h2>']
    if stages:
        out.append(_stages_chart(stages))
    if runs:
        out.append(_runs_chart(runs))
    out.append("</section>")
    return "".join(out)


def _stages_chart(stages: Sequence[tuple[str, float]]) -> str:
    """Stages back to back in the order they first ran (``durations`` keeps that order)."""
    total = sum(seconds for _, seconds in stages) or 1.0
    scale = (_CHART_WIDTH - _LABEL_WIDTH - _RIGHT_MARGIN) / total
    height = len(stages) * _ROW + 34
    out = [
        f'<svg class="chart" viewBox="0 0 {_CHART_WIDTH} {height}" role="img" '
        f'aria-label="Time per stage">'
    ]
    start = 0.0
    for i, (name, seconds) in enumerate(stages):
        y = 6 + i * _ROW
        x = _LABEL_WIDTH + start * scale
        width = max(seconds * scale, 1.5)
        colour = _STAGE_COLOURS[i % len(_STAGE_COLOURS)]
        out.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + _BAR - 3}" text-anchor="end">'
            f"{_e(_label(name))}</text>"
            f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{_BAR}" rx="2" fill="{colour}">'
            f"<title>{_e(name)}: {_e(_seconds(seconds))}</title></rect>"
            f'<text x="{x + width + 4:.1f}" y="{y + _BAR - 3}" class="tick">'
            f"{_e(_seconds(seconds))}</text>"
        )
        start += seconds
    out += _axis(6 + len(stages) * _ROW, total, scale)
    out.append("</svg>")
    return "<h3>Stages</h3>" + "".join(out)


def _run_label(run: Mapping[str, Any], index: int) -> str:
    pins = _mapping(run.get("pins"))
    if not pins:
        return f"run {index + 1}"
    items = [f"{k} {v}" for k, v in pins.items()]
    return items[0] if len(items) == 1 else f"{items[0]} +{len(items) - 1}"


def _runs_chart(runs: Sequence[Mapping[str, Any]]) -> str:
    """Each test run as environment time (grey) then test time (green or red), in run order.

    Runs are laid end to end because the report has their durations, not their start times;
    with parallel jobs the real wall time is shorter than the axis.
    """
    shown = list(runs[:_MAX_CHART_RUNS])
    spans = []
    start = 0.0
    for run in shown:
        env = max(_num(run.get("env_seconds")) or 0.0, 0.0)
        test = max(_num(run.get("duration")) or 0.0, 0.0)
        spans.append((start, env, test))
        start += env + test
    total = start or 1.0
    scale = (_CHART_WIDTH - _LABEL_WIDTH - _RIGHT_MARGIN) / total
    height = len(shown) * _ROW + 34
    out = [
        f'<svg class="chart" viewBox="0 0 {_CHART_WIDTH} {height}" role="img" '
        f'aria-label="Test runs">'
    ]
    for i, (run, (begin, env, test)) in enumerate(zip(shown, spans, strict=True)):
        y = 6 + i * _ROW
        passed = run.get("passed")
        if run.get("resolved") is False or passed is None:
            colour, verdict = _UNRESOLVED, "did not resolve or install"
        elif passed is True:
            colour, verdict = _PASSED, "passed"
        else:
            colour, verdict = _FAILED, "failed"
        pins = _mapping(run.get("pins"))
        detail = ", ".join(f"{k}=={v}" for k, v in pins.items()) or "no pins"
        new_failures = [_str(t) for t in _list(run.get("new_failures"))]
        tip = f"run {i + 1}: {verdict}; {detail}; environment {_seconds(env)}"
        tip += f", tests {_seconds(test)}"
        if run.get("cached") is True:
            tip += " (cached environment)"
        if new_failures:
            tip += "; new failures: " + ", ".join(new_failures[:10])
        install_error = _str(run.get("install_error"))
        if install_error:
            tip += "; " + redact_text(install_error.splitlines()[0] if install_error else "")
        x_env = _LABEL_WIDTH + begin * scale
        w_env = env * scale
        w_test = max(test * scale, 2.0)
        out.append(
            f"<g><title>{_e(tip)}</title>"
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + _BAR - 3}" text-anchor="end">'
            f"{_e(_label(_run_label(run, i)))}</text>"
        )
        if w_env >= 0.5:
            out.append(
                f'<rect x="{x_env:.1f}" y="{y}" width="{w_env:.1f}" height="{_BAR}" fill="{_ENV}"/>'
            )
        out.append(
            f'<rect x="{x_env + w_env:.1f}" y="{y}" width="{w_test:.1f}" height="{_BAR}" '
            f'fill="{colour}"/></g>'
        )
    out += _axis(6 + len(shown) * _ROW, total, scale)
    out.append("</svg>")
    legend = (
        '<div class="legend">'
        f'<span><i style="background:{_ENV}"></i>environment</span>'
        f'<span><i style="background:{_PASSED}"></i>tests passed</span>'
        f'<span><i style="background:{_FAILED}"></i>tests failed</span>'
        f'<span><i style="background:{_UNRESOLVED}"></i>did not resolve or install</span>'
        "</div>"
    )
    caption = (
        '<p class="muted">Runs in the order they ran, end to end (parallel runs overlapped in '
        "reality). Hover a bar for its versions.</p>"
    )
    if len(runs) > len(shown):
        caption += f'<p class="muted">{len(runs) - len(shown)} more runs not drawn.</p>'
    passed_count = sum(1 for r in runs if r.get("passed") is True)
    heading = f"<h3>Test runs ({passed_count} of {len(runs)} passed)</h3>"
    return heading + "".join(out) + legend + caption
