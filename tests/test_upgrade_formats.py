"""``greenbump upgrade`` end to end, one project format (and one planning rule) per test.

Every test builds a real git repository in ``tmp_path``, serves its releases from a local index,
runs ``greenbump upgrade`` through ``main`` with ``--format json``, then checks the branch's
files byte for byte where it matters, the JSON report, and that the user's tree is untouched.
pytest comes from the offline wheelhouse (``PIP_FIND_LINKS``), never from the local index.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from uv import find_uv_bin

from greenbump.main import main
from isolation_app import ISOLATION_FILES, ISOLATION_RELEASES, MAXIMAL_GREEN_SET
from localindex import LocalIndex, Release, build_wheel
from upgrade_app import git, snapshot

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

OLD = dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc)

MakeIndex = Callable[..., LocalIndex]


def _rel(name: str, version: str, **kwargs: Any) -> Release:
    kwargs.setdefault("uploaded", OLD)
    kwargs.setdefault("module", f"VERSION = {version!r}\n")
    return Release(name, version, **kwargs)


def _repo(root: Path, files: dict[str, str]) -> Path:
    """A git repository holding ``files`` (written as bytes: no newline translation)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return root


def _upgrade(
    capsys: pytest.CaptureFixture[str], root: Path, index: LocalIndex, *extra: str
) -> tuple[int, dict[str, Any], str]:
    code = main(["upgrade", str(root), "--index-url", index.index_url, "--format", "json", *extra])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip().startswith("{") else {}, err


def _show(root: Path, branch: str, path: str) -> bytes:
    return subprocess.run(
        ["git", "show", f"{branch}:{path}"], cwd=root, check=True, capture_output=True
    ).stdout


def _packages(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in doc["packages"]}


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1)[:6000]


