"""Run a project's tests inside a prepared environment and say which tests broke.

Isolating a culprit needs more than a red or green light: it needs *which* tests fail, the
tracebacks that say where, and the difference to a baseline run, so a failure that was already
there before the upgrade is never blamed on it. For pytest (the common case) the run writes a
JUnit XML report into a directory of ours, and per-test outcomes and failure texts come from
it; any other runner (tox, nox, a custom command) is judged by its exit code alone.

A run happens as if the environment were activated, and only it: its bin directory first on
PATH, ``VIRTUAL_ENV`` set, no PYTHONPATH from our side. PYTHONHASHSEED is fixed so set
ordering cannot make a test flip between two runs, byte code and pytest's cache are not written
into the project, and a time-out kills the whole process group (:mod:`greenbump.proc`), so a
hanging test cannot stall the pipeline or leave children behind.

Tests that fail once and pass when re-run are *flaky* (:func:`rerun_failed`); they must not
be blamed on an upgrade, and :func:`compare_to_baseline` leaves them out.
"""

from __future__ import annotations

import configparser
import importlib
import re
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from greenbump.envs import activated_env, bin_dir, python_in
from greenbump.proc import run

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
SKIPPED = "skipped"
FAILING = frozenset({FAILED, ERROR})

# The id standing for the whole run when a runner reports no per-test results.
WHOLE_RUN = "<test run>"

MAX_JUNIT_BYTES = 64 * 1024 * 1024  # a report larger than this is not parsed
MAX_TRACEBACK_CHARS = 64 * 1024  # per test: enough for evidence, bounded for memory
EXCERPT_FAILURES = 10
EXCERPT_TAIL_LINES = 30
EXCERPT_MAX_CHARS = 6000
OUTPUT_TAIL_MARK = "--- output (tail) ---"
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b")

_PYTHON_NAMES = frozenset({"python", "python3"})
_RANK = {PASSED: 0, SKIPPED: 1, FAILED: 2, ERROR: 3}
# Variables a surrounding pytest session sets for itself; an inner run must not inherit them.
_SESSION_VARS = (
    "PYTEST_CURRENT_TEST",
    "PYTEST_VERSION",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
)


@dataclass(frozen=True)
class TestOutcome:
    """The result of one test run.

    ``passed`` is the verdict. ``tests`` holds ``(test id, outcome)`` pairs with outcomes
    ``passed``/``failed``/``error``/``skipped`` when the runner reported per-test results
    (``per_test``); ids are pytest node ids. ``failed`` lists the failing ids (failures and
    errors, minus ``flaky`` ones after a re-run). ``tracebacks`` pairs each failing id with
    the failure text from the report, for mining evidence; ``excerpt`` is a short human
    summary (first line of each failure and the tail of the output).
    """

    __test__: ClassVar[bool] = False  # not a test class, even though pytest may think so

    passed: bool
    timed_out: bool
    returncode: int
    duration: float
    command: tuple[str, ...] = ()
    tests: tuple[tuple[str, str], ...] = ()
    failed: tuple[str, ...] = ()
    excerpt: str = ""
    tracebacks: tuple[tuple[str, str], ...] = ()
    flaky: tuple[str, ...] = ()
    per_test: bool = False
    junit_path: str | None = field(default=None, compare=False)

    def outcome_of(self, test_id: str) -> str | None:
        """The outcome of one test, or ``None`` when the run did not report it."""
        return dict(self.tests).get(test_id)

    def traceback_of(self, test_id: str) -> str:
        """The failure text the report holds for one test ("" if none)."""
        return dict(self.tracebacks).get(test_id, "")


@dataclass(frozen=True)
class _Case:
    test_id: str
    outcome: str
    message: str
    text: str


def detect_test_command(project_dir: Path) -> list[str] | None:
    """Guess how a project runs its tests; ``python`` stands for the environment's interpreter.

    pytest comes first because it runs inside our environment; tox and nox build their own
    environments and are a fallback for projects that give no other hint.
    """
    if _uses_pytest(project_dir):
        return ["python", "-m", "pytest"]
    pyproject = _read_toml(project_dir / "pyproject.toml")
    if (project_dir / "tox.ini").is_file() or "tox" in _table(pyproject, "tool"):
        return ["python", "-m", "tox"]
    if (project_dir / "noxfile.py").is_file():
        return ["python", "-m", "nox"]
    return None


