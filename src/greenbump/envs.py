"""Fresh virtual environments for test runs, built with uv and reused per job slot.

Verifying an upgrade means installing an exact set of versions and running the project's tests
against it, many times over while a culprit is isolated. Building each environment from scratch
would dominate the run time, so an :class:`EnvBuilder` keeps one virtual environment per job
*slot* and brings it to the next :class:`EnvSpec` with ``uv pip sync``: only the distributions
whose versions differ are swapped, and uv's shared cache makes reinstalling a known wheel a
matter of hard links. A spec is named by a stable hash; a slot whose marker file already holds
that hash is not touched at all.

The sync file holds the pins (``name==version``) and the editable local projects, so an
unchanged editable project is checked, not rebuilt, when the pins move. Anything else (a
requirements file, a wheel, ``--no-deps -e`` with special flags) goes into ``install`` items
that run through ``uv pip install`` after each sync.

Failures to create or install raise :class:`EnvBuildError` with uv's own message: whether an
uninstallable candidate is fatal or just a rejected upgrade is the caller's decision.

:func:`installed_files` maps every file of the environment to the distribution that installed
it (from ``*.dist-info/RECORD``), so a traceback frame can later be blamed on a package.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.version import InvalidVersion, Version

from greenbump.errors import ExternalError
from greenbump.names import NormalizedName, canonicalize_name
from greenbump.proc import Completed, run
from greenbump.redact import redact_text

# Bump when the meaning of a spec hash changes, so old slots are rebuilt, never trusted.
_SPEC_FORMAT = 1
MARKER = ".greenbump-env.json"  # written last, after a successful build: names the spec
_PYTHON_MARKER = ".greenbump-python"  # the ``python`` the venv was created from
_REQUIREMENTS = ".greenbump-requirements.txt"
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_ERROR_TAIL_LINES = 40
_ERROR_HEAD_LINES = 10  # uv's own error lines shown, then as many of the tail
_UV_MESSAGE_MARKS = ("\u00d7", "├─▶", "╰─▶", "error:", "caused by:", "hint:")  # uv's own lines


@dataclass(frozen=True)
class EnvSpec:
    """Everything that decides what an environment contains.

    ``python`` is an interpreter path or a version request (``3.12``) as ``uv venv --python``
    takes it. ``pins`` are ``(name, version)`` pairs; names are normalized and the pairs
    sorted on construction, so equal sets of pins give equal specs and equal hashes.
    ``editables`` are local project directories installed editable *without* their
    dependencies, in the same sync as the pins. ``install`` items are argument lists for extra
    ``uv pip install`` runs after the sync, e.g. ``("-r", "requirements-dev.txt")``.
    """

    python: str
    pins: tuple[tuple[str, str], ...] = ()
    editables: tuple[str, ...] = ()
    install: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        if not self.python.strip():
            raise ValueError("EnvSpec.python must name an interpreter or a version")
        seen: dict[str, str] = {}
        for name, version in self.pins:
            if not _NAME.match(name):
                raise ValueError(f"invalid distribution name in pin: {name!r}")
            try:
                Version(version)
            except InvalidVersion as exc:
                raise ValueError(f"invalid version for {name}: {version!r}") from exc
            key = canonicalize_name(name)
            if key in seen and seen[key] != version:
                raise ValueError(f"conflicting pins for {key}: {seen[key]} and {version}")
            seen[key] = version
        object.__setattr__(self, "pins", tuple(sorted(seen.items())))
        object.__setattr__(self, "editables", tuple(str(e) for e in self.editables))
        object.__setattr__(self, "install", tuple(tuple(str(a) for a in i) for i in self.install))

    @classmethod
    def of(
        cls,
        python: str | Path,
        pins: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        *,
        editables: Iterable[str | Path] = (),
        install: Iterable[Sequence[str | Path]] = (),
    ) -> EnvSpec:
        """Build a spec from friendlier types (a mapping of pins, paths)."""
        items = pins.items() if isinstance(pins, Mapping) else pins
        return cls(
            python=str(python),
            pins=tuple((str(n), str(v)) for n, v in items),
            editables=tuple(str(Path(e).absolute()) for e in editables),
            install=tuple(tuple(str(a) for a in item) for item in install),
        )

    @property
    def hash(self) -> str:
        """A stable sha256 over the spec: the same inputs name the same environment."""
        document = {
            "format": _SPEC_FORMAT,
            "python": self.python,
            "pins": [list(p) for p in self.pins],
            "editables": list(self.editables),
            "install": [list(i) for i in self.install],
        }
        data = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(data.encode("ascii")).hexdigest()

    def with_pins(self, changes: Mapping[str, str]) -> EnvSpec:
        """This spec with some pins replaced or added (an upgrade trial)."""
        merged = dict(self.pins)
        merged.update({canonicalize_name(n): v for n, v in changes.items()})
        return EnvSpec(self.python, tuple(merged.items()), self.editables, self.install)

    def requirements_text(self) -> str:
        """The file ``uv pip sync`` gets: one ``name==version`` per pin, then editables."""
        lines = [f"{name}=={version}" for name, version in self.pins]
        lines += [f"-e {Path(e).absolute().as_uri()}" for e in self.editables]
        return "".join(line + "\n" for line in lines)


@dataclass(frozen=True)
class PreparedEnv:
    """An environment brought to a spec, and what it took."""

    path: Path
    python: Path
    spec: EnvSpec
    reused: bool  # the marker already named this spec: nothing ran
    created: bool  # the virtual environment itself was (re)created
    output: str  # uv's messages (what it installed and removed), redacted
    duration: float


class EnvBuildError(ExternalError):
    """uv could not create an environment or install a spec into it.

    ``stage`` is ``create``, ``sync`` or ``install``; ``output`` is uv's message (redacted).
    The slot's marker is gone, so the next build of the slot starts over from a sync.
    """

    def __init__(
        self, stage: str, spec: EnvSpec, result: Completed | None, message: str = ""
    ) -> None:
        self.stage = stage
        self.spec = spec
        self.returncode = result.returncode if result is not None else None
        self.timed_out = result.timed_out if result is not None else False
        raw = message
        if not raw and result is not None:
            raw = result.stderr.strip() or result.stdout.strip()
        self.output = redact_text(raw)
        reason = "timed out" if self.timed_out else f"exit code {self.returncode}"
        lines = _uv_error_lines(self.output)
        text = f"environment {spec.hash[:12]}: {stage} failed ({reason})"
        if lines:
            text += "\n  " + "\n  ".join(lines)
        super().__init__(text)


def _uv_error_lines(output: str) -> list[str]:
    """What to show of uv's output: its own ``error:``/``Caused by:``/``hint:`` lines first
    (they name the package, as in "Failed to build greenlet==1.1.2"), then the tail. A build
    failure's tail is compiler noise; the reason is at the top."""
    lines = output.splitlines()
    own = [line for line in lines if line.lstrip().lower().startswith(_UV_MESSAGE_MARKS)][
        :_ERROR_HEAD_LINES
    ]
    if not own:
        return lines[-_ERROR_TAIL_LINES:]
    tail = [line for line in lines[-_ERROR_HEAD_LINES:] if line not in own]
    return own + (["...", *tail] if tail else [])