def _uv(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [find_uv_bin(), *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _untouched(root: Path, before: dict[str, bytes]) -> None:
    after = snapshot(root)
    assert after == {**before, "branches": after["branches"]}


def _sha256(release: Release) -> str:
    return "sha256:" + build_wheel(release).sha256


@pytest.fixture
def offline_pytest(wheelhouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    return wheelhouse


TEST_FILE = """\
import importlib


def test_imports():
    for name in {names!r}:
        importlib.import_module(name)
"""


# --------------------------------------------------------------------------------------------
# 1. PEP 621 + uv.lock

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
PYPROJECT_UV = f"""\
[project]
name = "app"
version = "0"
requires-python = ">={PYTHON}"
dependencies = [
    "alpha>=1.0",  # any alpha will do
    'beta==1.0.0',
]

[dependency-groups]
test = ["pytest"]

[tool.uv]
environments = ["sys_platform == 'linux'"]  # the wheelhouse has no colorama
"""


def test_pep621_with_uv_lock(
    tmp_path: Path,
    make_index: MakeIndex,
    offline_pytest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gamma = ["gamma>=1"]  # a transitive dependency: only uv.lock pins it
    index = make_index(
        [_rel("alpha", "1.0.0", requires=gamma), _rel("beta", "1.0.0"), _rel("gamma", "1.0.0")]
    )
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT_UV)
    _uv(
        "lock",
        "--index-url",
        index.index_url,
        "--find-links",
        str(offline_pytest),
        "--python",
        sys.executable,
        cwd=root,
    )
    _repo(root, {"tests/test_app.py": TEST_FILE.format(names=["alpha", "beta"])})
    old_lock = tomllib.loads((root / "uv.lock").read_text())
    index.add(_rel("alpha", "1.1.0", requires=gamma))
    index.add(_rel("beta", "1.1.0"))
    index.add(_rel("gamma", "1.0.1"))
    before = snapshot(root)

    code, doc, err = _upgrade(capsys, root, index)

    assert code == 0, err
    assert doc["status"] == "upgraded", _dump(doc)
    pkgs = _packages(doc)
    assert (pkgs["alpha"]["status"], pkgs["alpha"]["to"]) == ("upgraded", "1.1.0")
    assert (pkgs["beta"]["status"], pkgs["beta"]["to"]) == ("upgraded", "1.1.0")
    assert (pkgs["gamma"]["status"], pkgs["gamma"]["to"]) == ("upgraded", "1.0.1")
    assert pkgs["alpha"]["files"] == ["uv.lock"]
    assert pkgs["gamma"]["files"] == ["uv.lock"]
    assert sorted(pkgs["beta"]["files"]) == ["pyproject.toml", "uv.lock"]
    branch = doc["branch"]
    assert _show(root, branch, "pyproject.toml").decode() == PYPROJECT_UV.replace(
        "'beta==1.0.0'", "'beta==1.1.0'"
    )
    new_lock = tomllib.loads(_show(root, branch, "uv.lock").decode())
    old = {p["name"]: p for p in old_lock["package"]}
    new = {p["name"]: p for p in new_lock["package"]}
    assert new["alpha"]["version"] == "1.1.0"
    assert new["beta"]["version"] == "1.1.0"
    assert new["gamma"]["version"] == "1.0.1"
    moved = ("alpha", "beta", "gamma", "app")
    assert {k: v for k, v in new.items() if k not in moved} == {
        k: v for k, v in old.items() if k not in moved
    }
    assert new["app"]["metadata"]["requires-dist"] == [
        {"name": "alpha", "specifier": ">=1.0"},
        {"name": "beta", "specifier": "==1.1.0"},
    ]
    subjects = git(root, "log", "--format=%s", f"main..{branch}").splitlines()
    assert sorted(subjects) == [
        "Bump alpha from 1.0.0 to 1.1.0",
        "Bump beta from 1.0.0 to 1.1.0",
        "Bump gamma from 1.0.0 to 1.0.1",
    ]
    _untouched(root, before)


# --------------------------------------------------------------------------------------------
# 2. pip-compile output with hashes


def test_compiled_requirements_with_hashes(
    tmp_path: Path,
    make_index: MakeIndex,
    offline_pytest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alpha_old, beta_old = _rel("alpha", "1.0.0"), _rel("beta", "1.0.0")
    alpha_new, beta_new = _rel("alpha", "1.1.0"), _rel("beta", "2.0.0")
    index = make_index([alpha_old, beta_old])
    root = tmp_path / "app"
    root.mkdir()
    (root / "requirements.in").write_text("alpha\nbeta<3\n")
    _uv(
        "pip",
        "compile",
        "requirements.in",
        "--generate-hashes",
        "-o",
        "requirements.txt",
        "--index-url",
        index.index_url,
        "--python-version",
        PYTHON,
        cwd=root,
    )
    old = (root / "requirements.txt").read_text()
    assert old.startswith("# This file was autogenerated by uv")
    assert _sha256(alpha_old) in old
    _repo(
        root,
        {
            "requirements-dev.txt": "-r requirements.txt\npytest\n",
            "tests/test_app.py": TEST_FILE.format(names=["alpha", "beta"]),
        },
    )
    index.add(alpha_new)
    index.add(beta_new)
    before = snapshot(root)

    code, doc, err = _upgrade(capsys, root, index)

    assert code == 0, err
    assert doc["status"] == "upgraded", _dump(doc)
    pkgs = _packages(doc)
    assert (pkgs["alpha"]["to"], pkgs["beta"]["to"]) == ("1.1.0", "2.0.0")
    assert pkgs["alpha"]["files"] == ["requirements.txt"]
    expected = (
        old.replace("alpha==1.0.0", "alpha==1.1.0")
        .replace(_sha256(alpha_old), _sha256(alpha_new))
        .replace("beta==1.0.0", "beta==2.0.0")
        .replace(_sha256(beta_old), _sha256(beta_new))
    )
    assert _show(root, doc["branch"], "requirements.txt").decode() == expected
    assert _show(root, doc["branch"], "requirements.in") == b"alpha\nbeta<3\n"
    _untouched(root, before)


# --------------------------------------------------------------------------------------------
# 3. hand-written hash-pinned requirements


def test_hand_written_hash_pins(
    tmp_path: Path,
    make_index: MakeIndex,
    offline_pytest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alpha_old, alpha_new = _rel("alpha", "1.0.0"), _rel("alpha", "1.1.0", sdist=True)
    beta_old, beta_new = _rel("beta", "1.0.0"), _rel("beta", "1.2.0")
    index = make_index([alpha_old, beta_old, alpha_new, beta_new])
    text = (
        "# pinned by hand\n"
        f"alpha==1.0.0 \\\n    --hash={_sha256(alpha_old)}\n"
        f"beta==1.0.0 --hash={_sha256(beta_old)}  # keep\r\n"
    )
    root = _repo(
        tmp_path / "app",
        {
            "requirements.txt": text,
            "requirements-dev.txt": "-r requirements.txt\npytest\n",
            "tests/test_app.py": TEST_FILE.format(names=["alpha", "beta"]),
        },
    )
    before = snapshot(root)

    code, doc, err = _upgrade(capsys, root, index)

    assert code == 0, err
    assert doc["status"] == "upgraded", _dump(doc)
    served = index.fetch("/simple/alpha/", {"Accept": "application/vnd.pypi.simple.v1+json"}).json()
    alpha_hashes = sorted(
        "sha256:" + f["hashes"]["sha256"] for f in served["files"] if "-1.1.0" in f["filename"]
    )
    assert len(alpha_hashes) == 2  # wheel and sdist
    assert _sha256(alpha_new) in alpha_hashes
    assert _show(root, doc["branch"], "requirements.txt").decode() == (
        "# pinned by hand\n"
        f"alpha==1.1.0 \\\n    --hash={alpha_hashes[0]} \\\n    --hash={alpha_hashes[1]}\n"
        f"beta==1.2.0 --hash={_sha256(beta_new)}  # keep\r\n"
    )
    _untouched(root, before)


# --------------------------------------------------------------------------------------------
# 4-6. releases the plan must skip: another Python, yanked, too young


def test_python_yanked_and_young_releases_are_skipped(
    tmp_path: Path,
    make_index: MakeIndex,
    offline_pytest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    index = make_index(
        [
            _rel("delta", "1.0.0"),
            _rel("delta", "1.1.0"),
            _rel("delta", "2.0.0", requires_python=">=3.99"),
            _rel("zeta", "1.0.0"),
            _rel("zeta", "2.0.0", requires_python=">=3.99"),
            _rel("gamma", "1.0.0"),
            _rel("gamma", "1.1.0", yanked="broken build"),
            _rel("epsilon", "1.0.0"),
            _rel("epsilon", "1.0.1", uploaded=now - dt.timedelta(hours=5)),
        ]
    )
    names = ["delta", "zeta", "gamma", "epsilon"]
    pins = "delta==1.0.0\nzeta==1.0.0\ngamma==1.0.0\nepsilon==1.0.0\n"
    root = _repo(
        tmp_path / "app",
        {
            "requirements.txt": pins,
            "requirements-dev.txt": "-r requirements.txt\npytest\n",
            "tests/test_app.py": TEST_FILE.format(names=names),
        },
    )
    before = snapshot(root)

    code, doc, err = _upgrade(capsys, root, index)

    assert code == 0, err
    pkgs = _packages(doc)
    assert (pkgs["delta"]["status"], pkgs["delta"]["to"]) == ("upgraded", "1.1.0")
    for name in ("zeta", "gamma", "epsilon"):
        assert pkgs[name]["status"] == "unchanged", _dump(doc)
        assert pkgs[name]["to"] is None
    assert "need another Python" in pkgs["zeta"]["reason"]
    assert "yanked" in pkgs["gamma"]["reason"]
    assert pkgs["epsilon"]["reason"] == "1.0.1 is younger than min-release-age (3 days)"
    assert _show(root, doc["branch"], "requirements.txt").decode() == pins.replace(
        "delta==1.0.0", "delta==1.1.0"
    )
    _untouched(root, before)

    code, doc, err = _upgrade(capsys, root, index, "--min-release-age", "0", "--only", "epsilon")

    assert code == 0, err
    pkgs = _packages(doc)
    assert (pkgs["epsilon"]["status"], pkgs["epsilon"]["to"]) == ("upgraded", "1.0.1")
    assert _show(root, doc["branch"], "requirements.txt").decode() == pins.replace(
        "epsilon==1.0.0", "epsilon==1.0.1"
    )
    _untouched(root, before)


# --------------------------------------------------------------------------------------------
# 7. a conflict only a lower version resolves


def test_conflict_steps_one_package_down(
    tmp_path: Path,
    make_index: MakeIndex,
    offline_pytest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # tool 1.2.0 wants lib<2 while lib is planned to 2.0.0; tool 1.1.0 does not care.
    index = make_index(
        [
            _rel("lib", "1.0.0"),
            _rel("lib", "2.0.0"),
            _rel("tool", "1.0.0"),
            _rel("tool", "1.1.0"),
            _rel("tool", "1.1.5", yanked="bad"),  # resolves, but the plan never allows it
            _rel("tool", "1.2.0", requires=["lib<2"]),
        ]
    )
    pins = "lib==1.0.0\ntool==1.0.0\n"
    root = _repo(
        tmp_path / "app",
        {
            "requirements.txt": pins,
            "requirements-dev.txt": "-r requirements.txt\npytest\n",
            "tests/test_app.py": TEST_FILE.format(names=["lib", "tool"]),
        },
    )
    before = snapshot(root)

    code, doc, err = _upgrade(capsys, root, index)

    assert code == 0, err
    assert doc["status"] == "upgraded", _dump(doc)
    pkgs = _packages(doc)
    assert (pkgs["lib"]["status"], pkgs["lib"]["to"]) == ("upgraded", "2.0.0")
    assert (pkgs["tool"]["status"], pkgs["tool"]["to"]) == ("upgraded", "1.1.0"), _dump(doc)
    assert "capped at 1.1.0 by the resolver" in pkgs["tool"]["reason"]
    assert "lib" in pkgs["tool"]["reason"]
    assert _show(root, doc["branch"], "requirements.txt") == b"lib==2.0.0\ntool==1.1.0\n"
    assert len(doc["test_runs"]) == 2  # baseline and the resolvable set: green at once
    _untouched(root, before)


def test_a_hold_is_judged_against_the_final_set(
    tmp_path: Path,
    make_index: MakeIndex,
    offline_pytest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """fw 2.0 needs jj>=2 and xx 2.0 needs jj<2: the full set cannot resolve. Once jj moves,
    fw can too; only xx stays behind, and its reason names jj (as on a real application,
    where a framework was held "because of" a template library the same run upgraded)."""
    index = make_index(
        [
            _rel("fw", "1.0.0", requires=["jj"]),
            _rel("fw", "2.0.0", requires=["jj>=2"]),
            _rel("jj", "1.0.0"),
            _rel("jj", "2.0.0"),
            _rel("xx", "1.0.0"),
            _rel("xx", "2.0.0", requires=["jj<2"]),
        ]
    )
    root = _repo(
        tmp_path / "app",
        {
            "requirements.txt": "fw==1.0.0\njj==1.0.0\nxx==1.0.0\n",
            "requirements-dev.txt": "-r requirements.txt\npytest\n",
            "tests/test_app.py": TEST_FILE.format(names=["fw", "jj", "xx"]),
        },
    )

    code, doc, err = _upgrade(capsys, root, index)

    assert code == 0, err
    pkgs = _packages(doc)
    got = {name: (pkgs[name]["status"], pkgs[name]["to"]) for name in ("fw", "jj", "xx")}
    assert got == {
        "fw": ("upgraded", "2.0.0"),
        "jj": ("upgraded", "2.0.0"),
        "xx": ("held", "2.0.0"),
    }, _dump(doc)
    assert "no newer version resolves" in pkgs["xx"]["reason"]
    assert "jj" in pkgs["xx"]["reason"]
    assert _show(root, doc["branch"], "requirements.txt") == b"fw==2.0.0\njj==2.0.0\nxx==1.0.0\n"


# --------------------------------------------------------------------------------------------
# 8. Poetry: caret constraints and poetry.lock

PYPROJECT_POETRY = """\
[tool.poetry]
name = "app"
version = "0.1.0"
description = ""
authors = []
package-mode = false

[tool.poetry.dependencies]
python = ">={python}"
alpha = "^1.0"  # caret
beta = "1.0.0"
gamma = "^1.0"

[[tool.poetry.source]]
name = "local"
url = "{url}"
priority = "primary"
"""

UNITTEST_FILE = """\
import unittest

import alpha
import beta
import gamma


class Test(unittest.TestCase):
    def test_imports(self):
        self.assertTrue(alpha.VERSION and beta.VERSION and gamma.VERSION)
"""


@pytest.fixture
def poetry_bin(monkeypatch: pytest.MonkeyPatch) -> Path:
    found = shutil.which("poetry", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("poetry is not installed beside the test interpreter (pip install '.[test]')")
    monkeypatch.setenv("PATH", f"{Path(found).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("POETRY_KEYRING_ENABLED", "false")
    return Path(found)


def test_poetry_caret_and_lock(
    tmp_path: Path,
    make_index: MakeIndex,
    poetry_bin: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Poetry's HTTP cache mishandles the local index's 304s (see test_relock.poetry_project).
    index = make_index(
        [_rel("alpha", "1.0.0"), _rel("beta", "1.0.0"), _rel("gamma", "1.0.0")],
        cache_headers=False,
    )
    root = tmp_path / "app"
    root.mkdir()
    pyproject = PYPROJECT_POETRY.format(python=PYTHON, url=index.index_url)
    (root / "pyproject.toml").write_text(pyproject)
    done = subprocess.run(
        [str(poetry_bin), "lock", "--no-interaction"],
        cwd=root,
        env={**os.environ, "POETRY_VIRTUALENVS_CREATE": "false"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    old_lock = (root / "poetry.lock").read_text()
    _repo(root, {"tests/test_app.py": UNITTEST_FILE, "tests/__init__.py": ""})
    index.add(_rel("alpha", "2.0.0"))
    index.add(_rel("beta", "1.1.0"))
    index.add(_rel("gamma", "1.1.0"))
    before = snapshot(root)

    code, doc, err = _upgrade(
        capsys, root, index, "--test", "python -m unittest discover -s tests -t ."
    )

    assert code == 0, err
    assert doc["status"] == "upgraded", _dump(doc)
    pkgs = _packages(doc)
    assert [pkgs[n]["to"] for n in ("alpha", "beta", "gamma")] == ["2.0.0", "1.1.0", "1.1.0"]
    assert pkgs["gamma"]["files"] == ["poetry.lock"]  # ^1.0 admits 1.1.0: only the lock moves
    assert sorted(pkgs["alpha"]["files"]) == ["poetry.lock", "pyproject.toml"]
    assert sorted(pkgs["beta"]["files"]) == ["poetry.lock", "pyproject.toml"]
    branch = doc["branch"]
    assert _show(root, branch, "pyproject.toml").decode() == pyproject.replace(
        'beta = "1.0.0"', 'beta = "1.1.0"'
    ).replace('alpha = "^1.0"', 'alpha = "^2.0"')
    new_lock = tomllib.loads(_show(root, branch, "poetry.lock").decode())
    assert {p["name"]: p["version"] for p in new_lock["package"]} == {
        "alpha": "2.0.0",
        "beta": "1.1.0",
        "gamma": "1.1.0",
    }
    assert (
        new_lock["metadata"]["content-hash"] != tomllib.loads(old_lock)["metadata"]["content-hash"]
    )
    _untouched(root, before)


# --------------------------------------------------------------------------------------------
# 9. culprit isolation: the maximal green set, every hold explained, a bounded test budget


def test_isolation_keeps_the_maximal_green_set(
    tmp_path: Path,
    make_index: MakeIndex,
    offline_pytest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    index = make_index(ISOLATION_RELEASES)
    root = _repo(tmp_path / "app", ISOLATION_FILES)
    before = snapshot(root)
    report = tmp_path / "report.md"  # outside the repository: the tree stays untouched

    code, doc, err = _upgrade(capsys, root, index, "--report", str(report))

    assert code == 0, err
    assert doc["status"] == "upgraded", _dump(doc)
    pkgs = _packages(doc)
    markdown = report.read_text()
    short = markdown.split("## Upgraded, but not as far as planned", 1)[1].split("##", 1)[0]
    assert "**m** 1.1.0 instead of 1.2.0" in short  # with its reason and failing test
    assert "tests/test_app.py::test_m" in short
    got = {name: (p["status"], p["to"]) for name, p in pkgs.items()}
    assert {k: v for k, v in got.items() if k != "pytest"} == MAXIMAL_GREEN_SET, _dump(doc)
    for name, test in (("a1", "test_a1"), ("a2", "test_a2"), ("m", "test_m")):
        assert pkgs[name]["failing_tests"] == [f"tests/test_app.py::{test}"], _dump(doc)
        assert f"{name} broke" in pkgs[name]["error"]
    assert "1.2.0" in pkgs["m"]["reason"]
    for name in ("a1", "a2", "devtool"):
        assert pkgs[name]["reason"], name
        assert pkgs[name]["commit"] is None
    assert "a1" in pkgs["devtool"]["reason"]
    branch = doc["branch"]
    assert _show(root, branch, "requirements.txt") == (
        b"a1==1.0.0\na2==1.0.0\nm==1.1.0\npa==2.0.0\npb==2.0.0\nok==1.0.1\n"
    )
    assert _show(root, branch, "requirements-dev.txt") == (
        b"-r requirements.txt\npytest\ndevtool==1.0.0\n"
    )
    subjects = git(root, "log", "--format=%s", f"main..{branch}").splitlines()
    assert sorted(subjects) == [
        "Bump m from 1.0.0 to 1.1.0",
        "Bump ok from 1.0.0 to 1.0.1",
        "Bump pa from 1.0.0 to 2.0.0",
        "Bump pb from 1.0.0 to 2.0.0",
    ]
    planned = 7
    runs = [
        (
            {k: v for k, v in r["pins"].items() if k in pkgs and v != "1.0.0"},
            r["passed"],
            r["new_failures"],
        )
        for r in doc["test_runs"]
    ]
    # The budget counts test executions after the baseline; a probe uv cannot resolve (devtool
    # 2.0.0 without a1 2.0.0) is recorded but runs no tests. Measured: 16 runs = baseline,
    # full set, 7 narrowing probes, the unresolvable devtool probe, pa then pa+pb, and one
    # re-check against the final set per held version (a1, a2, m 1.2.0, devtool).
    executed = [r for r in doc["test_runs"][1:] if r["resolved"]]
    assert len(executed) <= 2 * planned, "\n".join(map(str, runs))
    assert len(doc["test_runs"]) <= 2 * planned + 2, "\n".join(map(str, runs))
    _untouched(root, before)
