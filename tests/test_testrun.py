"""The test runner on real projects in temporary directories, in real environments.

The environments hold a package from the local index (whose behaviour changes with its
version) and pytest, installed offline from wheels repacked out of this very environment
(see ``wheelhouse.py`` for why).
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from greenbump.envs import EnvBuilder, EnvSpec, python_in
from greenbump.proc import run
from greenbump.testrun import (
    WHOLE_RUN,
    TestOutcome,
    _node_id,
    _parse_junit,
    compare_to_baseline,
    detect_test_command,
    failure_lines,
    is_pytest_command,
    rerun_failed,
    run_tests,
)
from localindex import LocalIndex
from wheelhouse import build_wheelhouse

PYTEST = ["python", "-m", "pytest"]
PYPROJECT = '[tool.pytest.ini_options]\npythonpath = ["."]\n'


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


# -- environments with pytest and alpha 1 or 2 --------------------------------------------


@pytest.fixture(scope="module")
def venvs(
    tmp_path_factory: pytest.TempPathFactory, local_index: LocalIndex, isolated_env: dict[str, str]
) -> dict[str, Path]:
    wheels = tmp_path_factory.mktemp("wheelhouse")
    pytest_pins = build_wheelhouse(wheels)
    builder = EnvBuilder(
        tmp_path_factory.mktemp("envs"),
        ["--index-url", local_index.index_url, "--find-links", str(wheels)],
        env=isolated_env,
        compile_bytecode=True,  # every run would compile pytest again otherwise
    )
    one = EnvSpec.of(sys.executable, {**pytest_pins, "alpha": "1.0.0"})
    two = one.with_pins({"alpha": "2.0.0", "beta": "1.0.0"})
    return {"v1": builder.ensure(one, 0).path, "v2": builder.ensure(two, 1).path}


APP = {
    "pyproject.toml": PYPROJECT,
    "app.py": """
        import alpha

        def greeting():
            return alpha.greet() + ", world"
    """,
    "tests/test_app.py": """
        import alpha
        import pytest

        import app

        def test_greeting():
            assert app.greeting() == "hello, world"

        def test_value_is_positive():
            assert alpha.VALUE > 0

        class TestGroup:
            @pytest.mark.parametrize("n", [1, 2])
            def test_param(self, n):
                assert n

        @pytest.mark.skip(reason="not today")
        def test_skipped():
            raise AssertionError
    """,
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("app"), APP)


@pytest.fixture(scope="module")
def baseline(
    app: Path, venvs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> TestOutcome:
    return run_tests(PYTEST, app, venvs["v1"], 120, tmp_path_factory.mktemp("junit"))


@pytest.fixture(scope="module")
def upgraded(
    app: Path, venvs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> TestOutcome:
    return run_tests(PYTEST, app, venvs["v2"], 120, tmp_path_factory.mktemp("junit"))


def test_green_run_reports_every_test(baseline: TestOutcome) -> None:
    assert baseline.passed, baseline.excerpt
    assert baseline.per_test
    assert not baseline.timed_out
    assert baseline.returncode == 0
    assert baseline.failed == ()
    assert dict(baseline.tests) == {
        "tests/test_app.py::test_greeting": "passed",
        "tests/test_app.py::test_value_is_positive": "passed",
        "tests/test_app.py::TestGroup::test_param[1]": "passed",
        "tests/test_app.py::TestGroup::test_param[2]": "passed",
        "tests/test_app.py::test_skipped": "skipped",
    }


def test_ids_are_pytest_node_ids(baseline: TestOutcome, app: Path, venvs: dict[str, Path]) -> None:
    collected = run(
        [python_in(venvs["v1"]), "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=app,
    ).stdout.splitlines()
    assert {t for t, _ in baseline.tests} == {line for line in collected if "::" in line}


def test_red_run_names_the_failing_test_and_its_traceback(upgraded: TestOutcome) -> None:
    failing = "tests/test_app.py::test_greeting"
    assert not upgraded.passed
    assert upgraded.returncode == 1
    assert upgraded.failed == (failing,)
    assert upgraded.outcome_of(failing) == "failed"
    assert upgraded.outcome_of("tests/test_app.py::test_value_is_positive") == "passed"
    text = upgraded.traceback_of(failing)
    assert "hi, world" in text
    assert "tests/test_app.py:" in text
    assert f"{failing}: " in upgraded.excerpt
    assert "1 failed" in upgraded.excerpt  # the tail of pytest's output
    assert upgraded.junit_path is not None
    assert Path(upgraded.junit_path).is_file()


def test_compare_to_baseline_finds_the_new_failure(
    baseline: TestOutcome, upgraded: TestOutcome
) -> None:
    assert compare_to_baseline(baseline, upgraded) == {"tests/test_app.py::test_greeting"}
    assert compare_to_baseline(upgraded, baseline) == set()
    assert compare_to_baseline(upgraded, upgraded) == set()


def test_nothing_is_written_into_the_project(baseline: TestOutcome, app: Path) -> None:
    assert baseline.passed
    assert not (app / ".pytest_cache").exists()
    assert not list(app.rglob("__pycache__"))


def test_collection_error_counts_for_the_tests_it_hides(
    tmp_path: Path, venvs: dict[str, Path]
) -> None:
    project = _write(
        tmp_path / "p",
        {
            "pyproject.toml": PYPROJECT,
            "tests/test_a.py": "def test_a():\n    pass\n",
            "tests/test_b.py": "from alpha import BETA\n\ndef test_beta():\n    assert BETA\n",
        },
    )
    # alpha 2.0.0 has BETA; 1.0.0 does not, so test_b.py stops importing.
    green = run_tests(PYTEST, project, venvs["v2"], 120, tmp_path / "junit")
    red = run_tests(PYTEST, project, venvs["v1"], 120, tmp_path / "junit")
    assert green.passed, green.excerpt
    assert not red.passed
    assert red.outcome_of("tests/test_b.py") == "error"
    assert "ImportError" in red.traceback_of("tests/test_b.py")
    new = compare_to_baseline(green, red)
    assert {"tests/test_b.py", "tests/test_b.py::test_beta"} <= new


def test_the_environment_is_active_and_clean(tmp_path: Path, venvs: dict[str, Path]) -> None:
    project = _write(
        tmp_path / "p",
        {
            "pyproject.toml": PYPROJECT,
            "tests/test_env.py": """
                import os
                import sys

                def test_env():
                    assert os.environ["PYTHONHASHSEED"] == "0"
                    assert os.environ["PYTHONDONTWRITEBYTECODE"] == "1"
                    assert "PYTHONPATH" not in os.environ
                    assert "PYTEST_CURRENT_TEST_OUTER" not in os.environ
                    assert os.environ["GREENBUMP_PASSED_THROUGH"] == "yes"
                    assert os.path.samefile(os.environ["VIRTUAL_ENV"], sys.prefix)
                    first = os.environ["PATH"].split(os.pathsep)[0]
                    assert os.path.samefile(first, os.path.dirname(sys.executable))
                    assert sys.prefix != sys.base_prefix
            """,
        },
    )
    base = {
        **os.environ,
        "PYTHONPATH": str(tmp_path / "elsewhere"),
        "GREENBUMP_PASSED_THROUGH": "yes",
    }
    outcome = run_tests(PYTEST, project, venvs["v1"], 120, tmp_path / "junit", env=base)
    assert outcome.passed, outcome.excerpt


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:  # a zombie waiting for init to reap it is dead as far as we care
        return stat.read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def test_hanging_test_is_killed_with_its_children(tmp_path: Path, venvs: dict[str, Path]) -> None:
    project = _write(
        tmp_path / "p",
        {
            "pyproject.toml": PYPROJECT,
            "tests/test_hang.py": """
                import pathlib
                import subprocess
                import sys
                import time

                def test_hang():
                    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
                    pathlib.Path("child.tmp").write_text(str(child.pid))
                    pathlib.Path("child.tmp").rename("child.pid")
                    time.sleep(60)
            """,
        },
    )
    started = time.monotonic()
    outcome = run_tests(PYTEST, project, venvs["v1"], 3, tmp_path / "junit")
    assert time.monotonic() - started < 30
    assert outcome.timed_out
    assert not outcome.passed
    assert not outcome.per_test
    assert outcome.failed == (WHOLE_RUN,)
    assert "timed out" in outcome.excerpt
    child = int((project / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
    assert rerun_failed(PYTEST, project, venvs["v1"], outcome, timeout=3, junit_dir=tmp_path) == (
        outcome
    )


FLAKY = """
    import pathlib

    def test_flaky():
        marker = pathlib.Path(__file__).with_name("ran-once")
        if not marker.exists():
            marker.write_text("1")
            raise AssertionError("fails on its first run only")

    def test_fine():
        pass
