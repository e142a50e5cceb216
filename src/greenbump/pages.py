"""What an index page says: its files and releases, and the digest kept beside it in the cache.

Pure functions and values over PEP 691 JSON and PEP 503 HTML project pages: no network, no
cache, no threads. :mod:`greenbump.index` fetches the pages and calls these; the parse worker
(:mod:`greenbump.parseworker`) imports only this module, so a worker process starts without
the client's HTTP, TLS and configuration modules.

Written by hand rather than with packaging's helpers where a page's hot path needs it: a large
application's pages list some 150,000 files, so file names, upload times and URLs take exact
shortcuts, each pinned to the general function it stands in for by
``tests/test_index_fastpaths.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
import logging
import operator
import re
import sys
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from typing import Any, NamedTuple, Protocol, overload
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from greenbump.names import NormalizedName, canonicalize_name

log = logging.getLogger(__name__)

_LEGACY_SDIST_EXTENSIONS = (".tar.bz2", ".tar.xz", ".tgz", ".tbz", ".txz", ".tar")
# The separators of "2024-01-02T03:04:05.123456Z" (or of "2024-01-02T03:04:05Z"): texts that
# have them all in place, and are of one length, sort as the times they name when they
# parse (any other character where a digit belongs makes the greatest one fail to parse).
_SHAPE = operator.itemgetter(4, 7, 10, 13, 16, 19, -1)
_PEP700_SHAPES = ({("-", "-", "T", ":", ":", ".", "Z")}, {("-", "-", "T", ":", ":", "Z", "Z")})
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
        times = [f.upload_time for f in listed if f.upload_time is not None]
        return _release(
            version,
            [f.filename for f in listed],
            [(f.yanked_reason or True) if f.yanked else False for f in listed],
            [f.requires_python for f in listed],
            uploaded=max(times) if times else None,
            source=listed,
        )


class FileSource(Protocol):
    """Where a release's files come from when they were not kept (an index page, parsed
    again on demand)."""

    def files_of(self, version: Version) -> tuple[DistFile, ...]: ...


def _release(
    version: Version,
    filenames: list[str],
    yanks: list[bool | str],
    specs: list[SpecifierSet | None],
    *,
    uploaded: dt.datetime | None,
    source: tuple[DistFile, ...] | FileSource,
) -> Release:
    """A release from its files' columns: names, ``yanked`` as PEP 691 writes it (``False``,
    ``True`` or the reason) and parsed ``requires-python``, in the order the index lists them.

    Columns rather than one record a file: a large page lists thousands of files a release,
    and list methods over a column run in C.
    """
    unyanked = yanks.count(False)
    if unyanked == len(yanks):  # the usual: nothing yanked, every file counts
        yanked, reason = False, None
    else:
        yanked = unyanked == 0
        reason = next((y for y in yanks if type(y) is str and y), None) if yanked else None
        if unyanked:  # the rules read the files still offered
            filenames = [name for name, y in zip(filenames, yanks, strict=True) if y is False]
            specs = [spec for spec, y in zip(specs, yanks, strict=True) if y is False]
    declared = [spec for spec in specs if spec is not None]
    requires_python = declared[0] if declared else None
    if declared and declared.count(declared[0]) != len(declared):  # same text: same object
        counts = Counter(str(spec) for spec in declared)
        requires_python = _requires_python(counts.most_common(1)[0][0])
    return Release(
        version=version,
        yanked=yanked,
        yanked_reason=reason,
        requires_python=requires_python,
        upload_time=uploaded,
        wheel_tags=_wheel_tags(filenames),
        source=source,
    )


def _wheel_tags(filenames: list[str]) -> frozenset[tuple[str, str]] | None:
    """``(interpreter, abi)`` of every wheel; ``None`` when any Python may install them."""
    if not all(map(str.endswith, filenames, repeat(".whl"))) or any(
        map(str.endswith, filenames, repeat(_UNIVERSAL))
    ):
        return None  # an sdist or a pure Python 3 wheel: installable anywhere
    parts = [name[:-4].split("-") for name in filenames]
    if not all(len(split) in (5, 6) for split in parts):
        return None  # a name we cannot read says nothing either way
    # The third and second parts from the end are the compressed tag set (PEP 425).
    compressed = {(split[-3], split[-2]) for split in parts}  # a release repeats few of these
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
    releases: Sequence[Release]  # a tuple, or a digest's releases made as they are read
    sources: tuple[str, ...] = ()

    @property
    def versions(self) -> tuple[Version, ...]:
        """All versions, ascending, yanked ones included."""
        return tuple(map(self._version_at, range(len(self.releases))))

    def release(self, version: Version | str) -> Release | None:
        """The release of ``version``, or ``None`` when the index has no such version."""
        wanted = version if isinstance(version, Version) else Version(version)
        index = bisect_left(range(len(self.releases)), wanted, key=self._version_at)
        if index < len(self.releases) and self._version_at(index) == wanted:
            return self.releases[index]
        return None

    def newer(self, version: Version) -> Sequence[Release]:
        """The releases after ``version``, oldest first (none older is made)."""
        releases = self.releases
        return releases[bisect_right(range(len(releases)), version, key=self._version_at) :]

    def _version_at(self, index: int) -> Version:
        """The version of release ``index``, read without making a digest's release."""
        releases = self.releases
        if isinstance(releases, DigestReleases):
            return releases.version(index)
        return releases[index].version