_UV_LOCK = threading.Lock()


def uv_binary() -> str:
    """The uv executable shipped with the ``uv`` package (PATH as a fallback).

    One caller at a time: ``find_uv_bin`` reads ``sysconfig``, whose first initialisation is
    not thread-safe (a parallel job could see ``EXE`` as ``None``).
    """
    try:
        from uv import find_uv_bin

        with _UV_LOCK:
            return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise ExternalError("uv not found: install the 'uv' package") from None
        return found


def uv_cache_usable(env: Mapping[str, str] | None, args: Sequence[str] = ()) -> bool:
    """Whether uv keeps a cache for these calls, so asking it ``--offline`` first can help
    (``UV_NO_CACHE`` or ``--no-cache`` would only make every call twice)."""
    value = (os.environ if env is None else env).get("UV_NO_CACHE", "")
    return value.strip().lower() in ("", "0", "false", "no", "off") and "--no-cache" not in args


def bin_dir(venv: Path) -> Path:
    """Where a virtual environment keeps its executables."""
    return venv / ("Scripts" if sys.platform == "win32" else "bin")


def python_in(venv: Path) -> Path:
    """The interpreter of a virtual environment."""
    return bin_dir(venv) / ("python.exe" if sys.platform == "win32" else "python")


def site_packages(venv: Path) -> list[Path]:
    """The environment's site-packages directories (normally one)."""
    found = sorted(venv.glob("lib/python*/site-packages"))
    windows = venv / "Lib" / "site-packages"
    if windows.is_dir():
        found.append(windows)
    return found


