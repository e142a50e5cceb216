"""The floor of any CPython ``check``: only the index requests, nothing else.

One GET of the PEP 691 page of every package a ``requirements.txt`` pins, conditional
(``If-None-Match`` / ``If-Modified-Since``) when an earlier run stored the validators under
``$XDG_CACHE_HOME/http-floor``; a 200 body is decoded with ``json.loads``. No cache of bodies,
no parsing of releases, no advisories, no report: whatever a Python tool does on top of this is
its own cost. ``benchmarks/check_bench.py`` runs it beside greenbump, uv and pip.

The requests go out from one thread over ``--connections`` kept-alive non-blocking sockets
(``selectors``), each sending its next request as soon as an answer is complete, with the
fewest imports that can speak HTTP/1.1 to the local test index (sized bodies only): threads
and ``http.client`` cost a CPython client more than the waiting they hide (measured on the
2-core machine against the local index, 200 pages warm: 16 threads of ``http.client`` took
1.3x uv's time, this loop about uv's own), so this is the fastest a CPython client gets here.

    python benchmarks/http_floor.py --index-url URL --requirements FILE [--connections 8]
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

ACCEPT = "application/vnd.pypi.simple.v1+json"


class _Connection:
    """One kept-alive socket: the name asked on it and the bytes received so far."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buffer = b""
        self.asking: str | None = None


def _answer(buffer: bytes) -> tuple[int, dict[str, str], bytes, bytes] | None:
    """Status, headers, body and the rest, once ``buffer`` holds a whole sized answer."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buffer[:end].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    size = int(headers.get("content-length", "0"))
    if len(buffer) < end + 4 + size:
        return None
    body = buffer[end + 4 : end + 4 + size]
    return int(lines[0].split()[1]), headers, body, buffer[end + 4 + size :]


def main() -> int:
    """Ask the index for every pinned package; exit 1 if any page is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-url", required=True)
    parser.add_argument("--requirements", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    names = [
        line.split("==", 1)[0].strip().lower()
        for line in args.requirements.read_text(encoding="utf-8").splitlines()
        if "==" in line
    ]
    base = urlsplit(args.index_url)
    if base.scheme != "http" or base.hostname is None:
        parser.error("a plain http:// index URL (the local test index) is expected")
    state = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "http-floor"
    stored = state / "validators.json"
    validators: dict[str, dict[str, str]] = (
        json.loads(stored.read_text(encoding="utf-8")) if stored.is_file() else {}
    )
    host, port = base.hostname, base.port or 80
    prefix = base.path.rstrip("/")
    waiting = list(reversed(names))
    statuses: dict[str, int] = {}

    def ask(connection: _Connection) -> None:
        if not waiting:
            connection.asking = None
            return
        name = connection.asking = waiting.pop()
        head = f"GET {prefix}/{name}/ HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: {ACCEPT}\r\n"
        for header, value in validators.get(name, {}).items():
            head += f"{header}: {value}\r\n"
        connection.sock.sendall(f"{head}\r\n".encode("latin-1"))

    selector = selectors.DefaultSelector()
    for _ in range(min(args.connections, len(names))):
        connection = _Connection(host, port)
        selector.register(connection.sock, selectors.EVENT_READ, connection)
        ask(connection)
    while len(statuses) < len(names):
        for key, _events in selector.select():
            connection = key.data
            data = connection.sock.recv(1 << 18)
            if not data:
                raise SystemExit("the index closed a connection")
            connection.buffer += data
            answer = _answer(connection.buffer)
            if answer is None or connection.asking is None:
                continue
            status, headers, body, connection.buffer = answer
            name = connection.asking
            statuses[name] = status
            if status == 200:
                json.loads(body)
                validators[name] = {
                    header: headers[field]
                    for header, field in (
                        ("If-None-Match", "etag"),
                        ("If-Modified-Since", "last-modified"),
                    )
                    if headers.get(field)
                }
            ask(connection)
    if 200 in statuses.values():  # new validators to keep (a warm run writes nothing)
        state.mkdir(parents=True, exist_ok=True)
        stored.write_text(json.dumps(validators), encoding="utf-8")
    missing = [name for name in names if statuses[name] not in (200, 304)]
    counts = list(statuses.values())
    print(json.dumps({"pages": len(names), "not_modified": counts.count(304)}))
    if missing:
        print(f"no page for {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