# --- parsing --------------------------------------------------------------------------------


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


def strip_userinfo(url: str) -> str:
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
        absolute = strip_userinfo(absolute)
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
                url=strip_userinfo(absolute),
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


class _Entry(Protocol):
    """What the release rules read of one checked PEP 691 file entry."""

    @property
    def filename(self) -> str: ...
    @property
    def yanked(self) -> bool | str: ...
    @property
    def requires_python(self) -> object: ...  # ignored unless a string
    @property
    def upload_time(self) -> object: ...  # ignored unless a string


class _CheckedEntry(NamedTuple):
    filename: str
    yanked: bool | str
    requires_python: object
    upload_time: object


_MSGSPEC_FROM = 64 * 1024  # bytes of JSON: smaller pages alone do not pay for the import


class _Decoding:
    decoder: Any = None  # msgspec's, once made


def _page_decoder() -> Any:
    """msgspec's decoder for what :func:`digest_json_page` reads of a page, typed as
    :func:`_json_entry` checks it, made on first use: msgspec's import costs 30-50 ms, more
    than ``json.loads`` spends on all the small pages of a 200-dependency run, and nothing
    at all in a run answered from its cache's digests."""
    if _Decoding.decoder is None:
        _Decoding.decoder = _make_page_decoder()
    return _Decoding.decoder


def _make_page_decoder() -> Any:
    import msgspec

    entry = msgspec.defstruct(
        "Entry",
        [
            ("filename", str),
            ("url", str),
            ("hashes", dict[str, str], {}),
            ("yanked", bool | str, False),
            ("requires_python", Any, None),
            ("upload_time", Any, None),
        ],
        rename={"requires_python": "requires-python", "upload_time": "upload-time"},
        gc=False,  # nothing decoded from JSON refers back to itself
    )
    meta = msgspec.defstruct("Meta", [("api_version", str)], rename={"api_version": "api-version"})
    files = list[entry]  # type: ignore[valid-type]  # a type made at run time
    page = msgspec.defstruct("Page", [("meta", meta), ("files", files)], gc=False)
    return msgspec.json.Decoder(page)


def prepare_json_decoding() -> None:
    """Import msgspec and build the decoder now (a parse worker does it while it waits)."""
    _page_decoder()


