"""The HTML report: escaping of third-party text, and what a real browser makes of the page.

The string-level tests parse the page with the standard library's HTML parser, which
tokenises like a browser does for the constructs that matter here (tags, attributes, text), so
"the hostile name came back as text, as one attribute value" is checked on structure, not by
searching for substrings. The Chromium tests then load the page in headless Chromium (Debian's
``chromium`` at /usr/bin/chromium; CI installs it, see .ci/run) and check the live DOM, the
console and a screenshot.

Run this file directly (``.venv/bin/python tests/test_htmlreport.py``) to regenerate
``docs/report-example.html`` and ``docs/report-example.png`` for the README.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from greenbump.htmlreport import render_html

CHROMIUM = Path("/usr/bin/chromium")
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_ATTR = '" onmouseover="x'
SECRET = "s3cr3t-Passw0rd"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def example_report() -> dict[str, Any]:
    """A realistic upgrade report in the shape of ``upgradereport.to_json``: a nightly run that
    upgraded five packages (one fixing advisories), held two back with evidence, and ran a
    bisection's worth of test environments."""
    return {
        "schema_version": 1,
        "tool": {"name": "greenbump", "version": "0.1.0"},
        "run_id": "14e5283e",
        "started": "2026-11-27T03:30:00+00:00",
        "status": "upgraded",
        "dry_run": False,
        "branch": "greenbump/2026-11-27-14e5283e",
        "commits": ["9f1c2ab", "1d0e77c", "a4b5c6d"],
        "baseline_failures": ["tests/test_flaky.py::test_clock_skew"],
        "durations": {
            "read": 0.012,
            "query": 0.84,
            "plan": 0.015,
            "baseline": 14.2,
            "resolve": 1.9,
            "test": 61.5,
            "apply": 2.4,
        },
        "packages": [
            _package("httpx", "0.27.2", "0.28.1", "minor", released="2026-11-02T10:00:00Z"),
            _package(
                "jinja2",
                "3.1.3",
                "3.1.6",
                "patch",
                advisories=["GHSA-h75v-3vvj-5mfj", "GHSA-q2x7-8rv6-6q7h", "PYSEC-2025-12"],
                released="2026-10-20T08:00:00Z",
            ),
            _package("rich", "13.7.1", "14.2.0", "major", released="2026-11-10T12:00:00Z"),
            _package("platformdirs", "4.2.0", "4.3.8", "minor", released="2026-11-19T12:00:00Z"),
            _package("idna", "3.6", "3.10", "minor", released="2026-09-01T00:00:00Z"),
            {
                **_package("sqlalchemy", "1.4.52", None, None),
                "latest": "2.0.36",
                "status": "held",
                "reason": "tests fail with 2.0.36 (isolated: sqlalchemy alone)",
                "failing_tests": [
                    "tests/test_db.py::test_session_rollback",
                    "tests/test_db.py::test_query_legacy_api",
                    "tests/test_reports.py::test_monthly_totals[2026-10]",
                ],
                "error": (
                    "tests/test_db.py:41: in test_query_legacy_api\n"
                    "    rows = session.query(Order).filter_by(paid=True).all()\n"
                    "E   sqlalchemy.exc.RemovedIn20Warning: The Query.get() method is considered\n"
                    "E   legacy as of the 1.x series of SQLAlchemy and becomes a legacy construct\n"
                    "E   in 2.0."
                ),
                "advisories_fixed": [],
            },
            {
                **_package("pydantic", "2.6.4", None, None),
                "latest": "2.10.3",
                "status": "held",
                "reason": "no resolution with pydantic 2.10.3: fastapi 0.110.0 requires <2.8",
                "error": (
                    "× No solution found when resolving dependencies:\n"  # noqa: RUF001 (uv output)
                    "  ╰─▶ Because fastapi==0.110.0 depends on pydantic>=1.7.4,<2.8 and you\n"
                    "      require pydantic==2.10.3, we can conclude that your requirements\n"
                    "      are unsatisfiable."
                ),
            },
            {
                **_package("certifi", "2024.8.30", None, None),
                "status": "unchanged",
                "reason": "2026.11.21 is younger than min-release-age (7 days)",
            },
        ],
        "test_runs": [
            _run({"httpx": "0.27.2", "jinja2": "3.1.3"}, passed=True, duration=11.8, env=2.4),
            _run(
                {
                    "httpx": "0.28.1",
                    "jinja2": "3.1.6",
                    "rich": "14.2.0",
                    "sqlalchemy": "2.0.36",
                    "platformdirs": "4.3.8",
                    "idna": "3.10",
                },
                passed=False,
                duration=12.6,
                env=4.1,
                new_failures=["tests/test_db.py::test_session_rollback"],
            ),
            _run({"pydantic": "2.10.3"}, resolved=False, duration=None, env=0.4),
            _run(
                {"httpx": "0.28.1", "jinja2": "3.1.6", "rich": "14.2.0"},
                passed=True,
                duration=11.2,
                env=3.0,
            ),
            _run(
                {"sqlalchemy": "2.0.36"},
                passed=False,
                duration=10.9,
                env=2.2,
                new_failures=["tests/test_db.py::test_session_rollback"],
            ),
            _run(
                {"platformdirs": "4.3.8", "idna": "3.10"},
                passed=True,
                duration=11.0,
                env=1.1,
                cached=True,
            ),
        ],
        "notes": ["sqlalchemy: 2.0 is a major move; see the migration guide before retrying."],
    }


