"""How a greenbump process ends: exit codes, exit handlers, and ``check``'s quick exit.

``check`` ends with ``os._exit`` once its exit handlers ran and its output is flushed,
skipping the interpreter's teardown; every other command exits normally. A witness object
whose ``__del__`` prints tells the two apart: only a teardown runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from localindex import LocalIndex

EXAMPLE = Path(__file__).parent.parent / "examples" / "app"

WITNESSED = """
import atexit, sys

class Witness:
    def __del__(self):
        sys.stdout.write("teardown ran\\n")
        sys.stdout.flush()

witness = Witness()
atexit.register(lambda: print("exit handler ran", flush=True))
sys.argv = {argv!r}
from greenbump.launch import entry
entry()
"""


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    code = WITNESSED.format(argv=["greenbump", *argv])
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )


def _project(tmp_path: Path, pins: str) -> Path:
    project = tmp_path / "app"
    project.mkdir()
    (project / "requirements.txt").write_text(pins)
    return project


def _check_argv(project: Path, index: LocalIndex, *extra: str) -> list[str]:
    advisories = project.parent / "osv"  # one advisory, for a package the project lacks
    advisories.mkdir(exist_ok=True)
    record = {
        "id": "PYSEC-2099-7",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "gamma"}, "versions": ["1.0"]}],
    }
    (advisories / "PYSEC-2099-7.json").write_text(json.dumps(record))
    return [
        "check",
        str(project),
        "--index-url",
        index.index_url,
        "--python",
        "3.11",
        "--advisories",
        str(advisories),
        *extra,
    ]


def test_check_ends_quickly_after_its_exit_handlers(
    tmp_path: Path, local_index: LocalIndex
) -> None:
    project = _project(tmp_path, "alpha==1.0.0\nbeta==1.0.0\n")
    done = _run(_check_argv(project, local_index, "--format", "json"))
    assert done.returncode == 0, done.stderr
    report, _, rest = done.stdout.rpartition("}\n")
    assert json.loads(report + "}")["schema_version"] == 1  # the whole report arrived
    assert rest == "exit handler ran\n"  # handlers ran after the output; no teardown
    assert "teardown ran" not in done.stdout


def test_quick_exit_keeps_the_exit_code(tmp_path: Path, local_index: LocalIndex) -> None:
    project = _project(tmp_path, "alpha==1.0.0\n")
    done = _run(_check_argv(project, local_index, "--fail-on", "outdated"))
    assert done.returncode == 1, done.stderr
    assert "teardown ran" not in done.stdout
    assert done.stdout.endswith("exit handler ran\n")


def test_input_errors_of_check_exit_2_quickly(tmp_path: Path, local_index: LocalIndex) -> None:
    project = _project(tmp_path, "alpha==1.0.0\nno-such-package==1.0\n")
    done = _run(_check_argv(project, local_index))
    assert done.returncode == 2
    assert "no-such-package" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == "exit handler ran\n"


def test_other_commands_exit_normally() -> None:
    done = _run(["deps", str(EXAMPLE), "--format", "json"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.split("exit handler ran")[0])["schema_version"] == 1
    assert done.stdout.endswith("exit handler ran\nteardown ran\n")


def test_collector_paused_restores_the_collector_as_it_found_it() -> None:
    import gc

    from greenbump.launch import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()  # on again for the next check in this process
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
