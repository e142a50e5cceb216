"""One entry per package a project depends on, however many files mention it.

``check`` and ``upgrade`` think per package ("requests is at 2.19.0, declared in two files"),
while files think per declaration. The inventory joins them: every declaration of a package,
its current version (a lock's pin, else an exact ``==`` pin) and whether the project names it
directly or only a lock pulls it in.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from greenbump.model import Declaration, DependencyFile, Style
from greenbump.names import NormalizedName
from greenbump.project import Project


@dataclass(frozen=True)
class Package:
    """A package the project depends on."""

    key: NormalizedName
    name: str  # as first declared
    declarations: tuple[Declaration, ...]
    current: Version | None
    current_from: str | None  # "path:line" of the pin or lock entry that fixes ``current``
    direct: bool  # declared in a manifest (not only pinned by a lock file)

    @property
    def where(self) -> str:
        """Where a person should look first."""
        decl = self.declarations[0]
        return f"{decl.file}:{decl.line}"

    @property
    def from_index(self) -> bool:
        """Whether the package comes from an index at all (not a URL, VCS or path)."""
        return any(d.url is None for d in self.declarations)

    def specifiers(self, python: Version | None = None) -> list[SpecifierSet]:
        """Every version constraint the manifests put on the package (all must hold).

        With ``python``, declarations whose environment marker is false for that Python on
        this machine are left out: ``pycurl<7.45.4; python_version < "3.9"`` beside
        ``pycurl>=7.45.4; python_version >= "3.9"`` allows the newest pycurl on 3.11, where
        holding to both would allow none. If none of them applies, all count.
        """
        declared = [
            decl
            for decl in self.declarations
            if not (decl.group == "lock" or decl.group.startswith("lock:")) and decl.url is None
        ]
        if python is not None:
            declared = [d for d in declared if marker_holds(d.marker, python)] or declared
        found: list[SpecifierSet] = []
        for decl in declared:
            found.extend(declared_specifiers(decl))
        return found


def marker_holds(marker: str | None, python: Version) -> bool:
    """Whether a PEP 508 marker is true for ``python`` on this machine (no marker, or one
    that cannot be read, holds: a declaration is never dropped on a guess)."""
    if not marker:
        return True
    from packaging.markers import (
        InvalidMarker,
        Marker,
        UndefinedComparison,
        UndefinedEnvironmentName,
    )

    try:
        return Marker(marker).evaluate(_environment(python))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName, ValueError):
        return True


def _environment(python: Version) -> dict[str, str]:
    """What differs from this machine's marker environment (packaging starts from that):
    ``python`` as the Python version, with ``X.Y.micro`` as its full version unless the
    running Python is of the same minor version."""
    minor = f"{python.major}.{python.minor}"
    if sys.version_info[:2] == (python.major, python.minor):
        return {}
    return {"python_version": minor, "python_full_version": f"{minor}.{python.micro}"}


def declared_specifiers(decl: Declaration) -> list[SpecifierSet]:
    """The PEP 440 meaning of a declaration's constraint (Poetry unions give the widest)."""
    text = decl.constraint.strip()
    if not text or text == "*":
        return []
    try:
        if decl.style is Style.POETRY:
            from greenbump.poetry_constraints import poetry_to_specifier  # Poetry projects only

            converted = poetry_to_specifier(text)
            if isinstance(converted, list):
                return []  # a union ("^1 || ^2") cannot be one SpecifierSet; do not guess
            return [converted]
        if decl.style is Style.PIPFILE:
            from greenbump.readers.pyproject import pipfile_specifier  # deferred: pulls in tomlkit

            return [pipfile_specifier(text)]
        return [SpecifierSet(text)]
    except (InvalidSpecifier, ValueError):
        return []


def build_inventory(project: Project, python: Version | None = None) -> list[Package]:
    """Packages of ``project``, direct ones first, each sorted by name.

    A package's current version is the first pin found for it, preferring, with ``python``,
    one whose environment marker holds for that Python: a lock that forks by Python version
    (uv's ``resolution-markers``, Poetry's ``markers``) pins Sphinx 8.1.3 for 3.10 and 8.2.3
    for 3.11 on.
    """
    decls: dict[NormalizedName, list[Declaration]] = {}
    pins: dict[NormalizedName, list[Declaration]] = {}  # in the order they are found
    direct: set[NormalizedName] = set()
    for dep_file in project.files:
        _collect_pins(project, dep_file, pins)
        for decl in dep_file.declarations:
            decls.setdefault(decl.key, []).append(decl)
            if not dep_file.kind.is_lock and not decl.is_constraint:
                direct.add(decl.key)
    packages = []
    for key, found in decls.items():
        pin = _current_pin(pins.get(key, []), python)
        packages.append(
            Package(
                key=key,
                name=found[0].name,
                declarations=tuple(found),
                current=None if pin is None else _version(pin.locked),
                current_from=None if pin is None else f"{pin.file}:{pin.line}",
                direct=key in direct,
            )
        )
    return sorted(packages, key=lambda p: (not p.direct, p.key))


def _collect_pins(
    project: Project, dep_file: DependencyFile, pins: dict[NormalizedName, list[Declaration]]
) -> None:
    sources: Iterable[DependencyFile] = (dep_file,)
    lock = project.lock_for(dep_file) if not dep_file.kind.is_lock else None
    if lock is not None:
        sources = (lock, dep_file)
    for source in sources:
        for decl in source.declarations:
            if decl.locked is not None and decl.url is None:
                pins.setdefault(decl.key, []).append(decl)


def _current_pin(found: list[Declaration], python: Version | None) -> Declaration | None:
    """The first pin, or the first whose marker holds for ``python`` when they differ
    (markers are read only then: most packages have one pin, or one version)."""
    if python is None or len({decl.locked for decl in found}) < 2:
        return found[0] if found else None
    return next((d for d in found if marker_holds(d.marker, python)), found[0])


def _version(text: str | None) -> Version | None:
    if text is None:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None
