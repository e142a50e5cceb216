"""``Pipfile.lock``: pipenv's JSON lock, one object of packages per category.

Layout: ``_meta`` (hash, ``pipfile-spec``, ``requires``, ``sources``), then a section per
category: ``default`` (run time), ``develop`` (dev), and any named category pipenv 2023+ writes
for custom Pipfile groups. Each package is ``{"version": "==1.2.3", "hashes": [...],
"markers": "...", "index": "..."}``, or for a VCS/path package ``{"git": ..., "ref": ...}`` /
``{"path": ".", "editable": true}``.

The constraint is the version string exactly as written (``==1.2.3``, or ``===1.2.3`` for
arbitrary equality) and ``locked`` is the version without its operator. The index URLs of
``_meta.sources`` become the file's ``index_urls`` (the first) and ``extra_index_urls`` (the rest).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from greenbump.errors import InputError
from greenbump.model import DependencyFile, FileKind
from greenbump.readers.locks._common import (
    LineIndex,
    declaration,
    group_name,
    optional_str,
    str_list,
)
from greenbump.readers.locks._json import load_json, locate_packages

__all__ = ["parse_pipfile_lock"]

_SECTION_GROUP = {"default": "lock", "develop": "lock:dev"}
_VCS = ("git", "hg", "svn", "bzr")


def parse_pipfile_lock(text: str, path: PurePosixPath) -> DependencyFile:
    """Read a ``Pipfile.lock``."""
    doc = load_json(text, path)
    if not isinstance(doc, dict):
        raise InputError("a Pipfile.lock must be a JSON object", path, 1)
    sections, located = locate_packages(text)
    lines = LineIndex(text)
    decls = []
    for section, packages in doc.items():
        if section.startswith("_"):
            continue  # _meta, and whatever private keys a later pipenv adds
        section_line = lines.line_col(sections.get(section, 0))[0]
        if not isinstance(packages, dict):
            if section in _SECTION_GROUP:
                raise InputError(
                    f"section {section!r} must be an object of packages, "
                    f"not {type(packages).__name__}",
                    path,
                    section_line,
                )
            continue  # not a category: some other top-level value
        group = _SECTION_GROUP.get(section) or group_name([section], runtime=())
        for name, value in packages.items():
            place = located.get((section, name))
            line = lines.line_col(place.key.start)[0] if place is not None else section_line
            # A bare version string is the hand-written Pipfile style, which pipenv reads too.
            entry = {"version": value} if isinstance(value, str) else value
            if not isinstance(entry, dict):
                raise InputError(
                    f"{name}: entry must be an object (or a version string), "
                    f"not {type(entry).__name__}",
                    path,
                    line,
                )
            version = optional_str(entry, "version", name, path, line)
            span = place.version if place is not None and version is not None else None
            if span is not None and text[span.start : span.end] != version:
                span = None  # written with escapes: reported, not editable
            anchor = span.start if span is not None else place.key.start if place else 0
            markers = entry.get("markers")
            decls.append(
                declaration(
                    name=name,
                    path=path,
                    text=text,
                    where=lines.line_col(anchor),
                    version=version,
                    span=span,
                    locked=_locked(version),
                    group=group,
                    url=_source(name, entry, path, line),
                    editable=entry.get("editable") is True,
                    hashes=str_list(entry.get("hashes")),
                    marker=markers if isinstance(markers, str) else None,
                    extras=str_list(entry.get("extras")),
                )
            )
    index_urls = _index_urls(doc.get("_meta"))
    return DependencyFile(
        path=path,
        kind=FileKind.PIPFILE_LOCK,
        text=text,
        declarations=tuple(decls),
        index_urls=index_urls[:1],
        extra_index_urls=index_urls[1:],
    )


def _locked(version: str | None) -> str | None:
    """The pinned version of ``==1.2.3`` / ``===1.2.3``; None for anything else."""
    if version is None:
        return None
    for operator in ("===", "=="):
        if version.startswith(operator):
            return version[len(operator) :].strip() or None
    return None


def _source(name: str, entry: dict[str, object], path: PurePosixPath, line: int) -> str | None:
    for vcs in _VCS:
        where = optional_str(entry, vcs, name, path, line)
        if where is not None:
            ref = entry.get("ref")
            return f"{vcs}+{where}" + (f"@{ref}" if isinstance(ref, str) and ref else "")
    for key in ("path", "file"):
        where = optional_str(entry, key, name, path, line)
        if where is not None:
            return where
    return None


def _index_urls(meta: object) -> tuple[str, ...]:
    if not isinstance(meta, dict) or not isinstance(meta.get("sources"), list):
        return ()
    return tuple(
        source["url"]
        for source in meta["sources"]
        if isinstance(source, dict) and isinstance(source.get("url"), str)
    )
