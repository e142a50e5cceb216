"""relock and compile_requirements against the local index: real uv, real locks, no mocks.

Each test makes its starting lock with the tool itself (pinned low with ``--upgrade-package``),
then asks :func:`greenbump.relock.relock` to move one package, and checks that package moved to
exactly the requested version while the others kept theirs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import pytest

from greenbump.errors import ExternalError
from greenbump.indexconfig import IndexConfig, IndexUrl
from greenbump.model import DependencyFile, FileKind
from greenbump.readers.locks import (
    parse_pdm_lock,
    parse_pipfile_lock,
    parse_poetry_lock,
    parse_pylock,
    parse_uv_lock,
)
from greenbump.readers.requirements import parse_requirements
from greenbump.relock import (
    RelockFailed,
    RelockUnsupported,
    ResolutionFailed,
    compile_requirements,
    relock,
)
from localindex import DEFAULT_CATALOGUE, Fault, LocalIndex, Release, uv_bin

Reader = Callable[[str, PurePosixPath], DependencyFile]


def _config(index: LocalIndex, *, auth: tuple[str, str] | None = None) -> IndexConfig:
    username, password = auth if auth else (None, None)
    entry = IndexUrl(url=index.index_url, source="test", username=username, password=password)
    return IndexConfig(index=entry)


def _uv(cwd: Path, *args: str) -> str:
    done = subprocess.run([uv_bin(), *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _load(project: Path, name: str, reader: Reader) -> DependencyFile:
    path = PurePosixPath(name)
    return reader((project / path).read_text(encoding="utf-8"), path)


def _versions(project: Path, name: str, reader: Reader) -> dict[str, str]:
    return {
        decl.key: decl.locked
        for decl in _load(project, name, reader).declarations
        if decl.locked is not None
    }


def _sha256(index: LocalIndex, project: str, version: str) -> set[str]:
    """The sha256 of every file the index serves for one release."""
    page = index.fetch(f"/simple/{project}/", {"Accept": "application/vnd.pypi.simple.v1+json"})
    prefix = f"{project.replace('-', '_')}-{version}"
    return {
        "sha256:" + item["hashes"]["sha256"]
        for item in page.json()["files"]
        if item["filename"].replace("-", "_", 1).startswith(prefix.replace("-", "_", 1) + "-")
        or item["filename"].startswith(prefix + ".tar")
    }


def _pyproject(project: Path, dependencies: list[str], tail: str = "") -> None:
    listed = ", ".join(f'"{item}"' for item in dependencies)
    (project / "pyproject.toml").write_text(
        "[project]\n"
        'name = "demo"\n'
        'version = "0.1.0"\n'
        'requires-python = ">=3.10"\n'
        f"dependencies = [{listed}]\n" + tail,
        encoding="utf-8",
    )


# --------------------------------------------------------------------------------------------
# uv.lock


def test_uv_lock_moves_only_the_upgraded_package(local_index: LocalIndex, tmp_path: Path) -> None:
    _pyproject(tmp_path, ["alpha>=1.0", "gamma>=1.0"])
    url = local_index.index_url
    _uv(tmp_path, "lock", "--default-index", url, "-P", "alpha==1.0.0", "-P", "gamma==1.0.0")
    assert _versions(tmp_path, "uv.lock", parse_uv_lock) == {
        "alpha": "1.0.0",
        "demo": "0.1.0",
        "gamma": "1.0.0",
    }

    lock = _load(tmp_path, "uv.lock", parse_uv_lock)
    relock(tmp_path, lock, _config(local_index), upgrade={"Alpha": "2.0.0"}, python=sys.executable)

    assert _versions(tmp_path, "uv.lock", parse_uv_lock) == {
        "alpha": "2.0.0",
        "beta": "2.0.0",  # new: alpha 2 depends on it
        "demo": "0.1.0",
        "gamma": "1.0.0",  # kept, though 1.5.0 is the newest
    }
    text = (tmp_path / "uv.lock").read_text(encoding="utf-8")
    assert f'registry = "{url}"' in text


def test_uv_lock_keeps_the_resolver_options_it_records(
    local_index: LocalIndex, tmp_path: Path
) -> None:
    # uv drops a lock whose recorded options differ from the command's, so relock must pass
    # them back; otherwise gamma would jump to 1.5.0 under the default `highest` mode.
    _pyproject(tmp_path, ["alpha>=1.0", "gamma>=1.0"])
    _uv(tmp_path, "lock", "--default-index", local_index.index_url, "--resolution=lowest-direct")
    lock = _load(tmp_path, "uv.lock", parse_uv_lock)

    relock(tmp_path, lock, _config(local_index), upgrade={"alpha": "1.1.0"})

    assert _versions(tmp_path, "uv.lock", parse_uv_lock) == {
        "alpha": "1.1.0",
        "demo": "0.1.0",
        "gamma": "1.0.0",
    }
    assert 'resolution-mode = "lowest-direct"' in (tmp_path / "uv.lock").read_text("utf-8")


def test_uv_lock_prefers_the_projects_own_index_configuration(
    local_index: LocalIndex, tmp_path: Path
) -> None:
    # The project names its index; greenbump's configuration points at a closed port. The
    # relock still works, and the lock keeps recording the project's index.
    tail = f'\n[[tool.uv.index]]\nname = "local"\nurl = "{local_index.index_url}"\ndefault = true\n'
    _pyproject(tmp_path, ["alpha>=1.0"], tail)
    _uv(tmp_path, "lock", "-P", "alpha==1.0.0")
    lock = _load(tmp_path, "uv.lock", parse_uv_lock)
    elsewhere = IndexConfig(index=IndexUrl(url="http://127.0.0.1:9/simple/", source="test"))

    relock(tmp_path, lock, elsewhere, upgrade={"alpha": "1.1.0"})

    assert _versions(tmp_path, "uv.lock", parse_uv_lock)["alpha"] == "1.1.0"
    assert f'registry = "{local_index.index_url}"' in (tmp_path / "uv.lock").read_text("utf-8")


def test_uv_lock_answers_from_uvs_cache_before_asking_the_index(
    make_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    """An upgrade run relocks right after uv resolved the same packages: uv's cache answers
    (``--offline``), and only what it cannot answer goes to the index."""
    index = make_index(DEFAULT_CATALOGUE)
    _pyproject(tmp_path, ["alpha>=1.0", "gamma>=1.0"])
    _uv(tmp_path, "lock", "--default-index", index.index_url, "-P", "alpha==1.0.0")
    before = (tmp_path / "uv.lock").read_text(encoding="utf-8")
    lock = _load(tmp_path, "uv.lock", parse_uv_lock)
    asked = len(index.requests)

    # alpha 2.0.0's metadata is not cached yet: the cache alone cannot answer, the index does.
    relock(tmp_path, lock, _config(index), upgrade={"alpha": "2.0.0"}, python=sys.executable)
    assert len(index.requests) > asked
    moved = (tmp_path / "uv.lock").read_text(encoding="utf-8")
    assert _versions(tmp_path, "uv.lock", parse_uv_lock)["alpha"] == "2.0.0"

    # The same relock again with the index answering only errors: uv's cache is enough.
    (tmp_path / "uv.lock").write_text(before, encoding="utf-8")
    index.add_fault(Fault(None, status=500))
    relock(tmp_path, lock, _config(index), upgrade={"alpha": "2.0.0"}, python=sys.executable)
    assert (tmp_path / "uv.lock").read_text(encoding="utf-8") == moved


def test_uv_lock_failure_carries_uvs_explanation(local_index: LocalIndex, tmp_path: Path) -> None:
    _pyproject(tmp_path, ["alpha>=1.0"])
    _uv(tmp_path, "lock", "--default-index", local_index.index_url, "-P", "alpha==1.0.0")
    before = (tmp_path / "uv.lock").read_text(encoding="utf-8")
    lock = _load(tmp_path, "uv.lock", parse_uv_lock)

    with pytest.raises(RelockFailed) as caught:
        relock(tmp_path, lock, _config(local_index), upgrade={"alpha": "9.0.0"})

    assert isinstance(caught.value, ExternalError)
    assert caught.value.tool == "uv lock"
    assert "alpha==9.0.0" in caught.value.explanation
    assert str(caught.value).startswith("uv.lock: uv lock failed: ")
    assert (tmp_path / "uv.lock").read_text(encoding="utf-8") == before


def test_uv_lock_with_credentials_in_the_environment(
    make_index: Callable[..., LocalIndex], tmp_path: Path
) -> None:
    secret = "s3cret-Pa55word-x9"
    index = make_index(DEFAULT_CATALOGUE, auth=("greenbump", secret))
    _pyproject(tmp_path, ["alpha>=1.0"])
    _uv(tmp_path, "lock", "--default-index", index.auth_index_url, "-P", "alpha==1.0.0")
    lock = _load(tmp_path, "uv.lock", parse_uv_lock)
    config = _config(index, auth=("greenbump", secret))

    relock(tmp_path, lock, config, upgrade={"alpha": "1.1.0"})
    assert _versions(tmp_path, "uv.lock", parse_uv_lock)["alpha"] == "1.1.0"
    assert secret not in (tmp_path / "uv.lock").read_text(encoding="utf-8")

    with pytest.raises(RelockFailed) as caught:
        relock(tmp_path, _load(tmp_path, "uv.lock", parse_uv_lock), config, upgrade={"alpha": "7"})
    assert secret not in str(caught.value)


# --------------------------------------------------------------------------------------------
# Compiled requirements


def test_uv_pip_compile_output_with_hashes(local_index: LocalIndex, tmp_path: Path) -> None:
    (tmp_path / "requirements.in").write_text("alpha>=1.0\ngamma\n", encoding="utf-8")
    _uv(
        tmp_path,
        *("pip", "compile", "--generate-hashes", "requirements.in", "-o", "requirements.txt"),
        *("--default-index", local_index.index_url, "-P", "alpha==1.0.0", "-P", "gamma==1.0.0"),
    )
    before = (tmp_path / "requirements.txt").read_text(encoding="utf-8")
    header = before.split("alpha==")[0]
    assert "uv pip compile --generate-hashes requirements.in -o requirements.txt" in header
    lock = _load(tmp_path, "requirements.txt", parse_requirements)

    relock(tmp_path, lock, _config(local_index), upgrade={"alpha": "2.0.0"}, python=sys.executable)

    after = (tmp_path / "requirements.txt").read_text(encoding="utf-8")
    assert after.startswith(header)  # same header: no --python, index or -P crept in
    result = {
        decl.key: decl
        for decl in _load(tmp_path, "requirements.txt", parse_requirements).declarations
    }
    assert {key: decl.locked for key, decl in result.items()} == {
        "alpha": "2.0.0",
        "beta": "2.0.0",
        "gamma": "1.0.0",
    }
    assert set(result["alpha"].hashes) == _sha256(local_index, "alpha", "2.0.0")
    assert set(result["beta"].hashes) == _sha256(local_index, "beta", "2.0.0")  # wheel + sdist
    assert len(result["beta"].hashes) == 2
    assert set(result["gamma"].hashes) == _sha256(local_index, "gamma", "1.0.0")
    assert "# via alpha" in after


def _hashes(index: LocalIndex, project: str, version: str) -> str:
    return "".join(f" \\\n    --hash={item}" for item in sorted(_sha256(index, project, version)))


def test_pip_compile_header_is_replayed_with_uv_and_kept(
    local_index: LocalIndex, tmp_path: Path
) -> None:
    # A pip-compile file in a subfolder, compiled from the project root: pip-tools is not
    # installed here, so the file is written as pip-compile writes it.
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "prod.in").write_text("alpha>=1.0\ngamma\n", encoding="utf-8")
    header = (
        "#\n"
        "# This file is autogenerated by pip-compile with Python 3.11\n"
        "# by the following command:\n"
        "#\n"
        "#    pip-compile --allow-unsafe --generate-hashes --output-file=requirements/prod.txt"
        " --resolver=backtracking --strip-extras requirements/prod.in\n"
        "#\n"
    )
    body = (
        f"--index-url {local_index.index_url}\n"  # pip-compile's default: emit the index
        "\n"
        f"alpha==1.0.0{_hashes(local_index, 'alpha', '1.0.0')}\n"
        "    # via -r requirements/prod.in\n"
        f"gamma==1.0.0{_hashes(local_index, 'gamma', '1.0.0')}\n"
        "    # via -r requirements/prod.in\n"
    )
    (tmp_path / "requirements" / "prod.txt").write_text(header + body, encoding="utf-8")
    lock = _load(tmp_path, "requirements/prod.txt", parse_requirements)

    relock(tmp_path, lock, _config(local_index), upgrade={"alpha": "1.1.0"}, python=sys.executable)

    after = (tmp_path / "requirements" / "prod.txt").read_text(encoding="utf-8")
    assert after.startswith(f"{header}--index-url {local_index.index_url}\n\nalpha==1.1.0 \\\n")
    assert _versions(tmp_path, "requirements/prod.txt", parse_requirements) == {
        "alpha": "1.1.0",
        "gamma": "1.0.0",
    }
    assert f"alpha==1.1.0{_hashes(local_index, 'alpha', '1.1.0')}\n" in after
    assert f"gamma==1.0.0{_hashes(local_index, 'gamma', '1.0.0')}\n" in after
    assert "# via -r requirements/prod.in" in after  # compiled from the root, as recorded


def test_index_lines_keep_their_variables_and_credentials(
    local_index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uv writes the index it was given, expanded and without credentials; the file's own
    lines for the same locations are kept as written (variables, userinfo, ``-f``)."""
    host = local_index.index_url.split("/")[2]
    monkeypatch.setenv("GB_INDEX_HOST", host)
    (tmp_path / "requirements.in").write_text("alpha\n", encoding="utf-8")
    header = (
        "#\n# This file is autogenerated by pip-compile with Python 3.11\n"
        "# by the following command:\n#\n#    pip-compile\n#\n"
    )
    index_line = "--index-url http://${GB_USER}:${GB_TOKEN}@${GB_INDEX_HOST}/simple"
    (tmp_path / "requirements.txt").write_text(
        f"{header}{index_line}\n\nalpha==1.0.0\n    # via -r requirements.in\n",
        encoding="utf-8",
    )
    lock = _load(tmp_path, "requirements.txt", parse_requirements)

    relock(tmp_path, lock, _config(local_index), upgrade={"alpha": "1.1.0"}, python=sys.executable)

    after = (tmp_path / "requirements.txt").read_text(encoding="utf-8")
    assert after.startswith(f"{header}{index_line}\n\nalpha==1.1.0\n")
    assert host not in after


