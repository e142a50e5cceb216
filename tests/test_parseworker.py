"""The parse worker: a second process that digests large index pages.

Its answers must be exactly the digests the index client makes in place, its errors the same
messages, and a worker that cannot run must only make the client parse pages itself.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

from greenbump.pages import digest_json_page
from greenbump.parseworker import ParsePool, ParseWorker, serve


def page(name: str, count: int) -> bytes:
    files = [
        {
            "filename": f"{name}-1.{n // 2}.0-py3-none-any.whl"
            if n % 2
            else f"{name}-1.{n // 2}.0.tar.gz",
            "url": f"https://files.test/{name}/{n}",
            "hashes": {"sha256": f"{n:064x}"},
            "requires-python": ">=3.8" if n % 3 else ">=3.9",
            "upload-time": f"2024-01-{1 + n % 28:02d}T00:00:{n % 60:02d}.000000Z",
            "yanked": n % 7 == 0,
        }
        for n in range(count)
    ]
    return json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": files}).encode()


def exchange(project: str, body: bytes) -> bytes:
    return json.dumps({"project": project, "size": len(body)}).encode() + b"\n" + body


def test_serve_answers_digests_and_errors_in_order() -> None:
    good = page("demo", 50)
    requests = exchange("Demo", good) + exchange("demo", b"{not json") + exchange("demo", b"[]")
    out = io.BytesIO()
    serve(io.BytesIO(requests), out)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert answers[0] == {"rows": digest_json_page(good, "demo")}
    assert answers[0]["rows"][0][0] == "1.0.0"  # sorted by version
    assert answers[1]["error"].startswith("invalid JSON")
    assert answers[2] == {"error": "the JSON document is not an object"}


def test_a_real_worker_process_gives_the_in_process_digest() -> None:
    pool = ParsePool(2)
    try:
        bodies = [page(f"p{n}", 400 + n) for n in range(4)]
        for n, body in enumerate(bodies):
            assert pool.digest(f"p{n}", body) == digest_json_page(body, f"p{n}")
        assert pool.digest("p0", b"\xff\xfe") == digest_error(b"\xff\xfe")
    finally:
        pool.close()


def digest_error(body: bytes) -> str:
    try:
        digest_json_page(body, "p0")
    except ValueError as exc:
        return str(exc)
    raise AssertionError("expected an error")


def test_a_worker_that_cannot_run_means_parse_in_place() -> None:
    dead = ParseWorker([sys.executable, "-c", "import sys; sys.exit(3)"])
    try:
        assert dead.digest("demo", page("demo", 5)) is None
        assert dead.digest("demo", page("demo", 5)) is None  # not retried: known broken
    finally:
        dead.close()


def test_a_stuck_worker_is_killed_and_the_page_parsed_in_place() -> None:
    stuck = ParseWorker([sys.executable, "-c", "import time; time.sleep(600)"], timeout=0.5)
    try:
        assert stuck.digest("demo", page("demo", 5)) is None  # after half a second, not 600
    finally:
        stuck.close()


def test_a_closed_worker_starts_no_new_process() -> None:
    worker = ParseWorker()
    body = page("demo", 5)
    assert worker.digest("demo", body) == digest_json_page(body, "demo")
    worker.close()
    assert worker.digest("demo", body) is None  # parsed in place from now on
    assert worker._process is None


def test_a_worker_answers_every_page_then_exits_cleanly_at_end_of_input() -> None:
    bodies = [page(f"p{n}", 300 + n) for n in range(3)]
    done = subprocess.run(
        [sys.executable, "-m", "greenbump.parseworker"],
        input=b"".join(exchange(f"p{n}", body) for n, body in enumerate(bodies)),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert answers == [{"rows": digest_json_page(b, f"p{n}")} for n, b in enumerate(bodies)]


def test_a_worker_loads_no_client_modules() -> None:
    """A worker starts per check: it needs the page parser only, not the HTTP client, TLS or
    the index configuration (each worker used to pay for those at start-up)."""
    code = (
        "import sys, greenbump.parseworker, greenbump.pages;"
        "print(*sorted(m for m in sys.modules"
        " if m in ('http.client', 'ssl', 'platformdirs') or m.startswith('greenbump.index')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []


def test_a_pool_started_ahead_has_its_processes_running_and_digests() -> None:
    pool = ParsePool(2)
    try:
        pool.start()
        processes = [worker._process for worker in pool._all]
        assert all(p is not None and p.poll() is None for p in processes)
        pool.start()  # already running: the same processes
        assert [worker._process for worker in pool._all] == processes
        body = page("demo", 40)
        assert pool.digest("demo", body) == digest_json_page(body, "demo")
    finally:
        pool.close()