def digest_json_page(body: bytes, project: str, floor: Version | None = None) -> list[list[Any]]:
    """The digest of a PEP 691 page's bytes (see :func:`digest_of`); ``ValueError`` saying
    what is wrong with the page. Releases older than ``floor`` are only named (see
    :func:`_digest_of_entries`).

    This is the hot path of a first lookup: a large application's pages hold some 150,000
    files in 66 MB of JSON. ``json.loads`` builds a dict for every file with keys nobody reads
    (sizes, metadata flags), and at about 14 MB/s that decoding was a third of a first
    check's CPU. msgspec decodes into :class:`_Entry` instead, checking the same types the
    general path checks, at 6-10 times the speed. A page it refuses goes through
    ``json.loads`` and :func:`json_page_digest`, which say what is wrong (or, for the odd
    valid page msgspec does not take, such as UTF-16 text, read it). So do pages under
    64 KiB until something has imported msgspec (a large page, or a parse worker).
    """
    name = canonicalize_name(project)
    decoder = _Decoding.decoder
    if decoder is None and len(body) >= _MSGSPEC_FROM:
        decoder = _page_decoder()
    page = None
    if decoder is not None:
        with contextlib.suppress(ValueError):  # msgspec's DecodeError and ValidationError
            page = decoder.decode(body)
    if page is not None and page.meta.api_version.split(".", 1)[0] == "1":
        return _digest_of_entries(page.files, name, floor)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is one
        raise ValueError(json_problem(exc)) from None
    return json_page_digest(data, name, floor)


def json_page_digest(
    data: object, project: NormalizedName, floor: Version | None = None
) -> list[list[Any]]:
    """The digest of a decoded PEP 691 page; ``ValueError`` naming the first malformed entry."""
    entries: list[_Entry] = []
    for position, entry in enumerate(_json_entries(data)):
        filename, _url, _hashes, yanked = _json_entry(position, entry)
        requires, upload = entry.get("requires-python"), entry.get("upload-time")
        entries.append(_CheckedEntry(filename, yanked, requires, upload))
    return _digest_of_entries(entries, project, floor)


NEWEST_IN_FULL = 8  # releases a digest with a floor keeps in full below the floor

_FILENAME = operator.attrgetter("filename")
_YANKED = operator.attrgetter("yanked")
_REQUIRES = operator.attrgetter("requires_python")
_UPLOADED = operator.attrgetter("upload_time")
_PEP700_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?Z", re.ASCII)


def _digest_of_entries(
    entries: list[_Entry], project: NormalizedName, floor: Version | None = None
) -> list[list[Any]]:
    """Checked entries as digest rows: what :func:`digest_of` makes of the releases
    :func:`releases_of_files` groups, without making a release or a file.

    With a ``floor`` (the version a project has now), releases older than it get a short
    row that only names them, except the one just below it (a search from the top stops
    there when the floor itself is not listed) and the newest :data:`NEWEST_IN_FULL`: a
    check or an upgrade reads the releases above the current one, and a large page's older
    releases were half the work of digesting it. :class:`DigestReleases` fills short rows in from
    the page itself if one is ever read.

    Columns and runs rather than a loop over files: per file, only C-level work (reading
    attributes, cutting the ``name-version`` prefix off a wheel's name) is done; each run of
    files with one key (the wheels of a release, or a file's whole name) is read once. A
    wheel's version is decided by everything before its last three dashes (with the number
    of dashes), so one run has one version. A version's files keep the page's order, which
    decides ties between ``requires-python`` values (``tests/test_index_fastpaths.py`` pins
    all of this to the general path).
    """
    count = len(entries)
    if not count:
        return []
    names = list(map(_FILENAME, entries))
    # A wheel's key keeps ".whl", so that it never equals another file's whole name.
    keys = [name.rsplit("-", 3)[0] + ".whl" if name.endswith(".whl") else name for name in names]
    starts = [0, *compress(range(1, count), map(operator.ne, keys[1:], keys))]
    spans: dict[Version, list[tuple[int, int]]] = {}
    versions: dict[str, Version | None] = {}
    for start, stop in zip(starts, [*starts[1:], count], strict=True):
        key = keys[start]
        if key in versions:
            version = versions[key]
        else:
            version = versions[key] = version_from_filename(names[start], project)
        if version is not None:
            spans.setdefault(version, []).append((start, stop))
    yanks = list(map(_YANKED, entries))
    columns = (names, yanks, list(map(_REQUIRES, entries)), list(map(_UPLOADED, entries)))
    pep700 = _pep700_times(columns[3])
    order = sorted(spans)
    named = 0  # releases only named: those below the floor but the one just below it
    if floor is not None:
        named = max(0, min(bisect_left(order, floor) - 1, len(order) - NEWEST_IN_FULL))
    rows: list[list[Any]] = [[str(version)] for version in order[:named]]
    for version in order[named:]:
        ranges = spans[version]
        if len(ranges) == 1:
            start, stop = ranges[0]
            filenames, yanked, requires, times = (column[start:stop] for column in columns)
        else:
            filenames, yanked, requires, times = (
                [item for start, stop in ranges for item in column[start:stop]]
                for column in columns
            )
        rows.append(_digest_row_of(version, filenames, yanked, requires, times, pep700=pep700))
    return rows