def test_custom_compile_command_and_crlf_are_kept(local_index: LocalIndex, tmp_path: Path) -> None:
    (tmp_path / "requirements.in").write_text("alpha\n", encoding="utf-8")
    _uv(
        tmp_path,
        *("pip", "compile", "requirements.in", "-o", "requirements.txt"),
        *("--custom-compile-command", "make requirements"),
        *("--default-index", local_index.index_url, "-P", "alpha==1.0.0"),
    )
    path = tmp_path / "requirements.txt"
    original = path.read_text(encoding="utf-8").replace("\n", "\r\n")
    path.write_bytes(original.encode("utf-8"))
    lock = _load(tmp_path, "requirements.txt", parse_requirements)

    relock(tmp_path, lock, _config(local_index), upgrade={"alpha": "1.1.0"})

    after = path.read_bytes().decode("utf-8")
    assert after == original.replace("alpha==1.0.0", "alpha==1.1.0")


def test_missing_input_file_is_reported(local_index: LocalIndex, tmp_path: Path) -> None:
    text = (
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv pip compile base.in -o requirements.txt\n"
        "alpha==1.0.0\n"
    )
    (tmp_path / "requirements.txt").write_text(text, encoding="utf-8")
    lock = _load(tmp_path, "requirements.txt", parse_requirements)
    with pytest.raises(RelockFailed, match=r"input file base\.in named in its header"):
        relock(tmp_path, lock, _config(local_index))


