"""The environment builder against real uv, a real local index and real virtual environments."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from greenbump.envs import (
    MARKER,
    EnvBuilder,
    EnvBuildError,
    EnvSpec,
    activated_env,
    installed_distributions,
    installed_files,
    python_in,
    site_packages,
    uv_cache_usable,
)
from greenbump.proc import run
from localindex import DEFAULT_CATALOGUE, Fault, LocalIndex, Release, build_wheel

PYTHON = sys.executable


def _spec(**pins: str) -> EnvSpec:
    return EnvSpec.of(PYTHON, pins)


def _python_says(venv: Path, code: str) -> str:
    return run([python_in(venv), "-c", code], what="probe").stdout.strip()


# -- EnvSpec ---------------------------------------------------------------------------------


def test_spec_normalizes_and_sorts_pins() -> None:
    spec = EnvSpec.of(PYTHON, {"Zeta.Pkg": "0.1.0", "alpha": "1.0.0"})
    assert spec.pins == (("alpha", "1.0.0"), ("zeta-pkg", "0.1.0"))
    same = EnvSpec(PYTHON, (("zeta_pkg", "0.1.0"), ("ALPHA", "1.0.0")))
    assert same == spec
    assert same.hash == spec.hash
    assert len(spec.hash) == 64
    assert spec.requirements_text() == "alpha==1.0.0\nzeta-pkg==0.1.0\n"


def test_spec_hash_changes_with_every_input(tmp_path: Path) -> None:
    base = _spec(alpha="1.0.0")
    variants = [
        _spec(alpha="1.1.0"),
        _spec(alpha="1.0.0", beta="1.0.0"),
        EnvSpec.of("3.99", {"alpha": "1.0.0"}),
        EnvSpec.of(PYTHON, {"alpha": "1.0.0"}, editables=[tmp_path]),
        EnvSpec.of(PYTHON, {"alpha": "1.0.0"}, install=[["--no-deps", "gamma==1.0.0"]]),
    ]
    hashes = {base.hash, *(v.hash for v in variants)}
    assert len(hashes) == len(variants) + 1
    assert base.with_pins({"Alpha": "1.1.0"}).hash == variants[0].hash


def test_spec_hash_is_stable_across_processes() -> None:
    spec = _spec(alpha="1.0.0", beta="2.0.0")
    code = (
        "from greenbump.envs import EnvSpec;"
        f"print(EnvSpec.of({PYTHON!r}, {{'beta': '2.0.0', 'alpha': '1.0.0'}}).hash)"
    )
    assert run([PYTHON, "-c", code]).stdout.strip() == spec.hash


@pytest.mark.parametrize(
    ("pins", "message"),
    [
        ((("alpha", "1.0"), ("Alpha", "2.0")), "conflicting"),
        ((("alpha", "not a version"),), "invalid version"),
        ((("alpha", "1.0; rm -rf"),), "invalid version"),
        ((("-e /tmp", "1.0"),), "invalid distribution name"),
    ],
)
def test_spec_rejects_bad_pins(pins: tuple[tuple[str, str], ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EnvSpec(PYTHON, pins)


# -- building against the local index -------------------------------------------------------


@pytest.fixture(scope="module")
def builder(
    tmp_path_factory: pytest.TempPathFactory, local_index: LocalIndex, isolated_env: dict[str, str]
) -> EnvBuilder:
    root = tmp_path_factory.mktemp("envs")
    return EnvBuilder(root, ["--index-url", local_index.index_url], env=isolated_env)


def test_build_resync_and_reuse(builder: EnvBuilder) -> None:
    first = builder.ensure(_spec(alpha="1.0.0", gamma="1.0.0"), slot=0)
    assert first.created
    assert not first.reused
    assert first.python == python_in(first.path)
    assert installed_distributions(first.path) == {"alpha": "1.0.0", "gamma": "1.0.0"}
    assert _python_says(first.path, "import alpha; print(alpha.greet())") == "hello"
    assert builder.current_hash(0) == first.spec.hash

    # A sentinel inside gamma's metadata survives only if uv leaves gamma alone.
    (site,) = site_packages(first.path)
    sentinel = site / "gamma-1.0.0.dist-info" / "sentinel"
    sentinel.write_text("untouched")

    second = builder.ensure(_spec(alpha="1.1.0", gamma="1.0.0"), slot=0)
    assert not second.created
    assert not second.reused
    assert installed_distributions(second.path) == {"alpha": "1.1.0", "gamma": "1.0.0"}
    assert _python_says(second.path, "import alpha; print(alpha.greet())") == "hello!"
    assert sentinel.read_text() == "untouched"
    assert "alpha==1.1.0" in second.output
    assert "gamma" not in second.output

    # Same spec again: the marker names it, so nothing runs at all. A builder whose every uv
    # call would fail proves it.
    broken = EnvBuilder(builder.root_dir, ["--no-such-uv-option"], env=builder.env)
    third = broken.ensure(_spec(gamma="1.0.0", alpha="1.1.0"), slot=0)
    assert third.reused
    assert third.output == ""
    with pytest.raises(EnvBuildError):
        broken.ensure(_spec(alpha="1.0.0", gamma="1.0.0"), slot=0)


def test_a_sync_is_served_from_uvs_cache_without_asking_the_index(
    tmp_path: Path, make_index: Callable[..., LocalIndex], isolated_env: dict[str, str]
) -> None:
    index = make_index(DEFAULT_CATALOGUE)
    builder = EnvBuilder(tmp_path / "envs", ["--index-url", index.index_url], env=isolated_env)
    builder.ensure(_spec(alpha="1.0.0"), slot=0)
    builder.ensure(_spec(alpha="1.1.0"), slot=0)  # both releases are in uv's cache now

    index.add_fault(Fault(None, status=500))  # the index answers nothing but errors
    asked = len(index.requests)
    back = builder.ensure(_spec(alpha="1.0.0"), slot=0)

    assert not back.reused
    assert installed_distributions(back.path) == {"alpha": "1.0.0"}
    assert len(index.requests) == asked


@pytest.mark.parametrize(
    ("env", "args", "usable"),
    [
        ({}, [], True),
        ({"UV_NO_CACHE": "0"}, [], True),
        ({"UV_NO_CACHE": "false"}, ["--index-url", "x"], True),
        ({"UV_NO_CACHE": "1"}, [], False),
        ({"UV_NO_CACHE": "true"}, [], False),
        ({}, ["--no-cache"], False),
    ],
)
def test_uv_is_asked_offline_only_when_it_keeps_a_cache(
    env: dict[str, str], args: list[str], usable: bool
) -> None:
    assert uv_cache_usable(env, args) is usable


def test_slots_are_separate_environments(builder: EnvBuilder) -> None:
    one = builder.ensure(_spec(alpha="1.0.0"), slot=1)
    two = builder.ensure(_spec(alpha="2.0.0", beta="1.0.0"), slot=2)
    assert one.path != two.path
    assert installed_distributions(one.path) == {"alpha": "1.0.0"}
    assert installed_distributions(two.path) == {"alpha": "2.0.0", "beta": "1.0.0"}
    assert _python_says(two.path, "import alpha; print(alpha.BETA)") == "1.0.0"


def test_install_failure_carries_uv_message_and_clears_marker(builder: EnvBuilder) -> None:
    good = builder.ensure(_spec(alpha="1.0.0"), slot=3)
    with pytest.raises(EnvBuildError) as caught:
        builder.ensure(_spec(alpha="9.9.9"), slot=3)
    error = caught.value
    assert error.stage == "sync"
    assert "alpha" in error.output
    assert "9.9.9" in str(error)
    assert builder.current_hash(3) is None
    assert not (good.path / MARKER).exists()
    # The venv itself stays: the next spec is synced into it, not rebuilt.
    again = builder.ensure(_spec(alpha="1.0.0"), slot=3)
    assert not again.created
    assert not again.reused


def test_empty_spec_empties_the_environment(builder: EnvBuilder) -> None:
    builder.ensure(_spec(alpha="1.0.0", gamma="1.5.0"), slot=4)
    empty = builder.ensure(_spec(), slot=4)
    assert installed_distributions(empty.path) == {}


def test_uv_args_reach_uv(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(Release("epsilon", "3.0.0", module="WHERE = 'find-links'\n")).write(wheels)
    builder = EnvBuilder(
        tmp_path / "envs", ["--no-index", "--find-links", str(wheels)], env=isolated_env
    )
    prepared = builder.ensure(_spec(epsilon="3.0.0"))
    assert _python_says(prepared.path, "import epsilon; print(epsilon.WHERE)") == "find-links"


def test_installed_files_maps_module_to_distribution(builder: EnvBuilder) -> None:
    prepared = builder.ensure(_spec(alpha="2.0.0", beta="1.0.0"), slot=5)
    owners = installed_files(prepared.path)
    module_file = Path(_python_says(prepared.path, "import alpha; print(alpha.__file__)"))
    assert owners[module_file] == "alpha"
    assert owners[Path(_python_says(prepared.path, "import beta; print(beta.__file__)"))] == "beta"
    (site,) = site_packages(prepared.path)
    assert owners[site / "alpha-2.0.0.dist-info" / "METADATA"] == "alpha"
    assert set(owners.values()) == {"alpha", "beta"}


# -- editable projects and extra install items ---------------------------------------------

# An in-tree PEP 517 backend: the test project must install editable without any index.
_BACKEND = """
import base64, hashlib, os, zipfile

