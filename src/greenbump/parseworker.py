"""A second process that digests large index pages, so parsing uses a second core.

Decoding a project page and reading its entries is pure Python and holds the GIL: on a large
application's first check (150,000 files, 66 MB of JSON) it is seconds of CPU in the one
process that also handles TLS, decompression and the cache. Pages above
:data:`LARGE_PAGE` go to this worker instead, one at a time, over a pipe.

A plain subprocess (``python -m greenbump.parseworker``) rather than :mod:`multiprocessing`:
the spawn start method re-imports the parent's main module, and fork is unsafe in a process
that has lookup threads running.

Protocol, one exchange per page: a JSON header line (``project``, ``size``, ``floor``: the
version below which releases may be only named, or null), then ``size``
bytes of the page; the answer is one JSON line, ``{"rows": [...]}`` (a digest, see
:func:`greenbump.pages.digest_of`) or ``{"error": "..."}`` saying what is wrong with the page.
The worker exits at end of input, so it never outlives its parent.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import queue
import subprocess
import sys
import threading
from typing import IO, TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from packaging.version import Version

LARGE_PAGE = 256 * 1024  # bytes of JSON: smaller pages are parsed in place


class ParseWorker:
    """The parent's side: started on first use; ``None`` answers mean "parse it yourself"."""

    def __init__(self, command: list[str] | None = None, timeout: float = 60.0) -> None:
        self._command = command or [sys.executable, "-m", "greenbump.parseworker"]
        self._timeout = timeout  # per page; the largest real pages take well under a second
        self._process: subprocess.Popen[bytes] | None = None
        self._broken = False
        self._lock = threading.Lock()

    def digest(self, project: str, body: bytes, floor: str | None = None) -> list[Any] | str | None:
        """Digest rows (releases older than ``floor`` only named), or the error text for a bad
        page, or ``None`` when the worker cannot be used (it could not start, died, or took
        longer than ``timeout``: it is killed then, so a stuck worker never stalls a check):
        the caller then parses the page."""
        with self._lock:
            if self._broken:
                return None
            watchdog: threading.Timer | None = None
            try:
                stdin, stdout = self._pipes()
                watchdog = threading.Timer(self._timeout, self._kill)
                watchdog.start()
                request = {"project": project, "size": len(body), "floor": floor}
                header = json.dumps(request).encode()
                stdin.write(header + b"\n")
                stdin.write(body)
                stdin.flush()
                answer = json.loads(stdout.readline())  # EOF (b"") if killed: ValueError
            except (OSError, ValueError):
                self._broken = True
                self._stop()
                return None
            finally:
                if watchdog is not None:
                    watchdog.cancel()
        if isinstance(answer, dict) and isinstance(answer.get("rows"), list):
            return list(answer["rows"])
        if isinstance(answer, dict) and isinstance(answer.get("error"), str):
            return str(answer["error"])
        return None

    def start(self) -> None:
        """Start the process now if it is not running (its first page may follow soon)."""
        if self._process is not None:  # the usual, once started: no lock needed to see it
            return
        with self._lock:
            if not self._broken:
                try:
                    self._started()
                except OSError:
                    self._broken = True

    def close(self) -> None:
        """Stop the worker; later pages are parsed in place (a closed client may still be
        finishing lookups in other threads, and must not start a worker nobody stops)."""
        with self._lock:
            self._broken = True
            self._stop()

    def hang_up(self) -> None:
        """End the worker's input without waiting for it (see :meth:`ParsePool.close`)."""
        with self._lock:
            process = self._process
            if process is not None and process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        process = self._started()
        if process.stdin is None or process.stdout is None:  # pragma: no cover - PIPE given
            raise OSError("the parse worker has no pipes")
        return process.stdin, process.stdout

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            env = dict(os.environ, PYTHONSAFEPATH="1")  # do not import from the cwd
            self._process = subprocess.Popen(
                self._command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        return self._process

    def _kill(self) -> None:
        process = self._process
        if process is not None:
            process.kill()

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()


class ParsePool:
    """``size`` workers, each page to one that is free (started on first use)."""

    def __init__(self, size: int) -> None:
        self._idle: queue.SimpleQueue[ParseWorker] = queue.SimpleQueue()
        self._all = [ParseWorker() for _ in range(max(1, size))]
        for worker in self._all:
            self._idle.put(worker)

    def start(self) -> None:
        """Start every worker that is not running yet."""
        for worker in self._all:
            worker.start()

    def digest(self, project: str, body: bytes, floor: str | None = None) -> list[Any] | str | None:
        """As :meth:`ParseWorker.digest`, from the first worker free."""
        worker = self._idle.get()
        try:
            return worker.digest(project, body, floor)
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        """Stop every worker: all are told first, so they wind down side by side."""
        for worker in self._all:
            worker.hang_up()
        for worker in self._all:
            worker.close()


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    """The worker's loop: answer each page until the input ends."""
    from greenbump.pages import digest_json_page, prepare_json_decoding

    prepare_json_decoding()  # while the first page is still on its way

    while line := source.readline():
        request = json.loads(line)
        size = int(request["size"])
        body = source.read(size)
        if len(body) != size:
            return  # the parent went away mid-page
        try:
            floor = _version(request.get("floor"))
            answer: dict[str, Any] = {"rows": digest_json_page(body, request["project"], floor)}
        except ValueError as exc:
            answer = {"error": str(exc)}
        sink.write(json.dumps(answer).encode() + b"\n")
        sink.flush()


def _version(text: object) -> Version | None:
    from packaging.version import InvalidVersion, Version  # the page's import

    if not isinstance(text, str):
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def main() -> None:
    """Serve until the parent hangs up, then end at once: every answer is already flushed,
    and tearing down an interpreter that decoded tens of MB of JSON took ~50 ms per worker,
    which the parent spent waiting at the end of a first check.

    Without the cyclic garbage collector: a page's objects hold no cycles and are freed as
    soon as its answer is written, while the collector's passes over them were a tenth of a
    worker's CPU."""
    gc.disable()
    serve(sys.stdin.buffer, sys.stdout.buffer)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