# --------------------------------------------------------------------------------------------
# pylock.toml


def test_pylock_from_uv_pip_compile(local_index: LocalIndex, tmp_path: Path) -> None:
    (tmp_path / "requirements.in").write_text("alpha>=1.0\ngamma\n", encoding="utf-8")
    _uv(
        tmp_path,
        *("pip", "compile", "requirements.in", "-o", "pylock.toml"),
        *("--default-index", local_index.index_url, "-P", "alpha==1.0.0", "-P", "gamma==1.0.0"),
    )
    lock = _load(tmp_path, "pylock.toml", parse_pylock)

    relock(tmp_path, lock, _config(local_index), upgrade={"alpha": "2.0.0"})

    assert _versions(tmp_path, "pylock.toml", parse_pylock) == {
        "alpha": "2.0.0",
        "beta": "2.0.0",
        "gamma": "1.0.0",
    }


def test_pylock_exported_from_uv_lock(local_index: LocalIndex, tmp_path: Path) -> None:
    _pyproject(tmp_path, ["alpha>=1.0", "gamma>=1.0"])
    url = local_index.index_url
    _uv(tmp_path, "lock", "--default-index", url, "-P", "alpha==1.0.0", "-P", "gamma==1.0.0")
    _uv(tmp_path, "export", "--format", "pylock.toml", "-o", "pylock.toml", "--frozen")
    header = (tmp_path / "pylock.toml").read_text(encoding="utf-8").split("lock-version")[0]
    lock = _load(tmp_path, "pylock.toml", parse_pylock)

    relock(tmp_path, lock, _config(local_index), upgrade={"alpha": "1.1.0"})

    assert (tmp_path / "pylock.toml").read_text(encoding="utf-8").startswith(header)
    assert _versions(tmp_path, "pylock.toml", parse_pylock) == {"alpha": "1.1.0", "gamma": "1.0.0"}
    assert _versions(tmp_path, "uv.lock", parse_uv_lock)["alpha"] == "1.1.0"


