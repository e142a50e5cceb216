"""Find a project's dependency files and read them, following requirement-file includes.

Discovery goes by file name (the names pip, uv, Poetry, Pipenv, PDM and pip-tools use), then
follows ``-r`` / ``-c`` includes from requirement files wherever they point inside the project.
A missing include, a cycle or an include that leaves the project is an input error naming the
including file and line: quietly skipping it would report a partial dependency set as complete.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
from pathlib import Path, PurePosixPath

from greenbump.errors import InputError
from greenbump.model import DependencyFile, FileKind
from greenbump.readers import parse
from greenbump.textio import read_text

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        "site-packages",
        "build",
        "dist",
        ".greenbump",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
    }
)

_EXACT_NAMES = {
    "pyproject.toml": FileKind.PYPROJECT,
    "setup.cfg": FileKind.SETUP_CFG,
    "Pipfile": FileKind.PIPFILE,
    "Pipfile.lock": FileKind.PIPFILE_LOCK,
    "uv.lock": FileKind.UV_LOCK,
    "poetry.lock": FileKind.POETRY_LOCK,
    "pdm.lock": FileKind.PDM_LOCK,
    "pylock.toml": FileKind.PYLOCK,
}
_REQUIREMENT_PATTERNS = ("*requirements*.txt", "*requirements*.in", "constraints*.txt")
_NOT_REQUIREMENTS = frozenset({"MANIFEST.in"})


def kind_by_name(path: PurePosixPath) -> FileKind | None:
    """The kind a file has by its name alone; ``None`` when its name says it is none of ours."""
    name = path.name
    if name in _EXACT_NAMES:
        return _EXACT_NAMES[name]
    if fnmatch.fnmatch(name, "pylock.*.toml"):
        return FileKind.PYLOCK
    if name in _NOT_REQUIREMENTS:
        return None
    if any(fnmatch.fnmatch(name, pattern) for pattern in _REQUIREMENT_PATTERNS):
        return FileKind.REQUIREMENTS
    in_requirements_dir = any(part in ("requirements", "reqs") for part in path.parts[:-1])
    if in_requirements_dir and path.suffix in (".txt", ".in"):
        return FileKind.REQUIREMENTS
    return None


def find_files(root: Path) -> list[PurePosixPath]:
    """Dependency files below ``root`` by name, sorted, relative to ``root``."""
    found: list[PurePosixPath] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        rel_folder = PurePosixPath(Path(folder).relative_to(root).as_posix())
        for name in sorted(files):
            rel = rel_folder / name
            if kind_by_name(rel) is not None and not (Path(folder) / name).is_symlink():
                found.append(rel)
    return found


def read_file(root: Path, rel: PurePosixPath, kind: FileKind | None = None) -> DependencyFile:
    """Read and parse one file of the project."""
    chosen = kind if kind is not None else kind_by_name(rel)
    if chosen is None:
        chosen = FileKind.REQUIREMENTS
    text = read_text(root / rel, display=Path(rel))
    return parse(text, rel, chosen)


def load_files(root: Path) -> list[DependencyFile]:
    """Every dependency file of the project at ``root``, includes followed, in a stable order."""
    root = root.resolve()
    if not root.is_dir():
        raise InputError("not a project directory", root)
    loaded: dict[PurePosixPath, DependencyFile] = {}
    constraint_files: set[PurePosixPath] = set()
    for rel in find_files(root):
        _load(root, rel, loaded, constraint_files, chain=())
    return [
        _mark_constraints(loaded[rel]) if rel in constraint_files else loaded[rel]
        for rel in sorted(loaded)
    ]


def _load(
    root: Path,
    rel: PurePosixPath,
    loaded: dict[PurePosixPath, DependencyFile],
    constraint_files: set[PurePosixPath],
    chain: tuple[PurePosixPath, ...],
) -> None:
    if rel in loaded:
        return
    dep_file = read_file(root, rel, None if chain == () else FileKind.REQUIREMENTS)
    _refuse_conflicting_pins(dep_file)
    loaded[rel] = dep_file
    for include in dep_file.includes:
        if "://" in include.target:
            continue  # a remote include is pip's business at install time, not a local file
        target = _resolve_include(root, rel, include.target, include.line)
        if target == rel or target in chain:
            raise InputError(f"include cycle through {include.target}", rel, include.line)
        if include.is_constraint:
            constraint_files.add(target)
        _load(root, target, loaded, constraint_files, (*chain, rel))


def _refuse_conflicting_pins(dep_file: DependencyFile) -> None:
    """Two different exact pins of one package under the same marker in one file.

    pip refuses such a file ("Double requirement given"); upgrading either line would silently
    keep a contradiction, so it is an input error pointing at the second pin.
    """
    if dep_file.kind.is_lock:
        return
    seen: dict[tuple[str, str, str | None], str] = {}
    for decl in dep_file.declarations:
        if decl.locked is None:
            continue
        key = (decl.key, decl.group, decl.marker)
        first = seen.setdefault(key, decl.locked)
        if first != decl.locked:
            raise InputError(
                f"conflicting pins for {decl.name}: =={first} and =={decl.locked}",
                dep_file.path,
                decl.line,
            )


def _resolve_include(root: Path, rel: PurePosixPath, target: str, line: int) -> PurePosixPath:
    expanded = os.path.expandvars(target)
    candidate = (root / rel).parent / expanded
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise InputError(f"included file not found: {target}", rel, line) from exc
    try:
        inside = resolved.relative_to(root)
    except ValueError as exc:
        raise InputError(f"include points outside the project: {target}", rel, line) from exc
    if not resolved.is_file():
        raise InputError(f"included path is not a file: {target}", rel, line)
    return PurePosixPath(inside.as_posix())


def _mark_constraints(dep_file: DependencyFile) -> DependencyFile:
    decls = tuple(
        dataclasses.replace(d, is_constraint=True, group="constraints")
        for d in dep_file.declarations
    )
    return dataclasses.replace(dep_file, declarations=decls)


def sniff_kind(path: PurePosixPath, text: str) -> FileKind | None:
    """Guess a file's kind from its name, then its content (for fixtures with odd names)."""
    by_name = kind_by_name(path)
    if by_name is not None:
        return by_name
    name = path.name
    head = text.lstrip("\ufeff \t\r\n")
    if name.startswith("Pipfile") and not name.endswith(".lock"):
        return FileKind.PIPFILE
    if head.startswith("{"):
        return FileKind.PIPFILE_LOCK if '"_meta"' in text or '"default"' in text else None
    if path.suffix in (".toml", ".lock", ""):
        from greenbump.readers.locks import detect_lock_kind

        lock: FileKind | None = detect_lock_kind(text)
        if lock is not None:
            return lock
        if "[packages]" in text or "[dev-packages]" in text or "[[source]]" in text:
            return FileKind.PIPFILE
        if path.suffix == ".toml":
            return FileKind.PYPROJECT
    if path.suffix == ".cfg":
        return FileKind.SETUP_CFG
    if path.suffix in (".txt", ".in", ".pip") or "requirements" in path.parts:
        return FileKind.REQUIREMENTS
    return None
