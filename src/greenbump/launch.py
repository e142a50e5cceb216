"""Process entry point: signal handlers first, everything else after.

A signal can arrive while Python is still importing greenbump's modules (httpx, rich...). The
handlers are installed before those imports, so ^C and SIGTERM at any moment end in the same
clean exit (130 / 143, cleanup run, no traceback).
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

from greenbump.errors import EXIT_SIGINT, EXIT_SIGTERM, Terminated


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def entry() -> None:
    """Run the command line and exit with its code."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from greenbump.main import main

        code = main()
        _ignore_late_signals()
    except KeyboardInterrupt:
        sys.stderr.write("greenbump: interrupted\n")
        code = EXIT_SIGINT
    except Terminated:
        sys.stderr.write("greenbump: terminated\n")
        code = EXIT_SIGTERM
    _ignore_late_signals()
    sys.exit(code)


def _ignore_late_signals() -> None:
    """The work is done (or cleaned up): a signal arriving while the interpreter shuts down
    must not turn a finished run into a death by signal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