def _uses_pytest(project_dir: Path) -> bool:
    if any((project_dir / name).is_dir() for name in ("tests", "test")):
        return True
    if any(
        (project_dir / name).is_file()
        for name in ("pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "conftest.py")
    ):
        return True
    pyproject = project_dir / "pyproject.toml"
    data = _read_toml(pyproject)
    if "pytest" in _table(data, "tool"):
        return True
    if not data and pyproject.is_file():  # unparsable: fall back to a plain text look
        text = pyproject.read_text(encoding="utf-8", errors="replace")
        if re.search(r"^\s*\[\s*tool\.pytest", text, re.MULTILINE):
            return True
    return _has_section(project_dir / "setup.cfg", "tool:pytest") or _has_section(
        project_dir / "tox.ini", "pytest"
    )


def _read_toml(path: Path) -> dict[str, object]:
    # tomllib is tomli vendored into Python 3.11; tomli is a dependency on 3.10.
    parser = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    try:
        data = parser.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        return {}
    return data if isinstance(data, dict) else {}


def _table(data: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _has_section(path: Path, section: str) -> bool:
    if not path.is_file():
        return False
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        text = path.read_text(encoding="utf-8", errors="replace")
        return f"[{section}]" in text
    return parser.has_section(section)


def is_pytest_command(command: Sequence[str]) -> bool:
    """Whether ``command`` runs pytest (``python -m pytest``, ``pytest``, ``py.test``)."""
    if not command:
        return False
    program = Path(command[0]).name.lower().removesuffix(".exe")
    if program in {"pytest", "py.test"}:
        return True
    args = iter(command[1:])
    for arg in args:
        if arg == "-m":
            return next(args, None) == "pytest"
        if arg.startswith("-m"):
            return arg[2:] == "pytest"
        if arg in {"-X", "-W", "--check-hash-based-pycs"}:
            next(args, None)  # the option's value
        elif not arg.startswith("-"):
            return False  # a script: whatever it runs, we cannot tell
    return False


def runner_env(venv: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables a test run gets (see the module docstring for why)."""
    env = activated_env(venv, base)
    for name in _SESSION_VARS:
        env.pop(name, None)
    for name in [n for n in env if n.startswith("COV_CORE_")]:
        env.pop(name)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    return env


def run_tests(
    command: Sequence[str],
    project_dir: Path,
    venv: Path,
    timeout: float | None,
    junit_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> TestOutcome:
    """Run ``command`` in ``project_dir`` with ``venv`` active; never raises for red tests.

    ``extra_args`` go after the command (e.g. node ids to re-run). The JUnit report of a
    pytest run is kept in ``junit_dir`` (``TestOutcome.junit_path``).
    """
    if not command:
        raise ValueError("empty test command")
    project_dir = Path(project_dir).absolute()
    venv = Path(venv).absolute()
    variables = runner_env(venv, env)
    argv = [_resolve_program(command[0], venv), *command[1:], *extra_args]
    junit: Path | None = None
    if is_pytest_command(command):
        report_dir = Path(junit_dir).absolute()
        report_dir.mkdir(parents=True, exist_ok=True)
        junit = report_dir / f"junit-{uuid.uuid4().hex[:16]}.xml"
        argv += [
            "-p",
            "no:cacheprovider",  # no .pytest_cache written into the project
            f"--junitxml={junit}",
            "-o",
            "junit_family=xunit1",  # adds the file attribute: exact node ids
        ]
    started = time.monotonic()
    result = run(
        argv, cwd=project_dir, env=variables, timeout=timeout, check=False, what="test run"
    )
    duration = time.monotonic() - started
    cases = None if junit is None or result.timed_out else _parse_junit(junit, project_dir)
    output = result.stdout + ("\n" + result.stderr if result.stderr.strip() else "")
    passed = result.returncode == 0 and not result.timed_out
    if cases is None:
        return TestOutcome(
            passed=passed,
            timed_out=result.timed_out,
            returncode=result.returncode,
            duration=duration,
            command=tuple(argv),
            failed=() if passed else (WHOLE_RUN,),
            excerpt=_excerpt([], output, result.timed_out, timeout),
            junit_path=str(junit) if junit is not None and junit.exists() else None,
        )
    failing = [c for c in cases if c.outcome in FAILING]
    return TestOutcome(
        passed=passed,
        timed_out=False,
        returncode=result.returncode,
        duration=duration,
        command=tuple(argv),
        tests=tuple((c.test_id, c.outcome) for c in cases),
        # A red session with no failing test (nothing collected, an internal error) still
        # has to count as a failure somewhere.
        failed=tuple(c.test_id for c in failing) or (() if passed else (WHOLE_RUN,)),
        excerpt=_excerpt(failing, output, False, timeout),
        tracebacks=tuple((c.test_id, c.text) for c in failing),
        per_test=True,
        junit_path=str(junit),
    )


def rerun_failed(
    command: Sequence[str],
    project_dir: Path,
    venv: Path,
    outcome: TestOutcome,
    *,
    timeout: float | None,
    junit_dir: Path,
    env: Mapping[str, str] | None = None,
) -> TestOutcome:
    """Re-run what failed once; tests that pass the second time are marked flaky.

    pytest runs only the failing node ids again; other runners run the whole command again
    (and a pass then marks the whole run flaky). A passing or timed-out outcome is returned
    unchanged: re-running a hang would only cost another time-out.
    """
    if outcome.passed or outcome.timed_out or not outcome.failed:
        return outcome
    by_id = outcome.per_test and is_pytest_command(command) and WHOLE_RUN not in outcome.failed
    again = run_tests(
        command,
        project_dir,
        venv,
        timeout,
        junit_dir,
        env=env,
        extra_args=outcome.failed if by_id else (),
    )
    if by_id:
        flaky = tuple(t for t in outcome.failed if again.outcome_of(t) == PASSED)
    else:
        flaky = (WHOLE_RUN,) if again.passed else ()
    still = tuple(t for t in outcome.failed if t not in flaky)
    # pytest's exit code 1 means "tests failed"; anything else (2-5) was a broken session.
    passed = (not still and outcome.returncode == 1) if by_id else again.passed
    return TestOutcome(
        passed=passed,
        timed_out=False,
        returncode=0 if passed else outcome.returncode,
        duration=outcome.duration + again.duration,
        command=outcome.command,
        tests=outcome.tests,
        failed=still,
        excerpt=outcome.excerpt,
        tracebacks=tuple((t, text) for t, text in outcome.tracebacks if t in still),
        flaky=tuple(dict.fromkeys((*outcome.flaky, *flaky))),
        per_test=outcome.per_test,
        junit_path=outcome.junit_path,
    )


def compare_to_baseline(baseline: TestOutcome, outcome: TestOutcome) -> set[str]:
    """Ids of tests that fail now but did not fail at baseline (flaky ones excluded).

    A test passing at baseline that is missing from a red run counts as failing (its module
    stopped importing, say). Without per-test data, a red run after a baseline where something
    passed (or a time-out after a baseline that finished) is reported as :data:`WHOLE_RUN`.

    When nothing passed at baseline (every test failed, the test files could not even be
    imported, or a red run gave no per-test results), no test can show a regression, so only a
    run that passes outright counts as no worse: every failure of any other run is new. An
    upgrade that leaves the tests as unimportable as before is not thereby green (found on a
    real application whose old pins no longer worked with today's transitive releases).
    """
    flaky = set(baseline.flaky) | set(outcome.flaky)
    passed_before = {t for t, result in baseline.tests if result == PASSED}
    if not baseline.passed and not passed_before:
        if outcome.passed:
            return set()
        return (set(outcome.failed) - flaky) or {WHOLE_RUN}
    if not outcome.per_test:
        if outcome.passed:
            return set()
        if baseline.passed or passed_before or (outcome.timed_out and not baseline.timed_out):
            return {WHOLE_RUN} - flaky
        return set()
    before = dict(baseline.tests)
    failed_before = set(baseline.failed)
    now = dict(outcome.tests)
    new = {t for t in outcome.failed if t not in failed_before and before.get(t) not in FAILING}
    if not outcome.passed:
        new |= {t for t in passed_before if t not in now}
    return new - flaky


def _resolve_program(program: str, venv: Path) -> str:
    if program in _PYTHON_NAMES:
        return str(python_in(venv))
    if Path(program).name == program:  # a bare name: the environment's own copy first
        candidate = bin_dir(venv) / program
        if candidate.exists():
            return str(candidate)
    return program


def _parse_junit(path: Path, root: Path) -> list[_Case] | None:
    """Per-test results from a JUnit report; ``None`` when there is no usable report."""
    try:
        if path.stat().st_size > MAX_JUNIT_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return None  # pytest never writes these; refuse entity expansion tricks
    try:
        tree = ET.fromstring(data)  # noqa: S314  # our own report, no DTD (checked above)
    except ET.ParseError:
        return None
    merged: dict[str, _Case] = {}
    for case in tree.iter("testcase"):
        test_id = _node_id(case.get("classname", ""), case.get("name", ""), case.get("file"), root)
        outcome, message, text = PASSED, "", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": FAILED, "error": ERROR, "skipped": SKIPPED}[child.tag]
                message = child.get("message", "")
                text = (child.text or message)[:MAX_TRACEBACK_CHARS]
                if outcome != SKIPPED:
                    break
        found = _Case(test_id, outcome, message, text)
        previous = merged.get(test_id)
        if previous is not None:  # e.g. a failing test whose teardown errored as well
            worst = max(previous, found, key=lambda c: _RANK[c.outcome])
            joined = "\n".join(t for t in (previous.text, found.text) if t)
            found = _Case(test_id, worst.outcome, worst.message, joined[:MAX_TRACEBACK_CHARS])
        merged[test_id] = found
    return list(merged.values())


def _node_id(classname: str, name: str, file: str | None, root: Path) -> str:
    """Invert pytest's JUnit naming (``tests.test_a.TestX`` + ``test_y[1]``) to a node id."""
    if file:
        file = file.replace("\\", "/")
        module = re.sub(r"\.py$", "", file).replace("/", ".")
        if not classname and name == module:
            return file  # a collection error of the module itself
        if classname == module:
            return f"{file}::{name}"
        if classname.startswith(module + "."):
            rest = classname[len(module) + 1 :].split(".")
            return "::".join([file, *rest, name])
    parts = classname.split(".") if classname else []
    for i in range(len(parts), 0, -1):  # no file attribute: find the module on disk
        candidate = "/".join(parts[:i]) + ".py"
        if (root / candidate).is_file():
            return "::".join([candidate, *parts[i:], name])
    return "::".join([p for p in (classname, name) if p])


def _case_summary(case: _Case) -> str:
    """One line saying why a test failed: pytest's message, unless that says only "collection
    failure" or the like, when the exception pytest printed (its last ``E`` line) says more."""
    message = case.message.strip().splitlines()
    first = message[0] if message else ""
    if ":" not in first or first.lower().startswith(("collection failure", "failed to")):
        raised = [line[1:].strip() for line in case.text.splitlines() if line.startswith("E ")]
        named = [line for line in raised if _EXCEPTION_LINE.match(line)]
        if named:
            return named[-1]  # the exception that ended it: ImportError: cannot import ...
        if raised and raised[0]:
            return raised[0]  # an assertion's own line, before pytest's "where" details
    if first:
        return first
    text = case.text.strip().splitlines()
    return text[0] if text else case.outcome


def failure_lines(outcome: TestOutcome) -> str:
    """The excerpt's per-test lines (``test id: why``), without the output tail."""
    head = outcome.excerpt.split(OUTPUT_TAIL_MARK, 1)[0].strip()
    return head or outcome.excerpt.strip()


def _excerpt(failing: Sequence[_Case], output: str, timed_out: bool, timeout: float | None) -> str:
    lines: list[str] = []
    if timed_out:
        lines.append(f"timed out after {timeout}s; the process group was killed")
    for case in failing[:EXCERPT_FAILURES]:
        lines.append(f"{case.test_id}: {_case_summary(case)}")
    if len(failing) > EXCERPT_FAILURES:
        lines.append(f"... and {len(failing) - EXCERPT_FAILURES} more failing tests")
    tail = output.rstrip().splitlines()[-EXCERPT_TAIL_LINES:]
    if tail:
        lines += [OUTPUT_TAIL_MARK, *tail]
    text = "\n".join(lines)
    if len(text) > EXCERPT_MAX_CHARS:
        text = "...\n" + text[-EXCERPT_MAX_CHARS:]
    return text
