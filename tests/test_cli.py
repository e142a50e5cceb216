"""End-to-end tests of the command line: in-process ``main()`` and the installed script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from greenbump import __version__
from greenbump.main import main

EXAMPLE = Path(__file__).parent.parent / "examples" / "app"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"greenbump {__version__}"


def test_help_lists_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "deps" in out
    assert "exit codes" in out


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["deps", "--no-such-flag"])
    assert exc.value.code == 2
    assert "no-such-flag" in capsys.readouterr().err


def test_deps_json_on_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deps", str(EXAMPLE), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1
    by_name = {(d["name"], d["file"]): d for d in doc["dependencies"]}
    httpx_pin = by_name[("httpx", "requirements.txt")]
    assert httpx_pin["constraint"] == "==0.23.3"
    assert httpx_pin["locked"] == "0.23.3"
    assert by_name[("pytest", "requirements-dev.txt")]["line"] == 2
    assert by_name[("httpx", "pyproject.toml")]["constraint"] == ">=0.23"
    assert by_name[("pyyaml", "pyproject.toml")]["group"] == "extra:yaml"
    assert by_name[("pytest", "pyproject.toml")]["group"] == "group:test"
    kinds = {f["path"]: f["kind"] for f in doc["files"]}
    assert kinds == {
        "pyproject.toml": "pyproject",
        "requirements-dev.txt": "requirements",
        "requirements.txt": "requirements",
    }


def test_deps_plain_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deps", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "requirements.txt:12" in out
    assert "\x1b[" not in out  # not a terminal: no escape codes


def test_broken_file_is_exit_2_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "requirements.txt").write_text("requests==2.0\nthis is not valid!!\n")
    before = (tmp_path / "requirements.txt").read_bytes()
    assert main(["deps", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "requirements.txt:2:" in err
    assert "Traceback" not in err
    assert (tmp_path / "requirements.txt").read_bytes() == before


def test_broken_toml_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = [\n"a",,\n]\n')
    assert main(["deps", str(tmp_path)]) == 2
    assert "pyproject.toml:4" in capsys.readouterr().err


def test_missing_include_names_the_including_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "requirements.txt").write_text("# base\n-r missing.txt\n")
    assert main(["deps", str(tmp_path)]) == 2
    assert "requirements.txt:2: included file not found: missing.txt" in capsys.readouterr().err


def test_include_cycle_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "requirements.txt").write_text("-r requirements-dev.txt\n")
    (tmp_path / "requirements-dev.txt").write_text("-r requirements.txt\n")
    assert main(["deps", str(tmp_path)]) == 2
    assert "include cycle" in capsys.readouterr().err


def test_constraint_include_marks_declarations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "requirements.txt").write_text("-c pins/limits.txt\nrequests\n")
    (tmp_path / "pins").mkdir()
    (tmp_path / "pins" / "limits.txt").write_text("urllib3<2\n")
    assert main(["deps", str(tmp_path), "--format", "json"]) == 0
    deps = {d["name"]: d for d in json.loads(capsys.readouterr().out)["dependencies"]}
    assert deps["urllib3"]["is_constraint"] is True
    assert deps["urllib3"]["file"] == "pins/limits.txt"
    assert deps["requests"]["is_constraint"] is False


def test_not_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deps", str(tmp_path / "nope")]) == 2
    assert "not a project directory" in capsys.readouterr().err


def test_installed_script_and_module_agree(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "greenbump"
    for argv in ([str(script)], [sys.executable, "-m", "greenbump"]):
        done = subprocess.run(
            [*argv, "deps", str(EXAMPLE), "--format", "json"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["schema_version"] == 1
