"""The package-index client: which releases exist, with their files, yanks and upload times.

``greenbump check`` and ``upgrade`` ask one question of the indexes per dependency: which
releases exist. The client speaks the simple repository API in both forms, PEP 691 JSON
(preferred) and PEP 503 HTML (any server that cannot do JSON answers with it, and static
``file://`` indexes only have it), and reads ``--find-links`` locations.

Behaviour worth knowing:

* **Index strategy.** With uv's default ``first-index`` a project's releases come from the first
  index, in :meth:`IndexConfig.search_order` (extra indexes, then the primary), that knows it;
  later indexes are not even asked. That keeps a private package from being shadowed by a
  public one of the same name, and it is what the uv resolver greenbump runs will do. With
  ``unsafe-first-match`` / ``unsafe-best-match`` every index is asked and releases are merged;
  a version found on several indexes keeps the files of the first. Find-links locations are
  always merged in, below the indexes, as uv and pip do.
* **Unknown projects.** When no index and no find-links location has the project, the client
  raises :class:`ProjectNotFound` (an :class:`InputError`); the caller, which knows the
  declaring file and line, turns it into its own message.
* **HTTP cache** (``cache_dir``, by default ``user_cache_dir("greenbump")/http``): a response
  with ``Cache-Control: max-age`` is reused while fresh; one with validators (``ETag``,
  ``Last-Modified``) and no ``max-age`` is revalidated on every use (``If-None-Match`` /
  ``If-Modified-Since``, a cheap 304); one with neither is reused for ``ttl`` seconds.
  ``no-store`` is never stored, ``no-cache`` always revalidated. ``refresh=True`` ignores
  freshness (every page is revalidated or refetched). Entries are written atomically and named
  by a hash of the page URL, which never holds credentials.
* **Digests.** A project page is parsed once: its releases (version, yanks, requires-python,
  latest upload, wheel tags) are stored in the cache entry's header beside the body, and a
  fresh or revalidated page is answered from them without reading the body. Large
  applications' pages list some 150,000 files; decoding them on every run was most of a warm
  check. For the same reason :class:`Release` builds its ``files`` (URLs, hashes) only when
  asked, from the cached body.
* **Failures.** Timeouts, connection errors, 429 and 5xx are retried a few times with
  exponential backoff, then reported as one :class:`ExternalError` naming the index (exit 3).
  A page that is not what the API promises is an :class:`ExternalError` too, never a
  traceback. Redirects are followed only within the same host (and never from https to
  http), so credentials are never sent anywhere the user did not configure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import operator
import os
import re
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime  # loaded by http.client anyway
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import platformdirs
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from greenbump import __version__
from greenbump.errors import ExternalError, InputError
from greenbump.indexconfig import IndexConfig, IndexUrl
from greenbump.names import NormalizedName, canonicalize_name
from greenbump.parseworker import LARGE_PAGE, ParsePool
from greenbump.redact import redact_text, redact_url
from greenbump.transport import BodyTooLarge, Response, Transport, TransportError

log = logging.getLogger(__name__)

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
_FLAT_ACCEPT = "text/html"
_JSON_TYPES = frozenset(
    {
        "application/vnd.pypi.simple.v1+json",
        "application/vnd.pypi.simple.latest+json",
        "application/json",
    }
)
_HTML_TYPES = frozenset(
    {
        "application/vnd.pypi.simple.v1+html",
        "application/vnd.pypi.simple.latest+html",
        "text/html",
        "application/xhtml+xml",
    }
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
MAX_PAGE_BYTES = 64 * 1024 * 1024  # a simple page this large is an error, not data
_MAX_BACKOFF = 5.0
_LEGACY_SDIST_EXTENSIONS = (".tar.bz2", ".tar.xz", ".tgz", ".tbz", ".txz", ".tar")
_UNIVERSAL = ("-py3-none-any.whl", "-py2.py3-none-any.whl")  # most wheels: no tag parsing
_FAST_ISO = sys.version_info >= (3, 11)  # fromisoformat takes "Z" and any fraction length
_WHEEL_NAME = re.compile(r"[\w.]+", re.UNICODE)
_UPLOAD_TIME = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$",
    re.IGNORECASE,
)


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DistFile:
    """One distribution file of a release, as the index lists it.

    ``url`` is absolute and carries no credentials. ``hashes`` maps algorithm to hex digest
    (``{"sha256": ...}``). ``index`` is the URL of the index or find-links location that listed
    it, for messages and for ``--emit-index-annotation``-style reports.
    """

    filename: str
    url: str
    hashes: Mapping[str, str] = field(default_factory=dict, hash=False)
    size: int | None = None
    requires_python: SpecifierSet | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    upload_time: dt.datetime | None = None
    index: str = ""


@dataclass(frozen=True)
class Release:
    """One version of a project with everything the candidate rules need.

    PEP 592: a release is yanked only when every one of its files is. ``requires_python`` is
    the value most of its files declare (files of one release almost always agree).
    ``upload_time`` is the latest upload among its files (PEP 700), so a release whose wheels
    trickled in over days counts as new until the last one arrived. ``wheel_tags`` holds
    ``(interpreter, abi)`` of every wheel, or ``None`` when any Python may install the release
    (it has an sdist, a pure Python 3 wheel, a name we cannot read, or no files).

    ``files`` are built on first use from ``source``: a large application's pages list some
    150,000 files, and everything but a lock file's hashes needs only the fields above.
    """

    version: Version
    yanked: bool = False
    yanked_reason: str | None = None
    requires_python: SpecifierSet | None = None
    upload_time: dt.datetime | None = None
    wheel_tags: frozenset[tuple[str, str]] | None = None
    source: tuple[DistFile, ...] | FileSource = field(default=(), repr=False, compare=False)

    @property
    def files(self) -> tuple[DistFile, ...]:
        """The release's files, as the index lists them (read again from the page if needed)."""
        source = self.source
        return source if isinstance(source, tuple) else source.files_of(self.version)

    @classmethod
    def from_files(cls, version: Version, files: Iterable[DistFile]) -> Release:
        """Aggregate a version's files into a release (the rules in the class docstring)."""
        listed = tuple(files)
        facts = [(f.filename, f.yanked, f.yanked_reason, f.requires_python) for f in listed]
        times = [f.upload_time for f in listed if f.upload_time is not None]
        return _release(version, facts, listed, max(times) if times else None)


class FileSource(Protocol):
    """Where a release's files come from when they were not kept (an index page, parsed
    again on demand)."""

    def files_of(self, version: Version) -> tuple[DistFile, ...]: ...


# What the release rules need of one file: name, yanked, yank reason, requires-python.
_Facts = tuple[str, bool, "str | None", "SpecifierSet | None"]