"""


def test_rerun_flags_a_test_that_fails_once_as_flaky(
    tmp_path: Path, venvs: dict[str, Path]
) -> None:
    project = _write(
        tmp_path / "p",
        {
            "pyproject.toml": PYPROJECT,
            "tests/test_flaky.py": FLAKY,
            "tests/test_broken.py": "def test_broken():\n    assert 1 == 2, 'always'\n",
        },
    )
    junit = tmp_path / "junit"
    first = run_tests(PYTEST, project, venvs["v1"], 120, junit)
    assert set(first.failed) == {
        "tests/test_flaky.py::test_flaky",
        "tests/test_broken.py::test_broken",
    }
    assert "fails on its first run only" in first.traceback_of("tests/test_flaky.py::test_flaky")
    merged = rerun_failed(PYTEST, project, venvs["v1"], first, timeout=120, junit_dir=junit)
    assert merged.flaky == ("tests/test_flaky.py::test_flaky",)
    assert merged.failed == ("tests/test_broken.py::test_broken",)
    assert not merged.passed
    assert merged.traceback_of("tests/test_flaky.py::test_flaky") == ""
    # A flaky test is never blamed on an upgrade.
    green = TestOutcome(
        passed=True,
        timed_out=False,
        returncode=0,
        duration=0.0,
        per_test=True,
        tests=tuple((t, "passed") for t, _ in first.tests),
    )
    assert compare_to_baseline(green, merged) == {"tests/test_broken.py::test_broken"}


def test_run_that_is_only_flaky_passes_after_rerun(tmp_path: Path, venvs: dict[str, Path]) -> None:
    project = _write(tmp_path / "p", {"pyproject.toml": PYPROJECT, "tests/test_flaky.py": FLAKY})
    first = run_tests(PYTEST, project, venvs["v1"], 120, tmp_path / "junit")
    assert not first.passed
    merged = rerun_failed(PYTEST, project, venvs["v1"], first, timeout=120, junit_dir=tmp_path)
    assert merged.passed
    assert merged.failed == ()
    assert merged.flaky == ("tests/test_flaky.py::test_flaky",)


def test_other_runners_are_judged_by_exit_code(tmp_path: Path, venvs: dict[str, Path]) -> None:
    ok = run_tests(["python", "-c", "import alpha"], tmp_path, venvs["v1"], 60, tmp_path)
    assert ok.passed
    assert not ok.per_test
    bad = run_tests(
        ["python", "-c", "import alpha, sys; sys.exit(alpha.VALUE)"],
        tmp_path,
        venvs["v2"],
        60,
        tmp_path,
    )
    assert not bad.passed
    assert bad.returncode == 2
    assert bad.failed == (WHOLE_RUN,)
    assert compare_to_baseline(ok, bad) == {WHOLE_RUN}
    # Red at baseline and no per-test results: nothing known to pass, so only a pass is no worse.
    assert compare_to_baseline(bad, bad) == {WHOLE_RUN}
    assert compare_to_baseline(bad, ok) == set()
    assert list(tmp_path.glob("junit-*.xml")) == []


# -- detection and parsing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"tests/test_x.py": ""}, PYTEST),
        ({"test/test_x.py": ""}, PYTEST),
        ({"pytest.ini": "[pytest]\n"}, PYTEST),
        ({"conftest.py": ""}, PYTEST),
        ({"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q'\n"}, PYTEST),
        ({"pyproject.toml": "[tool.pytest.ini_options\nbroken"}, PYTEST),
        ({"setup.cfg": "[metadata]\nname = x\n[tool:pytest]\naddopts = -q\n"}, PYTEST),
        ({"tox.ini": "[tox]\nenv_list = py\n[pytest]\naddopts = -q\n"}, PYTEST),
        ({"tox.ini": "[tox]\nenv_list = py\n"}, ["python", "-m", "tox"]),
        ({"pyproject.toml": "[tool.tox]\nenv_list = ['py']\n"}, ["python", "-m", "tox"]),
        ({"noxfile.py": "import nox\n"}, ["python", "-m", "nox"]),
        ({"setup.cfg": "[metadata]\nname = x\n", "pyproject.toml": "[project]\n"}, None),
        ({}, None),
    ],
)
def test_detect_test_command(
    tmp_path: Path, files: dict[str, str], expected: list[str] | None
) -> None:
    assert detect_test_command(_write(tmp_path, files)) == expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["python", "-m", "pytest", "-x"], True),
        (["python", "-mpytest"], True),
        (["python", "-X", "dev", "-m", "pytest"], True),
        (["/venv/bin/pytest", "tests"], True),
        (["py.test"], True),
        (["python", "-m", "tox"], False),
        (["python", "runtests.py", "-m", "pytest"], False),
        (["make", "test"], False),
        ([], False),
    ],
)
def test_is_pytest_command(command: list[str], expected: bool) -> None:
    assert is_pytest_command(command) is expected


def test_node_ids_without_file_attribute_are_found_on_disk(tmp_path: Path) -> None:
    _write(tmp_path, {"tests/unit/test_m.py": ""})
    assert _node_id("tests.unit.test_m.TestA.TestB", "test_x[a.b]", None, tmp_path) == (
        "tests/unit/test_m.py::TestA::TestB::test_x[a.b]"
    )
    assert _node_id("tests.unit.test_m", "test_y", None, tmp_path) == "tests/unit/test_m.py::test_y"
    assert _node_id("nowhere.mod", "test_z", None, tmp_path) == "nowhere.mod::test_z"
    # Doctests: the name holds dots of its own.
    assert _node_id("src.pkg.mod", "pkg.mod.func", "src/pkg/mod.py", tmp_path) == (
        "src/pkg/mod.py::pkg.mod.func"
    )


def test_junit_with_a_doctype_is_not_parsed(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        '<testsuites><testsuite><testcase classname="t" name="x">&a;</testcase>'
        "</testsuite></testsuites>"
    )
    assert _parse_junit(report, tmp_path) is None
    report.write_text("<testsuites><testsuite><testcase classname='t'")
    assert _parse_junit(report, tmp_path) is None
    assert _parse_junit(tmp_path / "missing.xml", tmp_path) is None


def _outcome(tests: dict[str, str], *, flaky: tuple[str, ...] = ()) -> TestOutcome:
    failed = tuple(t for t, o in tests.items() if o in {"failed", "error"} and t not in flaky)
    return TestOutcome(
        passed=not failed,
        timed_out=False,
        returncode=1 if failed else 0,
        duration=1.0,
        tests=tuple(tests.items()),
        failed=failed,
        flaky=flaky,
        per_test=True,
    )


def test_compare_to_baseline_rules() -> None:
    baseline = _outcome(
        {"a": "passed", "b": "failed", "c": "skipped", "d": "passed", "f": "passed"}
    )
    now = _outcome(
        {"a": "failed", "b": "failed", "c": "error", "e": "error", "f": "failed"}, flaky=("f",)
    )
    # a: passed -> failed; b: failing already; c: skipped -> error; d: vanished from a red run;
    # e: new and failing; f: flaky.
    assert compare_to_baseline(baseline, now) == {"a", "c", "d", "e"}
    timed_out = TestOutcome(passed=False, timed_out=True, returncode=-9, duration=2.0)
    assert compare_to_baseline(baseline, timed_out) == {WHOLE_RUN}
    red_unknown = TestOutcome(passed=False, timed_out=False, returncode=1, duration=1.0)
    assert compare_to_baseline(red_unknown, now) == {"a", "b", "c", "e"}  # all but flaky f
    assert compare_to_baseline(red_unknown, _outcome({"a": "passed"})) == set()


def test_nothing_passing_at_baseline_means_only_a_pass_is_green() -> None:
    """The test file did not import at baseline; still not importing is not "no worse"."""
    unimportable = _outcome({"tests/test_app.py": "error"})
    assert compare_to_baseline(unimportable, unimportable) == {"tests/test_app.py"}
    importing_but_failing = _outcome({"tests/test_app.py::test_a": "failed"})
    assert compare_to_baseline(unimportable, importing_but_failing) == {"tests/test_app.py::test_a"}
    fixed = _outcome({"tests/test_app.py::test_a": "passed"})
    assert compare_to_baseline(unimportable, fixed) == set()
    # One test passing at baseline: judged by that test only, as before.
    partly = _outcome({"tests/test_app.py::test_a": "passed", "tests/test_b.py": "error"})
    assert compare_to_baseline(partly, partly) == set()


def test_a_red_run_without_results_after_a_partly_green_baseline_is_a_regression() -> None:
    partly = _outcome({"a": "passed", "b": "failed"})
    crashed = TestOutcome(passed=False, timed_out=False, returncode=4, duration=1.0)
    assert compare_to_baseline(partly, crashed) == {WHOLE_RUN}


def test_a_module_that_cannot_import_is_summarised_by_its_exception(
    tmp_path: Path, venvs: dict[str, Path]
) -> None:
    """pytest's JUnit message for it is only "collection failure": the excerpt and the
    failure lines carry the exception instead, so a report says why without a re-run."""
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_broken.py").write_text(
        "from alpha import no_such_name\n\n\ndef test_x():\n    pass\n"
    )
    outcome = run_tests(PYTEST, project, venvs["v1"], 120, tmp_path)
    assert not outcome.passed
    assert outcome.failed == ("tests/test_broken.py",)
    summary = failure_lines(outcome)
    assert summary.startswith("tests/test_broken.py: ImportError: cannot import name")
    assert "no_such_name" in summary
    assert "--- output (tail) ---" not in summary
