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
import datetime as dt
import functools
import hashlib
import itertools
import json
import logging
import os
import re
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from email.utils import parsedate_to_datetime  # loaded by http.client anyway
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urljoin, urlsplit

from packaging.version import Version

from greenbump import __version__
from greenbump.dirs import user_cache
from greenbump.errors import ExternalError, InputError
from greenbump.indexconfig import IndexConfig, IndexUrl
from greenbump.names import NormalizedName, canonicalize_name
from greenbump.pages import (
    DIGEST_VERSION,
    DigestReleases,
    DistFile,
    ProjectPage,
    Release,
    by_version,
    digest_json_page,
    digest_of,
    json_problem,
    merge_releases,
    parse_html_page,
    parse_json_page,
    releases_of_digest,
    releases_of_files,
    strip_userinfo,
    version_from_filename,
)
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


# --- index pages ----------------------------------------------------------------------------


def _garbage(index: IndexUrl, url: str, what: str) -> ExternalError:
    return ExternalError(
        f"index {index.display} returned an unusable page for {redact_url(url)}: {what}"
    )


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


# Cache files are read and written with bare ``os`` calls. Each system call a lookup thread
# makes hands the interpreter lock over and waits to get it back, and with eight lookup
# threads that wait is most of a call's time: ``open()`` adds an ``fstat`` and an ``isatty``
# check to every file and ``os.urandom`` a call to every name.
_UNIQUE = itertools.count()
_TOKEN: list[str] = []


def _unique_name() -> str:
    """A temporary name no other writer uses, without ``tempfile.mkstemp`` (its random
    module, name retries and import were a sixth of a first run's lookup time): process,
    a random token drawn once (caches shared between machines or containers whose process
    ids coincide), and a counter."""
    if not _TOKEN:
        _TOKEN.append(os.urandom(4).hex())
    return f"{os.getpid()}-{_TOKEN[0]}-{next(_UNIQUE)}"


def _write_all(fd: int, parts: list[bytes]) -> None:
    """Write ``parts`` in order, in one system call when the kernel takes them at once (a
    large page's body is not copied to be joined to its header)."""
    views = [memoryview(part) for part in parts if part]
    while views:
        written = os.writev(fd, views)
        while written:  # drop what the kernel took; a partial write resumes where it ended
            head = views[0]
            if written < len(head):
                views[0], written = head[written:], 0
            else:
                views.pop(0)
                written -= len(head)


def _header_line(fd: int, first: int) -> tuple[bytes, bytes]:
    """A cache file's header line and what was read after it, starting with ``first`` bytes."""
    parts = [os.read(fd, first)]
    while b"\n" not in parts[-1] and parts[-1]:
        parts.append(os.read(fd, 1 << 20))
    data = b"".join(parts) if len(parts) > 1 else parts[0]
    end = data.find(b"\n")
    if end < 0:
        raise ValueError("no header line")
    return data[:end], data[end + 1 :]