def _package(
    name: str,
    current: str,
    to: str | None,
    kind: str | None,
    *,
    advisories: list[str] | None = None,
    released: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "from": current,
        "to": to,
        "latest": to,
        "kind": kind,
        "files": ["requirements.txt", "requirements.lock"],
        "status": "upgraded",
        "reason": "latest allowed",
        "failing_tests": [],
        "error": "",
        "advisories_fixed": advisories or [],
        "commit": "9f1c2ab" if to else None,
    }
    if released:
        entry["released"] = released
    return entry


def _run(
    pins: dict[str, str],
    *,
    passed: bool | None = None,
    resolved: bool = True,
    duration: float | None,
    env: float,
    new_failures: list[str] | None = None,
    cached: bool = False,
) -> dict[str, Any]:
    return {
        "env_hash": "e3b0c44298fc",
        "pins": pins,
        "resolved": resolved,
        "passed": passed,
        "new_failures": new_failures or [],
        "duration": duration,
        "env_seconds": env,
        "cached": cached,
    }


def hostile_report() -> dict[str, Any]:
    """The example with third-party text crafted to break out of HTML text and attributes."""
    report = example_report()
    report["packages"].append(
        {
            **_package(HOSTILE_NAME, "1.0", "2.0", "major", advisories=[HOSTILE_ATTR]),
            "files": [f"requirements{HOSTILE_ATTR}.txt"],
        }
    )
    report["packages"].append(
        {
            **_package(HOSTILE_ATTR, "1.0", None, None),
            "status": "held",
            "latest": "<img src=x onerror=alert(2)>",
            "reason": "tests fail </pre><script>alert(3)</script>",
            "failing_tests": [f"tests/test_x.py::test_{HOSTILE_ATTR}"],
            "error": (
                "</pre><script>alert(4)</script>\n"
                f"fetching https://alice:{SECRET}@index.example/simple/ failed\n"
                "<!-- ]]> <svg onload=alert(5)>"
            ),
        }
    )
    report["durations"][HOSTILE_NAME] = 0.5
    report["test_runs"].append(
        _run({HOSTILE_NAME: HOSTILE_ATTR}, passed=False, duration=1.0, env=0.2)
    )
    report["test_runs"][-1]["new_failures"] = ["</title><script>alert(6)</script>"]
    report["baseline_failures"].append("<b>bold</b>")
    report["notes"].append(f"{HOSTILE_NAME} {HOSTILE_ATTR}")
    report["branch"] = f"greenbump/{HOSTILE_ATTR}"
    report["status"] = HOSTILE_ATTR
    report["advisories_remaining"] = [
        {"id": HOSTILE_NAME, "package": HOSTILE_ATTR, "version": "1", "fixed_in": ["<i>2</i>"]},
        "GHSA-xxxx-<u>",
    ]
    return report


