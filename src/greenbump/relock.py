"""Regenerate lock files with their own tools, moving only the packages an upgrade names.

A lock is the output of a resolver, so greenbump never edits one by hand: after a plan has edited
the manifests, each lock is rebuilt by the tool that owns its format, asked to keep every other
package where it is. That keeps a bot's diff down to what the upgrade really changes, and it
makes the lock exactly what the user's own tool would have written (hashes, markers, metadata
only that tool knows how to fill in). Every tool runs through :func:`greenbump.proc.run`, inside
the scratch worktree, with a time-out; a tool's refusal becomes a :class:`RelockFailed` carrying
its own explanation, redacted, so the caller can reject that upgrade and say why.

Per format:

* ``uv.lock``: ``uv lock --upgrade-package NAME==VERSION``. uv reads the existing lock as
  preferences, so unnamed packages stay put. The resolver options the lock records
  (``[options]``: resolution and pre-release mode, fork strategy, ``exclude-newer``) are passed
  back, because uv otherwise discards the whole lock when they differ from its defaults. uv.lock
  records the URL of the index every package came from, so the *project's own* uv
  configuration wins when it names indexes (``[[tool.uv.index]]``, ``index-url``, ... in
  ``[tool.uv]`` or ``uv.toml``): passing greenbump's configuration then could move every package
  to another index. Otherwise greenbump's :class:`~greenbump.indexconfig.IndexConfig` is passed
  (it is what the user's ``uv lock`` sees: their environment and user configuration).
* compiled requirements (pip-compile or ``uv pip compile`` output, also ``pylock.toml`` written
  by ``uv pip compile``): the header's command is replayed with ``uv pip compile``, same input
  files, same output file (which uv reads as preferences), options translated from pip-compile's
  dialect where they differ (see ``_PIP_COMPILE_OPTIONS``), pip-compile's defaults reproduced
  from what the file shows (index lines, extras, unsafe packages). The header itself is put back
  byte for byte, and its command is also given as ``--custom-compile-command``: the file keeps
  naming the command its owners run, and a reviewer sees only the pins and hashes move. Hashes
  are computed by uv from the index.
* ``pylock.toml`` exported from uv.lock (header ``uv export``): ``uv.lock`` is relocked as above,
  then ``uv export --frozen`` with the header's options.
* ``poetry.lock``: ``poetry lock`` (``--no-update`` on Poetry 1.x), which keeps locked versions
  and applies manifest edits the caller made; packages to move that are already locked go
  through ``poetry update --lock NAME`` instead. Poetry takes the newest release the
  constraints allow; when that is not the requested one (a newer release is too young for the
  policy, or the tested Python differs from Poetry's universal resolution), the package is
  pinned for one more lock through a temporary dependency group, and the project's own
  ``pyproject.toml`` (put back byte for byte) is then locked keeping versions, so the lock's
  content hash is the project's. Poetry resolves against the project's
  ``[[tool.poetry.source]]`` tables (its lock records them); greenbump only lends it the
  credentials it knows for those URLs. Poetry is the user's own when on ``PATH``, else
  installed once into greenbump's tool cache (:func:`ensure_tool`).
* ``pdm.lock``: ``pdm lock --update-reuse`` (``pdm update --no-sync --update-reuse NAME`` for
  locked packages to move), with the user's ``pdm`` or one installed into greenbump's tool
  cache (``pdm[locked]``, whose own dependencies are pinned); a package pdm moves past its
  requested version is pinned for one lock through ``[tool.pdm.resolution.overrides]``, as
  Poetry's is through a dependency group.
* ``Pipfile.lock``: ``pipenv upgrade --lock-only NAME`` for locked packages to move, else
  ``pipenv upgrade --lock-only`` naming none (it re-resolves only the entries the Pipfile no
  longer allows and rewrites the lock's Pipfile hash); ``pipenv lock`` would re-resolve every
  package. pipenv takes the named packages and their dependencies from a fresh resolution of
  the whole Pipfile, so a package past its requested version, and a dependency nobody asked
  to move, is pinned (``==``) in the Pipfile for one lock, which is then put back byte for
  byte and locked naming none, as Poetry's and pdm's are. pipenv resolves against the
  Pipfile's ``[[source]]`` tables; the user's configured index is its
  ``PIPENV_PYPI_MIRROR``, which replaces only the default index (with credentials only where
  the Pipfile has sources: without any, pipenv writes the mirror's URL into the lock). The
  user's ``pipenv`` on ``PATH``, else one installed into greenbump's tool cache
  (``PIPENV_REQUIREMENT``); its locking virtual environment lives in a temporary
  ``WORKON_HOME``.

uv is asked from its cache first (``--offline``; a relock follows a resolution of the same
packages, and an index that sends no caching headers would have every page fetched again)
and online when that fails: see :meth:`_Job.run_uv`.

Every result is read back with greenbump's own lock readers and checked: each package named in
``upgrade`` that is in the new lock must be at exactly the requested version, and one that was
locked before must not have vanished.

:func:`compile_requirements` is the resolver question without any file to write: do these
inputs plus these extra constraints install together, and at which versions?
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from packaging.version import InvalidVersion, Version

from greenbump import proc
from greenbump.dirs import user_cache
from greenbump.envs import bin_dir, uv_binary, uv_cache_usable
from greenbump.errors import ExternalError, GreenbumpError
from greenbump.indexconfig import (
    IndexConfig,
    IndexUrl,
    builtin_default_index,
    expand_pip_variables,
)
from greenbump.model import DependencyFile, FileKind
from greenbump.names import NormalizedName, canonicalize_name
from greenbump.pages import strip_userinfo
from greenbump.readers.locks import (
    parse_pdm_lock,
    parse_pipfile_lock,
    parse_poetry_lock,
    parse_pylock,
    parse_uv_lock,
)
from greenbump.readers.requirements import compile_command, is_compiled, parse_requirements
from greenbump.redact import redact_text
from greenbump.textio import read_text, write_text

__all__ = [
    "PDM_REQUIREMENT",
    "PIPENV_REQUIREMENT",
    "POETRY_REQUIREMENT",
    "RelockFailed",
    "RelockUnsupported",
    "ResolutionFailed",
    "compile_requirements",
    "ensure_tool",
    "relock",
    "tools_dir",
]

log = logging.getLogger(__name__)

# Poetry installed on demand: one major version, so lock formats do not change under a user.
POETRY_REQUIREMENT = "poetry>=2,<3"
# pdm's "locked" extra pins its own dependencies: a plain install took a newer hishel than
# pdm 2.29 works with (seen on a real run, docs/real-world-trial.md).
PDM_REQUIREMENT = "pdm[locked]>=2,<3"
# pipenv is calendar-versioned; `upgrade --lock-only` and `--categories` as used here were
# verified with 2026.10.3 (tests, real-file trial).
PIPENV_REQUIREMENT = "pipenv>=2026,<2027"
# Overrides where greenbump keeps the tools it installs (default: the user cache dir).
TOOLS_DIR_VARIABLE = "GREENBUMP_TOOLS_DIR"

_EXPLANATION_LINES = 20
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
# pip-compile leaves these out unless --allow-unsafe (uv always writes them).
_UNSAFE = ("distribute", "pip", "setuptools")
# Environment settings that would change a resolution behind the recorded options' back: the
# lock or the header records what applies, and greenbump passes exactly that.
_DROPPED_ENV = (
    "UV_FROZEN",
    "UV_LOCKED",
    "UV_NO_SYNC",
    "UV_CONSTRAINT",
    "UV_OVERRIDE",
    "UV_EXCLUDE",
    "UV_BUILD_CONSTRAINT",
    "UV_RESOLUTION",
    "UV_PRERELEASE",
    "UV_FORK_STRATEGY",
    "UV_EXCLUDE_NEWER",
    "UV_NO_SOURCES",
    "UV_CUSTOM_COMPILE_COMMAND",
    "UV_UPGRADE",
    "UV_UPGRADE_PACKAGE",
)
# Progress chatter that says nothing about why a tool failed.
_NOISE = re.compile(
    r"^(?:Using (?:CPython|PyPy|Python)\b|Resolved \d+ package|Prepared \d+|Audited \d+"
    r"|Creating virtualenv|Updating dependencies|Resolving dependencies|Writing lock file"
    r"|Ignoring existing lockfile|Locking\b|Installing dependencies"
    # Poetry's warnings about the project's own pyproject.toml, printed before any error
    r"|(?:Warning: )?The \S.* is deprecated\b|Warning: \S.* is deprecated\b)",
    re.IGNORECASE,
)
# uv's words for an index it could not ask (as opposed to an answer about versions).
_UNREACHABLE = re.compile(r"Failed to fetch|Request failed after|error sending request")
# uv.lock [options] keys -> the uv lock option that reproduces them.
_UV_LOCK_OPTIONS = {
    "resolution-mode": "--resolution",
    "prerelease-mode": "--prerelease",
    "fork-strategy": "--fork-strategy",
    "exclude-newer": "--exclude-newer",
}
# Keys of a uv configuration table that name where packages come from.
_UV_INDEX_KEYS = ("index", "index-url", "extra-index-url", "find-links", "no-index")
_PIP_COMPILE_DEFAULT_INPUTS = ("requirements.in", "setup.py", "pyproject.toml", "setup.cfg")
_FIND_LINKS_LINE = re.compile(r"^[ \t]*(?:-f|--find-links)\b", re.MULTILINE)
_ANNOTATION_ON_PIN = re.compile(r"^[^#\s].*\S {2}# via ", re.MULTILINE)


_READERS: dict[FileKind, Callable[[str, PurePosixPath], DependencyFile]] = {
    FileKind.UV_LOCK: parse_uv_lock,
    FileKind.PIP_COMPILE: parse_requirements,
    FileKind.PYLOCK: parse_pylock,
    FileKind.POETRY_LOCK: parse_poetry_lock,
    FileKind.PDM_LOCK: parse_pdm_lock,
    FileKind.PIPFILE_LOCK: parse_pipfile_lock,
}


# --------------------------------------------------------------------------------------------
# Errors


class RelockFailed(ExternalError):
    """The lock's tool could not regenerate it; ``explanation`` is the tool's own, redacted."""

    def __init__(self, path: PurePosixPath | str, tool: str, explanation: str) -> None:
        self.path = PurePosixPath(str(path))
        self.tool = tool
        self.explanation = explanation
        super().__init__(f"{self.path}: {tool} failed: {explanation}")


class RelockUnsupported(ExternalError):
    """greenbump cannot regenerate this lock here (its tool is missing or unknown)."""


class ResolutionFailed(ExternalError):
    """uv found no set of versions that satisfies the inputs and constraints."""

    def __init__(self, explanation: str) -> None:
        self.explanation = explanation
        super().__init__(f"no resolution: {explanation}")


# --------------------------------------------------------------------------------------------
# Public API


def relock(
    project_dir: Path,
    lock: DependencyFile,
    index: IndexConfig,
    *,
    upgrade: Mapping[str, str] | None = None,
    python: str | None = None,
    timeout: float = 600,
) -> None:
    """Regenerate ``lock`` in place inside ``project_dir`` with its own tool.

    Packages in ``upgrade`` (name -> version) move to exactly those versions; everything else
    stays as locked where the resolution allows it. ``python`` is the interpreter (or version
    request) for tools that need one (uv); ``timeout`` bounds the whole regeneration.

    Raises :class:`RelockFailed` when the tool fails or the result misses a requested version,
    :class:`RelockUnsupported` when this lock cannot be regenerated here.
    """
    upgrades = _check_upgrades(upgrade or {})
    project = Path(project_dir)
    path = project / lock.path
    text = read_text(path, display=Path(lock.path)) if path.exists() else lock.text
    job = _Job(
        project_dir=project,
        lock=lock,
        index=index,
        upgrades=upgrades,
        python=python,
        deadline=time.monotonic() + timeout,
        locked=_pins(lock.kind, text, lock.path) if lock.kind in _READERS else {},
    )
    handlers: dict[FileKind, Callable[[_Job], None]] = {
        FileKind.UV_LOCK: _relock_uv_lock,
        FileKind.PIP_COMPILE: _relock_compiled,
        FileKind.PYLOCK: _relock_pylock,
        FileKind.POETRY_LOCK: _relock_poetry,
        FileKind.PDM_LOCK: _relock_pdm,
        FileKind.PIPFILE_LOCK: _relock_pipfile,
    }
    handler = handlers.get(lock.kind)
    if handler is None:
        raise RelockUnsupported(f"{lock.path}: a {lock.kind.value} file is not a lock file")
    handler(job)
    _verify(job)


def compile_requirements(
    inputs: Sequence[Path],
    *,
    index: IndexConfig,
    constraints: Sequence[str] = (),
    python: str | None = None,
    cwd: Path,
    timeout: float = 600,
) -> dict[str, str]:
    """Resolve ``inputs`` plus ``constraints`` (requirement lines) with ``uv pip compile``.

    Returns normalized name -> version for every package of the resolution (URL and editable
    requirements, which have no version, are left out). Raises :class:`ResolutionFailed` with
    uv's explanation when the set does not install together, and a plain
    :class:`~greenbump.errors.ExternalError` when the index could not be reached or uv timed
    out, which says nothing about the versions.
    """
    with tempfile.TemporaryDirectory(prefix="greenbump-compile-") as scratch:
        argv: list[str | Path] = [uv_binary(), "pip", "compile", *inputs]
        if constraints:
            constraints_file = Path(scratch) / "constraints.txt"
            constraints_file.write_text("".join(f"{c}\n" for c in constraints), encoding="utf-8")
            argv += ["--constraints", constraints_file]
        argv += ["--no-header", "--no-annotate", *index.uv_args()]
        if python:
            argv += ["--python", python]
        result = proc.run(
            argv, cwd=cwd, env=_uv_env(index), timeout=timeout, check=False, what="uv pip compile"
        )
    if not result.ok:
        explanation = _explain(result, index.secrets())
        if result.timed_out or _UNREACHABLE.search(result.stderr):
            # Not an answer about these versions: the index could not be asked.
            raise ExternalError(f"uv pip compile failed: {explanation}")
        raise ResolutionFailed(explanation)
    pins: dict[str, str] = {}
    for decl in parse_requirements(result.stdout, PurePosixPath("<uv output>")).declarations:
        if decl.locked is not None and decl.url is None:
            pins[canonicalize_name(decl.name)] = decl.locked
    return pins


def tools_dir() -> Path:
    """Where greenbump keeps the tools it installs itself (``$GREENBUMP_TOOLS_DIR`` wins)."""
    override = os.environ.get(TOOLS_DIR_VARIABLE)
    if override:
        return Path(override)
    return user_cache("tools")


def ensure_tool(name: str, requirement: str, index: IndexConfig, *, timeout: float = 600) -> Path:
    """The Python of greenbump's own virtual environment for tool ``name``, installed if needed.

    The environment is built with uv beside its final place and renamed into it only once the
    install succeeded, so a crash or a concurrent greenbump never leaves a half-installed tool
    that looks complete (tools are run as ``python -I -m NAME``, which survives the rename).
    ``requirement`` comes from the user's configured index (``index``).
    """
    home = tools_dir() / name
    python = _venv_python(home)
    if python.exists():
        return python
    home.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    uv = uv_binary()
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=home.parent) as scratch:
        venv = Path(scratch) / "venv"
        steps: list[list[str | Path]] = [
            [uv, "venv", "--quiet", venv, "--python", sys.executable],
            [uv, "pip", "install", "--python", _venv_python(venv), requirement, *index.uv_args()],
        ]
        for argv in steps:
            result = proc.run(
                argv,
                cwd=Path(scratch),
                env=_uv_env(index),
                timeout=max(1.0, deadline - time.monotonic()),
                check=False,
                what=f"installing {name}",
            )
            if not result.ok:
                raise RelockUnsupported(
                    f"cannot install {requirement} into {home}: {_explain(result, index.secrets())}"
                )
        try:
            venv.rename(home)
        except OSError:
            if not python.exists():  # not a concurrent install that won: a real failure
                raise
    return python


# --------------------------------------------------------------------------------------------
# The job and its checks


@dataclass(frozen=True)
class _Job:
    project_dir: Path
    lock: DependencyFile
    index: IndexConfig
    upgrades: dict[NormalizedName, str]
    python: str | None
    deadline: float
    locked: Mapping[NormalizedName, set[Version]]  # what the lock held before

    @property
    def path(self) -> Path:
        return self.project_dir / self.lock.path

    @property
    def folder(self) -> Path:
        return self.path.parent

    def read(self) -> str:
        if self.path.exists():
            return read_text(self.path, display=Path(self.lock.path))
        return self.lock.text

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RelockFailed(self.lock.path, "relock", "timed out")
        return left

    def run(
        self, argv: Sequence[str | Path], *, cwd: Path, env: Mapping[str, str], tool: str
    ) -> None:
        result = proc.run(argv, cwd=cwd, env=env, timeout=self.remaining(), check=False, what=tool)
        if not result.ok:
            raise RelockFailed(self.lock.path, tool, _explain(result, self.index.secrets()))

    def run_uv(
        self, argv: Sequence[str | Path], *, cwd: Path, env: Mapping[str, str], tool: str
    ) -> None:
        """A uv command, first from uv's cache alone (``--offline``), else as usual.

        An upgrade run relocks once per package, each time right after uv resolved the same
        packages, so the index pages and metadata are in uv's cache; asked online, uv
        revalidates every page first (an index that sends no caching headers must be asked
        again): on a real 83-package uv.lock, 1.8-2.5 s a lock online, 0.55-0.65 s offline.
        What the cache cannot answer fails at once and is asked online, as is any other
        failure, and the result is checked against the requested versions either way. The
        cache is as fresh as the resolution that just ran (``compile_requirements`` never
        runs offline), except for packages only other platforms need, which keep their
        locked versions unless a requested version moves them.
        """
        if not uv_cache_usable(env, [str(arg) for arg in argv]):
            self.run(argv, cwd=cwd, env=env, tool=tool)
            return
        offline = proc.run(
            [*argv, "--offline"],
            cwd=cwd,
            env=env,
            timeout=self.remaining(),
            check=False,
            what=f"{tool} --offline",
        )
        if not offline.ok:
            self.run(argv, cwd=cwd, env=env, tool=tool)

    def upgrade_args(self) -> list[str]:
        return [f"--upgrade-package={name}=={version}" for name, version in self.upgrades.items()]


def _check_upgrades(upgrade: Mapping[str, str]) -> dict[NormalizedName, str]:
    checked: dict[NormalizedName, str] = {}
    for name, version in upgrade.items():
        if not _NAME.match(name):
            raise ValueError(f"not a project name: {name!r}")
        try:
            Version(version)
        except InvalidVersion as exc:
            raise ValueError(f"not a version for {name}: {version!r}") from exc
        checked[canonicalize_name(name)] = version
    return checked


def _pins(kind: FileKind, text: str, path: PurePosixPath) -> dict[NormalizedName, set[Version]]:
    """Every locked version per package (a uv.lock may hold several for different markers)."""
    found: dict[NormalizedName, set[Version]] = {}
    for decl in _READERS[kind](text, path).declarations:
        if decl.locked is None:
            continue
        try:
            version = Version(decl.locked)
        except InvalidVersion:
            continue
        found.setdefault(decl.key, set()).add(version)
    return found


def _verify(job: _Job) -> None:
    """Check the regenerated lock holds every requested version (see the module docstring)."""
    try:
        after = _pins(job.lock.kind, job.read(), job.lock.path)
    except GreenbumpError as exc:
        explanation = f"wrote a file greenbump cannot read: {exc}"
        raise RelockFailed(job.lock.path, "relock", explanation) from exc
    problems: list[str] = []
    for name, wanted in job.upgrades.items():
        versions = after.get(name)
        if versions is None:
            if name in job.locked:
                problems.append(f"{name} is no longer in the lock")
            continue
        if Version(wanted) not in versions:
            shown = ", ".join(str(v) for v in sorted(versions))
            problems.append(f"{name} is locked at {shown}, not {wanted}")
    if problems:
        raise RelockFailed(job.lock.path, "relock", "; ".join(problems))


def _explain(result: proc.Completed, secrets: Sequence[str]) -> str:
    """The first lines of a tool's explanation, without progress chatter, redacted."""
    if result.timed_out:
        return f"timed out after {result.duration:.0f} s"
    text = result.stderr if result.stderr.strip() else result.stdout
    lines = [
        line.rstrip()
        for line in text.splitlines()
        if line.strip() and not _NOISE.match(line.strip())
    ]
    if not lines:
        return f"exit code {result.returncode}"
    if len(lines) > _EXPLANATION_LINES:
        lines = [*lines[:_EXPLANATION_LINES], "..."]
    return redact_text("\n".join(lines), secrets)


