"""What makes a test environment: the declarations written out for uv, and their filters."""

from __future__ import annotations

from pathlib import Path

from greenbump.project import load_project
from greenbump.resolve import named_in, parse_pins, requirement_lines


def _project(tmp_path: Path) -> Path:
    (tmp_path / "requirements.txt").write_text("alpha==1.0.0 ; python_version >= '3'\n-c c.txt\n")
    (tmp_path / "c.txt").write_text("gamma<2\n")
    (tmp_path / "requirements-dev.txt").write_text("-r requirements.txt\npytest\n")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "1"\ndependencies = ["beta[fast]>=1"]\n'
        '[project.optional-dependencies]\ndocs = ["sphinx"]\n'
        '[dependency-groups]\nlint = ["ruff"]\n'
        '[build-system]\nrequires = ["setuptools"]\n'
    )
    return tmp_path


def test_every_group_but_build_by_default(tmp_path: Path) -> None:
    requirements, constraints = requirement_lines(load_project(_project(tmp_path)))
    assert requirements == [
        "alpha==1.0.0 ; python_version >= '3'",
        "beta[fast]>=1",
        "pytest",
        "ruff",
        "sphinx",
    ]
    assert constraints == ["gamma<2"]


def test_install_setting_narrows_to_files_and_groups(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path))
    requirements, constraints = requirement_lines(project, ["requirements-dev.txt"])
    assert "pytest" in requirements
    assert "alpha==1.0.0 ; python_version >= '3'" in requirements  # pulled in by -r
    assert "beta[fast]>=1" not in requirements  # pyproject's groups were not asked for
    assert "sphinx" not in requirements
    assert "ruff" not in requirements
    assert constraints == ["gamma<2"]  # constraints always apply


def test_parse_pins_and_suspects() -> None:
    assert parse_pins("alpha==1.0\n    # via x\nBeta_Pkg==2.0 ; python_version > '3'\n") == {
        "alpha": "1.0",
        "beta-pkg": "2.0",
    }
    message = "Because tool==2.0 depends on lib<2 and you require lib==2.1, ..."
    assert named_in(message, ["lib", "tool", "other"]) == ["lib", "tool"]
