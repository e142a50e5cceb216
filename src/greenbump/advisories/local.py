"""Advisories from a local OSV database: a directory tree, a zip of one, or a single file.

Two layouts are common and both are plain trees of one-record files: the PyPA advisory database
(``vulns/<package>/<ID>.yaml``) and OSV's per-ecosystem ``all.zip`` (flat ``<ID>.json``). We do
not rely on either layout: the package an advisory concerns is read from its ``affected`` list,
because an advisory filed under one directory may name several packages.

Why an index first, records later: parsing YAML is the expensive part (the 2,661-file PyPA
database takes over 1.5 s to parse with libyaml), yet a project asks about a few dozen
packages. So the first query reads every file's *bytes* once and picks out the values of its
``name:`` keys with one regular expression (milliseconds for the whole database), which gives
a superset of the packages each file could concern. Only the files that could concern a queried
package are parsed, and each at most once. A file whose ``name`` keys the expression cannot read
(a value on the next line, a block scalar) is parsed for every package, so the shortcut never
hides an advisory. A file without the word ``affected`` cannot affect anything and is skipped.

An optional cache (``cache_dir``) keeps, per file, its fingerprint (mtime and size, or the
member's CRC and size in a zip), the names found in it, and the parsed record reduced to what
greenbump uses, as JSON. A file whose fingerprint changed is read again; the rest is not read at
all. The cache is an accelerator only: an unreadable or stale cache is ignored.

A local database that holds all of PyPI's advisories answers for every package: a package it
has no record for is ``checked=True`` with no findings.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from greenbump.advisories.matching import CheckResult, PackageKey, check, package_key
from greenbump.advisories.records import (
    Advisory,
    AdvisoryFormatError,
    load_document,
    parse_advisory,
    to_osv,
)
from greenbump.advisories.source import AdvisorySource
from greenbump.errors import InputError
from greenbump.names import NormalizedName, canonicalize_name

if TYPE_CHECKING:
    import zipfile

SUFFIXES = (".json", ".yaml", ".yml")
MAX_RECORD_BYTES = 32 * 1024 * 1024  # a single OSV record is kilobytes; anything this big is not
CACHE_FORMAT = 1

# The value of every ``name`` key, in block YAML (``name: x``), flow YAML (``{name: x}``) and
# JSON (``"name": "x"``). The value group is optional so that a key whose value is not on the
# same line still shows up, as a match without a value.
_NAME_KEY = re.compile(rb"""name['"]?[ \t]*:[ \t]*['"]?([A-Za-z0-9][A-Za-z0-9._-]*)?""")

Fingerprint = tuple[int, int]


def scan_names(data: bytes) -> frozenset[NormalizedName] | None:
    """The package names a record could concern, from its bytes, without parsing it.

    Returns a superset of the names in its ``affected`` list: an empty set when the record
    affects nothing, ``None`` when the names cannot be read this way (the caller must parse).
    """
    if b"affected" not in data:
        return frozenset()
    names: set[NormalizedName] = set()
    for match in _NAME_KEY.finditer(data):
        value = match.group(1)
        if value is None:
            return None
        names.add(canonicalize_name(value.decode("ascii")))
    return frozenset(names) if names else None


_WORD = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._-]*")


def _mentioned(data: bytes) -> frozenset[NormalizedName]:
    """Every word of a record that cannot be parsed, as a package name: the packages it can
    be about (a record about a package names it), so that only theirs are not checked."""
    return frozenset(canonicalize_name(w.decode("ascii")) for w in _WORD.findall(data))


# ---------------------------------------------------------------------------------------------
# Where the files come from

Reader = Callable[[str], bytes]


class _Tree(abc.ABC):
    """A set of record files, each named by a relative POSIX path ("member")."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @abc.abstractmethod
    def members(self) -> list[tuple[str, Fingerprint]]:
        """Every record file, sorted, with a fingerprint that changes when its content does."""

    @abc.abstractmethod
    def reader(self) -> contextlib.AbstractContextManager[Reader]:
        """A context giving a function that returns a member's bytes."""

    def where(self, member: str) -> str:
        """The member as shown in messages."""
        return f"{self.root.as_posix()}/{member}"


def _is_record_name(parts: Sequence[str]) -> bool:
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return False
    return parts[-1].lower().endswith(SUFFIXES)


