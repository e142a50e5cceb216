"""The query stage: index pages and advisory results for a project's packages.

Shared by ``check`` and ``upgrade``: both ask the same index, with the user's configuration,
and the same advisory source, and both treat an unknown package as an input error that names
the declaring file and line.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from greenbump.dirs import user_cache
from greenbump.errors import InputError
from greenbump.index import IndexClient, ProjectNotFound
from greenbump.indexconfig import IndexConfig, resolve_index_config
from greenbump.inventory import Package
from greenbump.names import NormalizedName
from greenbump.pages import ProjectPage
from greenbump.project import Project
from greenbump.redact import remember_secrets
from greenbump.textio import read_text

if TYPE_CHECKING:  # loaded once the index lookups are under way (see fetching_pages)
    from greenbump.advisories import AdvisorySource, CheckResult


def target_python(requested: str | None, project: Project) -> Version:
    """``--python`` (a version or an interpreter), else ``requires-python``, else this one."""
    if requested:
        try:
            return Version(requested)
        except InvalidVersion:
            return _interpreter_version(requested)
    requires = _requires_python(project)
    if requires is not None:
        from greenbump.candidates import lowest_python

        try:
            return lowest_python(requires)
        except ValueError as exc:
            raise InputError(str(exc), "pyproject.toml") from exc
    return Version(".".join(str(part) for part in sys.version_info[:2]))


def find_interpreter(version: Version) -> str:
    """A Python interpreter of ``version`` (``3.10``) for test environments; exit 2 if none.

    Looked for, in order: the running one, uv's own discovery (virtual environments, uv's
    managed Pythons, the search path), ``pythonX.Y`` on ``PATH`` and pyenv's versions (whose
    shims uv cannot use for a version that is not pyenv's global one). Each is asked for its
    version, so a shim that answers with another Python, or not at all, is passed over.
    """
    wanted = f"{version.major}.{version.minor}"
    if sys.version_info[:2] == (version.major, version.minor):
        return sys.executable
    found: list[str] = []
    uv = _uv_find(wanted)
    if uv:
        found.append(uv)
    on_path = shutil.which(f"python{wanted}")
    if on_path:
        found.append(on_path)
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found += [
        str(p / "bin" / "python")
        for p in sorted((pyenv_root / "versions").glob(f"{wanted}.*"), reverse=True)
    ]
    for candidate in found:
        try:
            if _interpreter_version(candidate) == Version(wanted):
                return candidate
        except InputError:
            continue
    raise InputError(
        f"no Python {wanted} interpreter found (looked with uv, for python{wanted} on PATH "
        "and in pyenv): install one, or pass --python /path/to/python"
    )


def _uv_find(wanted: str) -> str | None:
    from greenbump.envs import uv_binary

    try:
        done = subprocess.run(
            [uv_binary(), "python", "find", "--no-python-downloads", wanted],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _interpreter_version(python: str) -> Version:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        return Version(out.strip())
    except (OSError, subprocess.SubprocessError, InvalidVersion) as exc:
        raise InputError(
            f"--python {python!r} is neither a version nor a Python interpreter"
        ) from exc


def _requires_python(project: Project) -> SpecifierSet | None:
    path = project.root / "pyproject.toml"
    if not path.is_file():
        return None
    import tomlkit  # deferred: a requirements-only project never loads it

    from greenbump.poetry_constraints import poetry_to_specifier

    data = tomlkit.parse(read_text(path, display=Path("pyproject.toml"))).unwrap()
    value = data.get("project", {}).get("requires-python")
    if value is None:
        value = data.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
        if isinstance(value, str):
            try:
                converted = poetry_to_specifier(value)
            except ValueError:
                return None
            return converted if isinstance(converted, SpecifierSet) else None
    if not isinstance(value, str):
        return None
    try:
        return SpecifierSet(value)
    except InvalidSpecifier as exc:
        raise InputError(f"invalid requires-python {value!r}", "pyproject.toml") from exc


@contextlib.contextmanager
def fetching_pages(
    project: Project,
    packages: list[Package],
    *,
    index_url: str | None = None,
    extra_index_urls: list[str] | None = None,
    config: IndexConfig | None = None,
    ttl: float,
    refresh: bool,
    jobs: int,
    timeout: float = 30.0,
    on_page: Callable[[], None] | None = None,
) -> Iterator[Callable[[], dict[NormalizedName, ProjectPage]]]:
    """Index pages for every package that comes from an index, looked up in the background;
    call the yielded function for them (unknown packages are input errors then).

    A check spends most of its time waiting for the index, so the caller reads advisories
    and loads its report code meanwhile. Leaving the block early stops the lookups.
    """
    if config is None:
        config = index_config(project, index_url, extra_index_urls or [])
    wanted = [p for p in packages if p.from_index]
    client = IndexClient(
        config,
        ttl=ttl,
        refresh=refresh,
        timeout=timeout,
        parse_workers=_parse_workers(),
    )
    background = ThreadPoolExecutor(1, thread_name_prefix="greenbump-lookup")
    floors: dict[str, Version] = {p.key: p.current for p in wanted if p.current is not None}
    names = [p.key for p in wanted]
    lookup = background.submit(client.fetch_many, names, jobs, on_page, floors)

    def pages() -> dict[NormalizedName, ProjectPage]:
        found = lookup.result()
        result: dict[NormalizedName, ProjectPage] = {}
        for package in wanted:
            page = found[package.key]
            if isinstance(page, ProjectNotFound):
                decl = package.declarations[0]
                raise InputError(page.message, decl.file, decl.line)
            result[package.key] = page
        return result

    try:
        yield pages
    finally:
        if not lookup.done():
            client.stop()
        background.shutdown(wait=True)
        client.close()


def _parse_workers() -> int:
    """Processes for digesting large pages: none on one core, else two (measured on two
    cores against the real index, 157 dependencies, first run: 4.1-4.6 s with none, 3.7-4.0 s
    with one, 3.2 s with two: decoding is most of the work, and the main process is idle
    enough to share a core)."""
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    return 0 if cores < 2 else 2


def advisory_source(path: str | None, api_url: str | None) -> AdvisorySource:
    """A local OSV database when one is given, else the OSV API."""
    if path:
        from greenbump.advisories.local import OsvDirectory

        # Its index of which file names which package, and the records read, are kept: a
        # first check of 300 pins against the 2,661-file PyPA database took 0.5 s, later
        # ones 0.1 s (each file is only looked at with stat then).
        return OsvDirectory(Path(path).expanduser(), cache_dir=user_cache("advisories"))
    from greenbump.advisories.api import DEFAULT_OSV_API, OsvApi

    return OsvApi(api_url or DEFAULT_OSV_API)


def check_vulnerabilities(
    source: AdvisorySource, packages: list[Package]
) -> dict[NormalizedName, CheckResult]:
    """Advisory results for every package that has a current version."""
    asked = [(p.key, str(p.current)) for p in packages if p.current is not None and p.from_index]
    results = source.query(asked)
    return {key: results[(key, version)] for key, version in asked if (key, version) in results}


def index_config(
    project: Project, index_url: str | None, extra_index_urls: list[str]
) -> IndexConfig:
    """The user's index configuration for ``project`` (see :mod:`greenbump.indexconfig`);
    its secrets are masked in every message from now on (:func:`remember_secrets`)."""
    config = resolve_index_config(
        project.root,
        project.files,
        os.environ,
        index_url=index_url,
        extra_index_urls=extra_index_urls,
    )
    remember_secrets(config.secrets())
    return config