def _release(
    version: Version,
    facts: Sequence[_Facts],
    source: tuple[DistFile, ...] | FileSource,
    uploaded: dt.datetime | None,
) -> Release:
    yanked = bool(facts) and all(fact[1] for fact in facts)
    reason = next((fact[2] for fact in facts if fact[1] and fact[2]), None)
    considered = [fact for fact in facts if not fact[1]] or list(facts)
    declared = [fact[3] for fact in considered if fact[3] is not None]
    requires_python = declared[0] if declared else None
    if any(spec is not requires_python and spec != requires_python for spec in declared):
        specs = Counter(str(spec) for spec in declared)
        requires_python = _requires_python(specs.most_common(1)[0][0])
    return Release(
        version=version,
        yanked=yanked,
        yanked_reason=reason if yanked else None,
        requires_python=requires_python,
        upload_time=uploaded,
        wheel_tags=_wheel_tags([fact[0] for fact in considered]),
        source=source,
    )


def _wheel_tags(filenames: Iterable[str]) -> frozenset[tuple[str, str]] | None:
    """``(interpreter, abi)`` of every wheel; ``None`` when any Python may install them."""
    compressed: set[tuple[str, str]] = set()  # a release's wheels repeat few of these
    for filename in filenames:
        if not filename.endswith(".whl") or filename.endswith(_UNIVERSAL):
            return None  # an sdist or a pure Python 3 wheel: installable anywhere
        parts = filename[:-4].split("-")
        if len(parts) not in (5, 6):  # a name we cannot read says nothing either way
            return None
        # The last three parts are the compressed tag set (PEP 425: py2.py3-none-any).
        compressed.add((parts[-3], parts[-2]))
    found = {
        (interpreter, abi)
        for pythons, abis in compressed
        for interpreter in pythons.split(".")
        for abi in abis.split(".")
    }
    return frozenset(found) if found else None


@dataclass(frozen=True)
class ProjectPage:
    """Every release of one project the configured indexes offer, oldest first.

    ``sources`` are the index and find-links URLs the releases came from.
    """

    name: NormalizedName
    releases: tuple[Release, ...]
    sources: tuple[str, ...] = ()

    @property
    def versions(self) -> tuple[Version, ...]:
        """All versions, ascending, yanked ones included."""
        return tuple(release.version for release in self.releases)

    def release(self, version: Version | str) -> Release | None:
        """The release of ``version``, or ``None`` when the index has no such version."""
        wanted = version if isinstance(version, Version) else Version(version)
        return next((r for r in self.releases if r.version == wanted), None)


class ProjectNotFound(InputError):
    """No configured index or find-links location knows the project.

    Raised by :meth:`IndexClient.fetch_project` and returned in place of a page by
    :meth:`IndexClient.fetch_many`, so callers can name the file that declares the package.
    """

    def __init__(self, name: str, searched: Iterable[str]):
        self.name = name
        self.searched = tuple(searched)
        where = ", ".join(self.searched) or "no index (--no-index and no find-links)"
        super().__init__(f"unknown package {name!r}: not found on {where}")


@dataclass(frozen=True)
class RequestRecord:
    """One network exchange, for ``--verbose`` and timing reports (URL already redacted)."""

    url: str
    status: int | None
    seconds: float
    outcome: str  # "downloaded", "revalidated", "not-found", "retry", "error", "redirect"


@dataclass(frozen=True)
class ClientStats:
    """Totals for reporting how much the index lookups cost."""

    requests: int = 0
    cache_hits: int = 0
    revalidated: int = 0
    downloaded: int = 0
    retries: int = 0
    failures: int = 0
    local_reads: int = 0
    bytes: int = 0
    seconds: float = 0.0
    records: tuple[RequestRecord, ...] = ()


# --- parsing --------------------------------------------------------------------------------


def _garbage(index: IndexUrl, url: str, what: str) -> ExternalError:
    return ExternalError(
        f"index {index.display} returned an unusable page for {redact_url(url)}: {what}"
    )


def parse_upload_time(value: str) -> dt.datetime | None:
    """A PEP 700 ``upload-time`` as an aware UTC datetime; ``None`` when it is malformed.

    Python 3.10's ``fromisoformat`` takes neither ``Z`` nor every fraction length, and a bad
    timestamp on one file is no reason to reject the whole project page. Where it does (3.11
    on), it is tried first: it is many times faster than the pattern, and every file of every
    page has a time.
    """
    text = value.strip()
    if _FAST_ISO and len(text) >= 19 and text[10] in "Tt ":
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                return moment.replace(tzinfo=dt.timezone.utc)
            return moment.astimezone(dt.timezone.utc)
    return upload_time_by_pattern(text)


def upload_time_by_pattern(text: str) -> dt.datetime | None:
    """:func:`parse_upload_time` without its ``fromisoformat`` shortcut (also on Python 3.10)."""
    match = _UPLOAD_TIME.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    zone = match.group(8)
    tz = dt.timezone.utc
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tz = dt.timezone(sign * offset)
    try:
        moment = dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None
    return moment.astimezone(dt.timezone.utc)


def _parse_requires_python(value: object) -> SpecifierSet | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return _requires_python(value)


@functools.lru_cache(maxsize=1024)
def _requires_python(value: str) -> SpecifierSet | None:
    """Parsed once per distinct text: a page repeats the same few values on every file."""
    try:
        return SpecifierSet(value)
    except InvalidSpecifier:
        log.debug("ignoring invalid requires-python %r", value)
        return None


def version_from_filename(filename: str, project: NormalizedName) -> Version | None:
    """The version a wheel or sdist file name carries, if it belongs to ``project``.

    Files of other projects (find-links pages list everything) and names that do not parse
    (legacy eggs, installers) give ``None``.
    """
    try:
        if filename.endswith(".whl"):
            parts = filename[:-4].split("-")
            if len(parts) in (5, 6) and _WHEEL_NAME.fullmatch(parts[0]):  # the usual: no tags
                if _canonical(parts[0]) != project:
                    return None
                if len(parts) == 6 and not parts[2][:1].isdigit():
                    return None  # a build tag must start with a digit
                return _version(parts[1])
            from packaging.utils import parse_wheel_filename  # deferred: odd names only

            name, version, _build, _tags = parse_wheel_filename(filename)
            return version if name == project else None
        if filename.endswith((".tar.gz", ".zip")):
            stem = filename.removesuffix(".tar.gz").removesuffix(".zip")
            stem_name, dash, text = stem.rpartition("-")  # as packaging's parse_sdist_filename
            if dash and _canonical(stem_name) == project:
                with contextlib.suppress(InvalidVersion):
                    return _version(text)
            return _version_from_stem(stem, project)
        for extension in _LEGACY_SDIST_EXTENSIONS:
            if filename.endswith(extension):
                return _version_from_stem(filename[: -len(extension)], project)
    except ValueError:  # InvalidWheelFilename, InvalidVersion
        return None
    return None


# Pages repeat names and versions on every file of a release; parse each text once.
_canonical = functools.lru_cache(maxsize=4096)(canonicalize_name)
_version = functools.lru_cache(maxsize=8192)(Version)


@functools.lru_cache(maxsize=1024)
def _join(base: str, url: str) -> str:
    return urljoin(base, url)


@functools.lru_cache(maxsize=64)
def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _version_from_stem(stem: str, project: NormalizedName) -> Version | None:
    """Legacy sdist names: find the ``-`` after which a version starts (names may hold ``-``)."""
    for position, char in enumerate(stem):
        if char == "-" and canonicalize_name(stem[:position]) == project:
            try:
                return Version(stem[position + 1 :])
            except InvalidVersion:
                return None
    return None


