"""A project: its root and the dependency files in it, with manifests linked to their locks.

Users think in declarations ("we depend on requests>=2"), tools install from locks ("requests
2.31.0"). This module pairs the two so every stage can ask "what is installed for this?".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from greenbump.discover import load_files
from greenbump.model import Declaration, DependencyFile, FileKind
from greenbump.names import NormalizedName

_LOCKS_FOR = {
    FileKind.PYPROJECT: ("uv.lock", "poetry.lock", "pdm.lock", "pylock.toml"),
    FileKind.PIPFILE: ("Pipfile.lock",),
    FileKind.SETUP_CFG: ("uv.lock", "pylock.toml"),
}


@dataclass(frozen=True)
class Project:
    """The dependency files of one project directory."""

    root: Path
    files: tuple[DependencyFile, ...]

    def file(self, path: PurePosixPath) -> DependencyFile:
        """The file at ``path`` (relative to the root)."""
        for dep_file in self.files:
            if dep_file.path == path:
                return dep_file
        raise KeyError(path)

    def declarations(self, *, locks: bool = False) -> Iterator[Declaration]:
        """All declarations, manifests first; lock entries only when ``locks`` is true."""
        for dep_file in self.files:
            if locks or not dep_file.kind.is_lock:
                yield from dep_file.declarations

    def lock_for(self, manifest: DependencyFile) -> DependencyFile | None:
        """The lock or compiled file that pins ``manifest``'s declarations, if there is one."""
        folder = manifest.path.parent
        by_path = {f.path: f for f in self.files}
        if manifest.kind is FileKind.REQUIREMENTS and manifest.path.suffix == ".in":
            compiled = by_path.get(manifest.path.with_suffix(".txt"))
            if compiled is not None and compiled.kind is FileKind.PIP_COMPILE:
                return compiled
        for name in _LOCKS_FOR.get(manifest.kind, ()):
            candidate = by_path.get(folder / name)
            if candidate is not None:
                return candidate
        return None

    def locked_versions(self, manifest: DependencyFile) -> dict[NormalizedName, str]:
        """Package -> pinned version for ``manifest``: from its lock, else its own ``==`` pins."""
        pins: dict[NormalizedName, str] = {}
        lock = self.lock_for(manifest)
        sources = [manifest] if lock is None else [lock, manifest]
        for source in sources:
            for decl in source.declarations:
                if decl.locked is not None:
                    pins.setdefault(decl.key, decl.locked)
        return pins


def load_project(root: Path) -> Project:
    """Discover and read every dependency file below ``root``."""
    resolved = root.resolve()
    return Project(root=resolved, files=tuple(load_files(resolved)))
