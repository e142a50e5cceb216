"""Read the dependencies a ``pyproject.toml`` declares, with the exact span of each constraint.

One file can carry several dependency dialects, and projects mix them: PEP 621 ``[project]``
(runtime and optional dependencies), PEP 735 ``[dependency-groups]``, ``[build-system] requires``,
Poetry's ``[tool.poetry]`` tables, uv's ``[tool.uv]`` lists and PDM's dev-dependencies. All of them
are read here, each declaration tagged with its group, so later stages can treat a Poetry caret
and a PEP 508 string alike.

Positions come from :mod:`greenbump.readers.toml_spans`. For a PEP 508 string the span covers
only the version specifier (``>= 2.0`` in ``"requests[socks] >= 2.0 ; python_version < '3.8'"``),
or is empty right after the name and extras when no version is stated, so an edit inserts one
there. Poetry constraints (``"^1.2"``) are spanned whole. Direct references (``name @ url``,
Poetry ``git``/``path``/``url``, uv sources pointing at git, a path, a URL or the workspace) get
``url`` set and no span: their version is not ours to change, and looking their name up on an
index could even pick an unrelated package of the same name.

Index URLs (Poetry sources, uv indexes, ``[[tool.pdm.source]]``) and pdm's ``find_links``
sources are recorded as written. The URLs of pdm's tables are also listed in
``DependencyFile.pdm_urls``: pdm expands ``${NAME}`` and ``file:///${PROJECT_ROOT}`` in them
and uv does not, and :mod:`greenbump.indexconfig` must know which tool reads a URL to use it
as that tool would.

Every string is validated (:class:`packaging.requirements.Requirement`, Poetry's constraint
grammar), so an invalid file fails here with its path and line instead of later with a
traceback.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet

from greenbump.errors import InputError
from greenbump.model import Declaration, DependencyFile, FileKind, Span, Style
from greenbump.names import canonicalize_name
from greenbump.poetry_constraints import poetry_to_specifier
from greenbump.readers.toml_spans import MappedString, TomlDocument, parse_toml
from greenbump.textio import line_col

__all__ = [
    "exact_version",
    "join_markers",
    "package_name",
    "parse_pyproject",
    "pep508_declaration",
    "pipfile_specifier",
    "unversioned_declaration",
    "version_string_declaration",
]

_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def parse_pyproject(text: str, path: PurePosixPath) -> DependencyFile:
    """Parse a ``pyproject.toml``; raise :class:`InputError` with a line on invalid content."""
    reader = _PyprojectReader(parse_toml(text, path))
    reader.read()
    return DependencyFile(
        path=path,
        kind=FileKind.PYPROJECT,
        text=text,
        declarations=reader.sorted_declarations(),
        index_urls=tuple(reader.index_urls),
        extra_index_urls=tuple(reader.extra_index_urls),
        find_links=tuple(reader.find_links),
        pdm_urls=tuple(reader.pdm_urls),
    )


def pep508_declaration(
    mapped: MappedString,
    path: PurePosixPath,
    group: str,
    *,
    is_constraint: bool = False,
) -> Declaration:
    """A declaration for one PEP 508 requirement string whose characters ``mapped`` locates."""
    value = mapped.value
    text = mapped.source
    try:
        requirement = Requirement(value)
    except InvalidRequirement as exc:
        where = line_col(text, mapped.start)[0]
        detail = str(exc).splitlines()[0] if str(exc) else "invalid syntax"
        raise InputError(
            f"invalid requirement {value!r}: {detail}", path.as_posix(), where
        ) from exc

    name_match = _NAME.match(value, len(value) - len(value.lstrip()))
    if name_match is None:  # pragma: no cover - Requirement() accepted it, so a name is there
        raise InputError(f"invalid requirement {value!r}", path.as_posix())
    extras: list[str] = []
    insert_at = name_match.end()
    cursor = _skip_space(value, insert_at)
    if value.startswith("[", cursor):
        close = value.index("]", cursor)
        extras = [part.strip() for part in value[cursor + 1 : close].split(",") if part.strip()]
        insert_at = close + 1
        cursor = _skip_space(value, insert_at)
    marker = str(requirement.marker) if requirement.marker is not None else None

    def declaration(
        offset: int, constraint: str, span: Span | None, url: str | None
    ) -> Declaration:
        at_line, column = line_col(text, offset)
        return Declaration(
            name=requirement.name,
            file=path,
            line=at_line,
            column=column,
            constraint=constraint,
            span=span,
            style=Style.PEP508,
            group=group,
            extras=tuple(extras),
            marker=marker,
            url=url,
            locked=exact_version(requirement.specifier) if url is None else None,
            is_constraint=is_constraint,
        )

    if requirement.url is not None:
        return declaration(mapped.offset(name_match.start()), "", None, requirement.url)

    if value.startswith("(", cursor):  # the old "name (>=1.0)" form
        start = cursor + 1
        end = value.index(")", start)
        insert_at = start
    else:
        start = cursor
        semicolon = value.find(";", start)
        end = len(value) if semicolon == -1 else semicolon
    while start < end and value[start].isspace():
        start += 1
    while end > start and value[end - 1].isspace():
        end -= 1
    if start == end:
        return declaration(mapped.offset(insert_at), "", mapped.span(insert_at, insert_at), None)
    constraint = value[start:end]
    span = mapped.span(start, end)
    try:
        if SpecifierSet(constraint) != requirement.specifier:
            span = None  # we misread where the specifier is: never edit on a guess
    except InvalidSpecifier:
        span = None
    return declaration(mapped.offset(start), constraint, span, None)


def version_string_declaration(
    doc: TomlDocument,
    name: str,
    item: object,
    group: str,
    style: Style = Style.POETRY,
    *,
    extras: tuple[str, ...] = (),
    marker: str | None = None,
    editable: bool = False,
) -> Declaration:
    """A declaration whose constraint is a whole string value (Poetry or Pipfile style).

    Poetry constraints are checked with :func:`poetry_to_specifier`, Pipfile ones with
    :class:`SpecifierSet` (``*`` and ``""`` meaning any version, a bare version meaning ``==``).
    """
    if not isinstance(item, str):
        raise doc.error(f"{name}: the version must be a string", item)
    mapped = doc.string(item)
    value = str(item)
    locked: str | None
    try:
        if style is Style.POETRY:
            converted = poetry_to_specifier(value)
            locked = exact_version(converted) if isinstance(converted, SpecifierSet) else None
        else:
            locked = exact_version(pipfile_specifier(value))
    except (ValueError, InvalidSpecifier) as exc:
        kind = "Poetry version constraint" if style is Style.POETRY else "version specifier"
        raise doc.error(f"{name}: invalid {kind} {value!r}: {exc}", item) from exc
    offset = mapped.start if mapped is not None else doc.offset_of(item)
    at_line, column = line_col(doc.text, offset) if offset is not None else (0, 0)
    return Declaration(
        name=name,
        file=doc.path,
        line=at_line,
        column=column,
        constraint=value,
        span=mapped.span(0, len(value)) if mapped is not None else None,
        style=style,
        group=group,
        extras=extras,
        marker=marker,
        editable=editable,
        locked=locked,
    )


def unversioned_declaration(
    doc: TomlDocument,
    name: str,
    entry: object,
    group: str,
    style: Style,
    *,
    version: object,
    url: str | None,
    extras: tuple[str, ...],
    marker: str | None,
    editable: bool,
) -> Declaration:
    """A declaration with no editable constraint: a direct reference, or a table with no version.

    Poetry and Pipfile package tables say this alike, so both readers build it here: placed at
    the table ``entry``, no span, and a ``version`` string (beside a ``git``/``path``/... key)
    kept as the constraint for reports.
    """
    offset = doc.offset_of(entry)
    at_line, column = line_col(doc.text, offset) if offset is not None else (0, 0)
    return Declaration(
        name=name,
        file=doc.path,
        line=at_line,
        column=column,
        constraint=str(version) if isinstance(version, str) else "",
        span=None,
        style=style,
        group=group,
        extras=extras,
        marker=marker,
        url=url,
        editable=editable,
    )


def package_name(doc: TomlDocument, key: str, item: object) -> tuple[str, tuple[str, ...]]:
    """The name (and extras, as in ``"requests[socks]"``) a table key declares."""
    try:
        requirement = Requirement(key)
    except InvalidRequirement:
        requirement = None
    if requirement is None or requirement.specifier or requirement.url or requirement.marker:
        raise doc.error(f"{key!r} is not a valid package name", item)
    bracket = key.find("[")
    extras = key[bracket + 1 : key.rindex("]")].split(",") if bracket != -1 else []
    return requirement.name, tuple(extra.strip() for extra in extras if extra.strip())


def exact_version(specifier: SpecifierSet) -> str | None:
    """The version a specifier pins exactly (``==1.2.3``), or ``None``."""
    specs = list(specifier)
    if len(specs) == 1 and specs[0].operator == "==" and not specs[0].version.endswith(".*"):
        return specs[0].version
    return None


def pipfile_specifier(value: str) -> SpecifierSet:
    """The PEP 440 meaning of a Pipfile version string.

    ``"*"`` and ``""`` allow any version; pipenv reads a version with no operator (``"1.2"``,
    ``"3.*"``) as ``==``. Raises :class:`InvalidSpecifier` on anything else invalid.
    """
    stripped = value.strip()
    if stripped in ("", "*"):
        return SpecifierSet()
    if stripped[:1].isdigit():
        return SpecifierSet(f"=={stripped}")
    return SpecifierSet(stripped)


def _skip_space(value: str, index: int) -> int:
    while index < len(value) and value[index].isspace():
        index += 1
    return index


class _PyprojectReader:
    """Collects declarations and index URLs from one parsed ``pyproject.toml``."""

    def __init__(self, doc: TomlDocument) -> None:
        self.doc = doc
        self.path = doc.path
        self.declarations: list[Declaration] = []
        self.index_urls: list[str] = []
        self.extra_index_urls: list[str] = []
        self.find_links: list[str] = []
        self.pdm_urls: list[str] = []  # kept apart: pdm expands variables in them, uv does not

    def sorted_declarations(self) -> tuple[Declaration, ...]:
        return tuple(sorted(self.declarations, key=lambda decl: (decl.line, decl.column)))

    def read(self) -> None:
        root = self.doc.root
        project = self._table(root, "project", "[project]")
        if project is not None:
            self._pep508_list(project, "dependencies", "[project] dependencies", "main")
            optional = self._table(
                project, "optional-dependencies", "[project.optional-dependencies]"
            )
            if optional is not None:
                for extra, _ in _items(optional):
                    where = f"[project.optional-dependencies] {extra}"
                    self._pep508_list(optional, extra, where, f"extra:{extra}")
        self._dependency_groups(root)
        build = self._table(root, "build-system", "[build-system]")
        if build is not None:
            self._pep508_list(build, "requires", "[build-system] requires", "build")
        tool = self._table(root, "tool", "[tool]")
        if tool is None:
            return
        self._poetry(tool)
        self._uv(tool)
        self._pdm(tool)

    # -- PEP 621 / 735 ---------------------------------------------------------------------------

    def _dependency_groups(self, root: Mapping[str, object]) -> None:
        groups = self._table(root, "dependency-groups", "[dependency-groups]")
        if groups is None:
            return
        known: dict[str, str] = {}
        for name, value in _items(groups):
            key = canonicalize_name(name)
            if key in known:
                raise self.doc.error(
                    f"[dependency-groups] {name!r} and {known[key]!r} name the same group", value
                )
            known[key] = name
        includes: dict[str, list[str]] = {}
        for name, value in _items(groups):
            where = f"[dependency-groups] {name}"
            if not isinstance(value, list):
                raise self.doc.error(f"{where} must be an array", value)
            includes[canonicalize_name(name)] = []
            for entry in value:
                if isinstance(entry, str):
                    self._pep508(entry, f"group:{name}")
                    continue
                if not isinstance(entry, Mapping) or set(entry) != {"include-group"}:
                    raise self.doc.error(
                        f"{where}: entries must be requirement strings or "
                        '{include-group = "NAME"} tables',
                        entry,
                        value,
                    )
                target = entry["include-group"]
                if not isinstance(target, str):
                    raise self.doc.error(f"{where}: include-group must be a string", entry, value)
                if canonicalize_name(target) not in known:
                    raise self.doc.error(f"{where} includes unknown group {target!r}", target)
                includes[canonicalize_name(name)].append(canonicalize_name(target))
        cycle = _find_cycle(includes)
        if cycle is not None:
            chain = " -> ".join(known[key] for key in cycle)
            raise self.doc.error(f"[dependency-groups] include cycle: {chain}", groups)

    def _pep508_list(
        self,
        parent: Mapping[str, object],
        key: str,
        where: str,
        group: str,
        *,
        is_constraint: bool = False,
    ) -> None:
        value = parent.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            raise self.doc.error(f"{where} must be an array of requirement strings", value)
        for entry in value:
            if not isinstance(entry, str):
                raise self.doc.error(f"{where} must contain only requirement strings", entry, value)
            self._pep508(entry, group, is_constraint=is_constraint)

    def _pep508(self, item: str, group: str, *, is_constraint: bool = False) -> None:
        mapped = self.doc.string(item)
        if mapped is None:  # unlocated (never seen in practice): readable but not editable
            mapped = MappedString(str(item), self.doc.offset_of(item) or 0, None, self.doc.text)
        self.declarations.append(
            pep508_declaration(mapped, self.path, group, is_constraint=is_constraint)
        )

    # -- Poetry ----------------------------------------------------------------------------------

    def _poetry(self, tool: Mapping[str, object]) -> None:
        poetry = self._table(tool, "poetry", "[tool.poetry]")
        if poetry is None:
            return
        self._poetry_table(poetry, "dependencies", "[tool.poetry.dependencies]", "main")
        self._poetry_table(poetry, "dev-dependencies", "[tool.poetry.dev-dependencies]", "dev")
        groups = self._table(poetry, "group", "[tool.poetry.group]")
        for name, group in _items(groups):
            if not isinstance(group, Mapping):
                raise self.doc.error(f"[tool.poetry.group.{name}] must be a table", group)
            where = f"[tool.poetry.group.{name}.dependencies]"
            self._poetry_table(group, "dependencies", where, f"group:{name}")
        self._poetry_sources(poetry)

    def _poetry_table(self, parent: Mapping[str, object], key: str, where: str, group: str) -> None:
        table = self._table(parent, key, where)
        for written, value in _items(table):
            if written == "python":  # the project's own Python range, not a package
                continue
            name, extras = package_name(self.doc, written, value)
            if isinstance(value, str):
                self.declarations.append(
                    version_string_declaration(self.doc, name, value, group, extras=extras)
                )
            elif isinstance(value, Mapping):
                self._poetry_entry(name, value, group, extras)
            elif isinstance(value, list) and value:
                for alternative in value:
                    if not isinstance(alternative, Mapping):
                        raise self.doc.error(
                            f"{where} {name}: multiple constraints must be tables",
                            alternative,
                            value,
                        )
                    self._poetry_entry(name, alternative, group, extras)
            else:
                raise self.doc.error(
                    f"{where} {name}: expected a version string, a table or an array of tables",
                    value,
                )

    def _poetry_entry(
        self, name: str, entry: Mapping[str, object], group: str, key_extras: tuple[str, ...]
    ) -> None:
        extras = key_extras + self._string_list(entry, "extras", name)
        markers = entry.get("markers")
        if markers is not None and not isinstance(markers, str):
            raise self.doc.error(f"{name}: markers must be a string", markers)
        parts = [str(markers)] if markers else []
        python = entry.get("python")
        if python is not None:
            python_marker = self._python_marker(name, python)
            if python_marker:
                parts.append(python_marker)
        marker = join_markers(parts)
        editable = entry.get("develop") is True
        version = entry.get("version")
        url = next((entry[key] for key in ("git", "path", "url", "file") if key in entry), None)
        if url is not None and not isinstance(url, str):
            raise self.doc.error(f"{name}: git, path and url must be strings", url, entry)
        if url is None and version is not None:
            decl = version_string_declaration(
                self.doc, name, version, group, extras=extras, marker=marker, editable=editable
            )
        else:
            decl = unversioned_declaration(
                self.doc,
                name,
                entry,
                group,
                Style.POETRY,
                version=version,
                url=None if url is None else str(url),
                extras=extras,
                marker=marker,
                editable=editable,
            )
        self.declarations.append(decl)

    def _python_marker(self, name: str, python: object) -> str | None:
        """Poetry's ``python = "^3.8"`` restriction written as a PEP 508 marker."""
        constraints = python if isinstance(python, list) else [python]
        alternatives: list[str] = []
        for constraint in constraints:
            if not isinstance(constraint, str):
                raise self.doc.error(
                    f"{name}: python must be a string or strings", constraint, python
                )
            try:
                converted = poetry_to_specifier(str(constraint))
            except ValueError as exc:
                raise self.doc.error(
                    f"{name}: invalid python constraint {str(constraint)!r}: {exc}", constraint
                ) from exc
            for specifier_set in converted if isinstance(converted, list) else [converted]:
                clauses = [
                    f'python_full_version {spec.operator} "{spec.version}"'
                    for spec in sorted(specifier_set, key=_lower_bounds_first)
                ]
                if not clauses:
                    return None  # any Python
                alternatives.append(" and ".join(clauses))
        if len(alternatives) == 1:
            return alternatives[0]
        return " or ".join(f"({alternative})" for alternative in alternatives)

    def _poetry_sources(self, poetry: Mapping[str, object]) -> None:
        primary: list[str] = []
        for source in self._array_of_tables(poetry, "source", "[[tool.poetry.source]]"):
            url = source.get("url")
            if url is None:
                continue  # e.g. the implicit PyPI source named explicitly
            if not isinstance(url, str):
                raise self.doc.error("[[tool.poetry.source]] url must be a string", url)
            priority = source.get("priority")
            if priority is None:
                if source.get("default") is True:
                    priority = "default"
                elif source.get("secondary") is True:
                    priority = "secondary"
                else:
                    priority = "primary"
            if priority == "default":
                primary.insert(0, str(url))
            elif priority == "primary":
                primary.append(str(url))
            elif priority in ("supplemental", "secondary"):
                self.extra_index_urls.append(str(url))
            elif priority != "explicit":  # explicit sources serve only the packages naming them
                raise self.doc.error(
                    f"[[tool.poetry.source]] unknown priority {priority!r}", source
                )
        self.index_urls.extend(primary)

    # -- uv --------------------------------------------------------------------------------------

    def _uv(self, tool: Mapping[str, object]) -> None:
        uv = self._table(tool, "uv", "[tool.uv]")
        if uv is None:
            return
        self._pep508_list(uv, "dev-dependencies", "[tool.uv] dev-dependencies", "dev")
        self._pep508_list(
            uv,
            "constraint-dependencies",
            "[tool.uv] constraint-dependencies",
            "constraints",
            is_constraint=True,
        )
        self._pep508_list(
            uv, "override-dependencies", "[tool.uv] override-dependencies", "overrides"
        )
        defaults: list[str] = []
        others: list[str] = []
        for index in self._array_of_tables(uv, "index", "[[tool.uv.index]]"):
            url = index.get("url")
            if not isinstance(url, str):
                raise self.doc.error("[[tool.uv.index]] needs a url string", index)
            if index.get("default") is True:
                defaults.append(str(url))
            elif index.get("explicit") is not True:  # explicit: only for packages pinned to it
                others.append(str(url))
        index_url = uv.get("index-url")
        if index_url is not None:
            if not isinstance(index_url, str):
                raise self.doc.error("[tool.uv] index-url must be a string", index_url)
            defaults.append(str(index_url))
        self.index_urls.extend(defaults)
        self.extra_index_urls.extend(others)
        self.extra_index_urls.extend(self._string_list(uv, "extra-index-url", "[tool.uv]"))
        self._uv_sources(uv)

    def _uv_sources(self, uv: Mapping[str, object]) -> None:
        """Mark declarations whose package uv takes from git, a path, a URL or the workspace."""
        sources = self._table(uv, "sources", "[tool.uv.sources]")
        direct: dict[str, str] = {}
        for name, value in _items(sources):
            entries = value if isinstance(value, list) else [value]
            for entry in entries:
                if not isinstance(entry, Mapping):
                    raise self.doc.error(f"[tool.uv.sources] {name} must be a table", entry, value)
                for key in ("git", "path", "url"):
                    if isinstance(entry.get(key), str):
                        direct.setdefault(canonicalize_name(name), str(entry[key]))
                if entry.get("workspace") is True:
                    direct.setdefault(canonicalize_name(name), "workspace")
        if not direct:
            return
        for position, decl in enumerate(self.declarations):
            if decl.key in direct and decl.url is None and decl.style is Style.PEP508:
                self.declarations[position] = _replace_url(decl, direct[decl.key])

    # -- PDM -------------------------------------------------------------------------------------

    def _pdm(self, tool: Mapping[str, object]) -> None:
        pdm = self._table(tool, "pdm", "[tool.pdm]")
        if pdm is None:
            return
        dev = self._table(pdm, "dev-dependencies", "[tool.pdm.dev-dependencies]")
        for name, value in _items(dev):
            where = f"[tool.pdm.dev-dependencies] {name}"
            if not isinstance(value, list):
                raise self.doc.error(f"{where} must be an array", value)
            for entry in value:
                if not isinstance(entry, str):
                    raise self.doc.error(
                        f"{where} must contain only requirement strings", entry, value
                    )
                if str(entry).lstrip().startswith("-e"):
                    self.declarations.append(self._pdm_editable(entry, f"group:{name}"))
                else:
                    self._pep508(entry, f"group:{name}")
        for source in self._array_of_tables(pdm, "source", "[[tool.pdm.source]]"):
            url = source.get("url")
            if not isinstance(url, str):
                raise self.doc.error("[[tool.pdm.source]] needs a url string", source)
            kind = source.get("type", "index")
            if kind == "find_links":  # a flat page or folder of files, like pip's --find-links
                self.find_links.append(str(url))
            elif kind != "index":
                continue
            elif source.get("name") == "pypi":  # PDM's way to replace the default index
                self.index_urls.insert(0, str(url))
            else:
                self.extra_index_urls.append(str(url))
            self.pdm_urls.append(str(url))

    def _pdm_editable(self, entry: str, group: str) -> Declaration:
        """PDM's ``-e <path or url>#egg=name`` (or ``-e name @ url``) dev dependency."""
        target = str(entry).lstrip()[2:].strip()
        name: str | None = None
        if "@" in target and not target.startswith(("file:", "git+", "http")):
            name, _, target = (part.strip() for part in target.partition("@"))
        else:
            egg = re.search(r"[#&]egg=([A-Za-z0-9._-]+)", target)
            name = egg.group(1) if egg else None
        if not name:
            raise self.doc.error(
                f"cannot tell the package name of editable entry {str(entry)!r}", entry
            )
        offset = self.doc.offset_of(entry) or 0
        at_line, column = line_col(self.doc.text, offset)
        return Declaration(
            name=name,
            file=self.path,
            line=at_line,
            column=column,
            constraint="",
            span=None,
            group=group,
            url=target,
            editable=True,
        )

    # -- shared ----------------------------------------------------------------------------------

    def _table(self, parent: object, key: str, where: str) -> Mapping[str, object] | None:
        if not isinstance(parent, Mapping):
            return None
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.doc.error(f"{where} must be a table", value)
        return value

    def _array_of_tables(
        self, parent: Mapping[str, object], key: str, where: str
    ) -> list[Mapping[str, object]]:
        value = parent.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(entry, Mapping) for entry in value):
            raise self.doc.error(f"{where} must be an array of tables", value)
        return list(value)

    def _string_list(self, parent: Mapping[str, object], key: str, where: str) -> tuple[str, ...]:
        value = parent.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
            raise self.doc.error(f"{where}: {key} must be an array of strings", value)
        return tuple(str(entry) for entry in value)


def _items(table: Mapping[str, object] | None) -> Iterable[tuple[str, object]]:
    if table is None:
        return ()
    return [(str(key), value) for key, value in table.items()]


def _lower_bounds_first(spec: Specifier) -> tuple[int, str]:
    return (0 if spec.operator.startswith((">", "~", "=")) else 1, str(spec))


def join_markers(parts: list[str]) -> str | None:
    """Marker clauses joined with ``and``, each in parentheses when there are several; or None.

    Poetry and Pipfile tables both split a package's marker over several keys.
    """
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return " and ".join(f"({part})" for part in parts)


def _find_cycle(includes: dict[str, list[str]]) -> list[str] | None:
    """A chain of group names that includes itself, if any."""
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> list[str] | None:
        if node in trail:
            return [*trail[trail.index(node) :], node]
        if node in done:
            return None
        for target in includes.get(node, []):
            found = visit(target, [*trail, node])
            if found is not None:
                return found
        done.add(node)
        return None

    for start in includes:
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


def _replace_url(decl: Declaration, url: str) -> Declaration:
    return dataclasses.replace(decl, url=url, span=None, locked=None)