class _Page(HTMLParser):
    """Tags, attributes and text as a browser's tokeniser sees them (entities decoded)."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(name, value or "") for name, value in attrs]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def attr_values(self, name: str) -> list[str]:
        return [value for key, value in self.attrs if key == name]

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def _assert_inert(page: _Page) -> None:
    """Nothing from the data became markup: no script, no handler, no fetch, no breakout."""
    assert "script" not in page.tags
    assert not {"img", "iframe", "object", "embed", "a", "link", "form"} & set(page.tags)
    handlers = [name for name, _ in page.attrs if name.startswith("on")]
    assert handlers == []
    assert not {name for name, _ in page.attrs} & {"src", "href", "xlink:href", "action"}
    assert HOSTILE_NAME in page.all_text  # shown to the reader, as text
    assert "</pre><script>alert(4)</script>" in page.all_text
    # Every data-package value is a whole package name: a breakout would have cut one short.
    assert HOSTILE_NAME in page.attr_values("data-package")
    assert HOSTILE_ATTR in page.attr_values("data-package")


# --- string level -------------------------------------------------------------------------


def test_hostile_text_is_escaped_everywhere() -> None:
    source = render_html(hostile_report())
    _assert_inert(_Page(source))
    assert "<script" not in source.lower()
    assert "<svg onload" not in source.lower()
    assert 'onmouseover="' not in source  # the quote that would open a handler is &quot;
    # the SVG tooltip of the hostile test run holds its text, escaped
    assert "&lt;/title&gt;&lt;script&gt;alert(6)&lt;/script&gt;" in source
    assert "<b>bold</b>" in _Page(source).all_text


def test_credentials_in_error_text_are_redacted() -> None:
    source = render_html(hostile_report())
    assert SECRET not in source
    assert "https://alice:****@index.example/simple/" in _Page(source).all_text


def test_page_is_self_contained() -> None:
    source = render_html(example_report())
    assert "://" not in source  # no external URL at all (inline SVG needs no xmlns)
    page = _Page(source)
    assert "script" not in page.tags
    assert {"style", "svg", "table", "pre"} <= set(page.tags)
    csp = [v for k, v in page.attrs if k == "content" and "default-src" in v]
    assert csp
    assert "default-src 'none'" in csp[0]


def test_sections_and_content() -> None:
    source = render_html(example_report())
    text = _Page(source).all_text
    for heading in ("Upgraded (5)", "Held back (2)", "Advisories", "Timeline", "Test runs"):
        assert heading in text
    assert "Fixed by this run (3)" in text
    assert "tests/test_db.py::test_session_rollback" in text
    assert "RemovedIn20Warning" in text
    assert "37 days" in text  # jinja2 3.1.6 released 2026-10-20, the run started 2026-11-27
    assert "tests/test_flaky.py::test_clock_skew" in text  # failing before any upgrade
    assert "80.9 s" in text  # total of the stage durations
    assert len(re.findall(r"<title>(read|query|plan|baseline|resolve|test|apply): ", source)) == 7
    assert source.count('fill="#2da44e"') == 3  # three green test runs
    assert source.count('fill="#cf222e"') == 2  # two red ones
    assert source.count('fill="#d4a72c"') == 1  # one that did not resolve


def test_dry_run_and_remaining_advisories() -> None:
    report = example_report()
    report.update(dry_run=True, status="planned", branch=None, commits=[])
    for package in report["packages"]:
        if package["status"] == "upgraded":
            package["status"] = "planned"
    report["packages"][0]["advisories_remaining"] = ["GHSA-rest-0001"]
    report["advisories_remaining"] = [
        {"id": "PYSEC-2026-1", "package": "sqlalchemy", "version": "1.4.52", "fixed_in": ["2.0.1"]}
    ]
    text = _Page(render_html(report)).all_text
    assert "Planned dependency upgrades" in text
    assert "Planned (5)" in text
    assert "dry run: nothing was changed" in text
    assert "Still open (2)" in text
    assert "GHSA-rest-0001" in text
    assert "PYSEC-2026-1" in text


def test_stored_and_partial_reports_render() -> None:
    """Stored runs come back through JSON; old or hand-edited ones may miss or mistype fields."""
    stored = json.loads(json.dumps(example_report()))
    assert render_html(stored) == render_html(example_report())
    assert "Dependency upgrades" in render_html({})
    odd = {
        "packages": [{"name": 3, "status": "upgraded", "advisories_fixed": "not-a-list"}, "x"],
        "durations": {"read": "fast", "test": float("nan"), "apply": True, "plan": 1},
        "test_runs": [{"pins": None, "passed": "yes", "duration": -1}],
        "tool": "greenbump",
        "started": "not a date",
    }
    text = _Page(render_html(odd)).all_text
    assert "Upgraded (1)" in text
    assert "not a date" in text


def test_renders_the_real_json_report() -> None:
    """The contract with upgradereport.to_json, on a Result built from greenbump's own types."""
    from greenbump.inventory import Package
    from greenbump.plan import Status, Target
    from greenbump.upgrade import PackageResult, Result
    from greenbump.upgradereport import to_json

    def target(name: str, current: str, latest: str, fixes: tuple[str, ...] = ()) -> Target:
        package = Package(canonicalize_name(name), name, (), Version(current), None, True)
        return Target(package, Status.UPGRADE, Version(latest), Version(latest), "", fixes)

    result = Result(run_id="abc", started=dt.datetime(2026, 11, 27, tzinfo=dt.timezone.utc))
    result.packages = [
        PackageResult(
            target("Jinja2", "3.1.3", "3.1.6", ("GHSA-1",)), "upgraded", Version("3.1.6")
        ),
        PackageResult(
            target(HOSTILE_NAME.replace("<", "x"), "1.0", "2.0"),
            "held",
            reason="tests fail",
            failing_tests=("t::a",),
            error="E   boom <b>",
        ),
    ]
    result.durations = {"read": 0.1, "test": 2.0}
    result.status = "upgraded"
    page = _Page(render_html(to_json(result)))
    assert "Upgraded (1)" in page.all_text
    assert "GHSA-1" in page.all_text
    assert "E   boom <b>" in page.all_text
    assert "b" not in page.tags