def activated_env(venv: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: ours) as ``activate`` would leave it, with nothing of other envs.

    The venv's bin directory comes first on PATH and ``VIRTUAL_ENV`` names it; PYTHONPATH and
    PYTHONHOME are dropped (they would put other code in front of the environment), and so is
    the bin directory of an outer virtual environment greenbump itself may run in.
    """
    env = dict(os.environ if base is None else base)
    outer = env.pop("VIRTUAL_ENV", None)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "CONDA_PREFIX"):
        env.pop(name, None)
    parts = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p]
    if outer:
        outer_bin = os.path.normpath(bin_dir(Path(outer)))
        parts = [p for p in parts if os.path.normpath(p) != outer_bin]
    env["PATH"] = os.pathsep.join([str(bin_dir(venv)), *parts])
    env["VIRTUAL_ENV"] = str(venv)
    return env


def installed_distributions(venv: Path) -> dict[NormalizedName, str]:
    """Normalized name -> version of every distribution installed in ``venv``."""
    found: dict[NormalizedName, str] = {}
    for info in _dist_infos(venv):
        name, version = _name_and_version(info)
        found[name] = version
    return found


def installed_files(venv: Path) -> dict[Path, NormalizedName]:
    """Every file a distribution's RECORD lists -> that distribution's normalized name.

    Keys are absolute, normalized (``os.path.normpath``) but not symlink-resolved paths under
    the ``venv`` path as given, which is how the environment's interpreter names its modules
    in tracebacks. Editable installs map only their ``.pth`` and metadata files here.
    """
    owners: dict[Path, NormalizedName] = {}
    for info in _dist_infos(venv):
        name, _ = _name_and_version(info)
        record = info / "RECORD"
        try:
            text = record.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        base = info.parent.absolute()
        for row in csv.reader(text.splitlines()):
            if not row or not row[0]:
                continue
            owners[Path(os.path.normpath(base / row[0]))] = name
    return owners


def _dist_infos(venv: Path) -> list[Path]:
    return [d for site in site_packages(venv) for d in sorted(site.glob("*.dist-info"))]


def _name_and_version(info: Path) -> tuple[NormalizedName, str]:
    stem = info.name[: -len(".dist-info")]
    fallback_name, _, fallback_version = stem.partition("-")
    try:
        with (info / "METADATA").open(encoding="utf-8", errors="replace") as fh:
            headers = HeaderParser().parse(fh, headersonly=True)
    except OSError:
        return canonicalize_name(fallback_name), fallback_version
    name = headers.get("Name") or fallback_name
    version = headers.get("Version") or fallback_version
    return canonicalize_name(str(name)), str(version)


class EnvBuilder:
    """Keeps one virtual environment per job slot under ``root_dir`` and syncs it to specs.

    ``uv_args`` are passed to every ``uv pip`` call (index configuration: ``--index-url``,
    ``--extra-index-url``, ``--find-links``...). ``env`` replaces our environment for uv (for
    ``UV_CACHE_DIR`` and credentials); uv's cache is always used. A slot must be used by one
    job at a time; different slots can be built concurrently. The marker names the spec only:
    index configuration is assumed to stay the same for one ``root_dir``.

    ``compile_bytecode`` has uv compile the environment after each change. Test runs never
    write byte code (it would land in the project), so without it every run compiles every
    module it imports again; with it each sync pays for the newly installed files once. It
    pays off when one environment serves several runs or its imports are heavy.
    """

    def __init__(
        self,
        root_dir: Path,
        uv_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        timeout: float | None = 900.0,
        compile_bytecode: bool = False,
    ) -> None:
        self.root_dir = Path(root_dir).absolute()
        self.uv_args = tuple(str(a) for a in uv_args)
        self.env = dict(env) if env is not None else None
        self.timeout = timeout
        self.compile_bytecode = compile_bytecode

    def path_for(self, slot: int) -> Path:
        """The virtual environment directory of a slot."""
        if slot < 0:
            raise ValueError(f"slot must be >= 0, not {slot}")
        return self.root_dir / f"slot-{slot}"

    def current_hash(self, slot: int) -> str | None:
        """The spec hash a slot was last brought to, if its last build succeeded."""
        venv = self.path_for(slot)
        try:
            data = json.loads((venv / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        value = data.get("hash") if isinstance(data, dict) else None
        if not isinstance(value, str) or not python_in(venv).exists():
            return None
        return value

    def ensure(self, spec: EnvSpec, slot: int = 0) -> PreparedEnv:
        """Bring a slot's environment to ``spec``; a no-op when it already is there."""
        started = time.monotonic()
        venv = self.path_for(slot)
        python = python_in(venv)
        if self.current_hash(slot) == spec.hash:
            return PreparedEnv(venv, python, spec, True, False, "", time.monotonic() - started)
        with contextlib.suppress(FileNotFoundError):
            (venv / MARKER).unlink()
        output: list[str] = []
        created = self._needs_venv(venv, spec)
        if created:
            self._create(venv, spec, output)
        requirements = venv / _REQUIREMENTS
        requirements.write_text(spec.requirements_text(), encoding="utf-8")
        common = ["--python", str(python), *self.uv_args]
        if self.compile_bytecode:
            common.append("--compile-bytecode")
        sync = ["pip", "sync", *common, str(requirements)]
        if not spec.pins and not spec.editables:
            sync.append("--allow-empty-requirements")  # an empty spec means an empty env
        self._uv(sync, "sync", spec, output)
        for item in spec.install:
            install = ["pip", "install", *common, *item]
            self._uv(install, "install", spec, output)
        marker = {"hash": spec.hash, "python": spec.python, "pins": [list(p) for p in spec.pins]}
        _write_atomic(venv / MARKER, json.dumps(marker, indent=1) + "\n")
        text = redact_text("\n".join(line for line in output if line))
        return PreparedEnv(venv, python, spec, False, created, text, time.monotonic() - started)

    def remove(self, slot: int) -> None:
        """Delete a slot's environment (it is recreated by the next :meth:`ensure`)."""
        shutil.rmtree(self.path_for(slot), ignore_errors=True)

    def _needs_venv(self, venv: Path, spec: EnvSpec) -> bool:
        if not python_in(venv).exists() or not (venv / "pyvenv.cfg").is_file():
            return True
        try:
            made_from = (venv / _PYTHON_MARKER).read_text(encoding="utf-8")
        except OSError:
            return True
        return made_from != spec.python

    def _create(self, venv: Path, spec: EnvSpec, output: list[str]) -> None:
        if venv.exists():
            # Only ever our own slot directory; uv's flags for replacing one vary by version.
            shutil.rmtree(venv)
        self.root_dir.mkdir(parents=True, exist_ok=True)
        argv = ["venv", "--no-project", "--python", spec.python, str(venv)]
        self._uv(argv, "create", spec, output)
        (venv / _PYTHON_MARKER).write_text(spec.python, encoding="utf-8")

    def _uv(self, args: list[str], stage: str, spec: EnvSpec, output: list[str]) -> None:
        """Run one uv step; ``sync`` and ``install`` are tried from uv's cache alone first.

        Every version an environment gets was resolved moments before, so its wheels and
        index pages are in uv's cache; online, uv revalidates each page it needs first (an
        index that sends no caching headers is asked again every time): moving two of 82
        packages took 0.44 s online and 0.06 s offline. What the cache cannot supply fails
        while uv prepares the distributions, before it installs anything, and is done online,
        as is any other failure (the online sync brings the environment to the spec either
        way); only the online attempt's output and error are reported then.
        """
        if stage in ("sync", "install") and uv_cache_usable(self.env, self.uv_args):
            offline = self._run_uv([*args, "--offline"], f"{stage} --offline")
            if offline.ok:
                output.extend((offline.stderr.strip(), offline.stdout.strip()))
                return
        result = self._run_uv(args, stage)
        output.extend((result.stderr.strip(), result.stdout.strip()))
        if not result.ok:
            raise EnvBuildError(stage, spec, result)

    def _run_uv(self, args: list[str], what: str) -> Completed:
        return run(
            [uv_binary(), *args],
            cwd=self.root_dir,  # not wherever greenbump was started: same behaviour every time
            env=self.env,
            timeout=self.timeout,
            check=False,
            what=f"uv {what}",
        )


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