def _strip_userinfo(url: str) -> str:
    if "@" not in url:  # nearly always: skip parsing (this runs for every file of every page)
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _absolute(base: str, url: str) -> str:
    """``urljoin(base, url)``, with shortcuts for the links indexes actually serve.

    Absolute http(s) URLs come back as they are, root-relative ones get the page's scheme and
    host, and relative ones join their directory (remembered) and append the last segment.
    Anything with a query, a dot segment, another scheme or host, or an empty fragment goes
    through ``urljoin`` whole; tests pin the shortcuts to ``urljoin`` on generated links.
    """
    path, mark, fragment = url.partition("#")
    first = path.split("/", 1)[0]
    if (
        not path
        or "?" in path
        or (mark and not fragment)
        or path.startswith("//")
        or "/." in "/" + path
        or (":" in first and not path.startswith(("https://", "http://")))
    ):
        return urljoin(base, url)
    if path.startswith(("https://", "http://")):
        return url
    if path.startswith("/"):
        return _origin(base) + url
    head, slash, last = path.rpartition("/")
    return _join(base, head + slash if slash else ".") + last + mark + fragment


def _split_fragment_hash(url: str) -> tuple[str, dict[str, str]]:
    base, _, fragment = url.partition("#")
    hashes: dict[str, str] = {}
    if fragment:
        algorithm, sep, digest = fragment.partition("=")
        if sep and algorithm and digest and re.fullmatch(r"[A-Za-z0-9_]+", algorithm):
            hashes[algorithm.lower()] = digest
    return base, hashes


def parse_html_page(text: str, page_url: str, origin: str) -> list[DistFile]:
    """The files a PEP 503 page (or a find-links page) links to.

    Attribute values arrive unescaped (``&gt;=3.8`` is ``>=3.8``); ``data-yanked`` marks a yank
    with or without a reason; a ``#sha256=`` fragment is the file's hash. The file name is the
    last path segment of the link, as pip and uv take it, falling back to the link text.
    """
    from greenbump.htmlpage import AnchorParser  # deferred: most indexes answer in JSON

    parser = AnchorParser()
    parser.feed(text)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    files: list[DistFile] = []
    for attrs, label in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        absolute, hashes = _split_fragment_hash(urljoin(base, href.strip()))
        absolute = _strip_userinfo(absolute)
        filename = unquote(urlsplit(absolute).path.rsplit("/", 1)[-1]) or label
        if not filename:
            continue
        yanked = "data-yanked" in attrs
        reason = attrs.get("data-yanked") or None
        files.append(
            DistFile(
                filename=filename,
                url=absolute,
                hashes=hashes,
                requires_python=_parse_requires_python(attrs.get("data-requires-python")),
                yanked=yanked,
                yanked_reason=reason,
                index=origin,
            )
        )
    return files


def _json_entries(data: object) -> list[Any]:
    """The ``files`` list of a PEP 691 project page, after checking the page's envelope."""
    if not isinstance(data, dict):
        raise ValueError("the JSON document is not an object")
    meta = data.get("meta")
    api_version = meta.get("api-version") if isinstance(meta, dict) else None
    if not isinstance(api_version, str) or api_version.split(".", 1)[0] != "1":
        raise ValueError(f"unsupported simple API version {api_version!r}")
    raw_files = data.get("files")
    if not isinstance(raw_files, list):
        raise ValueError("'files' is missing or not a list")
    return raw_files


def _json_entry(position: int, entry: object) -> tuple[str, str, dict[str, Any], bool | str]:
    """One file entry's name, URL, hashes and ``yanked``, checked; ``ValueError`` otherwise."""
    if not isinstance(entry, dict):
        raise ValueError(f"file entry {position} is not an object")
    filename, url = entry.get("filename"), entry.get("url")
    if not isinstance(filename, str) or not isinstance(url, str):
        raise ValueError(f"file entry {position} lacks a filename or url")
    hashes = entry.get("hashes", {})
    if not isinstance(hashes, dict):
        raise ValueError(f"file entry {position} ({filename}) has malformed hashes")
    for name, digest in hashes.items():
        if type(name) is not str or type(digest) is not str:
            raise ValueError(f"file entry {position} ({filename}) has malformed hashes")
    yanked = entry.get("yanked", False)
    if not isinstance(yanked, (bool, str)):
        raise ValueError(f"file entry {position} ({filename}) has a malformed 'yanked'")
    return filename, url, hashes, yanked


def parse_json_page(data: object, page_url: str, origin: str) -> list[DistFile]:
    """The files of a PEP 691 project page; ``ValueError`` saying what is wrong otherwise."""
    files: list[DistFile] = []
    for position, entry in enumerate(_json_entries(data)):
        filename, url, hashes, yanked = _json_entry(position, entry)
        size = entry.get("size")
        upload = entry.get("upload-time")
        absolute, fragment_hashes = _split_fragment_hash(_absolute(page_url, url))
        files.append(
            DistFile(
                filename=filename,
                url=_strip_userinfo(absolute),
                hashes=_hashes(fragment_hashes, hashes),
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                requires_python=_parse_requires_python(entry.get("requires-python")),
                yanked=yanked is not False,
                yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
                upload_time=parse_upload_time(upload) if isinstance(upload, str) else None,
                index=origin,
            )
        )
    return files


def json_page_releases(data: object, project: NormalizedName, source: FileSource) -> list[Release]:
    """The releases of a PEP 691 page without building its files (``source`` builds them).

    This is the hot path of a first lookup (a large application's pages list some 150,000
    files), so it checks each entry as :func:`parse_json_page` does, but inline and only
    down to what the release rules need, and reads the version of a wheel without build tag
    once per release rather than once per file: the wheels of one release share the
    ``name-version-`` prefix that decides it (``tests/test_index_fastpaths.py`` pins this to
    the general path).
    """
    by_version: dict[Version, tuple[list[_Facts], list[str]]] = {}  # facts, upload times
    wheel_versions: dict[tuple[str, str], Version | None] = {}
    for position, entry in enumerate(_json_entries(data)):
        well_formed = type(entry) is dict
        if well_formed:
            filename = entry.get("filename")
            hashes = entry.get("hashes", _NO_HASHES)
            yanked = entry.get("yanked", False)
            well_formed = (
                type(filename) is str
                and type(entry.get("url")) is str
                and type(hashes) is dict
                and (yanked is False or type(yanked) is str or type(yanked) is bool)
            )
            if well_formed:
                for algorithm, digest in hashes.items():
                    if type(algorithm) is not str or type(digest) is not str:
                        well_formed = False
        if not well_formed:
            filename, _url, hashes, yanked = _json_entry(position, entry)  # or says what is wrong
        if filename.endswith(".whl") and filename.count("-") == 4:
            name_part, version_part, _tags = filename.split("-", 2)
            key = (name_part, version_part)
            if key in wheel_versions:
                version = wheel_versions[key]
            else:
                version = wheel_versions[key] = version_from_filename(filename, project)
        else:
            version = version_from_filename(filename, project)
        if version is None:
            continue
        found = by_version.get(version)
        if found is None:
            found = by_version[version] = ([], [])
        requires = entry.get("requires-python")
        found[0].append(
            (
                filename,
                yanked is not False,
                yanked if type(yanked) is str and yanked else None,
                _requires_python(requires) if type(requires) is str and requires.strip() else None,
            )
        )
        upload = entry.get("upload-time")
        if type(upload) is str:
            found[1].append(upload)
    return [
        _release(version, facts, source, latest_upload(uploads))
        for version, (facts, uploads) in by_version.items()
    ]