def _read_bounded(path: Path) -> bytes:
    with path.open("rb") as stream:
        data = stream.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise AdvisoryFormatError(f"larger than {MAX_RECORD_BYTES} bytes")
    return data


class _DirTree(_Tree):
    def members(self) -> list[tuple[str, Fingerprint]]:
        found: list[tuple[str, Fingerprint]] = []
        pending = [("", os.fspath(self.root))]
        while pending:
            prefix, folder = pending.pop()
            try:
                listing = list(os.scandir(folder))
            except OSError:
                continue  # an unreadable subfolder holds nothing we can use
            for item in listing:
                if item.name.startswith("."):
                    continue
                try:
                    if item.is_dir():
                        pending.append((f"{prefix}{item.name}/", item.path))
                    elif _is_record_name([item.name]):
                        st = item.stat()
                        found.append((prefix + item.name, (st.st_mtime_ns, st.st_size)))
                except OSError:
                    continue  # vanished between listing and stat: nothing to read
        found.sort()
        return found

    def reader(self) -> contextlib.AbstractContextManager[Reader]:
        root = self.root

        def read(member: str) -> bytes:
            return _read_bounded(root / member)

        return contextlib.nullcontext(read)


class _FileTree(_Tree):
    """A single record file, for a database of one (mostly useful in tests and bug reports)."""

    def members(self) -> list[tuple[str, Fingerprint]]:
        st = self.root.stat()
        return [(self.root.name, (st.st_mtime_ns, st.st_size))]

    def reader(self) -> contextlib.AbstractContextManager[Reader]:
        path = self.root

        def read(member: str) -> bytes:
            del member
            return _read_bounded(path)

        return contextlib.nullcontext(read)

    def where(self, member: str) -> str:
        return self.root.as_posix()


class _ZipTree(_Tree):
    def members(self) -> list[tuple[str, Fingerprint]]:
        with self._open() as archive:
            found = [
                (info.filename, (info.CRC, info.file_size))
                for info in archive.infolist()
                if not info.is_dir() and _is_record_name(info.filename.split("/"))
            ]
        found.sort()
        return found

    @contextlib.contextmanager
    def _open(self) -> Iterator[zipfile.ZipFile]:
        import zipfile  # deferred: only zipped databases need it

        try:
            archive = zipfile.ZipFile(self.root)
        except (OSError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot read zip archive: {exc}", self.root) from exc
        with archive:
            yield archive

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Reader]:
        import zipfile

        with self._open() as archive:

            def read(member: str) -> bytes:
                if archive.getinfo(member).file_size > MAX_RECORD_BYTES:
                    raise AdvisoryFormatError(f"larger than {MAX_RECORD_BYTES} bytes")
                try:
                    return archive.read(member)
                except (zipfile.BadZipFile, EOFError) as exc:  # bad CRC, truncated member
                    raise AdvisoryFormatError(f"cannot extract: {exc}") from exc

            yield read

    def reader(self) -> contextlib.AbstractContextManager[Reader]:
        return self._reading()

    def where(self, member: str) -> str:
        return f"{self.root.as_posix()}!{member}"


# ---------------------------------------------------------------------------------------------
# The source


class _Entry:
    """What is known about one record file. Mutable bookkeeping, private to the index."""

    __slots__ = ("advisory", "cached", "error", "fingerprint", "names")

    def __init__(self, fingerprint: Fingerprint, names: frozenset[NormalizedName] | None) -> None:
        self.fingerprint = fingerprint
        self.names = names
        self.advisory: Advisory | None = None
        self.error: str | None = None
        self.cached: object = None  # the reduced OSV document from the cache, parsed on demand

    @property
    def loaded(self) -> bool:
        return self.advisory is not None or self.error is not None


