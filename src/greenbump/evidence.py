"""Read a failing run for the packages it points at: the suspects isolation tests first.

A red run says more than "red". The frames of a traceback that lie inside an installed
package's files, the module an ``ImportError`` or ``AttributeError: module 'x'`` names, and the
packages a resolver's conflict message spells out usually name the upgrade that broke things.
:mod:`greenbump.isolate` tests the hypothesis "hold the suspects, take the rest" before it
splits blindly, and confirms every suspect with a run of its own, so evidence here may be
generous: naming an innocent package costs one run, missing the culprit costs a blind search.

Files are attributed through the environment's ``RECORD`` files
(:func:`greenbump.envs.installed_files`): a frame's path is looked up as given and, failing
that, by its part below ``site-packages`` (pytest prints paths relative to its root directory
when the environment lives inside the project). Module names are attributed through the
same map: ``pkg/sub/mod.py`` makes ``pkg``, ``pkg.sub`` and ``pkg.sub.mod`` belong to its
distribution, and a dotted name is resolved by its longest known prefix, which keeps namespace
packages (``google.protobuf`` beside ``google.api``) apart.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from greenbump.isolate import ERROR_LINES, ProbeResult
from greenbump.names import canonicalize_name
from greenbump.testrun import failure_lines

if TYPE_CHECKING:
    from greenbump.testrun import TestOutcome
    from greenbump.verify import Trial

# ``File "/x/y.py", line 3, in f`` (Python's own format, pytest's --tb=native)
_NATIVE_FRAME = re.compile(r'File "([^"\n]+)", line \d+')
# ``/x/y.py:3: in f`` and ``/x/y.py:3: AttributeError`` (pytest's long and short formats)
_PYTEST_FRAME = re.compile(r"^[ \t]*((?:[A-Za-z]:)?[^:\n\"']+?\.pyw?):\d+:", re.MULTILINE)
_MODULE = r"([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)"
_NO_MODULE = re.compile(rf"ModuleNotFoundError: No module named '{_MODULE}'")
_CANNOT_IMPORT = re.compile(rf"ImportError: cannot import name '?\w+'? from '{_MODULE}'")
_NO_ATTRIBUTE = re.compile(
    rf"AttributeError: (?:partially initialized )?module '{_MODULE}' has no attribute"
)
_NAME_TOKEN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_SITE_DIRS = ("site-packages", "dist-packages")
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")


@dataclass(frozen=True)
class FileOwners:
    """Which distribution owns which file and module, built once per environment state."""

    by_path: Mapping[str, str]
    by_site_path: Mapping[str, str]
    by_module: Mapping[str, frozenset[str]]
    dists: frozenset[str]

    @classmethod
    def of(cls, files: Mapping[Path, str]) -> FileOwners:
        """Index a ``{path: distribution}`` map (as :func:`installed_files` returns)."""
        by_path: dict[str, str] = {}
        by_site: dict[str, str] = {}
        modules: dict[str, set[str]] = {}
        for path, dist in files.items():
            owner = str(canonicalize_name(str(dist)))
            by_path[os.path.normpath(str(path))] = owner
            inside = _site_relative(PurePath(path))
            if inside is None:
                continue
            by_site["/".join(inside)] = owner
            for module in _modules_of(inside):
                modules.setdefault(module, set()).add(owner)
        return cls(
            by_path,
            by_site,
            {m: frozenset(o) for m, o in modules.items()},
            frozenset(str(canonicalize_name(str(d))) for d in files.values()),
        )

    def owner_of_path(self, path: str) -> str | None:
        """The distribution a traceback's file path belongs to, if any."""
        found = self.by_path.get(os.path.normpath(path))
        if found is not None:
            return found
        inside = _site_relative(PurePath(path.replace("\\", "/")))
        return None if inside is None else self.by_site_path.get("/".join(inside))

    def owners_of_module(self, module: str) -> set[str]:
        """The distributions owning the longest known prefix of a dotted module name."""
        parts = module.split(".")
        for end in range(len(parts), 0, -1):
            owners = self.by_module.get(".".join(parts[:end]))
            if owners:
                return set(owners)
        top = str(canonicalize_name(parts[0]))
        return {top} if top in self.dists else set()