def _digest_row_of(
    version: Version,
    filenames: list[str],
    yanks: list[bool | str],
    requires: list[object],
    times: list[Any],  # upload times as the page gives them (strings if well formed)
    *,
    pep700: bool,
) -> list[Any]:
    """One release's digest row from its files' columns (the rules of :func:`_release`)."""
    unyanked = yanks.count(False)
    yanked, reason = False, None
    if unyanked != len(yanks):
        yanked = unyanked == 0
        if yanked:
            reason = next((y for y in yanks if type(y) is str and y), None)
        else:  # the rules read the files still offered
            offered = [y is False for y in yanks]
            filenames = list(compress(filenames, offered))
            requires = list(compress(requires, offered))
    if requires.count(requires[0]) == len(requires):  # the usual: one value, parsed once
        specs = [_parse_requires_python(requires[0])]
    else:
        specs = list(map(_parse_requires_python, requires))
    declared = [spec for spec in specs if spec is not None]
    python = declared[0] if declared else None
    if declared and declared.count(declared[0]) != len(declared):
        python = _requires_python(Counter(map(str, declared)).most_common(1)[0][0])
    tags = _wheel_tags(filenames)
    return [
        str(version),
        yanked,
        reason,
        None if python is None else str(python),
        (pep700 and _pep700_isoformat(max(times))) or _isoformat(times),
        None if tags is None else sorted([i, a] for i, a in tags),
    ]


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
    if (
        len(top) >= 20
        and top.isascii()  # the pattern's \d takes other digits, which sort above ASCII ones
        and len(set(map(len, texts))) == 1
        and set(map(_SHAPE, texts)) in _PEP700_SHAPES
    ):
        moment = parse_upload_time(top)
        if moment is not None:
            return moment
    times = [m for m in map(parse_upload_time, texts) if m is not None]
    return max(times) if times else None


def _pep700_times(times: list[Any]) -> bool:
    """Whether every time of a page is written as PEP 700 writes it, to the same length
    (``2024-01-02T03:04:05.123456Z``): such texts sort as the times they name."""
    return (
        all(type(t) is str for t in times)
        and len(set(map(len, times))) == 1
        and len(times[0]) in (20, 27)
        and set(map(_SHAPE, times)) in _PEP700_SHAPES
    )


def _pep700_isoformat(text: str) -> str | None:
    """``parse_upload_time(text).isoformat()`` for a PEP 700 time, without writing it anew
    (``isoformat`` was a tenth of a large page's digest); ``None`` when it is not a time."""
    if _PEP700_TIME.fullmatch(text) is None or parse_upload_time(text) is None:
        return None  # the release's other times are read
    if len(text) == 20 or text[20:26] == "000000":  # isoformat leaves out a zero fraction
        return text[:19] + "+00:00"
    return text[:26] + "+00:00"


