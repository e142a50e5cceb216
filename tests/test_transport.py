"""The index pages' HTTP transport against raw local servers that send exactly chosen bytes.

Each server here is a socket on 127.0.0.1 whose handler writes the answer by hand, so the
tests control what ``http.client`` sees: compressed bodies, kept-alive and dropped
connections, a drip of bytes, a proxy in between, TLS with a private CA.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from certs import self_signed
from greenbump.transport import BodyTooLarge, Transport, TransportError

Handler = Callable[[socket.socket, "RawServer"], None]


@dataclass
class RawServer:
    """Accepts connections and hands each to ``handler`` in its own thread."""

    handler: Handler
    context: ssl.SSLContext | None = None
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        scheme = "https" if self.context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            self.handler(conn, self)
        except OSError:
            pass
        finally:
            conn.close()

    def read_request(self, conn: socket.socket) -> bytes | None:
        """The next request head on ``conn`` (``None`` when the client closed it)."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        self.requests.append(data)
        return data

    def close(self) -> None:
        self.sock.close()


def answer(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler, context: ssl.SSLContext | None = None) -> RawServer:
        server = RawServer(handler, context)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


_OPEN: list[Transport] = []


def transport(
    timeout: float = 5.0,
    max_body: int = 1 << 20,
    context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
) -> Transport:
    """A transport closed after the test (its idle connections would otherwise leak)."""
    made = Transport(
        timeout=timeout, max_body=max_body, user_agent="greenbump-test", ssl_context=context
    )
    _OPEN.append(made)
    return made


@pytest.fixture(autouse=True)
def _close_transports() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def keep_alive(body: bytes, *headers: str) -> Handler:
    def handle(conn: socket.socket, server: RawServer) -> None:
        while server.read_request(conn) is not None:
            conn.sendall(answer(body, *headers))

    return handle


def test_one_connection_carries_many_requests(serve: Callable[..., RawServer]) -> None:
    server = serve(keep_alive(b'{"ok": true}', "Content-Type: application/json"))
    client = transport()
    for _ in range(5):
        response = client.get(server.url + "/simple/demo/", {"Accept": "application/json"})
        assert response.status == 200
        assert response.body == b'{"ok": true}'
        assert response.headers["content-type"] == "application/json"
    client.close()
    assert server.connections == 1
    assert len(server.requests) == 5
    assert b"GET /simple/demo/ HTTP/1.1" in server.requests[0]
    assert b"User-Agent: greenbump-test" in server.requests[0]


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw, as some servers send
    ],
)
def test_compressed_bodies_are_decoded(
    serve: Callable[..., RawServer], encoding: str, encode: Callable[[bytes], bytes]
) -> None:
    page = b'{"files": []}' * 1000
    server = serve(keep_alive(encode(page), f"Content-Encoding: {encoding}"))
    response = transport().get(server.url + "/", {})
    assert response.body == page
    assert b"Accept-Encoding: gzip, deflate" in server.requests[0]


def test_a_compressed_bomb_is_refused_before_it_expands(serve: Callable[..., RawServer]) -> None:
    bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MiB of zeros in about 64 KiB
    server = serve(keep_alive(bomb, "Content-Encoding: gzip"))
    with pytest.raises(BodyTooLarge):
        transport(max_body=1 << 20).get(server.url + "/", {})


def test_a_plain_body_over_the_limit_is_refused(serve: Callable[..., RawServer]) -> None:
    server = serve(keep_alive(b"x" * 5000))
    with pytest.raises(BodyTooLarge):
        transport(max_body=4096).get(server.url + "/", {})


def test_a_kept_alive_connection_the_server_dropped_is_replaced_silently(
    serve: Callable[..., RawServer],
) -> None:
    def one_answer_then_close(conn: socket.socket, server: RawServer) -> None:
        if server.read_request(conn) is not None:
            conn.sendall(answer(b"ok"))  # says keep-alive (HTTP/1.1) but closes after it

    server = serve(one_answer_then_close)
    client = transport()
    assert client.get(server.url + "/a", {}).body == b"ok"
    time.sleep(0.1)  # the server's close has arrived
    assert client.get(server.url + "/b", {}).body == b"ok"
    assert server.connections == 2


def test_a_body_shorter_than_announced_is_a_transport_error(
    serve: Callable[..., RawServer],
) -> None:
    def truncated(conn: socket.socket, server: RawServer) -> None:
        if server.read_request(conn) is not None:
            conn.sendall(answer(b"0123456789")[:-4])

    server = serve(truncated)
    with pytest.raises(TransportError, match="closed before the whole answer"):
        transport().get(server.url + "/", {})


