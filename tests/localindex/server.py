"""A PEP 503/691/658/700 package index over HTTP on 127.0.0.1, for tests: :class:`LocalIndex`.

Stdlib only. Serves ``/simple/`` (JSON or HTML by ``Accept``), the files under
``/files/<project>/<sha256 prefix>/<filename>`` (content-addressed, so a URL never changes
meaning even when a later server reuses the port) and ``<wheel>.metadata``. Every request is
logged; :class:`Fault` objects inject errors, delays or custom responses.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import html
import http.client
import json
import re
import socket
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.message import Message
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from localindex.build import Artifact, build
from localindex.release import Release, normalize_name

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
JSON_LATEST = "application/vnd.pypi.simple.latest+json"
HTML_LATEST = "application/vnd.pypi.simple.latest+html"
TEXT_HTML = "text/html"
API_VERSION = "1.1"
PAGE_CACHE_CONTROL = "max-age=0, must-revalidate"
FILE_CACHE_CONTROL = "max-age=31536000, immutable"

_VERSION = re.compile(
    r"^(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>\d*))?"
    r"(?:[-_.]?(?:post|rev|r)[-_.]?(?P<post>\d*))?"
    r"(?:[-_.]?dev[-_.]?(?P<dev>\d*))?(?:\+(?P<local>.*))?$",
    re.IGNORECASE,
)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


def version_key(version: str) -> tuple[Any, ...]:
    """An ordering close to PEP 440 for the usual forms (stdlib only; unparsable ones sort last)."""
    m = _VERSION.match(version.strip().lower().removeprefix("v"))
    if m is None:
        return (1, version)
    nums = [int(x) for x in m["release"].split(".")]
    while len(nums) > 1 and nums[-1] == 0:
        nums.pop()
    inf = float("inf")
    if m["pre"]:
        pre: tuple[float, int] = (_PRE_RANK[m["pre"]], int(m["pre_n"] or 0))
    elif m["dev"] is not None and m["post"] is None:
        pre = (-inf, 0)
    else:
        pre = (inf, 0)
    post = -1 if m["post"] is None else int(m["post"] or 0)
    dev = inf if m["dev"] is None else int(m["dev"] or 0)
    return (0, int(m["epoch"] or 0), tuple(nums), pre, post, dev, m["local"] or "")


def format_upload_time(when: datetime) -> str:
    """PEP 700 form: ``2020-01-01T00:00:00.000000Z``."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class RequestRecord:
    """One request as the server saw it; ``status`` is filled in once it is answered."""

    method: str
    path: str
    headers: dict[str, str]
    query: str = ""
    status: int | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    """What a :class:`Fault` callable may return instead of the normal answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


PathMatch = str | re.Pattern[str] | Callable[[str], bool] | None


@dataclass
class Fault:
    """A rule applied to matching requests before normal handling.

    ``path``: ``None`` (every request), an exact path (no query), a compiled regex (searched)
    or a predicate. In order: ``delay`` seconds of sleep; ``disconnect`` closes the connection
    without an answer; ``respond(record)`` may return a :class:`Response` (``None`` falls
    through); ``status`` answers with that status, ``body`` and ``headers``. ``times`` limits
    how many requests it applies to (``None``: all). ``hits`` counts them.
    """

    path: PathMatch = None
    status: int | None = None
    delay: float = 0.0
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = None
    disconnect: bool = False
    respond: Callable[[RequestRecord], Response | None] | None = None
    hits: int = 0

    def matches(self, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.path is None:
            return True
        if isinstance(self.path, str):
            return self.path == path
        if isinstance(self.path, re.Pattern):
            return self.path.search(path) is not None
        return self.path(path)


@dataclass(frozen=True)
class FetchResult:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass(frozen=True)
class _Blob:
    data: bytes
    content_type: str
    last_modified: datetime
    etag: str


@dataclass
class _Entry:
    release: Release
    artifacts: list[Artifact]


@dataclass
class _Project:
    name: str
    entries: dict[str, _Entry] = field(default_factory=dict)
    changed: datetime = datetime(1970, 1, 1, tzinfo=timezone.utc)


class _HTTPServer(HTTPServer):
    """One thread per connection, all tracked so that stopping ends them."""

    allow_reuse_address = False
    # socketserver's default backlog is 5: a client opening 16 connections at once would see
    # SYNs dropped and retried a second later, a stall no real index server causes.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], index: LocalIndex) -> None:
        self.index = index
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._conns: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name="localindex-connection",
            daemon=True,
        )
        with self._lock:
            self._threads.add(thread)
            self._conns.add(request)
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._conns.discard(request)
                self._threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, (ConnectionError, TimeoutError)):
            self.index.errors.append(error)

    def close_connections(self, timeout: float) -> None:
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stall
    server_version = "localindex/1"
    timeout = 60
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        index = self.server.index
        split = urlsplit(self.path)
        record = RequestRecord(
            method=self.command,
            path=unquote(split.path),
            headers={k.lower(): v for k, v in self.headers.items()},
            query=split.query,
        )
        index._log(record)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        try:
            response = index._respond(record)
        except Exception:
            index.errors.append(RuntimeError(traceback.format_exc()))
            response = Response(500, b"internal error in localindex\n")
        if response is None:  # a fault asked to drop the connection
            record.status = 0
            self.close_connection = True
            return
        record.status = response.status
        self.send_response(response.status)
        headers = dict(response.headers)
        if response.status != 304:  # a 304 must not override the cached page's type
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)


def _parse_accept(header: str | None) -> list[tuple[str, float, int]]:
    if not header:
        return [("*/*", 1.0, 0)]
    ranges = []
    for position, part in enumerate(header.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            ranges.append((media.lower(), q, position))
    return ranges


class LocalIndex:
    """A package index of real files over HTTP; use as a context manager (or start/stop).

    ``auth=(user, password)`` requires HTTP basic auth on every path. ``cache_headers=False``
    sends no ETag/Last-Modified and ignores conditional requests. ``cache_control`` is sent on
    index pages (files are immutable). ``serve_json``/``serve_html``/``serve_metadata`` turn
    those representations off. ``directory`` also writes every file there (find-links).
    """

    def __init__(
        self,
        releases: Iterable[Release] = (),
        *,
        auth: tuple[str, str] | None = None,
        cache_headers: bool = True,
        cache_control: str | None = PAGE_CACHE_CONTROL,
        serve_json: bool = True,
        serve_html: bool = True,
        serve_metadata: bool = True,
        directory: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.auth = auth
        self.cache_headers = cache_headers
        self.cache_control = cache_control
        self.serve_json = serve_json
        self.serve_html = serve_html
        self.serve_metadata = serve_metadata
        self.directory = directory
        self.host = host
        self.faults: list[Fault] = []
        self.errors: list[BaseException] = []
        self.serial = 0
        self._requested_port = port
        self._lock = threading.RLock()
        self._log_lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._projects: dict[str, _Project] = {}
        self._files: dict[str, _Blob] = {}
        self._stamp = datetime(1970, 1, 1, tzinfo=timezone.utc)
        self._stop = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.add(*releases)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalIndex:
        if self._httpd is not None:
            raise RuntimeError("already started")
        self._stop.clear()
        self._httpd = _HTTPServer((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="localindex-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stop.set()
        httpd.shutdown()
        thread.join(5)
        httpd.close_connections(timeout=5)
        httpd.server_close()
        self._httpd = self._thread = None

    def __enter__(self) -> LocalIndex:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the index is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def index_url(self) -> str:
        """``http://127.0.0.1:PORT/simple/``: what ``--index-url`` takes."""
        return f"{self.url}/simple/"

    @property
    def auth_index_url(self) -> str:
        """The index URL with the basic-auth credentials in it."""
        if self.auth is None:
            return self.index_url
        user, password = (quote(part, safe="") for part in self.auth)
        return f"http://{user}:{password}@{self.host}:{self.port}/simple/"

    def project_url(self, name: str) -> str:
        return f"{self.index_url}{normalize_name(name)}/"

    def file_path(self, filename: str) -> str:
        """The URL path (``/files/...``) of a served file, by file name."""
        with self._lock:
            for path in self._files:
                if path.rsplit("/", 1)[-1] == filename:
                    return path
        raise KeyError(filename)

    def file_url(self, filename: str) -> str:
        return self.url + quote(self.file_path(filename))

    # -- catalogue -------------------------------------------------------------------------

    def add(self, *releases: Release) -> None:
        """Add releases (replacing any with the same project and version); safe while running."""
        built = [(release, build(release)) for release in releases]
        with self._lock:
            touched: list[_Project] = []
            for release, artifacts in built:
                project = self._projects.setdefault(release.project, _Project(release.name))
                old = project.entries.get(release.version)
                if old is not None:
                    self._drop_files(old)
                project.entries[release.version] = _Entry(release, artifacts)
                for artifact in artifacts:
                    self._add_files(release, artifact)
                    if self.directory is not None:
                        artifact.write(self.directory)
                touched.append(project)
            if touched:
                self._touch(*touched)

    def remove(self, name: str, version: str | None = None) -> None:
        """Remove one release, or the whole project when ``version`` is None."""
        with self._lock:
            project = self._projects[normalize_name(name)]
            versions = list(project.entries) if version is None else [version]
            for v in versions:
                self._drop_files(project.entries.pop(v))
            if not project.entries:
                del self._projects[normalize_name(name)]
            self._touch(project)

    def yank(self, name: str, version: str, reason: str | bool = True) -> None:
        self.add(replace(self.release(name, version), yanked=reason))

    def release(self, name: str, version: str) -> Release:
        with self._lock:
            return self._projects[normalize_name(name)].entries[version].release

    def releases(self, name: str | None = None) -> list[Release]:
        with self._lock:
            projects = (
                list(self._projects.values())
                if name is None
                else [self._projects[normalize_name(name)]]
            )
            return [entry.release for p in projects for entry in p.entries.values()]

    def artifacts(self, name: str, version: str | None = None) -> list[Artifact]:
        with self._lock:
            project = self._projects[normalize_name(name)]
            return [
                artifact
                for v, entry in project.entries.items()
                if version is None or v == version
                for artifact in entry.artifacts
            ]

    def _file_path(self, release: Release, artifact: Artifact) -> str:
        return f"/files/{release.project}/{artifact.sha256[:16]}/{artifact.filename}"

    def _add_files(self, release: Release, artifact: Artifact) -> None:
        path = self._file_path(release, artifact)
        self._files[path] = _Blob(
            artifact.data, "application/octet-stream", release.uploaded, f'"{artifact.sha256}"'
        )
        if artifact.metadata is not None:
            self._files[path + ".metadata"] = _Blob(
                artifact.metadata,
                "application/octet-stream",
                release.uploaded,
                f'"{artifact.metadata_sha256}"',
            )

    def _drop_files(self, entry: _Entry) -> None:
        for artifact in entry.artifacts:
            path = self._file_path(entry.release, artifact)
            self._files.pop(path, None)
            self._files.pop(path + ".metadata", None)

    def _touch(self, *projects: _Project) -> None:
        """Advance the modification stamp, by at least one second per change (Last-Modified
        has whole seconds, and a client revalidating by date alone must see every change)."""
        now = datetime.now(timezone.utc).replace(microsecond=0)
        self._stamp = max(now, self._stamp + timedelta(seconds=1))
        for project in projects:
            project.changed = self._stamp
        self.serial += 1

    # -- request log and faults ------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, oldest first."""
        with self._log_lock:
            return list(self._requests)

    def count(
        self, path: str | None = None, *, method: str | None = None, prefix: str | None = None
    ) -> int:
        """How many requests matched ``path`` exactly / started with ``prefix`` / by method."""
        return sum(
            1
            for r in self.requests
            if (path is None or r.path == path)
            and (prefix is None or r.path.startswith(prefix))
            and (method is None or r.method == method)
        )

    @property
    def counter(self) -> Counter[str]:
        return Counter(r.path for r in self.requests)

    def clear_log(self) -> None:
        with self._log_lock:
            self._requests.clear()

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def fail(self, path: PathMatch, status: int = 500, *, times: int | None = None) -> Fault:
        return self.add_fault(Fault(path, status=status, times=times))

    def slow(self, path: PathMatch, seconds: float, *, times: int | None = None) -> Fault:
        return self.add_fault(Fault(path, delay=seconds, times=times))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _log(self, record: RequestRecord) -> None:
        with self._log_lock:
            self._requests.append(record)

    # -- in-process client -----------------------------------------------------------------

    def fetch(
        self,
        path: str,
        headers: Mapping[str, str] | None = None,
        *,
        method: str = "GET",
        authenticate: bool = False,
    ) -> FetchResult:
        """One request with http.client (no redirects followed, nothing cached); with
        ``authenticate`` it sends the index's basic-auth credentials."""
        sent = dict(headers or {})
        if authenticate and self.auth is not None:
            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            sent.setdefault("Authorization", f"Basic {token}")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, headers=sent)
            response = conn.getresponse()
            body = response.read()
            return FetchResult(response.status, response.msg, body)
        finally:
            conn.close()

    # -- answering -------------------------------------------------------------------------

    def _respond(self, record: RequestRecord) -> Response | None:
        with self._lock:
            faults = []
            for fault in self.faults:
                if fault.matches(record.path):
                    fault.hits += 1
                    faults.append(fault)
                    if fault.disconnect or fault.status is not None:
                        break  # the faults after it are not reached
        for fault in faults:
            if fault.delay:
                self._stop.wait(fault.delay)
            if fault.disconnect:
                return None
            if fault.respond is not None:
                custom = fault.respond(record)
                if custom is not None:
                    return custom
            if fault.status is not None:
                return Response(fault.status, fault.body, dict(fault.headers))
        if self.auth is not None and not self._authorized(record):
            return Response(
                401, b"authentication required\n", {"WWW-Authenticate": 'Basic realm="localindex"'}
            )
        if record.method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n", {"Allow": "GET, HEAD"})
        with self._lock:
            response = self._route(record)
        return self._conditional(record, response)

    def _authorized(self, record: RequestRecord) -> bool:
        assert self.auth is not None
        scheme, _, token = (record.header("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(token.strip(), validate=True)
        except ValueError:
            return False
        expected = f"{self.auth[0]}:{self.auth[1]}".encode()
        return hmac.compare_digest(given, expected)

    def _route(self, record: RequestRecord) -> Response:
        path = record.path
        query = f"?{record.query}" if record.query else ""
        if path in ("/", "/simple"):
            return _redirect("/simple/" + query)
        if path == "/simple/":
            return self._page(record, None)
        if path.startswith("/simple/"):
            name = path[len("/simple/") :]
            trailing = name.endswith("/")
            name = name.rstrip("/")
            if not name or "/" in name:
                return _not_found()
            if not trailing or name != normalize_name(name):
                return _redirect(f"/simple/{normalize_name(name)}/{query}")
            if name not in self._projects:
                return _not_found()
            return self._page(record, self._projects[name])
        blob = self._files.get(path)
        if blob is None or (path.endswith(".metadata") and not self.serve_metadata):
            return _not_found()
        headers = {"Content-Type": blob.content_type, "Cache-Control": FILE_CACHE_CONTROL}
        if self.cache_headers:
            headers["ETag"] = blob.etag
            headers["Last-Modified"] = format_datetime(blob.last_modified, usegmt=True)
        return Response(200, blob.data, headers)

    def _negotiate(self, record: RequestRecord) -> str | None:
        """The offered media type the client prefers (q, then specificity, then its order)."""
        offers = []
        if self.serve_json:
            offers += [JSON_V1, JSON_LATEST]
        if self.serve_html:
            offers += [HTML_V1, HTML_LATEST, TEXT_HTML]
        formats = parse_qs(record.query).get("format")
        if formats:
            wanted = formats[0].replace(" ", "+")  # an unencoded "+" arrives as a space
            return wanted if wanted in offers else None
        ranges = _parse_accept(record.header("accept"))
        best: tuple[float, int, int, bool] | None = None
        chosen = None
        for offer in offers:
            match: tuple[int, float, int] | None = None
            for media, q, position in ranges:
                if media == offer:
                    specificity = 2
                elif media == offer.split("/")[0] + "/*":
                    specificity = 1
                elif media == "*/*":
                    specificity = 0
                else:
                    continue
                if match is None or specificity > match[0]:
                    match = (specificity, q, position)
            if match is None or match[1] <= 0:
                continue
            specificity, q, position = match
            # On a tie (wildcards), plain HTML wins: the historical default of indexes.
            key = (q, specificity, -position, offer == TEXT_HTML)
            if best is None or key > best:
                best, chosen = key, offer
        return chosen

    def _page(self, record: RequestRecord, project: _Project | None) -> Response:
        media = self._negotiate(record)
        if media is None:
            return Response(406, b"not acceptable\n")
        is_json = media in (JSON_V1, JSON_LATEST)
        if project is None:
            body = self._root_json() if is_json else self._root_html()
            changed = self._stamp
        else:
            body = self._project_json(project) if is_json else self._project_html(project)
            uploads = [e.release.uploaded for e in project.entries.values()]
            changed = max([project.changed, *uploads])
        content_type = {
            JSON_V1: JSON_V1,
            JSON_LATEST: JSON_V1,
            HTML_V1: HTML_V1,
            HTML_LATEST: HTML_V1,
            TEXT_HTML: "text/html; charset=utf-8",
        }[media]
        headers = {"Content-Type": content_type, "Vary": "Accept, Authorization"}
        headers["X-PyPI-Last-Serial"] = str(self.serial)
        if self.cache_control is not None:
            headers["Cache-Control"] = self.cache_control
        if self.cache_headers:
            headers["ETag"] = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
            headers["Last-Modified"] = format_datetime(changed, usegmt=True)
        return Response(200, body, headers)

    def _files_of(self, project: _Project) -> list[tuple[Release, Artifact, str]]:
        rows = [
            (entry.release, artifact, self._file_path(entry.release, artifact))
            for entry in project.entries.values()
            for artifact in entry.artifacts
        ]
        rows.sort(key=lambda row: (version_key(row[0].version), row[1].filename))
        return rows

    def _versions(self, project: _Project) -> list[str]:
        return sorted(project.entries, key=version_key)

    def _root_json(self) -> bytes:
        projects = [{"name": p.name} for _, p in sorted(self._projects.items())]
        doc = {"meta": {"api-version": API_VERSION, "_last-serial": self.serial}}
        return json.dumps({**doc, "projects": projects}, indent=1).encode()

    def _root_html(self) -> bytes:
        links = "".join(
            f'    <a href="/simple/{key}/">{html.escape(p.name)}</a><br />\n'
            for key, p in sorted(self._projects.items())
        )
        return _html_page("Simple index", links)

    def _project_json(self, project: _Project) -> bytes:
        files = []
        for release, artifact, path in self._files_of(project):
            entry: dict[str, Any] = {
                "filename": artifact.filename,
                "url": quote(path),
                "hashes": {"sha256": artifact.sha256},
                "requires-python": release.requires_python,
                "yanked": False if release.yanked_reason is None else release.yanked_reason or True,
                "upload-time": format_upload_time(release.uploaded),
                "size": artifact.size,
            }
            if artifact.metadata_sha256 is not None and self.serve_metadata:
                entry["core-metadata"] = {"sha256": artifact.metadata_sha256}
                entry["dist-info-metadata"] = {"sha256": artifact.metadata_sha256}
            else:
                entry["core-metadata"] = False
                entry["dist-info-metadata"] = False
            files.append(entry)
        doc = {
            "meta": {"api-version": API_VERSION, "_last-serial": self.serial},
            "name": normalize_name(project.name),
            "files": files,
            "versions": self._versions(project),
        }
        return json.dumps(doc, indent=1).encode()

    def _project_html(self, project: _Project) -> bytes:
        links = []
        for release, artifact, path in self._files_of(project):
            attrs = [f'href="{html.escape(quote(path))}#sha256={artifact.sha256}"']
            if release.requires_python is not None:
                attrs.append(f'data-requires-python="{html.escape(release.requires_python)}"')
            if release.yanked_reason is not None:
                attrs.append(f'data-yanked="{html.escape(release.yanked_reason)}"')
            if artifact.metadata_sha256 is not None and self.serve_metadata:
                value = f"sha256={artifact.metadata_sha256}"
                attrs.append(f'data-core-metadata="{value}"')
                attrs.append(f'data-dist-info-metadata="{value}"')
            links.append(f"    <a {' '.join(attrs)}>{html.escape(artifact.filename)}</a><br />\n")
        return _html_page(f"Links for {html.escape(project.name)}", "".join(links))

    def _conditional(self, record: RequestRecord, response: Response) -> Response:
        if not self.cache_headers or response.status != 200:
            return response
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        not_modified = False
        if_none_match = record.header("if-none-match")
        if_modified_since = record.header("if-modified-since")
        if if_none_match is not None and etag is not None:
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            not_modified = "*" in tags or etag in tags
        elif if_modified_since is not None and last_modified is not None:
            try:
                since = parsedate_to_datetime(if_modified_since)
            except (TypeError, ValueError):
                since = None
            if since is not None and since.tzinfo is not None:
                not_modified = parsedate_to_datetime(last_modified) <= since
        if not not_modified:
            return response
        keep = ("ETag", "Last-Modified", "Cache-Control", "Vary", "X-PyPI-Last-Serial")
        headers = {k: v for k, v in response.headers.items() if k in keep}
        return Response(304, b"", headers)


def _redirect(location: str) -> Response:
    return Response(301, b"", {"Location": location})


def _not_found() -> Response:
    return Response(404, b"not found\n")


def _html_page(title: str, body: str) -> bytes:
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{title}</title>\n  </head>\n  <body>\n    <h1>{title}</h1>\n"
        f"{body}  </body>\n</html>\n"
    ).encode()