class OsvDirectory(AdvisorySource):
    """A local OSV database: a directory, a ``.zip`` of one, or a single JSON/YAML record.

    Raises :class:`InputError` when ``path`` does not exist, is not a readable database, or
    holds no record file at all (most likely the wrong folder; answering "no vulnerabilities"
    for every package would be a silent lie). Files that cannot be parsed are skipped and
    reported in :attr:`warnings`, and in the results of the packages they could concern.
    """

    def __init__(self, path: Path | str, *, cache_dir: Path | str | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError("no such file or directory (expected an OSV database)", self.path)
        if self.path.is_dir():
            self._tree: _Tree = _DirTree(self.path)
        elif _is_zip(self.path):
            self._tree = _ZipTree(self.path)
        elif self.path.is_file() and self.path.name.lower().endswith(SUFFIXES):
            self._tree = _FileTree(self.path)
        else:
            raise InputError(
                "not an OSV database: expected a directory, a .zip, or a .json/.yaml record",
                self.path,
            )
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._entries: dict[str, _Entry] | None = None
        self._by_name: dict[NormalizedName, list[str]] = {}
        self._unscannable: list[str] = []
        self._warnings: dict[str, None] = {}
        self._cache_dirty = False

    @property
    def label(self) -> str:
        return f"OSV database {self.path.as_posix()}"

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self._warnings)

    # -- public API --------------------------------------------------------------------------

    def query(self, packages: Sequence[tuple[str, str]]) -> dict[PackageKey, CheckResult]:
        keys = list(dict.fromkeys(package_key(name, version) for name, version in packages))
        self._load_candidates({name for name, _ in keys})
        results: dict[PackageKey, CheckResult] = {}
        for name, version in keys:
            advisories, warnings = self._advisories_and_warnings(name)
            result = check(name, version, advisories, warnings=warnings)
            if warnings and result.checked:
                # A record of this package could not be read: what it says is unknown.
                more = f" (and {len(warnings) - 1} more)" if len(warnings) > 1 else ""
                result = dataclasses.replace(result, checked=False, reason=warnings[0] + more)
            results[(name, version)] = result
        self._save_cache()
        return results

    def advisories_for(self, name: str) -> tuple[Advisory, ...]:
        """Every record naming ``name`` (withdrawn ones included), one per id, sorted by id."""
        key = canonicalize_name(name)
        self._load_candidates({key})
        self._save_cache()
        return self._advisories_and_warnings(key)[0]

    def load_all(self) -> tuple[Advisory, ...]:
        """Parse every record in the database (slow on a large one); one per id, sorted."""
        entries = self._index()
        self._load([m for m, e in entries.items() if e.names != frozenset()])
        self._save_cache()
        latest: dict[str, Advisory] = {}
        for entry in entries.values():
            _keep_latest(latest, entry.advisory)
        return tuple(latest[k] for k in sorted(latest))

    # -- index -------------------------------------------------------------------------------

    def _index(self) -> dict[str, _Entry]:
        if self._entries is not None:
            return self._entries
        members = self._tree.members()
        if not members:
            raise InputError(
                f"no OSV record files ({', '.join('*' + s for s in SUFFIXES)}) found", self.path
            )
        cached = self._read_cache()
        entries: dict[str, _Entry] = {}
        fresh: list[tuple[str, Fingerprint]] = []
        for member, fingerprint in members:
            old = cached.get(member)
            if old is not None and old.fingerprint == fingerprint:
                entries[member] = old
            else:
                fresh.append((member, fingerprint))
        if fresh:
            self._cache_dirty = True
            with self._tree.reader() as read:
                for member, fingerprint in fresh:
                    try:
                        data = read(member)
                    except (OSError, AdvisoryFormatError) as exc:
                        entries[member] = _Entry(fingerprint, frozenset())
                        entries[member].error = _reason(exc)
                        continue
                    entries[member] = _Entry(fingerprint, scan_names(data))
        for member, entry in sorted(entries.items()):
            if entry.error is not None:
                self._warn(member, entry.error)
            if entry.names is None:
                self._unscannable.append(member)
            else:
                for name in entry.names:
                    self._by_name.setdefault(name, []).append(member)
        self._entries = entries
        return entries

    def _load_candidates(self, names: set[NormalizedName]) -> None:
        self._index()
        wanted = {m for n in names for m in self._by_name.get(n, ())}
        self._load(sorted(wanted.union(self._unscannable)))

    def _load(self, members: Sequence[str]) -> None:
        entries = self._index()
        todo: list[str] = []
        for member in members:
            entry = entries[member]
            if entry.loaded:
                continue
            if entry.cached is not None:
                try:
                    entry.advisory = parse_advisory(entry.cached, self._tree.where(member))
                    continue
                except AdvisoryFormatError:
                    entry.cached = None  # a damaged cache entry: read the file instead
            todo.append(member)
        if not todo:
            return
        self._cache_dirty = True
        with self._tree.reader() as read:
            for member in todo:
                entry = entries[member]
                data = None
                try:
                    data = read(member)
                    doc = load_document(data, member)
                    entry.advisory = parse_advisory(doc, self._tree.where(member))
                except (OSError, AdvisoryFormatError) as exc:
                    entry.error = _reason(exc)
                    self._warn(member, entry.error)
                    if entry.names is None and data is not None:
                        entry.names = _mentioned(data)

    def _advisories_and_warnings(
        self, name: NormalizedName
    ) -> tuple[tuple[Advisory, ...], tuple[str, ...]]:
        entries = self._index()
        latest: dict[str, Advisory] = {}
        warnings: list[str] = []
        for member in self._by_name.get(name, []) + self._unscannable:
            entry = entries[member]
            if entry.error is not None:
                if entry.names is None or name in entry.names:  # it may be about this package
                    warnings.append(f"{self._tree.where(member)}: skipped: {entry.error}")
                continue
            if entry.advisory is not None and entry.advisory.for_package(name) is not None:
                _keep_latest(latest, entry.advisory)
        return tuple(latest[k] for k in sorted(latest)), tuple(warnings)

    def _warn(self, member: str, error: str | None) -> None:
        self._warnings[f"{self._tree.where(member)}: skipped: {error}"] = None

    # -- cache -------------------------------------------------------------------------------

    def _cache_file(self) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(os.fsencode(self.path.resolve())).hexdigest()[:20]
        return self.cache_dir / f"osv-index-{digest}.json"

    def _read_cache(self) -> dict[str, _Entry]:
        path = self._cache_file()
        if path is None:
            return {}
        try:
            raw = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return {}  # absent or damaged: rebuilt from the files
        if not isinstance(raw, dict) or raw.get("format") != CACHE_FORMAT:
            return {}
        files = raw.get("files")
        if not isinstance(files, dict):
            return {}
        entries: dict[str, _Entry] = {}
        for member, item in files.items():
            entry = self._entry_from_cache(item)
            if entry is not None:
                entries[member] = entry
        return entries

    @staticmethod
    def _entry_from_cache(item: object) -> _Entry | None:
        if not isinstance(item, dict):
            return None
        fp = item.get("fp")
        names = item.get("names")
        if not (isinstance(fp, list) and len(fp) == 2 and all(isinstance(x, int) for x in fp)):
            return None
        if names is not None and not (
            isinstance(names, list) and all(isinstance(n, str) for n in names)
        ):
            return None
        entry = _Entry(
            (fp[0], fp[1]),
            None if names is None else frozenset(canonicalize_name(n) for n in names),
        )
        error = item.get("error")
        if isinstance(error, str):
            entry.error = error
        else:
            entry.cached = item.get("osv")
        return entry

    def _save_cache(self) -> None:
        path = self._cache_file()
        if path is None or not self._cache_dirty or self._entries is None:
            return
        files: dict[str, object] = {}
        for member, entry in self._entries.items():
            item: dict[str, object] = {
                "fp": list(entry.fingerprint),
                "names": None if entry.names is None else sorted(entry.names),
            }
            if entry.error is not None:
                item["error"] = entry.error
            elif entry.advisory is not None:
                item["osv"] = to_osv(entry.advisory)
            elif entry.cached is not None:
                item["osv"] = entry.cached
            files[member] = item
        payload = json.dumps(
            {"format": CACHE_FORMAT, "source": self.path.resolve().as_posix(), "files": files},
            separators=(",", ":"),
        ).encode()
        import tempfile  # deferred: only a cache writes files

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(payload)
                Path(tmp).replace(path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            self._warnings[f"{path.as_posix()}: cannot write the advisory cache: {exc}"] = None
            return
        self._cache_dirty = False


def _is_zip(path: Path) -> bool:
    import zipfile  # deferred: a database is most often a directory

    return zipfile.is_zipfile(path)


def _keep_latest(latest: dict[str, Advisory], advisory: Advisory | None) -> None:
    if advisory is None:
        return
    old = latest.get(advisory.id)
    if old is None or advisory.modified > old.modified:
        latest[advisory.id] = advisory


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return str(exc)