@pytest.mark.parametrize(
    ("framing", "piece"),
    [
        (b"Content-Length: 1000", b"x"),  # read in one call: the watchdog cuts it
        (b"Transfer-Encoding: chunked", b"1\r\nx\r\n"),  # read piece by piece
    ],
)
def test_a_drip_of_bytes_cannot_outlast_the_deadline(
    serve: Callable[..., RawServer], framing: bytes, piece: bytes
) -> None:
    def drip(conn: socket.socket, server: RawServer) -> None:
        if server.read_request(conn) is None:
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + framing + b"\r\n\r\n")
        for _ in range(1000):
            conn.sendall(piece)
            time.sleep(0.05)  # each byte well within the read timeout

    server = serve(drip)
    started = time.monotonic()
    with pytest.raises(TransportError, match="timed out"):
        transport(timeout=0.3).get(server.url + "/", {})
    assert time.monotonic() - started < 2.0  # twice the timeout, plus slack


def test_refused_connection_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    with pytest.raises(TransportError, match="refused"):
        transport().get(f"http://127.0.0.1:{port}/", {})


def test_basic_auth_is_sent_to_the_origin(serve: Callable[..., RawServer]) -> None:
    server = serve(keep_alive(b"ok"))
    transport().get(server.url + "/", {}, auth=("alice", "s3cret"))
    assert b"Authorization: Basic YWxpY2U6czNjcmV0" in server.requests[0]


def test_http_proxy_from_the_environment(
    serve: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = serve(keep_alive(b"via proxy"))
    monkeypatch.setenv("HTTP_PROXY", f"http://bob:pw@127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    response = transport().get("http://index.invalid:8080/simple/demo/?x=1", {})
    assert response.body == b"via proxy"
    head = proxy.requests[0]
    assert head.startswith(b"GET http://index.invalid:8080/simple/demo/?x=1 HTTP/1.1")
    assert b"Host: index.invalid:8080" in head
    assert b"Proxy-Authorization: Basic Ym9iOnB3" in head


def test_no_proxy_bypasses_the_proxy(
    serve: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    origin = serve(keep_alive(b"direct"))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # would be refused if used
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert transport().get(origin.url + "/", {}).body == b"direct"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def test_https_verifies_against_the_given_ca(
    serve: Callable[..., RawServer], tls_files: tuple[Path, Path]
) -> None:
    cert, key = tls_files
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server = serve(keep_alive(b"secure"), server_context)
    trusting = transport(context=lambda: ssl.create_default_context(cafile=str(cert)))
    assert trusting.get(server.url + "/", {}).body == b"secure"
    assert trusting.get(server.url + "/again", {}).body == b"secure"
    assert server.connections == 1
    with pytest.raises(TransportError, match=r"TLS|certificate"):
        transport().get(server.url + "/", {})  # the system CAs do not know this one


def test_close_cuts_a_request_in_flight_short(serve: Callable[..., RawServer]) -> None:
    def never_answers(conn: socket.socket, server: RawServer) -> None:
        server.read_request(conn)
        time.sleep(10)

    server = serve(never_answers)
    client = transport(timeout=30.0)
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            client.get(server.url + "/", {})
        except BaseException as exc:  # recorded for the assertion
            errors.append(exc)

    worker = threading.Thread(target=fetch)
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    client.close()
    worker.join(5)
    assert not worker.is_alive()
    assert time.monotonic() - started < 5
    assert errors and isinstance(errors[0], TransportError)


def test_the_body_size_is_told_before_the_body_arrives(serve: Callable[..., RawServer]) -> None:
    told = threading.Event()
    sizes: list[int] = []

    def half_then_rest(conn: socket.socket, server: RawServer) -> None:
        if server.read_request(conn) is None:
            return
        whole = answer(b"x" * 1000)
        conn.sendall(whole[:-500])
        if told.wait(5):  # the rest only once the client has said how much is coming
            conn.sendall(whole[-500:])  # (else the connection closes: a truncated answer)

    def on_body_size(size: int) -> None:
        sizes.append(size)
        told.set()

    server = serve(half_then_rest)
    made = Transport(
        timeout=5.0,
        max_body=1 << 20,
        user_agent="greenbump-test",
        ssl_context=ssl.create_default_context,
        on_body_size=on_body_size,
    )
    _OPEN.append(made)
    assert made.get(server.url + "/", {}).body == b"x" * 1000
    assert sizes == [1000]