def test_pylock_of_unknown_origin_is_unsupported(local_index: LocalIndex, tmp_path: Path) -> None:
    text = (
        'lock-version = "1.0"\ncreated-by = "pip"\n\n'
        '[[packages]]\nname = "alpha"\nversion = "1.0.0"\n'
    )
    (tmp_path / "pylock.toml").write_text(text, encoding="utf-8")
    lock = _load(tmp_path, "pylock.toml", parse_pylock)
    with pytest.raises(RelockUnsupported, match=r"cannot tell how this pylock\.toml was made"):
        relock(tmp_path, lock, _config(local_index))


# --------------------------------------------------------------------------------------------
# pdm.lock


@pytest.fixture(scope="session")
def pdm_tools() -> Path:
    """The pdm that ``scripts/_venv.sh`` installs into ``.venv-pdm`` (its own environment:
    ``pdm[locked]`` pins dependencies that need not agree with greenbump's)."""
    found = Path(__file__).resolve().parents[1] / ".venv-pdm" / "bin" / "pdm"
    if not found.is_file():
        pytest.skip(f"{found} is absent: scripts/_venv.sh installs it")
    return found


def _pdm(pdm: Path, cwd: Path, index: LocalIndex, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the test pdm in ``cwd`` against ``index``, without asking anything."""
    env = {
        **os.environ,
        "PDM_PYPI_URL": index.index_url,
        "PDM_CHECK_UPDATE": "false",
        "PDM_NON_INTERACTIVE": "1",
    }
    return subprocess.run(
        [str(pdm), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture
def pdm_project(
    pdm_tools: Path,
    make_index: Callable[..., LocalIndex],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Path, LocalIndex]]:
    """A pdm-locked project (alpha 1.0.0, gamma 1.0.0) on its own local index."""
    monkeypatch.setenv("PATH", f"{pdm_tools.parent}{os.pathsep}{os.environ['PATH']}")
    index = make_index(DEFAULT_CATALOGUE)
    _pyproject(tmp_path, ["alpha==1.0.0", "gamma==1.0.0"])
    done = _pdm(pdm_tools, tmp_path, index, "lock")
    assert done.returncode == 0, done.stdout + done.stderr
    _pyproject(tmp_path, ["alpha>=1.0", "gamma>=1.0"])  # the caller's manifest edit
    yield tmp_path, index


def _relock_to_tested_alpha(
    project: Path, index: LocalIndex, manifest: str, lock_name: str, reader: Reader
) -> None:
    """Relock moving alpha to the tested 1.1.0 (2.0.0 is allowed): the lock holds exactly
    that, gamma stays, and the manifest the tool pinned for one lock is put back byte for byte."""
    original = (project / manifest).read_bytes()
    lock = _load(project, lock_name, reader)
    relock(project, lock, _config(index), upgrade={"alpha": "1.1.0"})
    assert _versions(project, lock_name, reader) == {"alpha": "1.1.0", "gamma": "1.0.0"}
    assert (project / manifest).read_bytes() == original


def test_pdm_stops_at_the_requested_version_below_the_newest_allowed(
    pdm_project: tuple[Path, LocalIndex], pdm_tools: Path
) -> None:
    """``alpha>=1.0`` allows 2.0.0, which ``pdm update`` takes; 1.1.0 was tested. pdm's
    resolution overrides pin it for one lock; the manifest is put back byte for byte."""
    project, index = pdm_project
    _relock_to_tested_alpha(project, index, "pyproject.toml", "pdm.lock", parse_pdm_lock)
    checked = _pdm(pdm_tools, project, index, "lock", "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _without_tools_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_pdm_lock_needs_pdm(
    local_index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not on PATH, and the index (here the test index) has no pdm to install either."""
    _without_tools_on_path(tmp_path, monkeypatch)
    text = (
        '[metadata]\nlock_version = "4.4"\ncontent_hash = "x"\n\n'
        '[[package]]\nname = "alpha"\nversion = "1.0.0"\nsummary = ""\n'
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pdm.lock").write_text(text, encoding="utf-8")
    lock = _load(tmp_path, "sub/pdm.lock", parse_pdm_lock)
    with pytest.raises(
        RelockUnsupported, match=r"^sub/pdm\.lock: not supported without pdm \(cannot install pdm"
    ):
        relock(tmp_path, lock, _config(local_index))


def test_bad_upgrade_values_are_refused(local_index: LocalIndex, tmp_path: Path) -> None:
    lock = DependencyFile(path=PurePosixPath("uv.lock"), kind=FileKind.UV_LOCK, text="")
    with pytest.raises(ValueError, match="not a version"):
        relock(tmp_path, lock, _config(local_index), upgrade={"alpha": "latest"})
    with pytest.raises(ValueError, match="not a project name"):
        relock(tmp_path, lock, _config(local_index), upgrade={"--alpha": "1.0"})


# --------------------------------------------------------------------------------------------
# compile_requirements


def test_compile_requirements_resolves(local_index: LocalIndex, tmp_path: Path) -> None:
    (tmp_path / "requirements.in").write_text("alpha\ngamma\nZeta.Pkg[fast]\n", encoding="utf-8")
    pins = compile_requirements(
        [Path("requirements.in")],
        index=_config(local_index),
        constraints=["alpha<2", "gamma==1.0.0"],
        python=sys.executable,
        cwd=tmp_path,
    )
    assert pins == {"alpha": "1.1.0", "gamma": "1.0.0", "zeta-pkg": "0.1.0"}


def test_compile_requirements_conflict(local_index: LocalIndex, tmp_path: Path) -> None:
    (tmp_path / "requirements.in").write_text("alpha\n", encoding="utf-8")
    with pytest.raises(ResolutionFailed) as caught:
        compile_requirements(
            [tmp_path / "requirements.in"],
            index=_config(local_index),
            constraints=["alpha==2.0.0", "beta<1.0"],
            cwd=tmp_path,
        )
    message = str(caught.value)
    assert isinstance(caught.value, ExternalError)
    assert "alpha==2.0.0" in message
    assert "beta<1.0" in message
    assert "beta>=1.0" in message  # uv's reason: alpha 2.0.0 needs it


def test_compile_requirements_unreachable_index_is_no_conflict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")  # fail at once
    (tmp_path / "requirements.in").write_text("alpha\n", encoding="utf-8")
    closed = IndexConfig(index=IndexUrl(url="http://127.0.0.1:9/simple/", source="test"))
    with pytest.raises(ExternalError, match="uv pip compile failed") as caught:
        compile_requirements([Path("requirements.in")], index=closed, cwd=tmp_path, timeout=60)
    assert not isinstance(caught.value, ResolutionFailed)


# --------------------------------------------------------------------------------------------
# poetry.lock


@pytest.fixture(scope="session")
def poetry_tools() -> Path:
    """The Poetry that the test extras installed beside this interpreter (no network needed).

    relock runs the ``poetry`` it finds on PATH first, so the project fixture puts this one's
    folder on PATH; installing Poetry into greenbump's tool cache is tested only by hand,
    because it needs the package registry.
    """
    found = shutil.which("poetry", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("poetry is not installed beside the test interpreter (pip install '.[test]')")
    return Path(found)


def _poetry(poetry: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the test Poetry in ``cwd`` without a project virtual environment."""
    return subprocess.run(
        [str(poetry), *args, "--no-interaction"],
        cwd=cwd,
        env={**os.environ, "POETRY_VIRTUALENVS_CREATE": "false"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def poetry_project(
    poetry_tools: Path,
    make_index: Callable[..., LocalIndex],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Path, LocalIndex]]:
    """A Poetry-locked project (alpha 1.0.0, gamma 1.0.0) on its own local index.

    The index sends no ETag/Last-Modified: the local index answers a revalidation (304) with a
    ``Content-Type: text/plain`` header, which Poetry's HTTP cache merges into the cached page
    and then refuses to read as HTML, finding no packages on the second run.
    """
    monkeypatch.setenv("PATH", f"{poetry_tools.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("POETRY_KEYRING_ENABLED", "false")  # its probe costs a second a run
    index = make_index(DEFAULT_CATALOGUE, cache_headers=False)
    source = (
        f'\n[[tool.poetry.source]]\nname = "local"\nurl = "{index.index_url}"\n'
        'priority = "primary"\n'
    )
    _pyproject(tmp_path, ["alpha==1.0.0", "gamma==1.0.0"], source)
    done = _poetry(poetry_tools, tmp_path, "lock")
    assert done.returncode == 0, done.stdout + done.stderr
    # The caller's manifest edit: the pins become ranges that allow newer releases.
    _pyproject(tmp_path, ["alpha>=1.0", "gamma>=1.0"], source)
    yield tmp_path, index


def test_poetry_lock_keeps_versions_and_moves_the_upgrade(
    poetry_project: tuple[Path, LocalIndex],
) -> None:
    project, index = poetry_project
    lock = _load(project, "poetry.lock", parse_poetry_lock)

    relock(project, lock, _config(index))  # the manifest edit alone: nothing moves
    assert _versions(project, "poetry.lock", parse_poetry_lock) == {
        "alpha": "1.0.0",
        "gamma": "1.0.0",
    }

    lock = _load(project, "poetry.lock", parse_poetry_lock)
    relock(project, lock, _config(index), upgrade={"alpha": "2.0.0"})
    assert _versions(project, "poetry.lock", parse_poetry_lock) == {
        "alpha": "2.0.0",
        "beta": "2.0.0",
        "gamma": "1.0.0",
    }


def test_poetry_stops_at_the_requested_version_below_the_newest_allowed(
    poetry_project: tuple[Path, LocalIndex], poetry_tools: Path
) -> None:
    """``alpha>=1.0`` allows 2.0.0, which ``poetry update`` takes; 1.1.0 was tested (2.0.0
    too young, say). A temporary dependency group pins it, and the project's own manifest,
    put back byte for byte, is what the lock's content hash then describes."""
    project, index = poetry_project
    _relock_to_tested_alpha(project, index, "pyproject.toml", "poetry.lock", parse_poetry_lock)
    assert "greenbump-pins" not in (project / "poetry.lock").read_text(encoding="utf-8")
    checked = _poetry(poetry_tools, project, "check", "--lock")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_poetry_pin_group_is_added_to_either_layout() -> None:
    from greenbump.relock import _with_pin_group

    pep621 = '[project]\nname = "app"\ndependencies = ["alpha>=1"]\n'
    assert _with_pin_group(pep621, {"alpha": "1.1.0", "beta": "2.0"}) == (
        pep621 + '\n[tool.poetry.group.greenbump-pins.dependencies]\nalpha = "==1.1.0"\n'
        'beta = "==2.0"\n'
    )
    poetry = '[tool.poetry]\nname = "app"\n\n[tool.poetry.dependencies]\nalpha = "^1.0"\n'
    pinned = _with_pin_group(poetry, {"alpha": "1.1.0"})
    assert pinned.startswith(poetry)
    assert '[tool.poetry.group.greenbump-pins.dependencies]\nalpha = "==1.1.0"' in pinned


def test_a_tools_deprecation_warnings_do_not_hide_its_error() -> None:
    """Poetry warns about a deprecated pyproject section before saying what failed."""
    from greenbump import proc
    from greenbump.relock import _explain

    stderr = (
        'The "poetry.dev-dependencies" section is deprecated and will be removed in a future '
        'version. Use "poetry.group.dev.dependencies" instead.\n'
        "Warning: [tool.poetry.homepage] is deprecated. Use [project.urls] instead.\n"
        "Updating dependencies\nResolving dependencies...\n\n"
        "Package attrs (25.4.0) not found.\n"
    )
    done = proc.Completed(("poetry", "update", "--lock"), 1, "", stderr, 4.3)
    assert _explain(done, ()) == "Package attrs (25.4.0) not found."


def test_pdm_overrides_pin_without_touching_the_rest() -> None:
    from greenbump.relock import _with_overrides

    text = (
        '[project]\nname = "app"\ndependencies = ["babel>=2"]\n\n'
        "[tool.pdm.resolution]\nrespect-source-order = true\n"
    )
    pinned = _with_overrides(text, {"babel": "2.18.0"})
    assert pinned.startswith(text)
    assert '[tool.pdm.resolution.overrides]\nbabel = "==2.18.0"' in pinned
    bare = '[project]\nname = "app"\n'
    assert _with_overrides(bare, {"babel": "2.18.0"}) == (
        bare + '\n[tool.pdm.resolution.overrides]\nbabel = "==2.18.0"\n'
    )


# --------------------------------------------------------------------------------------------
# Pipfile.lock


@pytest.fixture(scope="session")
def pipenv_tools() -> Path:
    """The pipenv that ``scripts/_venv.sh`` installs into ``.venv-pipenv`` (its own
    environment, as pdm's)."""
    found = Path(__file__).resolve().parents[1] / ".venv-pipenv" / "bin" / "pipenv"
    if not found.is_file():
        pytest.skip(f"{found} is absent: scripts/_venv.sh installs it")
    return found


def _pipenv_env(home: Path, index: LocalIndex | None = None) -> dict[str, str]:
    """pipenv's environment for a test: its virtual environments under ``home``, no pip
    configuration of this machine, nothing asked."""
    env = {
        **os.environ,
        "WORKON_HOME": str(home / "venvs"),
        "PIP_CONFIG_FILE": os.devnull,
        "PIPENV_YES": "1",
        "PIPENV_NOSPIN": "1",
        "PIPENV_IGNORE_VIRTUALENVS": "1",
    }
    if index is not None:
        env["PIPENV_PYPI_MIRROR"] = index.index_url
    return env


def _pipenv(
    pipenv: Path, cwd: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(pipenv), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _pipfile(project: Path, packages: str, source: str | None) -> None:
    head = f'[[source]]\nurl = "{source}"\nverify_ssl = false\nname = "local"\n\n' if source else ""
    (project / "Pipfile").write_text(f"{head}[packages]\n{packages}", encoding="utf-8")


@pytest.fixture
def pipenv_project(
    pipenv_tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[Path, dict[str, str]]]:
    """``make(index, pinned, ranges, source=True)``: a project locked by the test pipenv with
    the ``pinned`` Pipfile packages, whose Pipfile then holds ``ranges`` (the caller's
    manifest edit). greenbump's relock finds this pipenv on PATH."""
    monkeypatch.setenv("PATH", f"{pipenv_tools.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    project = tmp_path / "app"
    project.mkdir()

    def make(
        index: LocalIndex, pinned: str, ranges: str, *, source: bool = True
    ) -> tuple[Path, dict[str, str]]:
        env = _pipenv_env(tmp_path, None if source else index)
        url = index.index_url if source else None
        _pipfile(project, pinned, url)
        done = _pipenv(pipenv_tools, project, env, "lock")
        assert done.returncode == 0, done.stdout + done.stderr
        _pipfile(project, ranges, url)
        return project, env

    return make


def test_pipenv_stops_at_the_requested_version_below_the_newest_allowed(
    pipenv_project: Callable[..., tuple[Path, dict[str, str]]],
    pipenv_tools: Path,
    make_index: Callable[..., LocalIndex],
) -> None:
    """``alpha>=1.0`` allows 2.0.0, which ``pipenv upgrade`` takes; 1.1.0 was tested. The
    Pipfile pins it for one lock and is put back byte for byte; gamma stays where it was."""
    index = make_index(DEFAULT_CATALOGUE, cache_headers=False)
    project, env = pipenv_project(
        index, 'alpha = "==1.0.0"\ngamma = "==1.0.0"\n', 'alpha = ">=1.0"\ngamma = ">=1.0"\n'
    )
    _relock_to_tested_alpha(project, index, "Pipfile", "Pipfile.lock", parse_pipfile_lock)
    checked = _pipenv(pipenv_tools, project, env, "verify")
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("needs", "beta"),
    [("beta>=1.0", "1.0.0"), ("beta>=2.0", "2.0.0")],
    ids=["kept", "moved-when-needed"],
)
def test_pipenv_keeps_the_dependencies_an_upgrade_does_not_need_to_move(
    pipenv_project: Callable[..., tuple[Path, dict[str, str]]],
    pipenv_tools: Path,
    make_index: Callable[..., LocalIndex],
    needs: str,
    beta: str,
) -> None:
    """pipenv takes an upgraded package's dependencies from a fresh resolution: beta would
    go to 2.0.0 with alpha even when alpha 2.1.0 is happy with the locked 1.0.0, so beta is
    pinned back, unless alpha needs it moved. The project has no ``[[source]]``: greenbump's
    index reaches pipenv as its mirror."""
    index = make_index(
        [
            Release("alpha", "2.0.0", requires=["beta>=1.0"]),
            Release("beta", "1.0.0"),
            Release("gamma", "1.0.0"),
        ],
        cache_headers=False,
    )
    project, env = pipenv_project(
        index,
        'alpha = "==2.0.0"\ngamma = "*"\n',
        'alpha = ">=2.0"\ngamma = "*"\n',
        source=False,
    )
    assert _versions(project, "Pipfile.lock", parse_pipfile_lock)["beta"] == "1.0.0"
    index.add(
        Release("alpha", "2.1.0", requires=[needs]),
        Release("beta", "2.0.0"),
        Release("gamma", "1.5.0"),
    )
    lock = _load(project, "Pipfile.lock", parse_pipfile_lock)

    relock(project, lock, _config(index), upgrade={"alpha": "2.1.0"})

    assert _versions(project, "Pipfile.lock", parse_pipfile_lock) == {
        "alpha": "2.1.0",
        "beta": beta,
        "gamma": "1.0.0",
    }
    assert "[[source]]" not in (project / "Pipfile").read_text(encoding="utf-8")
    checked = _pipenv(pipenv_tools, project, env, "verify")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_pipenv_from_the_tool_cache_is_not_shadowed_by_the_project(
    pipenv_project: Callable[..., tuple[Path, dict[str, str]]],
    pipenv_tools: Path,
    make_index: Callable[..., LocalIndex],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No pipenv on PATH: greenbump's cached one runs, in a project that has a ``pipenv``
    package of its own (pipenv's own repository), which ``python -m pipenv`` would import."""
    index = make_index(DEFAULT_CATALOGUE, cache_headers=False)
    project, _env = pipenv_project(index, 'gamma = "==1.0.0"\n', 'gamma = ">=1.0"\n')
    (project / "pipenv").mkdir()
    (project / "pipenv" / "__init__.py").write_text('__version__ = "0"\n', encoding="utf-8")
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "pipenv").symlink_to(pipenv_tools.parent.parent)  # as if installed there
    monkeypatch.setenv("GREENBUMP_TOOLS_DIR", str(tools))
    path = os.environ["PATH"].split(os.pathsep)
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in path if Path(p) != pipenv_tools.parent))
    lock = _load(project, "Pipfile.lock", parse_pipfile_lock)

    relock(project, lock, _config(index), upgrade={"gamma": "1.5.0"})

    assert _versions(project, "Pipfile.lock", parse_pipfile_lock) == {"gamma": "1.5.0"}


def test_pipenv_lock_needs_pipenv(
    local_index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not on PATH, and the index (here the test index) has no pipenv to install either."""
    _without_tools_on_path(tmp_path, monkeypatch)
    text = (
        '{"_meta": {"hash": {"sha256": "x"}, "pipfile-spec": 6, "requires": {}, "sources": []},'
        ' "default": {"alpha": {"version": "==1.0.0"}}, "develop": {}}\n'
    )
    (tmp_path / "Pipfile").write_text('[packages]\nalpha = "*"\n', encoding="utf-8")
    (tmp_path / "Pipfile.lock").write_text(text, encoding="utf-8")
    lock = _load(tmp_path, "Pipfile.lock", parse_pipfile_lock)

    with pytest.raises(RelockUnsupported) as caught:
        relock(tmp_path, lock, _config(local_index), upgrade={"alpha": "2.0.0"})

    assert isinstance(caught.value, ExternalError)
    assert str(caught.value).startswith(
        "Pipfile.lock: not supported without pipenv (cannot install pipenv"
    )


def test_pipfile_pins_keep_each_entrys_other_keys() -> None:
    from greenbump.relock import _with_pipfile_pins

    text = (
        '[[source]]\nurl = "https://example.invalid/simple"\nname = "local"\n\n'
        '[packages]\nDjango = ">=4"\nrich = {version = "*", markers = "os_name == \'posix\'"}\n'
        'mylib = {path = "."}\n\n[dev-packages]\npytest = "*"\n'
    )
    pinned = _with_pipfile_pins(
        text,
        {
            "default": {"django": "4.2.1", "rich": "13.0.0", "mylib": "1.0", "sqlparse": "0.5.0"},
            "develop": {"pytest": "8.0.0"},
        },
    )
    assert pinned == (
        '[[source]]\nurl = "https://example.invalid/simple"\nname = "local"\n\n'
        '[packages]\nDjango = "==4.2.1"\n'
        'rich = {version = "==13.0.0", markers = "os_name == \'posix\'"}\n'
        'mylib = {path = "."}\nsqlparse = "==0.5.0"\n\n[dev-packages]\npytest = "==8.0.0"\n'
    )
    assert _with_pipfile_pins("", {"develop": {"pytest": "8.0.0"}}) == (
        '[dev-packages]\npytest = "==8.0.0"\n'
    )