def _read_rest(fd: int, start: bytes) -> bytes:
    parts = [start, *iter(functools.partial(os.read, fd, 1 << 22), b"")]
    return b"".join(parts) if len(parts) > 1 else start  # the usual: nothing more to read


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
            fd = os.open(self.path(url, accept), os.O_RDONLY)
            try:
                header, start = _header_line(fd, 1 << 20 if body else 64 * 1024)
                meta = json.loads(header)
                digest = (
                    meta.get("digest") if meta.get("digest_version") == DIGEST_VERSION else None
                )
                content = _read_rest(fd, start) if body or digest is None else None
            finally:
                os.close(fd)
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
            meta.update(digest_version=DIGEST_VERSION, digest=entry.digest)
        target = self.path(entry.url, accept)
        try:
            if not self._made:
                self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._made = True
            temp = self.directory / f".tmp-{_unique_name()}.entry"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                try:
                    _write_all(fd, [json.dumps(meta).encode() + b"\n", body])
                finally:
                    os.close(fd)
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
    return user_cache("http")


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
                    on_body_size=self._body_coming,
                )
            return self._transport

    def _body_coming(self, size: int) -> None:
        """A large page is on its way: start the parse workers now, so that their start-up
        (interpreter, imports: about 0.15 s) overlaps its download instead of following it."""
        if self._worker is not None and size >= LARGE_PAGE:
            self._worker.start()

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

    def fetch_project(self, name: str, floor: Version | None = None) -> ProjectPage:
        """All releases of ``name`` per the index strategy; :class:`ProjectNotFound` if none.

        ``floor`` is the version the caller has now: releases older than it are read in full
        only if asked for (see :func:`greenbump.pages.digest_json_page`). Not when several
        listings may be merged: merging reads every release."""
        project = canonicalize_name(name)
        listings: list[Sequence[Release]] = []
        searched: list[str] = []
        sources: list[str] = []
        indexes = self.config.search_order()
        if self.config.find_links or (self.config.strategy != "first-index" and len(indexes) > 1):
            floor = None
        for index in indexes:
            searched.append(index.display)
            releases = self._index_releases(index, project, floor)
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
        floors: Mapping[str, Version] | None = None,
    ) -> dict[str, ProjectPage | ProjectNotFound]:
        """Pages for many projects keyed by normalized name, ``concurrency`` at a time.
        ``on_page`` is called (from the lookup threads) as each project is done; ``floors``
        are the versions projects have now (see :meth:`fetch_project`).

        Unknown projects map to their :class:`ProjectNotFound` so one typo does not hide every
        other result; the first other error (an index down) stops the rest and is raised,
        because every later lookup would meet the same outage. The client is closed then.
        """
        wanted = list(dict.fromkeys(canonicalize_name(n) for n in names))
        if not wanted:
            return {}
        floor = {canonicalize_name(n): v for n, v in (floors or {}).items()}

        def one(project: NormalizedName) -> ProjectPage | ProjectNotFound:
            if self._stopped.is_set():
                raise _Stopped
            try:
                return self.fetch_project(project, floor.get(project))
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

    def _index_releases(
        self, index: IndexUrl, project: NormalizedName, floor: Version | None
    ) -> Sequence[Release] | None:
        """One index's releases of ``project``; ``None`` when the index does not know it."""
        if urlsplit(index.url).scheme == "file":
            files = self._local_index_files(index, project)
            return None if files is None else releases_of_files(project, files)
        url = index.url.rstrip("/") + "/" + project + "/"
        source = _PageFiles(self, url, index, project)
        parsed: list[Sequence[Release]] = []  # what summarize read, when it ran

        def summarize(page: _Page) -> list[Any]:
            rows = self._digest_of_page(page, index, project, floor)
            parsed.append(DigestReleases(rows, source, source.rows_of))
            return rows

        page = self._get(url, index, ACCEPT, summarize)
        if page is None:
            return None
        source.keep(page)
        if parsed:
            return parsed[-1]
        if page.digest is None:
            return []
        try:
            return releases_of_digest(page.digest, source, source.rows_of)
        except (ValueError, TypeError):  # a damaged cache entry: read the page itself
            log.debug("ignoring the damaged digest of %s", redact_url(url))
            return DigestReleases(source.digest(), source)

    def _digest_of_page(
        self, page: _Page, index: IndexUrl, project: NormalizedName, floor: Version | None = None
    ) -> list[Any]:
        """A page's digest (see :func:`digest_of`): large JSON pages from the parse worker,
        the others parsed here. Releases older than ``floor`` may be only named."""
        body = page.body or b""
        kind = self._kind(page, index)
        if kind == "json" and self._worker is not None and len(body) >= LARGE_PAGE:
            answer = self._worker.digest(project, body, None if floor is None else str(floor))
            if isinstance(answer, str):
                raise _garbage(index, page.url, answer)
            if answer is not None:
                return answer
        with self._parsing:  # parsing holds the GIL anyway; one at a time bounds the memory
            if kind == "json":
                try:
                    return digest_json_page(body, project, floor)
                except ValueError as exc:
                    raise _garbage(index, page.url, str(exc)) from None
            releases = releases_of_files(project, self._parse(page, index))
            return digest_of(sorted(releases, key=by_version))

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
                raise _garbage(index, page.url, json_problem(exc)) from None
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
            target = strip_userinfo(urljoin(current, location))
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

    def digest(self) -> list[Any]:
        """The page's whole digest, every release in full."""
        return self._client._digest_of_page(self.page(), self._index, self._project)

    def rows_of(self, versions: list[str]) -> list[list[Any]]:
        """The full digest rows of ``versions`` (a digest's short rows, filled in).

        The page is read again, and the cache may hold a newer one by now (another run
        revalidated it): releases added since are left out, and one that is gone can no
        longer be described, so this run stops there with a message rather than guess.
        """
        rows = {row[0]: row for row in self.digest()}
        gone = [version for version in versions if version not in rows]
        if gone:
            raise ExternalError(
                f"index {self._index.display}: the page of {self._project} changed while "
                f"greenbump read it (release {gone[0]} is no longer listed); run again"
            )
        return [rows[version] for version in versions]

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
    "HttpCache",
    "IndexClient",
    "ProjectNotFound",
    "RequestRecord",
    "fetch_projects",
]