def _isoformat(times: list[object]) -> str | None:
    moment = latest_upload([t for t in times if type(t) is str])
    return None if moment is None else moment.isoformat()


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


def merge_releases(listings: Iterable[Sequence[Release]]) -> Sequence[Release]:
    """Releases of several locations in priority order, ascending; the first listing wins.

    Mirrors and local folders often drop upload times and ``requires-python``; when the chosen
    release has none, what another location says of the same version is used, so release
    age, cooldowns and the Python check still work (a wheel folder that lists a release
    without saying it needs Python 3.11 must not make it a candidate for 3.10). What installs
    is any location's file, as pip merges them: a release's wheel tags are those of every
    location that has not yanked it (a folder holding only its cp311 wheel must not hide the
    index's cp310 wheels and sdist), and it is yanked only where every location yanks it.
    """
    listings = list(listings)
    if len(listings) == 1:  # the usual case: nothing to merge
        only = listings[0]
        if isinstance(only, DigestReleases):
            return only  # sorted already, and left to make its releases as they are read
        return tuple(sorted(only, key=by_version))
    chosen: dict[Version, Release] = {}
    times: dict[Version, dt.datetime] = {}
    pythons: dict[Version, SpecifierSet] = {}
    tags: dict[Version, frozenset[tuple[str, str]] | None] = {}  # where it is not yanked
    for listing in listings:
        for release in listing:
            version = release.version
            if release.upload_time is not None:
                times[version] = max(release.upload_time, times.get(version, release.upload_time))
            if release.requires_python is not None and not release.yanked:
                pythons.setdefault(version, release.requires_python)
            if not release.yanked:
                if version not in tags:
                    tags[version] = release.wheel_tags
                elif (mine := tags[version]) is not None:
                    theirs = release.wheel_tags
                    tags[version] = None if theirs is None else mine | theirs
            chosen.setdefault(version, release)
    releases = []
    for version in sorted(chosen):
        release = chosen[version]
        if release.upload_time is None and version in times:
            release = dataclasses.replace(release, upload_time=times[version])
        if release.requires_python is None and version in pythons:
            release = dataclasses.replace(release, requires_python=pythons[version])
        if version in tags and (release.yanked or release.wheel_tags != tags[version]):
            release = dataclasses.replace(
                release, wheel_tags=tags[version], yanked=False, yanked_reason=None
            )
        releases.append(release)
    return tuple(releases)


by_version = operator.attrgetter("version")


# --- digests: a page's releases, stored beside it in the cache ------------------------------

DIGEST_VERSION = 1  # bump when what a digest holds, or how it is computed, changes


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


Completion = Callable[[list[str]], list[list[Any]]]
"""The full rows of the releases named (in that order), read from the page again."""


def releases_of_digest(
    rows: object, source: FileSource, complete: Completion | None = None
) -> DigestReleases:
    """The releases a digest holds; ``ValueError`` when it is not one (the page is reparsed).

    Every row is checked here, so that making its release later cannot fail: the shape and
    types :func:`digest_of` writes, a version in the normal form ``str(Version)`` gives, and
    an upload time as ``isoformat`` writes it in UTC. ``complete`` gives the full rows when a
    short row must be read (see :class:`DigestReleases`).
    """
    if not isinstance(rows, list) or not all(map(_digest_row, rows)):
        raise ValueError("not a digest")
    return DigestReleases(rows, source, complete)


_NORMAL_VERSION = re.compile(
    r"(?:\d+!)?\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?"
    r"(?:\+[a-z0-9]+(?:\.[a-z0-9]+)*)?"
)
_UTC_ISOFORMAT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?\+00:00")


