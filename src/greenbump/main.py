"""The command line: parse arguments, dispatch to a command, map errors to exit codes.

Commands live in :mod:`greenbump.commands`, one module each; this module only wires them up and
owns the single place where exceptions become messages and exit codes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from greenbump import __version__
from greenbump.commands import check, deps, history, rollback, show, upgrade
from greenbump.errors import (
    EXIT_BUG,
    EXIT_INPUT,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    GreenbumpError,
    Terminated,
)
from greenbump.redact import forget_secrets, redact_text
from greenbump.runlog import add_verbosity_flags, configure_console, console_level

EPILOG = """exit codes:
  0  success
  1  a check or gate failed (--fail-on, tests red)
  2  usage or input error (the message names file and line)
  3  external failure (index unreachable, tool missing)
  4  internal error (a crash log is written)
  130/143  interrupted by SIGINT/SIGTERM
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        """Usage errors exit 2 with one line, as every other input error does."""
        self.print_usage(sys.stderr)
        sys.stderr.write(f"greenbump: error: {message}\n")
        raise SystemExit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-command per module in :mod:`greenbump.commands`."""
    parser = _Parser(
        prog="greenbump",
        description="Keep a Python application's dependencies up to date, safely.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"greenbump {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    deps.add_parser(sub)
    check.add_parser(sub)
    upgrade.add_parser(sub)
    rollback.add_parser(sub)
    history.add_parser(sub)
    show.add_parser(sub)
    add_verbosity_flags(parser)
    for command in sub.choices.values():  # also after the command: `greenbump upgrade -v`
        command.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS)
        command.add_argument("-q", "--quiet", action="count", default=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run greenbump with ``argv`` and return the exit code."""
    forget_secrets()  # a new run: only its own configuration's secrets are remembered
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(words)
    args.command_line = ["greenbump", *words]  # as the user typed it, for the run history
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_INPUT
    configure_console(console_level(args.verbose, args.quiet))
    try:
        code: int = args.run(args)
    except GreenbumpError as exc:
        sys.stderr.write(f"greenbump: error: {redact_text(str(exc))}\n")
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`greenbump show latest | head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("greenbump: interrupted\n")
        return EXIT_SIGINT
    except Terminated:
        sys.stderr.write("greenbump: terminated\n")
        return EXIT_SIGTERM
    except Exception as exc:  # the one place that turns crashes into exit 4
        log = _write_crash_log(exc)
        sys.stderr.write(
            f"greenbump: internal error: {redact_text(str(exc)) or type(exc).__name__}\n"
            f"  details in {log}\n"
        )
        return EXIT_BUG
    return code


def _write_crash_log(exc: BaseException) -> Path:
    import datetime  # deferred, like the two below: only a crash needs them
    import tempfile
    import traceback

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = Path(tempfile.gettempdir())
    path = folder / f"greenbump-crash-{stamp}-{os.getpid()}.log"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    path.write_text(redact_text(text), encoding="utf-8")
    return path


def entry() -> None:
    """Console-script entry point (see :mod:`greenbump.launch`, which installs signals first)."""
    from greenbump.launch import entry as launch

    launch()