# --- in a browser --------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"{CHROMIUM} is absent: install Debian's chromium package (CI does, see .ci/run)",
)

# Console messages in Chromium's stderr log: "...:INFO:CONSOLE:12] "text", source: ..." (the
# older format is "CONSOLE(12)"). Everything else in that log is browser noise (D-Bus, GPU).
_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]\s*(?P<message>.*)")


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with nothing that phones home, in a private profile."""
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",  # root in containers; the page has no script anyway
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def _load(tmp_path: Path, source: str) -> tuple[str, list[str]]:
    """The serialised live DOM of ``source`` and the console messages it produced."""
    page = tmp_path / "page.html"
    page.write_text(source, encoding="utf-8")
    done = _chromium(
        tmp_path / "profile",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        page.as_uri(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    console = [m.group("message") for m in map(_CONSOLE.search, done.stderr.splitlines()) if m]
    return done.stdout, console


def screenshot(
    source: str, html_file: Path, png_file: Path, profile: Path, size: str = "1200,1600"
) -> bytes:
    """Write ``source`` to ``html_file`` and its screenshot (``size`` pixels) to ``png_file``."""
    html_file.write_text(source, encoding="utf-8")
    done = _chromium(
        profile,
        "--hide-scrollbars",
        f"--screenshot={png_file}",
        f"--window-size={size}",
        html_file.as_uri(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return png_file.read_bytes()


@needs_chromium
def test_console_capture_works(tmp_path: Path) -> None:
    """A canary: a page that logs an error must show up, or the clean-console check is empty."""
    _, console = _load(
        tmp_path, '<!DOCTYPE html><p>x</p><script>console.error("canary-42")</script>'
    )
    assert any("canary-42" in message for message in console), console


@needs_chromium
def test_browser_renders_hostile_report_as_text(tmp_path: Path) -> None:
    dom, console = _load(tmp_path, render_html(hostile_report()))
    assert console == []  # no errors, no CSP violations (which would mean markup got through)
    page = _Page(dom)
    _assert_inert(page)
    assert "Held back (3)" in page.all_text
    assert page.tags.count("svg") == 2


@needs_chromium
def test_screenshot_is_a_png(tmp_path: Path) -> None:
    data = screenshot(
        render_html(example_report()), tmp_path / "r.html", tmp_path / "r.png", tmp_path / "p"
    )
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    assert data[12:16] == b"IHDR"
    assert (width, height) == (1200, 1600)
    assert len(data) > 50_000  # a blank page compresses to a few kilobytes


def _write_docs(docs: Path) -> None:
    """Regenerate the README's example report and its screenshot."""
    import tempfile

    docs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        screenshot(
            render_html(example_report()),
            docs / "report-example.html",
            docs / "report-example.png",
            Path(tmp) / "profile",
            size="1200,2250",  # the whole example page, timeline included
        )


if __name__ == "__main__":
    _write_docs(Path(__file__).resolve().parent.parent / "docs")
    sys.exit(0)