def _digest_row(row: object) -> bool:
    """Whether ``row`` is one :func:`digest_of` writes, or a short row naming a release
    (see :func:`releases_of_digest`)."""
    if type(row) is list and len(row) == 1:
        return type(row[0]) is str and _NORMAL_VERSION.fullmatch(row[0]) is not None
    if type(row) is not list or len(row) != 6:
        return False
    text, yanked, reason, python, uploaded, tags = row
    return (
        type(text) is str
        and _NORMAL_VERSION.fullmatch(text) is not None
        and type(yanked) is bool
        and (reason is None or type(reason) is str)
        and (python is None or type(python) is str)
        and (uploaded is None or _utc_isoformat(uploaded))
        and (tags is None or (type(tags) is list and all(map(_tag_pair, tags))))
    )


def _utc_isoformat(value: object) -> bool:
    return type(value) is str and _UTC_ISOFORMAT.fullmatch(value) is not None


def _tag_pair(pair: object) -> bool:
    return type(pair) is list and len(pair) == 2 and all(type(part) is str for part in pair)


class DigestReleases(Sequence[Release]):
    """A digest's releases, oldest first, each made when it is first read.

    A check reads every digest of its pages (27,000 rows for a large application) and needs
    the newest few releases of each: :func:`~greenbump.candidates.find_candidates` searches
    from the top. Parsing every version and building every release up front was a quarter of
    a warm check. Rows are checked when the sequence is made (:func:`releases_of_digest`),
    so making a release later cannot fail; two threads making the same one at once make
    equal releases, and either may be kept.

    Short rows (a digest made with a floor, see :func:`_digest_of_entries`) name a release
    only: :meth:`version` reads them, and the first release made of one calls ``complete``
    for every row in full, by version: the page may have changed in the cache meanwhile (a
    release added by another run's revalidation), and ``complete`` reports a release that is
    no longer listed.
    """

    __slots__ = ("_complete", "_made", "_rows", "_source")

    def __init__(
        self,
        rows: list[list[Any]],
        source: FileSource,
        complete: Completion | None = None,
    ) -> None:
        self._rows = rows
        self._source = source
        self._complete = complete
        self._made: list[Release | None] = [None] * len(rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same releases, as the tuple a parse gives."""
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))  # as the tuple's, so that equal pages hash alike

    def version(self, index: int) -> Version:
        """The version of release ``index``, without making the release."""
        return _version(self._rows[index][0])

    @overload
    def __getitem__(self, index: int) -> Release: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Release]: ...
    def __getitem__(self, index: int | slice) -> Release | Sequence[Release]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._rows)))]
        made = self._made[index]
        if made is None:
            row = self._rows[index]
            if len(row) == 1:
                row = self._completed()[index]
            made = self._made[index] = _release_of_row(row, self._source)
        return made

    def _completed(self) -> list[list[Any]]:
        """Every row in full, from ``complete`` (once: the rows are replaced)."""
        if self._complete is None:
            raise LookupError("a short digest row without a way to complete it")
        rows = self._complete([row[0] for row in self._rows])
        if [row[0] for row in rows] != [row[0] for row in self._rows]:
            raise LookupError("completed digest rows name other releases")
        self._rows = rows
        return rows


def _release_of_row(row: list[Any], source: FileSource) -> Release:
    text, yanked, reason, python, uploaded, tags = row
    return Release(
        version=_version(text),
        yanked=yanked,
        yanked_reason=reason,
        requires_python=None if python is None else _requires_python(python),
        upload_time=None if uploaded is None else dt.datetime.fromisoformat(uploaded),
        wheel_tags=None if tags is None else frozenset((i, a) for i, a in tags),
        source=source,
    )


def json_problem(exc: Exception) -> str:
    """What is wrong with a JSON page: a decoding error, or what the page's shape breaks."""
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return f"invalid JSON ({exc})"
    return str(exc)
