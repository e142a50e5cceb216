"""The four TOML lock formats: ``uv.lock``, ``poetry.lock``, ``pdm.lock`` and PEP 751 ``pylock``.

All four list packages as an array of tables (``[[package]]``; ``[[packages]]`` in pylock) with
``name`` and ``version`` keys; they differ in how they say where a package comes from, which
groups need it and where its hashes are. :func:`_entries` does the common part (parse, locate,
check each entry has a name and a string version), each ``parse_*`` the rest.

How strict: a reader rejects what it cannot read correctly (bad TOML, an entry without a name, a
version that is not a string, a pylock whose ``lock-version`` it does not know, which PEP 751
requires). It does not reject what it does not need: uv, Poetry and PDM refuse lock formats newer
than they know, but the few fields read here (name, version, source, groups, hashes) have kept
their meaning through every format version so far, so an unknown ``version``/``lock-version``
there is accepted (the tool itself will say so when it relocks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from greenbump.errors import InputError
from greenbump.model import Declaration, DependencyFile, FileKind, Span
from greenbump.readers.locks._common import (
    LOCK_GROUP,
    LineIndex,
    declaration,
    group_name,
    optional_str,
    str_list,
)
from greenbump.readers.locks._toml_load import load_toml
from greenbump.readers.locks._toml_scan import Entry, find_entries

__all__ = ["parse_pdm_lock", "parse_poetry_lock", "parse_pylock", "parse_uv_lock"]

_VCS = ("git", "hg", "svn", "bzr")
_POETRY_NOT_INDEX = frozenset({*_VCS, "directory", "file", "url"})
_PYLOCK_VERSION = re.compile(r"(\d+)(?:\.\d+)*")


@dataclass(frozen=True)
class _Package:
    """One checked entry: its parsed table and what the scan found for it."""

    table: Mapping[str, Any]
    name: str
    version: str | None
    span: Span | None
    where: tuple[int, int]
    line: int  # of the entry's header, for errors about it


def parse_uv_lock(text: str, path: PurePosixPath) -> DependencyFile:
    """Read a ``uv.lock``."""
    _doc, packages = _entries(text, path, "package")
    decls = []
    for package in packages:
        url, editable = _uv_source(package, path)
        forks = str_list(package.table.get("resolution-markers"))
        decls.append(
            _declaration(
                package,
                path,
                text,
                url=url,
                editable=editable,
                hashes=_uv_hashes(package.table),
                # a package locked at several versions, one per fork of the resolution
                marker=" or ".join(f"({m})" for m in forks) if forks else None,
            )
        )
    return DependencyFile(path=path, kind=FileKind.UV_LOCK, text=text, declarations=tuple(decls))


def _uv_source(package: _Package, path: PurePosixPath) -> tuple[str | None, bool]:
    """(url, editable) from ``source = { registry | git | path | directory | url | ... = ... }``."""
    source = package.table.get("source")
    if source is None:
        return None, False
    if not isinstance(source, dict):
        raise InputError(f"{package.name}: `source` must be a table", path, package.line)
    if "registry" in source:
        return None, False
    for kind, where in source.items():
        if isinstance(where, str):
            return (f"git+{where}" if kind == "git" else where), kind == "editable"
    raise InputError(f"{package.name}: `source` names no location", path, package.line)


def _uv_hashes(table: Mapping[str, Any]) -> Iterator[str]:
    yield from _hashes_of([table.get("sdist")], "hash")
    yield from _hashes_of(table.get("wheels"), "hash")


def parse_poetry_lock(text: str, path: PurePosixPath) -> DependencyFile:
    """Read a ``poetry.lock`` (lock-version 1.x with ``[metadata.files]``, or 2.x)."""
    doc, packages = _entries(text, path, "package")
    files_by_name = _metadata_files(doc)
    decls = []
    for package in packages:
        table = package.table
        url = _poetry_source(package, path)
        if "files" in table:
            hashes = list(_hashes_of(table["files"], "hash"))
        else:  # lock-version 1.x: [metadata.files] name = [{file, hash}] or ["sha256:..."]
            listed = files_by_name.get(package.name, [])
            hashes = list(_hashes_of(listed, "hash")) + str_list(listed)
        category = table.get("category")
        groups = [category] if isinstance(category, str) else str_list(table.get("groups"))
        markers = table.get("markers")
        decls.append(
            _declaration(
                package,
                path,
                text,
                group=group_name(groups, runtime=("main",)),
                url=url,
                editable=table.get("develop") is True,
                hashes=hashes,
                marker=markers if isinstance(markers, str) else None,
            )
        )
    return DependencyFile(
        path=path, kind=FileKind.POETRY_LOCK, text=text, declarations=tuple(decls)
    )


def _poetry_source(package: _Package, path: PurePosixPath) -> str | None:
    """The location of a package from a VCS, a directory, a file or a URL; None for an index."""
    source = package.table.get("source")
    if source is None:
        return None
    if not isinstance(source, dict):
        raise InputError(f"{package.name}: `source` must be a table", path, package.line)
    kind = source.get("type")
    if kind not in _POETRY_NOT_INDEX:
        return None  # "legacy" and friends: a package index
    where = optional_str(source, "url", package.name, path, package.line) or ""
    if kind in _VCS:
        ref = source.get("resolved_reference") or source.get("reference")
        return f"{kind}+{where}" + (f"@{ref}" if isinstance(ref, str) and ref else "")
    return where


def parse_pdm_lock(text: str, path: PurePosixPath) -> DependencyFile:
    """Read a ``pdm.lock`` (current format, or the old one with ``[metadata.files]``)."""
    doc, packages = _entries(text, path, "package")
    files_by_key = _metadata_files(doc)
    decls = []
    for package in packages:
        table = package.table
        if "files" in table:
            hashes = list(_hashes_of(table["files"], "hash"))
        else:  # old format: [metadata.files] "name version" = [{url, hash}]
            listed = files_by_key.get(f"{package.name} {package.version}", [])
            hashes = list(_hashes_of(listed, "hash"))
        marker = table.get("marker")
        decls.append(
            _declaration(
                package,
                path,
                text,
                group=group_name(str_list(table.get("groups")), runtime=("default",)),
                url=_pdm_source(package, path),
                editable=table.get("editable") is True,
                hashes=hashes,
                marker=marker if isinstance(marker, str) else None,
                extras=str_list(table.get("extras")),
            )
        )
    return DependencyFile(path=path, kind=FileKind.PDM_LOCK, text=text, declarations=tuple(decls))


def _pdm_source(package: _Package, path: PurePosixPath) -> str | None:
    table = package.table
    for vcs in _VCS:
        where = optional_str(table, vcs, package.name, path, package.line)
        if where is not None:
            ref = table.get("revision") or table.get("ref")
            return f"{vcs}+{where}" + (f"@{ref}" if isinstance(ref, str) and ref else "")
    for key in ("path", "url"):
        where = optional_str(table, key, package.name, path, package.line)
        if where is not None:
            return where
    return None


def parse_pylock(text: str, path: PurePosixPath) -> DependencyFile:
    """Read a PEP 751 ``pylock.toml`` / ``pylock.NAME.toml``.

    PEP 751 requires ``lock-version`` and says a reader must refuse a major version it does not
    support; ``packages`` is required and every package has a ``name``.
    """
    doc = load_toml(text, path)
    lock_version = doc.get("lock-version")
    if lock_version is None:
        raise InputError("not a PEP 751 lock file: `lock-version` is missing", path, 1)
    version_line = _key_line(text, "lock-version")
    shape = _PYLOCK_VERSION.fullmatch(lock_version) if isinstance(lock_version, str) else None
    if shape is None:
        raise InputError(
            f"`lock-version` must be a version like '1.0', not {lock_version!r}", path, version_line
        )
    if int(shape.group(1)) != 1:
        raise InputError(
            f"unsupported `lock-version` {lock_version!r}: greenbump reads version 1.x",
            path,
            version_line,
        )
    if "packages" not in doc:
        raise InputError("PEP 751 lock file without `packages`", path, 1)
    _doc, packages = _entries(text, path, "packages", doc=doc)
    decls = []
    for package in packages:
        url, editable = _pylock_source(package, path)
        marker = package.table.get("marker")
        decls.append(
            _declaration(
                package,
                path,
                text,
                url=url,
                editable=editable,
                hashes=_pylock_hashes(package.table),
                marker=marker if isinstance(marker, str) else None,
            )
        )
    return DependencyFile(path=path, kind=FileKind.PYLOCK, text=text, declarations=tuple(decls))


def _pylock_source(package: _Package, path: PurePosixPath) -> tuple[str | None, bool]:
    """(url, editable) for ``[packages.vcs]``, ``[packages.directory]``, ``[packages.archive]``."""
    table = package.table
    for kind in ("vcs", "directory", "archive"):
        source = table.get(kind)
        if source is None:
            continue
        if not isinstance(source, dict):
            raise InputError(f"{package.name}: `{kind}` must be a table", path, package.line)
        where = optional_str(source, "url", package.name, path, package.line) or optional_str(
            source, "path", package.name, path, package.line
        )
        if where is None:
            raise InputError(f"{package.name}: `{kind}` has no `url` or `path`", path, package.line)
        if kind == "vcs":
            vcs = source.get("type")
            commit = source.get("commit-id")
            where = (f"{vcs}+" if isinstance(vcs, str) else "") + where
            where += f"@{commit}" if isinstance(commit, str) and commit else ""
        return where, kind == "directory" and source.get("editable") is True
    return None, False


def _pylock_hashes(table: Mapping[str, Any]) -> Iterator[str]:
    for place in [table.get("sdist"), table.get("archive"), *_list(table.get("wheels"))]:
        if isinstance(place, dict) and isinstance(place.get("hashes"), dict):
            for algorithm, value in place["hashes"].items():
                if isinstance(value, str):
                    yield f"{algorithm}:{value}"


def _entries(
    text: str, path: PurePosixPath, table: str, doc: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[_Package]]:
    """Parse ``text`` and check and locate every ``[[table]]`` entry."""
    if doc is None:
        doc = load_toml(text, path)
    raw = doc.get(table, [])
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        raise InputError(f"`{table}` must be an array of tables", path, _key_line(text, table))
    found = find_entries(text, table, raw)
    entries: list[Entry | None] = list(found) if found is not None else [None] * len(raw)
    lines = LineIndex(text)
    inline_line = _key_line(text, table) if found is None else 1  # `table = [...]`, unlocated
    packages = []
    for number, (values, entry) in enumerate(zip(raw, entries, strict=True), start=1):
        line = lines.line_col(entry.header)[0] if entry is not None else inline_line
        name = values.get("name")
        if not isinstance(name, str) or not name.strip():
            what = "has no `name`" if name is None else "has a `name` that is not a package name"
            raise InputError(f"[[{table}]] entry {number} {what}", path, line)
        version = optional_str(values, "version", name, path, line)
        span = entry.version if entry is not None else None
        if entry is None:
            where = (line, 1)
        else:
            anchor = span or entry.name
            where = lines.line_col(anchor.start if anchor is not None else entry.header)
        packages.append(_Package(values, name, version, span, where, line))
    return doc, packages


def _declaration(
    package: _Package,
    path: PurePosixPath,
    text: str,
    *,
    group: str = LOCK_GROUP,
    url: str | None = None,
    editable: bool = False,
    hashes: Iterable[str] = (),
    marker: str | None = None,
    extras: Iterable[str] = (),
) -> Declaration:
    """:func:`declaration` for a checked entry: its name, position, version and span as found.

    All four formats state an entry's version the same way (what is locked is what is written),
    so only what differs between them is passed here.
    """
    return declaration(
        name=package.name,
        path=path,
        text=text,
        where=package.where,
        version=package.version,
        span=package.span,
        locked=package.version,
        group=group,
        url=url,
        editable=editable,
        hashes=hashes,
        marker=marker,
        extras=extras,
    )


def _metadata_files(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``[metadata.files]`` table of an old-format Poetry or PDM lock; empty when absent.

    Poetry lock-version 1.x and old PDM locks both keep hashes there instead of in each
    ``[[package]]``; only the key differs (``name`` vs ``"name version"``).
    """
    metadata = doc.get("metadata")
    old_files = metadata.get("files") if isinstance(metadata, dict) else None
    return old_files if isinstance(old_files, dict) else {}


def _hashes_of(items: object, key: str) -> Iterator[str]:
    """``item[key]`` for every table in the list ``items`` that has a string there."""
    for item in _list(items):
        if isinstance(item, dict) and isinstance(item.get(key), str):
            yield item[key]


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _key_line(text: str, key: str) -> int:
    """The line of the first statement setting ``key`` (for messages; 1 when there is none)."""
    match = re.search(rf"^[ \t]*{re.escape(key)}[ \t]*=", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match is not None else 1