_NO_HASHES: dict[str, str] = {}


def latest_upload(texts: Sequence[str]) -> dt.datetime | None:
    """The latest of a release's upload times (malformed ones ignored).

    Indexes write every time of a page the same way (PEP 700's ``%Y-%m-%dT%H:%M:%S.%fZ``), and
    such strings sort as the times they name; then only the greatest is parsed. Anything
    else (other lengths, offsets, separators, or a greatest one that does not parse) has every
    text parsed.
    """
    if not texts:
        return None
    top = max(texts)
    width = len(top)
    if width >= 20 and all(
        len(t) == width and t[10] == "T" and t[-1] == "Z" and t[4] == t[7] == "-" for t in texts
    ):
        moment = parse_upload_time(top)
        if moment is not None:
            return moment
    times = [m for m in map(parse_upload_time, texts) if m is not None]
    return max(times) if times else None


class _NoFiles:
    """The file source of a digest made elsewhere: files are read from the cache instead."""

    def files_of(self, version: Version) -> tuple[DistFile, ...]:
        raise LookupError("a digest made by the parse worker has no files")


def digest_json_page(body: bytes, project: str) -> list[list[Any]]:
    """A PEP 691 page's digest (releases sorted by version); ``ValueError`` naming what is
    wrong with it. What :mod:`greenbump.parseworker` computes for large pages."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(_json_problem(exc)) from None
    found = json_page_releases(data, canonicalize_name(project), _NoFiles())
    return digest_of(sorted(found, key=_by_version))


def _hashes(from_fragment: dict[str, str], listed: dict[str, str]) -> dict[str, str]:
    """A file's hashes with algorithm names in lower case (the page's own win over the URL's)."""
    if not from_fragment and all(name.islower() for name in listed):
        return listed  # the usual case: no copy
    return {**from_fragment, **{k.lower(): v for k, v in listed.items()}}


def releases_of_files(project: NormalizedName, files: Iterable[DistFile]) -> list[Release]:
    """One location's files grouped into releases (files of other projects are dropped)."""
    found: dict[Version, list[DistFile]] = {}
    for dist in files:
        version = version_from_filename(dist.filename, project)
        if version is not None:
            found.setdefault(version, []).append(dist)
    return [Release.from_files(version, dists) for version, dists in found.items()]


def merge_releases(listings: Iterable[Sequence[Release]]) -> tuple[Release, ...]:
    """Releases of several locations in priority order, ascending; the first listing wins.

    Mirrors and local folders often drop upload times and ``requires-python``; when the chosen
    release has none, what another location says of the same version is used, so release
    age, cooldowns and the Python check still work (a wheel folder that lists a release
    without saying it needs Python 3.11 must not make it a candidate for 3.10).
    """
    listings = list(listings)
    if len(listings) == 1:  # the usual case: nothing to merge (and digests come sorted)
        return tuple(sorted(listings[0], key=_by_version))
    chosen: dict[Version, Release] = {}
    times: dict[Version, dt.datetime] = {}
    pythons: dict[Version, SpecifierSet] = {}
    for listing in listings:
        for release in listing:
            version = release.version
            if release.upload_time is not None:
                times[version] = max(release.upload_time, times.get(version, release.upload_time))
            if release.requires_python is not None and not release.yanked:
                pythons.setdefault(version, release.requires_python)
            chosen.setdefault(version, release)
    releases = []
    for version in sorted(chosen):
        release = chosen[version]
        if release.upload_time is None and version in times:
            release = dataclasses.replace(release, upload_time=times[version])
        if release.requires_python is None and version in pythons:
            release = dataclasses.replace(release, requires_python=pythons[version])
        releases.append(release)
    return tuple(releases)


_by_version = operator.attrgetter("version")


def releases_from_files(
    project: NormalizedName, groups: Iterable[list[DistFile]]
) -> tuple[Release, ...]:
    """Releases from file lists in priority order (see :func:`merge_releases`)."""
    return merge_releases(releases_of_files(project, group) for group in groups)


# --- digests: a page's releases, stored beside it in the cache ------------------------------

_DIGEST_VERSION = 1  # bump when what a digest holds, or how it is computed, changes


def digest_of(releases: Iterable[Release]) -> list[list[Any]]:
    """Releases as JSON-ready rows, so a revalidated page need not be parsed again."""
    return [
        [
            str(r.version),
            r.yanked,
            r.yanked_reason,
            None if r.requires_python is None else str(r.requires_python),
            None if r.upload_time is None else r.upload_time.isoformat(),
            None if r.wheel_tags is None else sorted([i, a] for i, a in r.wheel_tags),
        ]
        for r in releases
    ]


def releases_of_digest(rows: object, source: FileSource) -> list[Release]:
    """The releases a digest holds; ``ValueError`` when it is not one (the page is reparsed)."""
    if not isinstance(rows, list):
        raise ValueError("not a digest")
    releases = []
    for row in rows:
        text, yanked, reason, python, uploaded, tags = row
        if not isinstance(yanked, bool) or not (reason is None or isinstance(reason, str)):
            raise ValueError("not a digest")
        releases.append(
            Release(
                version=_version(text),
                yanked=yanked,
                yanked_reason=reason,
                requires_python=None if python is None else _requires_python(python),
                upload_time=None if uploaded is None else dt.datetime.fromisoformat(uploaded),
                wheel_tags=None if tags is None else frozenset((str(i), str(a)) for i, a in tags),
                source=source,
            )
        )
    return releases


# --- HTTP cache -----------------------------------------------------------------------------