# --------------------------------------------------------------------------------------------
# Environments


def _base_env(index: IndexConfig) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED_ENV}
    if index.cert:
        # pip's configured CA bundle, for tools that read the conventional variables.
        env.setdefault("SSL_CERT_FILE", index.cert)
        env.setdefault("REQUESTS_CA_BUNDLE", index.cert)
    return env


def _uv_env(index: IndexConfig) -> dict[str, str]:
    """For uv run with ``index.uv_args()``: credentials in variables, nothing conflicting."""
    return index.uv_env(_base_env(index))


def _venv_python(venv: Path) -> Path:
    return bin_dir(venv) / ("python.exe" if sys.platform == "win32" else "python")


def _load_toml(path: Path) -> dict[str, Any]:
    # tomllib is tomli vendored into Python 3.11; tomli is a dependency on 3.10.
    parser = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    try:
        document: dict[str, Any] = parser.loads(read_text(path))
    except ValueError as exc:  # TOMLDecodeError
        raise RelockUnsupported(f"{path}: invalid TOML: {exc}") from exc
    return document


def _table(document: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    current: Any = document
    for key in keys:
        current = current.get(key) if isinstance(current, Mapping) else None
    return current if isinstance(current, Mapping) else {}


# --------------------------------------------------------------------------------------------
# uv.lock


def _relock_uv_lock(job: _Job) -> None:
    _uv_lock(job, job.folder, _lock_options(job.read()))


def _uv_lock(job: _Job, folder: Path, options: list[str]) -> None:
    argv: list[str | Path] = [uv_binary(), "lock", *options, *job.upgrade_args()]
    if job.python:
        argv += ["--python", job.python]
    if _project_names_indexes(folder):
        # The project's own index configuration, as its uv.lock records (module docstring).
        env = _base_env(job.index)
    else:
        argv += job.index.uv_args()
        env = _uv_env(job.index)
    job.run_uv(argv, cwd=folder, env=env, tool="uv lock")


def _lock_options(text: str) -> list[str]:
    """uv lock options reproducing the resolver settings a uv.lock records in ``[options]``."""
    parser = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    header = text.split("[[package]]", 1)[0]  # [options] comes before the packages
    try:
        options = _table(parser.loads(header), "options")
    except ValueError:
        return []
    args: list[str] = []
    for key, flag in _UV_LOCK_OPTIONS.items():
        value = options.get(key)
        if isinstance(value, str):
            args.append(f"{flag}={value}")
    for name, value in _table(options, "exclude-newer-package").items():
        if isinstance(value, str):
            args.append(f"--exclude-newer-package={name}={value}")
    return args


def _project_names_indexes(folder: Path) -> bool:
    """Whether the project's uv configuration says where packages come from."""
    uv_toml = folder / "uv.toml"
    if uv_toml.is_file() and not os.environ.get("UV_NO_CONFIG"):
        table: Mapping[str, Any] = _load_toml(uv_toml)
    elif (folder / "pyproject.toml").is_file():
        table = _table(_load_toml(folder / "pyproject.toml"), "tool", "uv")
    else:
        return False
    return any(key in table for key in _UV_INDEX_KEYS)


# --------------------------------------------------------------------------------------------
# Compiled requirements (pip-compile / uv pip compile) and pylock.toml


@dataclass
class _Replay:
    """How to run ``uv pip compile`` (or ``uv export``) again for one output file."""

    cwd: Path
    output: str
    inputs: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    command: str | None = None  # the header's command line as written
    notes: list[str] = field(default_factory=list)


def _spellings(names: str, takes_value: bool, action: str) -> dict[str, tuple[bool, str]]:
    return dict.fromkeys(names.split(), (takes_value, action))


# Option spelling -> (takes a value, what to do). Actions: "keep"; "drop" (meaningless for a
# replay, or decided by greenbump: indexes, upgrades, caches, verbosity); "output"; "python";
# "unsupported"; and the pip-compile ones handled in _parse_command / _pip_compile_defaults.
# An option missing here is kept as a flag from a uv header, left out from a pip-compile one.
_UV_COMPILE_OPTIONS: dict[str, tuple[bool, str]] = {
    **_spellings(
        "-c --constraint --constraints --override --overrides --exclude --excludes"
        " -b --build-constraint --build-constraints --extra --no-extra --group --no-group"
        " --only-group --cert --format --annotation-style --no-binary --only-binary"
        " --python-platform --python-version --no-emit-package --unsafe-package"
        " --torch-backend --resolution --prerelease --prerelease-package --fork-strategy"
        " --exclude-newer --exclude-newer-package --no-sources-package -C --config-setting"
        " --config-settings --config-settings-package --no-build-isolation-package"
        " --no-build-package --no-binary-package --keyring-provider --allow-insecure-host"
        " --trusted-host --client-cert --directory --project --config-file --package --prune"
        " --no-editable-package --script",
        True,
        "keep",
    ),
    **_spellings(
        "--index --default-index -i --index-url --extra-index-url -f --find-links"
        " --index-strategy -P --upgrade-package --upgrade-group --refresh-package --cache-dir"
        " --color --link-mode --custom-compile-command",
        True,
        "drop",
    ),
    **_spellings(
        "--no-index -U --upgrade --refresh -n --no-cache -q --quiet -v --verbose"
        " --no-progress --frozen --locked --offline",
        False,
        "drop",
    ),
    **_spellings("-o --output-file", True, "output"),
    **_spellings("-p --python", True, "python"),
}

# pip-compile (pip-tools 7) options and how each maps to uv pip compile.
_PIP_COMPILE_OPTIONS: dict[str, tuple[bool, str]] = {
    **_spellings("--extra --annotation-style", True, "keep"),
    **_spellings(
        "--all-extras --generate-hashes --no-header --no-annotate --no-build-isolation"
        " --no-strip-extras --emit-index-url --emit-find-links",
        False,
        "keep",
    ),
    **_spellings("-c --constraint", True, "constraint"),
    **_spellings("-o --output-file", True, "output"),
    **_spellings("-p --pre", False, "pre"),  # -p is --pre for pip-compile, --python for uv
    "--unsafe-package": (True, "unsafe-package"),
    "--allow-unsafe": (False, "allow-unsafe"),
    "--strip-extras": (False, "strip-extras"),
    "--no-emit-index-url": (False, "no-emit-index-url"),
    "--no-emit-find-links": (False, "no-emit-find-links"),
    **_spellings(
        "-i --index-url --extra-index-url -f --find-links --trusted-host --cert --client-cert"
        " -P --upgrade-package --newline --max-rounds --pip-args --resolver --cache-dir --config",
        True,
        "drop",
    ),
    **_spellings(
        "--no-index -v --verbose -q --quiet -n --dry-run -r --rebuild -U --upgrade"
        " --no-upgrade --no-allow-unsafe --reuse-hashes --no-reuse-hashes --build-isolation"
        " --emit-trusted-host --no-emit-trusted-host --emit-options --no-emit-options"
        " --no-config --header --annotate",
        False,
        "drop",
    ),
    "--build-deps-for": (True, "unsupported"),
    **_spellings("--all-build-deps --only-build-deps", False, "unsupported"),
}


def _relock_compiled(job: _Job) -> None:
    _compile(job, pylock=False)


def _relock_pylock(job: _Job) -> None:
    text = job.read()
    argv = compile_command(text) or []
    if _is_uv(argv, "pip", "compile"):
        _compile(job, pylock=True)
    elif _is_uv(argv, "export"):
        _export(job, argv)
    else:
        raise RelockUnsupported(
            f"{job.lock.path}: cannot tell how this pylock.toml was made (its header names "
            "neither `uv pip compile` nor `uv export`); regenerate it with its own tool"
        )


def _program(argv: Sequence[str]) -> str:
    return PurePosixPath(argv[0]).name if argv else ""


def _is_uv(argv: Sequence[str], *subcommand: str) -> bool:
    """Whether ``argv`` runs ``uv SUBCOMMAND...`` (``uv`` possibly named by its path)."""
    size = len(subcommand)
    return _program(argv) == "uv" and list(argv[1 : 1 + size]) == list(subcommand)


def _compile(job: _Job, *, pylock: bool) -> None:
    text = job.read()
    old = parse_requirements(text, job.lock.path) if not pylock else None
    replay = _compile_replay(job, text, old)
    uv = uv_binary()
    if pylock:
        help_text = proc.run([uv, "pip", "compile", "--help"], timeout=min(60.0, job.remaining()))
        if "pylock.toml" not in help_text.stdout:
            raise RelockUnsupported(
                f"{job.lock.path}: this uv cannot write pylock.toml; upgrade uv to regenerate it"
            )
        if not any(o == "--format" or o.startswith("--format=") for o in replay.options):
            replay.options += ["--format", "pylock.toml"]
    for note in replay.notes:
        log.info("%s: %s", job.lock.path, note)
    argv: list[str | Path] = [
        uv,
        "pip",
        "compile",
        *replay.inputs,
        *replay.options,
        "--output-file",
        replay.output,
        *job.index.uv_args(),
        *job.upgrade_args(),
    ]
    if replay.command is not None:
        argv += ["--custom-compile-command", replay.command]
    if job.python:
        argv += ["--python", job.python]
    job.run_uv(argv, cwd=replay.cwd, env=_uv_env(job.index), tool="uv pip compile")
    _restore_header(job, text)


def _compile_replay(job: _Job, text: str, old: DependencyFile | None) -> _Replay:
    """Work out inputs, options, output and working folder from the file's header."""
    argv = compile_command(text) or []
    command = _header_command_text(text, argv)
    program = _program(argv)
    if program == "pip-compile":
        replay, seen = _parse_command(job, argv[1:], _PIP_COMPILE_OPTIONS, pip_compile=True)
        _pip_compile_defaults(replay, seen, text, old)
    elif _is_uv(argv, "pip", "compile"):
        replay, _seen = _parse_command(job, argv[3:], _UV_COMPILE_OPTIONS, pip_compile=False)
    else:
        # A wrapper (``make requirements``) recorded with --custom-compile-command: the inputs
        # and options are not written down, so take the conventional input and read the rest
        # off the file itself.
        replay = _custom_replay(job, text, old)
    replay.command = command
    if not replay.inputs:
        raise RelockFailed(
            job.lock.path, "uv pip compile", "its header names no input file to compile from"
        )
    for item in replay.inputs:
        if item == "-":
            raise RelockUnsupported(f"{job.lock.path}: compiled from standard input; cannot replay")
        if not (replay.cwd / item).exists():
            raise RelockFailed(
                job.lock.path,
                "uv pip compile",
                f"input file {item} named in its header does not exist in {_shown(job, replay)}",
            )
    return replay


def _shown(job: _Job, replay: _Replay) -> str:
    try:
        relative = replay.cwd.relative_to(job.project_dir).as_posix()
    except ValueError:
        return str(replay.cwd)
    return "the project root" if relative == "." else relative


def _parse_command(
    job: _Job, args: Sequence[str], table: Mapping[str, tuple[bool, str]], *, pip_compile: bool
) -> tuple[_Replay, set[str]]:
    """Split a header's arguments into inputs and translated options; also the actions seen."""
    inputs: list[str] = []
    options: list[str] = []
    notes: list[str] = []
    seen: set[str] = set()
    output: str | None = None
    python: str | None = None
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        if arg == "--":
            inputs += args[position:]
            break
        if not arg.startswith("-") or arg == "-":
            inputs.append(arg)
            continue
        spelling, equals, inline = arg.partition("=")
        takes_value, action = table.get(spelling, (False, "unknown"))
        value: str | None = None
        if equals:
            value = inline
        elif takes_value and position < len(args):
            value = args[position]
            position += 1
        seen.add(action)
        if action == "keep" or (action == "unknown" and not pip_compile):
            options += [spelling] if value is None else [spelling, value]
        elif action == "output":
            output = value
        elif action == "python":
            python = value
        elif action == "constraint":
            options += ["--constraints", value or ""]
        elif action == "pre":
            options += ["--prerelease", "allow"]
        elif action == "unsafe-package":
            options += ["--no-emit-package", value or ""]
        elif action == "unsupported":
            raise RelockUnsupported(
                f"{job.lock.path}: pip-compile's {spelling} has no uv equivalent; "
                "regenerate this file with pip-compile"
            )
        elif action in ("drop", "unknown"):
            notes.append(f"header option {spelling} left out: greenbump decides it or uv has none")
    if python is not None and job.python is None:
        options += ["--python", python]
    cwd, output_name = _locate(job, output)
    replay = _Replay(cwd=cwd, output=output_name, inputs=inputs, options=options, notes=notes)
    return replay, seen


def _pip_compile_defaults(
    replay: _Replay, seen: set[str], text: str, old: DependencyFile | None
) -> None:
    """Reproduce pip-compile's defaults where uv's differ, judged by what the file shows."""
    if not replay.inputs:
        # pip-compile's default inputs, the first that exists.
        for candidate in _PIP_COMPILE_DEFAULT_INPUTS:
            if (replay.cwd / candidate).exists():
                replay.inputs.append(candidate)
                break
    declarations = old.declarations if old else ()
    pins = {decl.key for decl in declarations if decl.locked}
    if "no-emit-index-url" not in seen and old and (old.index_urls or old.extra_index_urls):
        _add_flag(replay, "--emit-index-url")
    if "no-emit-find-links" not in seen and _FIND_LINKS_LINE.search(text):
        _add_flag(replay, "--emit-find-links")
    if "strip-extras" not in seen and any(d.extras and d.locked for d in declarations):
        _add_flag(replay, "--no-strip-extras")
    if "allow-unsafe" not in seen:
        for name in _UNSAFE:
            if name not in pins:
                replay.options += ["--no-emit-package", name]


def _custom_replay(job: _Job, text: str, old: DependencyFile | None) -> _Replay:
    cwd, output = _locate(job, None)
    conventional = PurePosixPath(output).with_suffix(".in").as_posix()
    replay = _Replay(cwd=cwd, output=output, inputs=[conventional])
    replay.notes.append(f"header names a custom command; compiling {conventional}")
    if "--hash" in text:
        replay.options.append("--generate-hashes")
    if old and any(d.extras and d.locked for d in old.declarations):
        replay.options.append("--no-strip-extras")
    if old and (old.index_urls or old.extra_index_urls):
        replay.options.append("--emit-index-url")
    if _FIND_LINKS_LINE.search(text):
        replay.options.append("--emit-find-links")
    if "# via" not in text:
        replay.options.append("--no-annotate")
    elif _ANNOTATION_ON_PIN.search(text):
        replay.options += ["--annotation-style", "line"]
    return replay


def _add_flag(replay: _Replay, flag: str) -> None:
    if flag not in replay.options:
        replay.options.append(flag)


def _locate(job: _Job, output: str | None) -> tuple[Path, str]:
    """The folder the header's command ran in, and the output path relative to it.

    The header's ``-o`` path is relative to where the command ran, so that folder is the part
    of the file's own path that the ``-o`` path does not account for
    (``requirements/prod.txt`` with ``-o requirements/prod.txt`` ran at the root; with
    ``-o prod.txt`` in ``requirements/``). Without a usable ``-o``: the file's folder.
    """
    lock_parts = job.lock.path.parts
    if output:
        out = PurePosixPath(output)
        size = len(out.parts)
        usable = not out.is_absolute() and ".." not in out.parts and 0 < size <= len(lock_parts)
        if usable and lock_parts[-size:] == out.parts:
            return job.project_dir.joinpath(*lock_parts[:-size]), out.as_posix()
    return job.folder, job.lock.path.name


def _header_command_text(text: str, argv: Sequence[str]) -> str | None:
    """The header's command line exactly as written (``compile_command`` gives it split)."""
    if not argv:
        return None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            if stripped:
                break
            continue
        comment = stripped[1:].strip()
        try:
            if comment and shlex.split(comment) == list(argv):
                return comment
        except ValueError:
            continue
    return shlex.join(argv)


def _header_end(text: str) -> int:
    """Offset just past the leading block of comment and blank lines."""
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        offset += len(line)
    return offset


def _restore_header(job: _Job, old_text: str) -> None:
    """Put the original header and line endings back on the regenerated file."""
    new_text = read_text(job.path, display=Path(job.lock.path))
    body = new_text
    if "\r\n" in old_text and "\r\n" not in body:  # uv writes LF; pip-compile --newline
        body = body.replace("\n", "\r\n")
    result = body
    old_end, new_end = _header_end(old_text), _header_end(body)
    if old_end and new_end and is_compiled(old_text):
        result = old_text[:old_end] + body[new_end:]
    result = _keep_location_lines(old_text, result)
    if result != new_text:
        write_text(job.path, result)


_LOCATION_LINE = re.compile(
    r"(?P<option>--index-url|-i|--extra-index-url|--find-links|-f)(?:=|\s+)(?P<value>\S+)"
)
_LOCATION_OPTION = {"-i": "--index-url", "-f": "--find-links"}


def _keep_location_lines(old_text: str, new_text: str) -> str:
    """``new_text`` with the old file's own index and find-links lines where uv wrote the
    same location as it uses it: expanded (pip's ``${NAME}``) and without credentials.

    uv emits the URL it was given, so a relock would otherwise replace
    ``--index-url https://${USER}:${TOKEN}@host/simple`` with ``https://host/simple``, and
    the next ``pip install -r`` would lack its credentials.
    """
    written: dict[tuple[str, str], str] = {}
    for line in old_text.splitlines():
        key = _location_key(line)
        if key is not None:
            written.setdefault(key, line.strip())
    if not written:
        return new_text
    lines = new_text.splitlines(keepends=True)
    for number, line in enumerate(lines):
        key = _location_key(line)
        original = written.get(key) if key is not None else None
        if original is not None and original != line.strip():
            content = line.rstrip("\r\n")
            indent = content[: len(content) - len(content.lstrip())]
            lines[number] = indent + original + line[len(content) :]
    return "".join(lines)


def _location_key(line: str) -> tuple[str, str] | None:
    """The option and the location a requirement file's index or find-links line names."""
    match = _LOCATION_LINE.fullmatch(line.strip())
    if match is None:
        return None
    option = _LOCATION_OPTION.get(match["option"], match["option"])
    url = expand_pip_variables(match["value"], os.environ).url
    return option, strip_userinfo(url).rstrip("/")


def _export(job: _Job, argv: Sequence[str]) -> None:
    """A pylock.toml exported from uv.lock: relock uv.lock, then export it again."""
    text = job.read()
    replay, _seen = _parse_command(job, argv[2:], _UV_COMPILE_OPTIONS, pip_compile=False)
    if replay.inputs:
        # uv export takes no positional arguments: these are values of options greenbump does
        # not know, so the command cannot be replayed faithfully.
        raise RelockUnsupported(
            f"{job.lock.path}: cannot read the `uv export` command in its header "
            f"(unexpected {' '.join(replay.inputs)})"
        )
    uv_lock = replay.cwd / "uv.lock"
    if not uv_lock.is_file():
        raise RelockFailed(
            job.lock.path, "uv export", f"no uv.lock in {_shown(job, replay)} to export from"
        )
    _uv_lock(job, replay.cwd, _lock_options(read_text(uv_lock)))
    export: list[str | Path] = [
        uv_binary(),
        "export",
        "--frozen",
        *replay.options,
        "--output-file",
        replay.output,
    ]
    if not any(o == "--format" or o.startswith("--format=") for o in replay.options):
        export += ["--format", "pylock.toml"]
    job.run(export, cwd=replay.cwd, env=_base_env(job.index), tool="uv export")
    _restore_header(job, text)


# --------------------------------------------------------------------------------------------
# poetry.lock


def _relock_poetry(job: _Job) -> None:
    command, major = _poetry_command(job)
    env = _base_env(job.index)
    env.update(
        POETRY_NO_INTERACTION="1",
        # No virtual environment for the project: locking needs none, and one would be left
        # in the user's cache for every scratch worktree.
        POETRY_VIRTUALENVS_CREATE="false",
    )
    env.update(_poetry_credentials(job, env))
    moving = [name for name in job.upgrades if name in job.locked]
    flags = ["--no-interaction", "--no-ansi"]

    def lock_keeping_versions() -> None:
        nonlocal major
        if major is None:  # the user's own Poetry: 1.x needs --no-update to keep versions
            version = _tool_version(job, command, env, "poetry")
            major = version.major if version is not None else 2
        argv = [*command, "lock", *(["--no-update"] if major < 2 else []), *flags]
        job.run(argv, cwd=job.folder, env=env, tool="poetry")

    if not moving:
        lock_keeping_versions()
        return
    # Re-resolves with these unlocked and everything else kept, manifest edits included.
    job.run([*command, "update", "--lock", *flags, *moving], cwd=job.folder, env=env, tool="poetry")
    overshot = _overshot(job, moving)
    if overshot:  # pinned through a dependency group for one lock (see _pinned_manifest)
        with _pinned_manifest(job, _requested(job, overshot), _with_pin_group):
            argv = [*command, "update", "--lock", *flags, *overshot]
            job.run(argv, cwd=job.folder, env=env, tool="poetry")
        lock_keeping_versions()


def _overshot(job: _Job, moving: Sequence[NormalizedName]) -> list[NormalizedName]:
    """The packages the tool moved past (or beside) their requested version."""
    after = _pins(job.lock.kind, job.read(), job.lock.path)
    return [n for n in moving if n in after and Version(job.upgrades[n]) not in after[n]]


_Pins = TypeVar("_Pins")


@contextlib.contextmanager
def _pinned_manifest(
    job: _Job,
    pins: _Pins,
    pin: Callable[[str, _Pins], str],
    manifest: str = "pyproject.toml",
) -> Iterator[None]:
    """The manifest (``pyproject.toml``, or pipenv's ``Pipfile``) pinning ``pins`` (name ->
    version) exactly, for one lock.

    Poetry, pdm and pipenv move a package to the newest release its constraints allow and
    take no version on the command line; when that is not the tested one (a newer release is
    too young for the policy, or the tool's universal resolution forks a package that uv
    resolved for the tested Python), the manifest pins it while the tool locks, then is put
    back byte for byte; the caller locks again keeping versions, so the lock describes the
    project's own manifest and still holds the pinned versions (the tools prefer what is
    locked).
    """
    path = job.folder / manifest
    original = path.read_bytes()
    try:
        path.write_text(pin(original.decode("utf-8"), pins), encoding="utf-8")
        yield
    finally:
        path.write_bytes(original)


def _requested(job: _Job, names: Sequence[NormalizedName]) -> dict[str, str]:
    return {str(name): job.upgrades[name] for name in names}


_PIN_GROUP = "greenbump-pins"  # a dependency group that exists only while greenbump locks


def _with_pin_group(text: str, pins: Mapping[str, str]) -> str:
    """``pyproject.toml`` text with an extra Poetry dependency group pinning ``pins`` exactly.

    A group works for both layouts Poetry reads (``[project]`` and ``[tool.poetry]``) and
    constrains transitive packages as well as direct ones.
    """
    return _with_table(text, ("tool", "poetry", "group", _PIN_GROUP, "dependencies"), pins)


def _with_overrides(text: str, pins: Mapping[str, str]) -> str:
    """``pyproject.toml`` text with pdm resolution overrides pinning ``pins`` exactly."""
    return _with_table(text, ("tool", "pdm", "resolution", "overrides"), pins)


def _with_table(text: str, keys: Sequence[str], pins: Mapping[str, str]) -> str:
    """``text`` with ``name = "==version"`` for each pin in the table at ``keys`` (created,
    or added to, keeping everything else as it was)."""
    import tomlkit  # deferred: only a relock that overshot needs it

    document = tomlkit.parse(text)
    table: Any = document
    for position, key in enumerate(keys):
        last = position == len(keys) - 1
        table = table.setdefault(key, tomlkit.table(is_super_table=not last))
    for name, version in pins.items():
        table[name] = f"=={version}"
    return tomlkit.dumps(document)


def _poetry_command(job: _Job) -> tuple[list[str], int | None]:
    """How to run Poetry, and its major version when known without asking (Poetry is slow)."""
    command = _tool(job, "poetry", POETRY_REQUIREMENT)
    return command, None if len(command) == 1 else 2  # ours is POETRY_REQUIREMENT's


def _poetry_credentials(job: _Job, env: Mapping[str, str]) -> dict[str, str]:
    """``POETRY_HTTP_BASIC_<SOURCE>_*`` for the project's sources greenbump has credentials for."""
    pyproject = job.folder / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    sources = _table(_load_toml(pyproject), "tool", "poetry").get("source", [])
    known = {_url_key(entry.url): entry for entry in _index_entries(job.index)}
    found: dict[str, str] = {}
    for source in sources if isinstance(sources, list) else []:
        if not isinstance(source, Mapping):
            continue
        name, url = source.get("name"), source.get("url")
        if not isinstance(name, str) or not isinstance(url, str):
            continue
        entry = known.get(_url_key(url))
        if entry is None or entry.auth is None:
            continue
        prefix = "POETRY_HTTP_BASIC_" + re.sub(r"[^A-Z0-9]", "_", name.upper())
        if f"{prefix}_USERNAME" in env or f"{prefix}_PASSWORD" in env:
            continue
        found[f"{prefix}_USERNAME"] = entry.username or ""
        found[f"{prefix}_PASSWORD"] = entry.password or ""
    return found


def _index_entries(index: IndexConfig) -> tuple[IndexUrl, ...]:
    return (*index.search_order(), *index.find_links)


def _url_key(url: str) -> str:
    return url.rstrip("/").lower()


def _tool_version(
    job: _Job, command: Sequence[str], env: Mapping[str, str], tool: str
) -> Version | None:
    result = proc.run(
        [*command, "--version"],
        cwd=job.folder,
        env=env,
        timeout=min(60.0, job.remaining()),
        check=False,
        what=tool,
    )
    match = re.search(r"(\d+(?:\.\d+)+)", result.stdout)
    if not result.ok or match is None:
        return None
    try:
        return Version(match.group(1))
    except InvalidVersion:
        return None


# --------------------------------------------------------------------------------------------
# Tools installed on demand, and pdm.lock


def _tool(job: _Job, program: str, requirement: str) -> list[str]:
    """The user's ``program`` on ``PATH``, else one installed once into greenbump's tool
    cache, run as ``python -I -m program``: isolated, so a folder of the project named like
    the tool (pipenv's own repository has ``pipenv/``) cannot shadow it."""
    found = shutil.which(program)
    if found:
        return [found]
    try:
        python = ensure_tool(program, requirement, job.index, timeout=job.remaining())
    except ExternalError as exc:
        raise RelockUnsupported(
            f"{job.lock.path}: not supported without {program} ({exc})"
        ) from exc
    return [str(python), "-I", "-m", program]


def _relock_pdm(job: _Job) -> None:
    pdm = _tool(job, "pdm", PDM_REQUIREMENT)
    env = _base_env(job.index)
    env.update(PDM_NON_INTERACTIVE="1", PDM_CHECK_UPDATE="false")
    pyproject = job.folder / "pyproject.toml"
    has_sources = pyproject.is_file() and bool(
        _table(_load_toml(pyproject), "tool", "pdm").get("source")
    )
    primary = job.index.index
    if not has_sources and primary is not None and "PDM_PYPI_URL" not in env:
        # pdm's default source is replaced by the user's configured index.
        env["PDM_PYPI_URL"] = primary.url
        if primary.auth is not None:
            env["PDM_PYPI_USERNAME"] = primary.username or ""
            env["PDM_PYPI_PASSWORD"] = primary.password or ""
    moving = [name for name in job.upgrades if name in job.locked]
    keep = [*pdm, "lock", "--update-reuse"]
    if not moving:
        job.run(keep, cwd=job.folder, env=env, tool="pdm")
        return
    update = [*pdm, "update", "--no-sync", "--update-reuse"]
    job.run([*update, *moving], cwd=job.folder, env=env, tool="pdm")
    overshot = _overshot(job, moving)
    if overshot:  # pinned through resolution overrides for one lock (see _pinned_manifest)
        with _pinned_manifest(job, _requested(job, overshot), _with_overrides):
            job.run([*update, *overshot], cwd=job.folder, env=env, tool="pdm")
        job.run(keep, cwd=job.folder, env=env, tool="pdm")


# --------------------------------------------------------------------------------------------
# Pipfile.lock

# Pipfile tables that hold no packages (pipenv's own list); every other table is a category.
_PIPFILE_NON_CATEGORIES = frozenset({"build-system", "pipenv", "requires", "scripts", "source"})
# Pipfile category -> its Pipfile.lock section, where the names differ.
_PIPFILE_LOCK_SECTIONS = {"packages": "default", "dev-packages": "develop"}
# Entry keys of packages that come from somewhere other than an index: no version to pin.
_PIPFILE_NOT_PINNABLE = frozenset({"git", "hg", "svn", "bzr", "path", "file"})
# Settings that would make pipenv lock another Pipfile, or in another environment.
_PIPENV_DROPPED_ENV = (
    "PIPENV_PIPFILE",
    "PIPENV_VENV_IN_PROJECT",
    "PIPENV_CUSTOM_VENV_NAME",
    "PIPENV_PYTHON",
    "PIPENV_ACTIVE",
    "VIRTUAL_ENV",
)

PipfilePins = Mapping[str, Mapping[str, str]]  # Pipfile.lock section -> name -> version


def _relock_pipfile(job: _Job) -> None:
    """``pipenv upgrade --lock-only``: pipenv's own way to move named packages (with no names,
    to re-resolve only the entries the Pipfile no longer allows), keeping every other
    locked version; ``pipenv lock`` would re-resolve every package."""
    pipfile = job.folder / "Pipfile"
    if not pipfile.is_file():
        raise RelockFailed(job.lock.path, "pipenv", "there is no Pipfile beside it")
    manifest = _load_toml(pipfile)
    pipenv = _tool(job, "pipenv", PIPENV_REQUIREMENT)
    python = ["--python", job.python] if job.python else []
    upgrade = [*pipenv, "upgrade", "--lock-only", *python]
    sections = _pipfile_lock_sections(manifest, job.read())
    keep = [*upgrade, "--categories", ",".join(sections)]
    moving = [name for name in job.upgrades if name in job.locked]
    # pipenv locks inside a virtual environment it makes; it goes with this folder.
    with tempfile.TemporaryDirectory(prefix="greenbump-pipenv-") as venvs:
        env = _pipenv_env(job, manifest, Path(venvs))

        def run(argv: Sequence[str]) -> None:
            job.run(argv, cwd=job.folder, env=env, tool="pipenv")

        if not moving:
            run(keep)
            return
        before = _pipfile_lock_versions(job.read())
        run([*upgrade, *moving])
        after = _pipfile_lock_versions(job.read())
        overshot = _overshot(job, moving)
        dragged = _dragged(job, before, after)
        if not overshot and not any(dragged.values()):
            return
        # pipenv takes the upgraded packages and their dependencies from a fresh resolution
        # of the whole Pipfile, so it can move them past the tested versions: the Pipfile
        # pins them for one more lock (see _pinned_manifest), then is put back and locked
        # keeping versions, which also gives the lock the Pipfile's own hash. The requested
        # versions are pinned too: pipenv copies only the named packages out of that
        # resolution, which must therefore hold the versions they go beside.
        requested: dict[str, dict[str, str]] = {
            section: {str(name): job.upgrades[name] for name in moving if name in versions}
            for section, versions in after.items()
        }
        attempts: list[PipfilePins] = []
        if any(dragged.values()):
            attempts.append(_merge_pins(requested, dragged))
        if overshot:
            attempts.append(requested)  # without the dependencies the upgrade needs moved
        for position, pins in enumerate(attempts):
            names = sorted({name for versions in pins.values() for name in versions})
            try:
                with _pinned_manifest(job, pins, _with_pipfile_pins, "Pipfile"):
                    run([*upgrade, *names])
            except RelockFailed:
                if overshot and position == len(attempts) - 1:
                    raise
                continue  # (no overshoot: pipenv's own choice stands, already locked)
            break
        run(keep)


def _pipfile_lock_sections(manifest: Mapping[str, Any], lock_text: str) -> list[str]:
    """The Pipfile.lock sections to lock: the Pipfile's categories, and any the lock has."""
    sections = ["default", "develop"]
    for category, value in manifest.items():
        if category not in _PIPFILE_NON_CATEGORIES and isinstance(value, Mapping):
            sections.append(_PIPFILE_LOCK_SECTIONS.get(category, category))
    sections += _pipfile_lock_versions(lock_text)
    return list(dict.fromkeys(sections))


def _pipfile_lock_versions(text: str) -> dict[str, dict[NormalizedName, str]]:
    """Section -> package -> version of a Pipfile.lock (a package may be in several sections,
    at different versions)."""
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    found: dict[str, dict[NormalizedName, str]] = {}
    for section, entries in document.items() if isinstance(document, dict) else ():
        if section.startswith("_") or not isinstance(entries, dict):
            continue
        versions = found.setdefault(section, {})
        for name, entry in entries.items():
            version = entry.get("version") if isinstance(entry, dict) else None
            if isinstance(version, str) and version.startswith("=="):
                versions[canonicalize_name(name)] = version[2:]
    return found


def _dragged(
    job: _Job,
    before: Mapping[str, Mapping[NormalizedName, str]],
    after: Mapping[str, Mapping[NormalizedName, str]],
) -> dict[str, dict[str, str]]:
    """Packages nobody asked to move that pipenv moved anyway, at their earlier versions."""
    dragged: dict[str, dict[str, str]] = {}
    for section, versions in before.items():
        for name, version in versions.items():
            now = after.get(section, {}).get(name)
            if name not in job.upgrades and now is not None and now != version:
                dragged.setdefault(section, {})[name] = version
    return dragged


def _merge_pins(*layers: PipfilePins) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for layer in layers:
        for section, versions in layer.items():
            merged.setdefault(section, {}).update(versions)
    return merged


def _with_pipfile_pins(text: str, pins: PipfilePins) -> str:
    """Pipfile text with each package of ``pins`` (Pipfile.lock section -> name -> version)
    pinned ``==version`` in the matching category.

    An entry the category has keeps its other keys (markers, extras, index); a package it
    lacks (a dependency of another) is added. Everything else stays as it was.
    """
    import tomlkit  # deferred: only a relock that pins needs it

    categories = {section: category for category, section in _PIPFILE_LOCK_SECTIONS.items()}
    document = tomlkit.parse(text)
    for section, versions in pins.items():
        if not versions:
            continue
        table: Any = document.setdefault(categories.get(section, section), tomlkit.table())
        keys = {canonicalize_name(str(key)): str(key) for key in table}
        for name, version in versions.items():
            key = keys.get(canonicalize_name(name))
            entry = table.get(key) if key is not None else None
            if key is None or isinstance(entry, str):
                table[key or name] = f"=={version}"
            elif isinstance(entry, MutableMapping) and not _PIPFILE_NOT_PINNABLE & set(entry):
                entry["version"] = f"=={version}"
    return tomlkit.dumps(document)


def _pipenv_env(job: _Job, manifest: Mapping[str, Any], venvs: Path) -> dict[str, str]:
    env = _base_env(job.index)
    for key in _PIPENV_DROPPED_ENV:
        env.pop(key, None)
    env.update(
        PIPENV_YES="1",
        PIPENV_NOSPIN="1",
        PIPENV_IGNORE_VIRTUALENVS="1",  # not greenbump's own environment
        PIPENV_DONT_LOAD_ENV="1",
        WORKON_HOME=str(venvs),
    )
    primary = job.index.index
    if primary is None or "PIPENV_PYPI_MIRROR" in env:
        return env
    if manifest.get("source"):
        # pipenv swaps the sources that name the default index for its mirror; a lock
        # records the Pipfile's own URLs, so credentials can go with it.
        env["PIPENV_PYPI_MIRROR"] = primary.url_with_credentials
    elif not _is_builtin_default(primary):
        # Without sources pipenv takes pip's configured index, else the default, which the
        # mirror replaces; the lock then records the mirror's URL: never with credentials
        # (pip finds them in netrc).
        env["PIPENV_PYPI_MIRROR"] = primary.url
    return env


def _is_builtin_default(entry: IndexUrl) -> bool:
    try:
        default, _how = builtin_default_index()
    except ExternalError:
        return False
    return _url_key(entry.url) == _url_key(default)