NAME, VERSION = "demo_app", "0.1"


def _line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _wheel(directory, pth):
    info = f"{NAME}-{VERSION}.dist-info"
    files = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\n"
        "Tag: py3-none-any\\n",
        f"_{NAME}.pth": pth + "\\n",
    }
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as archive:
        record = []
        for path, text in files.items():
            archive.writestr(path, text)
            record.append(_line(path, text.encode()))
        archive.writestr(f"{info}/RECORD", "\\n".join(record + [f"{info}/RECORD,,"]) + "\\n")
    return name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    with open("build-count", "a") as counter:
        counter.write("x")
    return _wheel(wheel_directory, os.path.abspath("src"))


build_wheel = build_editable
"""


def _editable_project(root: Path) -> Path:
    project = root / "demo-app"
    (project / "src" / "demo_app").mkdir(parents=True)
    (project / "src" / "demo_app" / "__init__.py").write_text("import alpha\nWHO = 'demo'\n")
    (project / "tinybackend.py").write_text(textwrap.dedent(_BACKEND))
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "tinybackend"\nbackend-path = ["."]\n'
        '[project]\nname = "demo_app"\nversion = "0.1"\ndependencies = ["alpha"]\n'
    )
    return project


def test_editable_project_is_synced_not_rebuilt(builder: EnvBuilder, tmp_path: Path) -> None:
    project = _editable_project(tmp_path)
    requirements = tmp_path / "requirements-dev.txt"
    requirements.write_text("gamma==1.5.0\n")
    items = [["-r", str(requirements)]]
    spec = EnvSpec.of(PYTHON, {"alpha": "1.0.0"}, editables=[project], install=items)
    first = builder.ensure(spec, slot=6)
    assert installed_distributions(first.path) == {
        "alpha": "1.0.0",
        "demo-app": "0.1",
        "gamma": "1.5.0",
    }
    assert _python_says(first.path, "import demo_app; print(demo_app.WHO)") == "demo"
    assert (project / "build-count").read_text() == "x"

    moved = builder.ensure(spec.with_pins({"alpha": "1.1.0"}), slot=6)
    assert installed_distributions(moved.path)["alpha"] == "1.1.0"
    assert installed_distributions(moved.path)["gamma"] == "1.5.0"  # install items ran again
    assert (project / "build-count").read_text() == "x"  # the editable was only checked
    # Editable: a change in the source is live without any re-sync.
    (project / "src" / "demo_app" / "__init__.py").write_text("WHO = 'changed'\n")
    assert _python_says(moved.path, "import demo_app; print(demo_app.WHO)") == "changed"


def test_install_item_failure_names_the_stage(builder: EnvBuilder) -> None:
    spec = EnvSpec.of(PYTHON, {"alpha": "1.0.0"}, install=[["--no-deps", "gamma==7.7.7"]])
    with pytest.raises(EnvBuildError) as caught:
        builder.ensure(spec, slot=7)
    assert caught.value.stage == "install"
    assert "gamma" in caught.value.output


def test_another_python_recreates_the_venv(builder: EnvBuilder) -> None:
    first = builder.ensure(_spec(alpha="1.0.0"), slot=8)
    (first.path / "left-over").write_text("x")
    # The same interpreter named differently still counts as another ``python``.
    other = EnvSpec.of(os.path.realpath(sys.executable), {"alpha": "1.0.0"})
    assert other.python != PYTHON
    second = builder.ensure(other, slot=8)
    assert second.created
    assert not (second.path / "left-over").exists()
    assert installed_distributions(second.path) == {"alpha": "1.0.0"}


def test_activated_env_puts_the_venv_first_and_drops_outer_settings(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    outer = tmp_path / "outer"
    base = {
        "PATH": os.pathsep.join([str(outer / "bin"), "/usr/bin"]),
        "VIRTUAL_ENV": str(outer),
        "PYTHONPATH": "/somewhere",
        "PYTHONHOME": "/elsewhere",
        "KEEP": "me",
    }
    env = activated_env(venv, base)
    assert env["PATH"].split(os.pathsep) == [str(venv / "bin"), "/usr/bin"]
    assert env["VIRTUAL_ENV"] == str(venv)
    assert "PYTHONPATH" not in env
    assert "PYTHONHOME" not in env
    assert env["KEEP"] == "me"


def test_install_errors_show_uv_s_own_lines_before_the_build_noise() -> None:
    """A failed build's reason is at the top of uv's output, its tail is compiler noise."""
    from greenbump.envs import _uv_error_lines

    output = "\n".join(
        [
            "Resolved 3 packages in 10ms",
            "  \u00d7 Failed to build `greenlet==1.1.2`",
            "  \u251c\u2500\u25b6 The build backend returned an error",
            *[f"      gcc: warning {i}" for i in range(60)],
            "      hint: This usually indicates a problem with the package.",
        ]
    )
    shown = _uv_error_lines(output)
    assert shown[0] == "  \u00d7 Failed to build `greenlet==1.1.2`"
    assert "hint: This usually indicates a problem with the package." in shown[2]
    assert len(shown) <= 25
    assert _uv_error_lines("just\nsome\noutput") == ["just", "some", "output"]
