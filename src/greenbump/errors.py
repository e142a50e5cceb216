"""The exception tree and the exit codes it maps to.

Every error a user can cause or meet carries its own exit code and a message that stands on its
own, so the one handler in :mod:`greenbump.main` can print it without a traceback.
"""

from __future__ import annotations

from pathlib import PurePath, PurePosixPath

EXIT_OK = 0
EXIT_GATE = 1
EXIT_INPUT = 2
EXIT_EXTERNAL = 3
EXIT_BUG = 4
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class GreenbumpError(Exception):
    """Base of every error greenbump reports to the user."""

    exit_code = EXIT_BUG


class InputError(GreenbumpError, ValueError):
    """Bad input from the user: a file we cannot parse, a bad flag, an unknown package.

    ``path`` and ``line`` (1-based) point at the offending place; the message then reads
    ``path:line: message`` like a compiler's.
    """

    exit_code = EXIT_INPUT

    def __init__(
        self, message: str, path: PurePath | str | None = None, line: int | None = None
    ) -> None:
        self.message = message
        self.path = PurePosixPath(PurePath(path).as_posix()) if path is not None else None
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = self.path.as_posix()
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.message}"


class ExternalError(GreenbumpError):
    """Something outside greenbump failed: an index is unreachable, a tool is missing."""

    exit_code = EXIT_EXTERNAL


class GateFailed(GreenbumpError):
    """A check the user asked for failed (``--fail-on``, a red test run)."""

    exit_code = EXIT_GATE


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM, so cleanup runs exactly as for ^C."""
