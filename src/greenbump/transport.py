"""HTTP GET for index pages: stdlib ``http.client`` connections, kept alive, in worker threads.

Why not httpx, which greenbump uses for its other HTTP (the OSV API, webhooks): a check asks
one page per dependency and almost nothing else, so the cost of one request *is* the cost of a
check. Measured against the test index (200 JSON pages, one client, kept-alive connections):
httpx's async client spends about 2.5 ms of CPU per page in httpcore's pool bookkeeping and
anyio's stream wrappers, its sync client about 1.2 ms, urllib3 about 0.55 ms and
``http.client`` about 0.3 ms. With a few threads the network waits overlap and the CPU cost is
what remains, so this module is what lets ``greenbump check`` keep pace with uv.

``http.client`` does the protocol (request framing, chunked and sized bodies, TLS through
:mod:`ssl`, CONNECT tunnels). What is written here needs no protocol knowledge:

* a pool of idle connections per origin, and one silent retry when a kept-alive connection
  turns out to have been closed by the server meanwhile (nothing was received on it);
* proxies from the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``,
  read with :mod:`urllib.request`'s own helpers), as httpx, pip and uv honour them;
* gzip and deflate bodies decoded with a cap on the decoded size (a compressed page of a few
  KiB cannot expand into gigabytes), and the same cap on plain bodies, checked while reading;
* a deadline for the whole answer, so a server that drips a byte at a time cannot hold a run.
  A body of known length is read in one call, so that the TLS records of a large page (16 KB
  each, 4,000 of them in a first check's 66 MB) are taken in C without a return to Python and
  a hand-off of the GIL between them: a third less CPU for the lookups, whose threads
  otherwise queue for the interpreter. Such a read cannot look at the clock, so one watchdog
  thread (:class:`_Deadlines`) shuts down the socket of any answer still arriving at its
  deadline.

Errors are :class:`TransportError` (worth retrying) or :class:`BodyTooLarge` (not).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

_CHUNK = 256 * 1024
_STALE = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)


class TransportError(Exception):
    """No complete answer: refused, reset, timed out, truncated, or the TLS handshake failed."""


class BodyTooLarge(Exception):
    """The body (decoded) is larger than the transport's limit; retrying will not help."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class Response:
    """A complete answer. ``headers`` has lower-case names; repeated fields are comma-joined."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class _Route(NamedTuple):
    """Where a connection goes: the origin, and the proxy in front of it, if any."""

    scheme: str
    host: str
    port: int
    proxy: str | None


class Transport:
    """Blocking GETs, safe to call from many threads at once; connections are shared.

    ``timeout`` bounds connecting and every wait for data; an answer as a whole must be
    complete within twice that. ``ssl_context`` is called once, when the first https
    connection is made: loading a CA bundle costs a noticeable fraction of a second, which a
    run against a plain-http or ``file://`` index should not pay. ``on_body_size`` is told
    each answer's ``Content-Length`` as soon as its headers arrive, before the body.
    """

    def __init__(
        self,
        *,
        timeout: float,
        max_body: int,
        user_agent: str,
        ssl_context: Callable[[], ssl.SSLContext],
        on_body_size: Callable[[int], None] | None = None,
    ) -> None:
        self.timeout = timeout
        self._on_body_size = on_body_size
        self.max_body = max_body
        self._user_agent = user_agent
        self._make_context = ssl_context
        self._context: ssl.SSLContext | None = None
        self._proxies = _environment_proxies()
        self._lock = threading.Lock()
        self._idle: dict[_Route, list[http.client.HTTPConnection]] = {}
        self._busy: set[http.client.HTTPConnection] = set()
        self._closed = False
        self._deadlines = _Deadlines()

    def get(
        self, url: str, headers: Mapping[str, str], auth: tuple[str, str] | None = None
    ) -> Response:
        """GET ``url`` without following redirects; raises :class:`TransportError`."""
        deadline = time.monotonic() + 2 * self.timeout
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"not an http(s) URL: {scheme or 'no scheme'}")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise TransportError(str(exc)) from None
        route = _Route(scheme, parts.hostname, port, self._proxy_for(scheme, parts.hostname))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if route.proxy is not None and scheme == "http":
            target = f"http://{_netloc(parts.hostname, parts.port)}{target}"  # absolute-form
        sent = {"User-Agent": self._user_agent, "Accept-Encoding": "gzip, deflate"}
        sent.update(headers)
        if auth is not None:
            sent["Authorization"] = _basic(*auth)
        if route.proxy is not None and scheme == "http":
            sent.update(_proxy_auth(route.proxy))
        for attempt in range(2):
            connection, reused = self._checkout(route)
            try:
                return self._exchange(connection, route, target, sent, deadline)
            except _StaleConnection as stale:
                if reused and attempt == 0:
                    continue
                raise TransportError(_describe(stale.cause)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close idle connections and cut in-flight ones short (their callers get an error)."""
        with self._lock:
            self._closed = True
            idle = [c for pool in self._idle.values() for c in pool]
            self._idle.clear()
            busy = list(self._busy)
        for connection in idle:
            connection.close()
        self._deadlines.stop()
        for connection in busy:
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    # -- one request ---------------------------------------------------------------------------

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        route: _Route,
        target: str,
        headers: Mapping[str, str],
        deadline: float,
    ) -> Response:
        keep = False
        try:
            try:
                if connection.sock is None:
                    connection.connect()
                sock = connection.sock
                if sock is None:  # pragma: no cover - connect() sets it or raises
                    raise TransportError("no connection")
                sock.settimeout(_remaining(deadline, self.timeout))
                connection.request("GET", target, headers=dict(headers))
                response = connection.getresponse()
            except _STALE as exc:
                raise _StaleConnection(exc) from None
            except (OSError, http.client.HTTPException) as exc:
                raise TransportError(_describe(exc)) from None
            if self._on_body_size is not None and response.length:
                self._on_body_size(response.length)
            try:
                body = self._read_body(response, sock, deadline)
            except (OSError, http.client.HTTPException, zlib.error) as exc:
                raise TransportError(_describe(exc)) from None
            keep = not response.will_close
            fields: dict[str, str] = {}
            for name, value in response.getheaders():
                key = name.lower()
                fields[key] = f"{fields[key]}, {value}" if key in fields else value
            return Response(response.status, fields, body)
        finally:
            self._checkin(route, connection, keep)

    def _read_body(
        self, response: http.client.HTTPResponse, sock: socket.socket, deadline: float
    ) -> bytes:
        encoding = (response.getheader("content-encoding") or "").strip().lower()
        if not encoding and response.length is not None:  # plain, of known length: one read
            if response.length > self.max_body:
                raise BodyTooLarge(self.max_body)
            if not response.length:  # a 304, say: nothing to wait for
                return response.read()
            # The socket keeps the timeout set for the request (no later than the deadline):
            # setting it again is a system call, and the watchdog keeps the deadline anyway.
            watch = self._deadlines.watch(sock, deadline)
            try:
                body = response.read()
            except BaseException:
                if self._deadlines.release(watch):  # the watchdog cut it short
                    raise TimeoutError("no complete answer in time") from None
                raise
            if self._deadlines.release(watch):  # complete, but on a socket now shut down
                raise TimeoutError("no complete answer in time")
            return body
        decoder = _Decoder(encoding, self.max_body)
        while True:
            sock.settimeout(_remaining(deadline, self.timeout))
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            decoder.feed(chunk)
        response.close()  # done with it: the connection may carry the next request
        if response.length:  # the server closed before sending what Content-Length promised
            raise http.client.IncompleteRead(b"", response.length)
        return decoder.finish()

    # -- connections ---------------------------------------------------------------------------

    def _checkout(self, route: _Route) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._closed:
                raise TransportError("the client is closed")
            pool = self._idle.get(route)
            if pool:
                connection = pool.pop()
                self._busy.add(connection)
                return connection, True
        connection = self._connection(route)
        with self._lock:
            self._busy.add(connection)
        return connection, False

    def _checkin(self, route: _Route, connection: http.client.HTTPConnection, keep: bool) -> None:
        with self._lock:
            self._busy.discard(connection)
            if keep and not self._closed:
                self._idle.setdefault(route, []).append(connection)
                return
        connection.close()

    def _connection(self, route: _Route) -> http.client.HTTPConnection:
        host, port = route.host, route.port
        tunnel = False
        if route.proxy is not None:
            proxy = urlsplit(route.proxy)
            if proxy.scheme.lower() != "http" or not proxy.hostname:
                raise TransportError(
                    f"proxy scheme {proxy.scheme or 'none'!r} is not supported "
                    "(use an http:// proxy)"
                )
            host, port = proxy.hostname, proxy.port or 80
            tunnel = route.scheme == "https"
        if route.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=self._tls()
            )
            if tunnel and route.proxy is not None:
                connection.set_tunnel(route.host, route.port, headers=_proxy_auth(route.proxy))
        else:
            connection = _PlainConnection(host, port, timeout=self.timeout)
        return connection

    def _tls(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self._context = self._make_context()
            return self._context

    def _proxy_for(self, scheme: str, host: str) -> str | None:
        proxy = self._proxies.get(scheme) or self._proxies.get("all")
        if not proxy:
            return None
        from urllib.request import proxy_bypass  # deferred with getproxies_environment

        if proxy_bypass(host):
            return None
        return proxy if "://" in proxy else f"http://{proxy}"


class _PlainConnection(http.client.HTTPConnection):
    """An http connection whose ASCII host name is resolved as bytes.

    ``socket.getaddrinfo`` encodes a ``str`` host with the ``idna`` codec, whose first use
    imports ``encodings.idna``, ``stringprep`` and ``unicodedata``: more CPU than a whole warm
    lookup of a hundred pages. An ASCII name means the same in bytes. (TLS connections encode
    the name for SNI with ``idna`` anyway, so they keep the default.)
    """

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._create_connection = _ascii_create_connection


def _ascii_create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    host, port = address
    target: str | bytes = host.encode("ascii") if host.isascii() else host
    return socket.create_connection((target, port), *args, **kwargs)  # type: ignore[arg-type]


class _Deadlines:
    """A watchdog thread that shuts down the socket of any answer still arriving at its
    deadline, ending a blocking read that cannot check the clock itself (started on first
    use; one per transport)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._watched: dict[int, tuple[float, socket.socket]] = {}
        self._expired: set[int] = set()
        self._serial = 0
        self._wake_at = float("inf")
        self._thread: threading.Thread | None = None
        self._stopped = False

    def watch(self, sock: socket.socket, deadline: float) -> int:
        """Start watching ``sock``; the key to :meth:`release` it with."""
        with self._changed:
            self._serial += 1
            self._watched[self._serial] = (deadline, sock)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="greenbump-deadlines", daemon=True
                )
                self._thread.start()
            elif deadline < self._wake_at:  # deadlines mostly come in order: rarely needed
                self._changed.notify()
            return self._serial

    def release(self, key: int) -> bool:
        """Stop watching; ``True`` when the deadline passed and the socket was shut down."""
        with self._changed:
            self._watched.pop(key, None)
            if key in self._expired:
                self._expired.discard(key)
                return True
            return False

    def stop(self) -> None:
        """End the thread (a run with no other thread left may end without teardown)."""
        with self._changed:
            self._stopped = True
            self._changed.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        with self._changed:
            while not self._stopped:
                now = time.monotonic()
                for key, (deadline, sock) in list(self._watched.items()):
                    if deadline <= now:
                        del self._watched[key]
                        self._expired.add(key)
                        with contextlib.suppress(OSError):  # the plain socket's: TLS state stays
                            socket.socket.shutdown(sock, socket.SHUT_RDWR)
                self._wake_at = min((d for d, _ in self._watched.values()), default=now + 3600)
                self._changed.wait(self._wake_at - now)


class _StaleConnection(Exception):
    """A connection failed before any answer arrived: reconnect once if it was a reused one."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Decoder:
    """``Content-Encoding`` undone chunk by chunk, never producing more than ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        self.encoding = encoding
        self._zlib: zlib._Decompress | None = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":  # zlib-wrapped as the RFC says, or raw as some servers send
            self._zlib = zlib.decompressobj(32 + zlib.MAX_WBITS)
        self._raw_fallback = encoding == "deflate"

    def feed(self, chunk: bytes) -> None:
        if self._zlib is None:
            self._add(chunk)
            return
        try:
            out = self._zlib.decompress(chunk, self.limit - self.size + 1)
        except zlib.error:
            if not (self._raw_fallback and self.size == 0 and not self.parts):
                raise
            self._raw_fallback = False
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._zlib.decompress(chunk, self.limit - self.size + 1)
        self._add(out)
        if self._zlib.unconsumed_tail:
            raise BodyTooLarge(self.limit)

    def finish(self) -> bytes:
        if self._zlib is not None:
            self._add(self._zlib.flush())
        return b"".join(self.parts)

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise BodyTooLarge(self.limit)
        if data:
            self.parts.append(data)


def _environment_proxies() -> dict[str, str]:
    """``urllib.request.getproxies_environment()``; that module (a heavy import) is only
    loaded when some ``*_proxy`` variable names a proxy, which most runs do not have
    (``no_proxy`` alone changes nothing: it is read again by ``proxy_bypass`` when used)."""
    if not any(
        value and name.lower().endswith("_proxy") and name.lower() != "no_proxy"
        for name, value in os.environ.items()
    ):
        return {}  # no proxy: what getproxies_environment() means then, for our use
    from urllib.request import getproxies_environment

    return getproxies_environment()


def _remaining(deadline: float, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("no complete answer in time")
    return min(timeout, left)


def _netloc(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def _basic(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _proxy_auth(proxy: str) -> dict[str, str]:
    parts = urlsplit(proxy)
    if parts.username is None:
        return {}
    return {"Proxy-Authorization": _basic(unquote(parts.username), unquote(parts.password or ""))}


def _describe(exc: BaseException) -> str:
    """A short reason for a message: never a URL (callers add theirs, redacted)."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed before the whole answer arrived"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


__all__ = ["BodyTooLarge", "Response", "Transport", "TransportError"]
