"""Read a Pipfile's packages, with the span of each version string.

A Pipfile is TOML, so positions come from :mod:`greenbump.readers.toml_spans`. Pipenv reads
``[packages]`` (group ``main``), ``[dev-packages]`` (group ``dev``) and any other top-level table
as a custom package category (group ``group:NAME``), except its own settings tables
(``source``, ``requires``, ``scripts``, ``pipenv``). A package is either a version string
(``"*"``, ``""`` or a PEP 440 specifier such as ``"==1.2"``), spanned whole, or a table:
``{version = ..., extras = [...], markers = ...}`` spans its ``version``; ``git``, ``path`` and
``file`` entries are direct references (``url`` set, no span). Pipenv's per-variable marker keys
(``sys_platform = "== 'win32'"``) are folded into the marker.

``[[source]]`` URLs become the file's indexes: pipenv treats the first as the primary index and
the others as extra indexes. They are recorded as written: pipenv expands environment variables
in them (``$NAME``, ``${NAME}``), and :mod:`greenbump.indexconfig` does the same with pipenv's
rules when it builds the index configuration, so the text stays the user's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath

from greenbump.model import Declaration, DependencyFile, FileKind, Style
from greenbump.readers.pyproject import (
    join_markers,
    package_name,
    unversioned_declaration,
    version_string_declaration,
)
from greenbump.readers.toml_spans import TomlDocument, parse_toml

__all__ = ["parse_pipfile"]

_SETTINGS = frozenset({"source", "requires", "scripts", "pipenv"})
_GROUPS = {"packages": "main", "dev-packages": "dev"}
_MARKER_KEYS = (
    "os_name",
    "sys_platform",
    "platform_machine",
    "platform_python_implementation",
    "platform_release",
    "platform_system",
    "platform_version",
    "python_version",
    "python_full_version",
    "implementation_name",
    "implementation_version",
)


def parse_pipfile(text: str, path: PurePosixPath) -> DependencyFile:
    """Parse a Pipfile; raise :class:`InputError` with a line on invalid content."""
    doc = parse_toml(text, path)
    declarations: list[Declaration] = []
    for section, table in doc.root.items():
        if section in _SETTINGS:
            continue
        if not isinstance(table, Mapping):
            if section in _GROUPS:
                raise doc.error(f"[{section}] must be a table", table)
            continue  # not a package category
        group = _GROUPS.get(section, f"group:{section}")
        for key, spec in table.items():
            declarations.append(_package(doc, str(key), spec, group))
    index_urls = _sources(doc)
    return DependencyFile(
        path=path,
        kind=FileKind.PIPFILE,
        text=text,
        declarations=tuple(sorted(declarations, key=lambda decl: (decl.line, decl.column))),
        index_urls=index_urls[:1],
        extra_index_urls=index_urls[1:],
    )


def _package(doc: TomlDocument, key: str, spec: object, group: str) -> Declaration:
    name, key_extras = package_name(doc, key, spec)
    if isinstance(spec, str):
        return version_string_declaration(doc, name, spec, group, Style.PIPFILE, extras=key_extras)
    if not isinstance(spec, Mapping):
        raise doc.error(f"{name}: expected a version string or a table", spec)

    extras = spec.get("extras", [])
    if not isinstance(extras, list) or not all(isinstance(extra, str) for extra in extras):
        raise doc.error(f"{name}: extras must be an array of strings", extras, spec)
    all_extras = key_extras + tuple(str(extra) for extra in extras)
    parts: list[str] = []
    for variable in ("markers", *_MARKER_KEYS):
        value = spec.get(variable)
        if value is None:
            continue
        if not isinstance(value, str):
            raise doc.error(f"{name}: {variable} must be a string", value)
        parts.append(str(value) if variable == "markers" else f"{variable} {value}")
    marker = join_markers(parts)
    editable = spec.get("editable") is True
    version = spec.get("version")
    url = next((spec[key] for key in ("git", "path", "file") if key in spec), None)

    if url is None and version is not None:
        return version_string_declaration(
            doc,
            name,
            version,
            group,
            Style.PIPFILE,
            extras=all_extras,
            marker=marker,
            editable=editable,
        )
    if url is not None and not isinstance(url, str):
        raise doc.error(f"{name}: git, path and file must be strings", url)
    return unversioned_declaration(
        doc,
        name,
        spec,
        group,
        Style.PIPFILE,
        version=version,
        url=None if url is None else str(url),
        extras=all_extras,
        marker=marker,
        editable=editable,
    )


def _sources(doc: TomlDocument) -> tuple[str, ...]:
    sources = doc.root.get("source")
    if sources is None:
        return ()
    if not isinstance(sources, list) or not all(isinstance(entry, Mapping) for entry in sources):
        raise doc.error("[[source]] must be an array of tables", sources)
    urls: list[str] = []
    for source in sources:
        url = source.get("url")
        if not isinstance(url, str):
            raise doc.error("[[source]] needs a url string", source, sources)
        urls.append(str(url))
    return tuple(urls)
