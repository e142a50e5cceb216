"""The floor of any CPython ``check``: only the index requests, nothing else.

One GET of the PEP 691 page of every package a ``requirements.txt`` pins, on kept-alive
``http.client`` connections from as many threads as ``greenbump check`` uses by default,
conditional (``If-None-Match`` / ``If-Modified-Since``) when an earlier run stored the
validators under ``$XDG_CACHE_HOME/http-floor``; a 200 body is decoded with ``json.loads``.
No cache of bodies, no parsing of releases, no advisories, no report: whatever a Python tool
does on top of this is its own cost, and what this costs no CPython tool can avoid on the same
machine. ``benchmarks/check_bench.py`` runs it beside greenbump, uv and pip.

    python benchmarks/http_floor.py --index-url URL --requirements FILE [--jobs 16]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ACCEPT = "application/vnd.pypi.simple.v1+json"


def main() -> int:
    """Ask the index for every pinned package; exit 1 if any page is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-url", required=True)
    parser.add_argument("--requirements", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=16)
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
    local = threading.local()
    host, port = base.hostname, base.port or 80

    def fetch(name: str) -> int:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection(host, port, timeout=30)
        headers = {"Accept": ACCEPT, **validators.get(name, {})}
        connection.request("GET", f"{base.path.rstrip('/')}/{name}/", headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status == 200:
            json.loads(body)
            validators[name] = {
                header: value
                for header, value in (
                    ("If-None-Match", response.getheader("ETag")),
                    ("If-Modified-Since", response.getheader("Last-Modified")),
                )
                if value
            }
        return response.status

    with ThreadPoolExecutor(args.jobs) as pool:
        statuses = list(pool.map(fetch, names))
    if 200 in statuses:  # new validators to keep (a warm run writes nothing)
        state.mkdir(parents=True, exist_ok=True)
        stored.write_text(json.dumps(validators), encoding="utf-8")
    missing = [n for n, s in zip(names, statuses, strict=True) if s not in (200, 304)]
    print(json.dumps({"pages": len(names), "not_modified": statuses.count(304)}))
    if missing:
        print(f"no page for {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