class _CacheEntry(NamedTuple):
    """A stored response: its body and what decides whether it may be reused."""

    url: str
    final_url: str
    content_type: str
    fetched_at: float
    etag: str | None
    last_modified: str | None
    max_age: float | None
    no_cache: bool
    body: bytes | None  # None: not read yet (the digest was enough)
    digest: list[Any] | None = None  # the page's releases (see :func:`digest_of`)

    def fresh(self, now: float, ttl: float) -> bool:
        if self.no_cache:
            return False
        age = now - self.fetched_at
        if age < 0:  # the clock went back: trust nothing
            return False
        if self.max_age is not None:
            return age < self.max_age
        if self.etag or self.last_modified:
            return False
        return age < ttl

    def differs_from(self, older: _CacheEntry) -> bool:
        """Whether storing this revalidated entry in place of ``older`` changes any answer.

        Only a ``max-age`` makes the time of the last check matter; without one, rewriting
        each entry after every 304 would cost a file write per page for nothing.
        """
        return (self.max_age or 0) > 0 or (
            self.etag,
            self.last_modified,
            self.max_age,
            self.no_cache,
        ) != (older.etag, older.last_modified, older.max_age, older.no_cache)

    def validators(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class _Caching(NamedTuple):
    """What a response's ``Cache-Control`` allows."""

    store: bool
    max_age: float | None
    no_cache: bool


def _cache_control(headers: Mapping[str, str]) -> _Caching | None:
    """``Cache-Control`` (less ``Age``) as we use it; ``None`` when the header is absent."""
    value = headers.get("cache-control")
    if value is None:
        return None
    store, no_cache, max_age = True, False, None
    for directive in value.split(","):
        key, _, argument = directive.strip().partition("=")
        key = key.strip().lower()
        if key == "no-store":
            store = False
        elif key == "no-cache":
            no_cache = True
        elif key == "max-age":
            with contextlib.suppress(ValueError):
                max_age = float(int(argument.strip().strip('"')))
    if max_age is not None:
        with contextlib.suppress(ValueError):
            max_age -= float(int(headers.get("age", "0")))
    return _Caching(store=store, max_age=max_age, no_cache=no_cache)


class HttpCache:
    """Responses on disk, one file each: a JSON header line, then the body.

    One file per entry makes every write a single atomic rename, so a crash or a concurrent
    greenbump never leaves a body paired with another response's validators.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self._made = False  # the directory exists (checked once, not per write)

    @staticmethod
    def key(url: str, accept: str) -> str:
        """File name of a URL's entry: a hash of the redacted URL, never the URL itself."""
        return hashlib.sha256(f"{redact_url(url)}\n{accept}".encode()).hexdigest()

    def path(self, url: str, accept: str) -> Path:
        """Where the entry for ``url`` lives."""
        return self.directory / f"{self.key(url, accept)}.entry"

    def load(self, url: str, accept: str, *, body: bool = True) -> _CacheEntry | None:
        """The stored entry, or ``None`` when absent or unreadable (then it is refetched).

        With ``body=False`` the body is left on disk when the entry has a digest: a
        revalidated page is then answered from a few hundred bytes instead of megabytes.
        """
        try:
            with self.path(url, accept).open("rb") as handle:
                meta = json.loads(handle.readline())
                digest = (
                    meta.get("digest") if meta.get("digest_version") == _DIGEST_VERSION else None
                )
                content = handle.read() if body or digest is None else None
            return _CacheEntry(
                url=str(meta["url"]),
                final_url=str(meta["final_url"]),
                content_type=str(meta["content_type"]),
                fetched_at=float(meta["fetched_at"]),
                etag=meta.get("etag"),
                last_modified=meta.get("last_modified"),
                max_age=None if meta.get("max_age") is None else float(meta["max_age"]),
                no_cache=bool(meta.get("no_cache", False)),
                body=content,
                digest=digest if isinstance(digest, list) else None,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, accept: str, entry: _CacheEntry) -> None:
        """Write ``entry`` atomically; a cache that cannot be written is only a slower run."""
        body = entry.body
        if body is None:  # a revalidated entry whose body stayed on disk
            stored = self.load(entry.url, accept)
            if stored is None or stored.body is None:
                return
            body = stored.body
        meta: dict[str, Any] = {
            "url": redact_url(entry.url),
            "final_url": redact_url(entry.final_url),
            "content_type": entry.content_type,
            "fetched_at": entry.fetched_at,
            "etag": entry.etag,
            "last_modified": entry.last_modified,
            "max_age": entry.max_age,
            "no_cache": entry.no_cache,
        }
        if entry.digest is not None:
            meta.update(digest_version=_DIGEST_VERSION, digest=entry.digest)
        target = self.path(entry.url, accept)
        try:
            if not self._made:
                self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._made = True
            # Unique without tempfile.mkstemp, which was a sixth of a first run's lookup time
            # (its random module, name retries and import): process, thread, and random bytes
            # for caches shared between machines or containers whose process ids coincide.
            unique = f"{os.getpid()}-{threading.get_ident()}-{os.urandom(4).hex()}"
            temp = self.directory / f".tmp-{unique}.entry"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(json.dumps(meta).encode() + b"\n")
                    handle.write(body)  # not joined: a large page is not copied again
                temp.replace(target)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("cannot write the HTTP cache in %s: %s", self.directory, exc)


# --- the client -----------------------------------------------------------------------------


class _Page(NamedTuple):
    """A fetched page: body, its type and the URL relative links resolve against.

    ``body`` is ``None`` when the cached ``digest`` made reading it unnecessary; ``cached``
    says whether the body can be read again from the cache later.
    """

    body: bytes | None
    content_type: str
    url: str
    digest: list[Any] | None = None
    cached: bool = False


@functools.lru_cache(maxsize=8)
def _ssl_context(cafile: str | None, env_file: str | None, env_dir: str | None) -> ssl.SSLContext:
    """The TLS context, built once per process: loading a CA bundle costs a noticeable 0.2 s.

    pip's configured ``cert`` wins, then ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` (as httpx and
    uv honour them), else the Mozilla bundle httpx itself uses (``certifi``).
    """
    if cafile:
        return ssl.create_default_context(cafile=cafile)
    if env_file or env_dir:
        return ssl.create_default_context(cafile=env_file or None, capath=env_dir or None)
    import certifi  # the Mozilla CA bundle, as httpx and pip use it

    return ssl.create_default_context(cafile=certifi.where())


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _charset(content_type: str) -> str:
    match = re.search(r"charset=\"?([A-Za-z0-9._-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else "utf-8"


def default_cache_dir() -> Path:
    """``user_cache_dir("greenbump")/http``: per user, survives runs, safe to delete."""
    return Path(platformdirs.user_cache_dir("greenbump")) / "http"


class IndexClient:
    """Client for the configured indexes, with an on-disk HTTP cache; safe to share by threads.

    Use as ``with IndexClient(config) as client:``. ``ttl`` is how long a response with
    neither validators nor ``Cache-Control`` is reused; ``refresh`` ignores freshness;
    ``cache_dir=False`` turns the disk cache off. ``tries`` and ``backoff`` (seconds, doubled
    per retry, capped) bound the retries so an outage costs seconds, not minutes.
    ``parse_workers`` processes digest large pages (:mod:`greenbump.parseworker`): for the
    command line on a machine with more than one core, not for library use.

    Plain threads rather than asyncio: every request is a blocking ``http.client`` exchange
    (:mod:`greenbump.transport`) and the cache is files, so an event loop would only add a
    hop per request and the import of asyncio to every run.
    """

    def __init__(
        self,
        config: IndexConfig,
        cache_dir: Path | str | bool | None = None,
        ttl: float = 300.0,
        refresh: bool = False,
        *,
        timeout: float = 30.0,
        tries: int = 3,
        backoff: float = 0.5,
        parse_workers: int = 0,
    ):
        self.config = config
        self._worker = ParsePool(parse_workers) if parse_workers > 0 else None
        if cache_dir is False:
            self.cache: HttpCache | None = None
        elif cache_dir is None or cache_dir is True:
            self.cache = HttpCache(default_cache_dir())
        else:
            self.cache = HttpCache(Path(cache_dir))
        self.ttl = ttl
        self.refresh = refresh
        self.tries = max(1, tries)
        self.backoff = backoff
        self._timeout = timeout
        self._transport: Transport | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._stopped = threading.Event()  # an outage was reported: other lookups give up
        self._parsing = threading.Lock()  # a big page's decoded JSON is tens of MB
        self._flat: dict[str, Future[list[DistFile]]] = {}
        self._folder_maps: dict[str, dict[NormalizedName, Path]] = {}
        self._records: list[RequestRecord] = []
        self._counts: Counter[str] = Counter()
        self._bytes = 0
        self._seconds = 0.0

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stop(self) -> None:
        """Give up: lookups not yet started are skipped and those in flight fail at once."""
        self._stopped.set()
        self.close()

    def close(self) -> None:
        """Close connections; requests still in flight in other threads fail at once."""
        with self._lock:
            self._closed = True
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        if self._worker is not None:
            self._worker.close()

    def _http(self) -> Transport:
        """The transport, made on first use (a ``file://`` index never needs one)."""
        with self._lock:
            if self._stopped.is_set():
                raise _Stopped
            if self._transport is None:
                if self.config.cert:  # the user's own bundle: a broken one is reported first
                    self._tls_context()
                self._transport = Transport(
                    timeout=self._timeout,
                    max_body=MAX_PAGE_BYTES,
                    user_agent=f"greenbump/{__version__}",
                    ssl_context=self._tls_context,
                )
            return self._transport

    def _count(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[key] += amount

    def _tls_context(self) -> ssl.SSLContext:
        cafile = self.config.cert
        try:
            return _ssl_context(
                cafile, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
            )
        except (OSError, ssl.SSLError) as exc:
            where = cafile or os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")
            raise InputError(f"cannot load the CA certificates {where}: {exc}") from exc

    @property
    def stats(self) -> ClientStats:
        """A snapshot of request counts, bytes and time spent, for reports."""
        return ClientStats(
            requests=self._counts["requests"],
            cache_hits=self._counts["cache_hits"],
            revalidated=self._counts["revalidated"],
            downloaded=self._counts["downloaded"],
            retries=self._counts["retries"],
            failures=self._counts["failures"],
            local_reads=self._counts["local_reads"],
            bytes=self._bytes,
            seconds=self._seconds,
            records=tuple(self._records),
        )

    # -- public API ---------------------------------------------------------------------------

    def fetch_project(self, name: str) -> ProjectPage:
        """All releases of ``name`` per the index strategy; :class:`ProjectNotFound` if none."""
        project = canonicalize_name(name)
        listings: list[Sequence[Release]] = []
        searched: list[str] = []
        sources: list[str] = []
        for index in self.config.search_order():
            searched.append(index.display)
            releases = self._index_releases(index, project)
            if releases is None:
                continue
            listings.append(releases)
            sources.append(index.display)
            if self.config.strategy == "first-index":
                break
        for location in self.config.find_links:
            searched.append(location.display)
            mine = releases_of_files(project, self._flat_files(location))
            if mine:
                listings.append(mine)
                sources.append(location.display)
        if not listings:
            raise ProjectNotFound(project, searched)
        return ProjectPage(name=project, releases=merge_releases(listings), sources=tuple(sources))

    def fetch_many(
        self,
        names: Iterable[str],
        concurrency: int = 8,
        on_page: Callable[[], None] | None = None,
    ) -> dict[str, ProjectPage | ProjectNotFound]:
        """Pages for many projects keyed by normalized name, ``concurrency`` at a time.
        ``on_page`` is called (from the lookup threads) as each project is done.

        Unknown projects map to their :class:`ProjectNotFound` so one typo does not hide every
        other result; the first other error (an index down) stops the rest and is raised,
        because every later lookup would meet the same outage. The client is closed then.
        """
        wanted = list(dict.fromkeys(canonicalize_name(n) for n in names))
        if not wanted:
            return {}

        def one(project: NormalizedName) -> ProjectPage | ProjectNotFound:
            if self._stopped.is_set():
                raise _Stopped
            try:
                return self.fetch_project(project)
            except ProjectNotFound as missing:
                return missing
            finally:
                if on_page is not None:
                    on_page()

        workers = max(1, min(concurrency, len(wanted)))
        pool = ThreadPoolExecutor(workers, thread_name_prefix="greenbump-index")
        futures = [pool.submit(one, project) for project in wanted]
        try:
            done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in futures if f in done and f.exception() is not None), None)
            if failed is not None:
                self.stop()  # cut requests in flight short: the outage is already known
                pool.shutdown(wait=True, cancel_futures=True)
                failed.result()  # raises its error
            return {project: f.result() for project, f in zip(wanted, futures, strict=True)}
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def page_again(self, url: str, index: IndexUrl) -> _Page | None:
        """A project page fetched again after the fact (its files were asked for later and
        the cache no longer has it); a closed client lends its settings to a short-lived one."""
        if not self._closed:
            return self._get(url, index, ACCEPT)
        cache_dir = self.cache.directory if self.cache else False
        with IndexClient(self.config, cache_dir, self.ttl, timeout=self._timeout) as again:
            return again._get(url, index, ACCEPT)

    # -- indexes ------------------------------------------------------------------------------

    def _index_releases(self, index: IndexUrl, project: NormalizedName) -> list[Release] | None:
        """One index's releases of ``project``; ``None`` when the index does not know it."""
        if urlsplit(index.url).scheme == "file":
            files = self._local_index_files(index, project)
            return None if files is None else releases_of_files(project, files)
        url = index.url.rstrip("/") + "/" + project + "/"
        source = _PageFiles(self, url, index, project)
        parsed: list[Release] = []

        def summarize(page: _Page) -> list[Any]:
            rows = self._digest_elsewhere(page, index, project)
            if rows is not None:
                parsed[:] = releases_of_digest(rows, source)
                return rows
            found = self._releases_of_page(page, index, project, source)
            parsed[:] = sorted(found, key=_by_version)  # stored sorted: later sorts are cheap
            return digest_of(parsed)

        page = self._get(url, index, ACCEPT, summarize)
        if page is None:
            return None
        source.keep(page)
        if parsed or page.digest is None:
            return parsed
        try:
            return releases_of_digest(page.digest, source)
        except (ValueError, TypeError):  # a damaged cache entry: read the page itself
            log.debug("ignoring the damaged digest of %s", redact_url(url))
            return self._releases_of_page(source.page(), index, project, source)

    def _digest_elsewhere(
        self, page: _Page, index: IndexUrl, project: NormalizedName
    ) -> list[Any] | None:
        """A large JSON page's digest from the parse worker; ``None``: parse it here."""
        body = page.body
        if self._worker is None or body is None or len(body) < LARGE_PAGE:
            return None
        if self._kind(page, index) != "json":
            return None
        answer = self._worker.digest(project, body)
        if isinstance(answer, str):
            raise _garbage(index, page.url, answer)
        return answer

    def _releases_of_page(
        self, page: _Page, index: IndexUrl, project: NormalizedName, source: FileSource
    ) -> list[Release]:
        body = page.body or b""
        with self._parsing:  # parsing holds the GIL anyway; one at a time bounds the memory
            if self._kind(page, index) == "json":
                try:
                    return json_page_releases(json.loads(body), project, source)
                except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is one
                    raise _garbage(index, page.url, _json_problem(exc)) from None
            return releases_of_files(project, self._parse(page, index))

    def _kind(self, page: _Page, index: IndexUrl) -> str:
        media = _media_type(page.content_type)
        kind = "json" if media in _JSON_TYPES else "html" if media in _HTML_TYPES else None
        if kind is None and not media:
            head = (page.body or b"").lstrip()[:1]
            kind = "json" if head == b"{" else "html" if head == b"<" else None
        if kind is None:
            shown = media or "none"
            raise _garbage(
                index,
                page.url,
                f"content type {shown!r} is neither PEP 691 JSON nor PEP 503 HTML",
            )
        return kind

    def _parse(self, page: _Page, index: IndexUrl) -> list[DistFile]:
        """Every file a project page lists."""
        body = page.body or b""
        if self._kind(page, index) == "json":
            try:
                return parse_json_page(json.loads(body), page.url, index.url)
            except (ValueError, UnicodeDecodeError) as exc:
                raise _garbage(index, page.url, _json_problem(exc)) from None
        text = body.decode(_charset(page.content_type), errors="replace")
        return parse_html_page(text, page.url, index.url)

    def _local_index_files(self, index: IndexUrl, project: NormalizedName) -> list[DistFile] | None:
        """A ``file://`` index: ``<root>/<project>/index.html``, or the directory's files."""
        self._count("local_reads")
        root = _local_path(index.url)
        if not root.is_dir():
            raise ExternalError(f"index {index.display} is not a directory")
        directory = root / project
        if not directory.is_dir():
            found = self._local_folders(root).get(project)
            if found is None:
                return None
            directory = found
        page = directory / "index.html"
        if page.is_file():
            try:
                text = page.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise ExternalError(f"index {index.display}: cannot read {page}: {exc}") from exc
            return parse_html_page(text, page.as_uri(), index.url)
        return _directory_files(directory, index.url)

    def _local_folders(self, root: Path) -> dict[NormalizedName, Path]:
        """Normalized project name -> folder of a ``file://`` index, listed once per client."""
        key = str(root)
        with self._lock:
            known = self._folder_maps.get(key)
        if known is None:
            known = {}
            for child in sorted(root.iterdir()):
                if child.is_dir():
                    known.setdefault(canonicalize_name(child.name), child)
            with self._lock:
                self._folder_maps[key] = known
        return known

    # -- find-links ---------------------------------------------------------------------------

    def _flat_files(self, location: IndexUrl) -> list[DistFile]:
        """Every file a find-links location lists, fetched once per client and shared."""
        with self._lock:
            future = self._flat.get(location.url)
            loader = future is None
            if future is None:
                future = self._flat[location.url] = Future()
        if loader:
            try:
                future.set_result(self._load_flat(location))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def _load_flat(self, location: IndexUrl) -> list[DistFile]:
        parts = urlsplit(location.url)
        if parts.scheme == "file":
            self._count("local_reads")
            path = _local_path(location.url)
            if path.is_dir():
                return _directory_files(path, location.url)
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")
                return parse_html_page(text, path.as_uri(), location.url)
            raise ExternalError(
                f"find-links location {location.display} (from {location.source}) does not exist"
            )
        page = self._get(location.url, location, _FLAT_ACCEPT)
        if page is None:
            raise ExternalError(
                f"find-links location {location.display} (from {location.source}) not found"
            )
        text = (page.body or b"").decode(_charset(page.content_type), errors="replace")
        return parse_html_page(text, page.url, location.url)

    # -- HTTP ---------------------------------------------------------------------------------

    def _get(
        self,
        url: str,
        origin: IndexUrl,
        accept: str,
        summarize: Callable[[_Page], list[Any]] | None = None,
    ) -> _Page | None:
        """A page through the cache; ``None`` for 404/410 (the project is not there).

        ``summarize`` digests a page (:func:`digest_of`); the digest is stored with the body,
        and a fresh or revalidated page whose entry has one comes back with it and no body.
        """
        cache = self.cache
        cached = cache.load(url, accept, body=summarize is None) if cache else None
        now = time.time()
        if cached is not None and not self.refresh and cached.fresh(now, self.ttl):
            self._count("cache_hits")
            return self._digested(
                accept, cached, summarize, on_disk=True, store=True, changed=False
            )
        headers = {"Accept": accept}
        if cached is not None:
            headers.update(cached.validators())
        response, final_url = self._send(url, origin, headers)
        status = response.status
        if status == 304 and cached is not None:
            self._count("revalidated")
            caching = _cache_control(response.headers)
            refreshed = cached._replace(
                fetched_at=time.time(),
                etag=response.headers.get("etag", cached.etag),
                last_modified=response.headers.get("last-modified", cached.last_modified),
                max_age=caching.max_age if caching else cached.max_age,
                no_cache=caching.no_cache if caching else cached.no_cache,
            )
            return self._digested(
                accept,
                refreshed,
                summarize,
                on_disk=True,
                store=caching is None or caching.store,
                changed=refreshed.differs_from(cached),
            )
        if status in (404, 410):
            return None
        if status in (401, 403):
            hint = "credentials were sent" if origin.auth else "no credentials were found"
            raise ExternalError(
                f"index {origin.display} (from {origin.source}) refused access to "
                f"{redact_url(url)} with HTTP {status} ({hint}: check the URL's userinfo, "
                "netrc or UV_INDEX_<NAME>_USERNAME/PASSWORD)"
            )
        if status != 200:
            raise ExternalError(
                f"index {origin.display} (from {origin.source}) answered HTTP {status} "
                f"for {redact_url(url)}"
            )
        self._count("downloaded")
        caching = _cache_control(response.headers)
        entry = _CacheEntry(
            url=url,
            final_url=final_url,
            content_type=response.headers.get("content-type", ""),
            fetched_at=time.time(),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            max_age=caching.max_age if caching else None,
            no_cache=caching.no_cache if caching else False,
            body=response.body,
        )
        return self._digested(
            accept,
            entry,
            summarize,
            on_disk=False,
            store=caching is None or caching.store,
            changed=True,
        )

    def _digested(
        self,
        accept: str,
        entry: _CacheEntry,
        summarize: Callable[[_Page], list[Any]] | None,
        *,
        on_disk: bool,
        store: bool,
        changed: bool,
    ) -> _Page:
        """``entry`` as a page, digested when asked, and written to the cache when it changed
        (a new response, new validators or a new digest) and ``store`` allows it.

        ``on_disk``: the cache already holds this response's body (a hit or a 304).
        """
        page = _Page(entry.body, entry.content_type, entry.final_url, entry.digest)
        if summarize is not None and page.digest is None:
            if page.body is None:  # the digest did not load after all: read the body
                reread = self.cache.load(entry.url, accept) if self.cache else None
                page = page._replace(body=reread.body if reread else b"")
            page = page._replace(digest=summarize(page))
            entry = entry._replace(body=page.body, digest=page.digest)
            changed = True
        if self.cache is None:
            return page
        if store and changed:
            self.cache.save(accept, entry)
            on_disk = True
        return page._replace(cached=on_disk)

    def _send(self, url: str, origin: IndexUrl, headers: dict[str, str]) -> tuple[Response, str]:
        """GET with bounded retries; the final response and the URL it came from."""
        reason = "no attempt made"
        delay = self.backoff
        for attempt in range(self.tries):
            if attempt:
                if self._stopped.wait(min(_MAX_BACKOFF, delay)):  # sleeps, unless stopped
                    raise _Stopped
                self._count("retries")
                delay *= 2
            try:
                response, final_url = self._follow(url, origin, headers)
            except TransportError as exc:  # timeouts, refused, reset, truncated bodies
                reason = redact_text(str(exc), self.config.secrets())
                continue
            if response.status == 429 or response.status >= 500:
                reason = f"HTTP {response.status}"
                asked = _retry_after(response.headers.get("retry-after"))
                if asked is not None:
                    delay = max(delay, asked)
                continue
            return response, final_url
        self._count("failures")
        raise ExternalError(
            f"index {origin.display} (from {origin.source}) unreachable: {reason} "
            f"(after {self.tries} {'try' if self.tries == 1 else 'tries'})"
        )

    def _follow(self, url: str, origin: IndexUrl, headers: dict[str, str]) -> tuple[Response, str]:
        """GET following redirects only within the same host, with the same credentials."""
        transport = self._http()
        current = url
        for _hop in range(_MAX_REDIRECTS + 1):
            started = time.perf_counter()
            self._count("requests")
            try:
                response = transport.get(current, headers, origin.auth)
            except TransportError:
                self._record(current, None, started, "retry")
                raise
            except BodyTooLarge:
                self._record(current, None, started, "error")
                raise ExternalError(
                    f"index {origin.display}: the page {redact_url(current)} is larger than "
                    f"{MAX_PAGE_BYTES // (1024 * 1024)} MiB; refusing it"
                ) from None
            with self._lock:
                self._bytes += len(response.body)
            location = response.headers.get("location")
            if response.status not in _REDIRECTS or not location:
                outcome = _outcome(response.status)
                self._record(current, response.status, started, outcome)
                return response, current
            self._record(current, response.status, started, "redirect")
            target = _strip_userinfo(urljoin(current, location))
            if not _same_host(current, target):
                raise ExternalError(
                    f"index {origin.display} redirected {redact_url(current)} to another "
                    f"host or an insecure URL ({redact_url(target)}); not followed, so "
                    "credentials are never sent there"
                )
            current = target
        raise ExternalError(f"index {origin.display}: too many redirects from {redact_url(url)}")

    def _record(self, url: str, status: int | None, started: float, outcome: str) -> None:
        elapsed = time.perf_counter() - started
        with self._lock:
            self._seconds += elapsed
            self._records.append(RequestRecord(redact_url(url), status, elapsed, outcome))


class _PageFiles:
    """The files of one index page, built only when a release's ``files`` are asked for.

    The page is read again from the cache (or kept in memory when it could not be cached)
    and parsed whole once; lock files' hashes are the only common reason to get here.
    """

    def __init__(self, client: IndexClient, url: str, index: IndexUrl, project: NormalizedName):
        self._client = client
        self._url = url
        self._index = index
        self._project = project
        self._body: _Page | None = None
        self._files: dict[Version, tuple[DistFile, ...]] | None = None
        self._lock = threading.Lock()

    def keep(self, page: _Page) -> None:
        """Remember ``page`` itself when the cache cannot give its body back later."""
        if not page.cached and page.body is not None:
            self._body = page

    def page(self) -> _Page:
        """The page, from memory, the cache, or (the cache was cleared meanwhile) the index."""
        if self._body is not None:
            return self._body
        client = self._client
        entry = client.cache.load(self._url, ACCEPT) if client.cache else None
        if entry is not None and entry.body is not None:
            return _Page(entry.body, entry.content_type, entry.final_url)
        page = client.page_again(self._url, self._index)
        if page is None:
            raise ExternalError(
                f"index {self._index.display} no longer lists {self._project} "
                f"({redact_url(self._url)})"
            )
        return page

    def files_of(self, version: Version) -> tuple[DistFile, ...]:
        with self._lock:
            if self._files is None:
                grouped: dict[Version, list[DistFile]] = {}
                for dist in self._client._parse(self.page(), self._index):
                    found = version_from_filename(dist.filename, self._project)
                    if found is not None:
                        grouped.setdefault(found, []).append(dist)
                self._files = {v: tuple(files) for v, files in grouped.items()}
            return self._files.get(version, ())


def _json_problem(exc: Exception) -> str:
    """What is wrong with a JSON page: a decoding error, or what the page's shape breaks."""
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return f"invalid JSON ({exc})"
    return str(exc)


class _Stopped(Exception):
    """Another lookup already hit an outage: this one gives up instead of retrying."""


def _outcome(status: int) -> str:
    if status == 304:
        return "revalidated"
    if status == 200:
        return "downloaded"
    if status in (404, 410):
        return "not-found"
    if status == 429 or status >= 500:
        return "retry"
    return "error"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def _local_path(url: str) -> Path:
    """The path a ``file://`` URL names.

    On POSIX that is the unquoted path (what ``url2pathname`` does there); only Windows needs
    ``urllib.request``, whose import costs more than the rest of a find-links lookup.
    """
    path = urlsplit(url).path
    if os.name == "posix":
        return Path(unquote(path))
    from urllib.request import url2pathname  # deferred: drive letters and UNC hosts

    return Path(url2pathname(path))


def _same_host(source: str, target: str) -> bool:
    """Whether following ``source`` -> ``target`` keeps credentials with the same server."""
    a, b = urlsplit(source), urlsplit(target)
    if (a.hostname or "").lower() != (b.hostname or "").lower():
        return False
    if a.scheme == b.scheme:
        return a.port == b.port
    return a.scheme == "http" and b.scheme == "https"  # an upgrade, never a downgrade


def _directory_files(directory: Path, origin: str) -> list[DistFile]:
    """A local directory of distributions (a find-links directory or a bare project dir)."""
    files = []
    for child in sorted(directory.iterdir()):
        if child.is_file() and not child.name.startswith("."):
            files.append(
                DistFile(
                    filename=child.name,
                    url=child.resolve().as_uri(),
                    size=child.stat().st_size,
                    index=origin,
                )
            )
    return files


def fetch_projects(
    config: IndexConfig,
    names: Iterable[str],
    *,
    cache_dir: Path | str | bool | None = None,
    ttl: float = 300.0,
    refresh: bool = False,
    concurrency: int = 8,
    tries: int = 3,
    backoff: float = 0.5,
) -> tuple[dict[str, ProjectPage | ProjectNotFound], ClientStats]:
    """Front door for commands: fetch ``names`` and return pages and statistics."""
    with IndexClient(config, cache_dir, ttl, refresh, tries=tries, backoff=backoff) as client:
        pages = client.fetch_many(names, concurrency=concurrency)
        return pages, client.stats


__all__ = [
    "ACCEPT",
    "ClientStats",
    "DistFile",
    "HttpCache",
    "IndexClient",
    "ProjectNotFound",
    "ProjectPage",
    "Release",
    "RequestRecord",
    "fetch_projects",
    "parse_html_page",
    "parse_json_page",
    "parse_upload_time",
    "version_from_filename",
]