def suspects_from_traceback(text: str, files: Mapping[Path, str] | FileOwners) -> set[str]:
    """Distributions a failure text points at: its frames' files and the modules it names.

    ``files`` is the environment's RECORD map (or a prebuilt :class:`FileOwners`, which is
    worth it when many texts come from one environment). Frames in the project's own code
    map to nothing; the project under test is never a suspect.
    """
    owners = files if isinstance(files, FileOwners) else FileOwners.of(files)
    found: set[str] = set()
    for pattern in (_NATIVE_FRAME, _PYTEST_FRAME):
        for match in pattern.finditer(text):
            owner = owners.owner_of_path(match.group(1).strip())
            if owner is not None:
                found.add(owner)
    for pattern in (_NO_MODULE, _CANNOT_IMPORT, _NO_ATTRIBUTE):
        for match in pattern.finditer(text):
            found |= owners.owners_of_module(match.group(1))
    return found


def suspects_from_resolver(message: str, names: Iterable[str]) -> set[str]:
    """Which of ``names`` a resolver's (or installer's) message mentions, normalized.

    Names are compared after PEP 503 normalization, so ``Foo_Bar``, ``foo.bar`` and
    ``foo-bar>=2`` in uv's prose all name ``foo-bar``.
    """
    wanted = {str(canonicalize_name(n)) for n in names}
    tokens = {str(canonicalize_name(t)) for t in _NAME_TOKEN.findall(message)}
    return wanted & tokens


def suspects_from_outcome(
    outcome: TestOutcome,
    files: Mapping[Path, str] | FileOwners,
    tests: Iterable[str] | None = None,
) -> set[str]:
    """Suspects from the tracebacks of ``tests`` (default: every failing test) of a run.

    Runners without per-test reports leave only the excerpt, which is read instead.
    """
    owners = files if isinstance(files, FileOwners) else FileOwners.of(files)
    chosen = list(outcome.failed if tests is None else tests)
    texts = [outcome.traceback_of(t) for t in chosen]
    texts = [t for t in texts if t] or [outcome.excerpt]
    found: set[str] = set()
    for text in texts:
        found |= suspects_from_traceback(text, owners)
    return found


def probe_result(
    trial: Trial, files: Mapping[Path, str] | FileOwners, names: Iterable[str]
) -> ProbeResult:
    """A :class:`~greenbump.isolate.ProbeResult` from a verify :class:`Trial`.

    ``files`` must describe the environment as this trial left it (call
    :func:`greenbump.envs.installed_files` right after the trial, before the next one syncs
    the environment). ``names`` are the candidates' names; suspects are limited to them. Only
    the tracebacks of tests that passed at baseline count as evidence.
    """
    candidates = {str(canonicalize_name(n)) for n in names}
    if not trial.resolution.ok:
        message = trial.resolution.explanation
        return ProbeResult(
            installable=False,
            green=False,
            error=_head(message),
            suspects=tuple(sorted(suspects_from_resolver(message, candidates))),
        )
    if not trial.installable or trial.outcome is None:
        message = trial.install_error
        return ProbeResult(
            installable=False,
            green=False,
            error=_head(message),
            suspects=tuple(sorted(suspects_from_resolver(message, candidates))),
        )
    if trial.green:
        return ProbeResult(installable=True, green=True)
    found = suspects_from_outcome(trial.outcome, files, trial.new_failures) & candidates
    return ProbeResult(
        installable=True,
        green=False,
        failing_tests=tuple(trial.new_failures),
        error=_head(failure_lines(trial.outcome)),
        suspects=tuple(sorted(found)),
    )


def _site_relative(path: PurePath) -> tuple[str, ...] | None:
    parts = path.parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in _SITE_DIRS:
            return tuple(parts[i + 1 :])
    return None


def _modules_of(inside: tuple[str, ...]) -> list[str]:
    """Dotted module names a file below site-packages provides (``a/b/c.py`` -> a, a.b, a.b.c)."""
    if not inside or inside[0].endswith((".dist-info", ".egg-info", ".data")):
        return []
    *dirs, filename = inside
    if any(not _IDENTIFIER.match(d) for d in dirs):
        return []  # __pycache__, ../../bin, data directories
    stem = filename.split(".", 1)[0]  # mod.py, mod.cpython-312-x86_64-linux-gnu.so
    names = list(dirs)
    if filename.endswith((".py", ".pyi", ".pyc", ".so", ".pyd")) and _IDENTIFIER.match(stem):
        if stem != "__init__":
            names.append(stem)
    elif not dirs:
        return []  # a top-level data file (a .pth, a license) provides no module
    return [".".join(names[:end]) for end in range(1, len(names) + 1)]


def _head(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[:ERROR_LINES])
