"""Write the README's reliability table from the test suite's own case counts.

Counts come from the test modules themselves (their case tables and trial numbers), so the
README cannot promise more than the suite tries; ``tests/test_reliability_table.py`` fails when
the README is out of date. Usage: ``python scripts/reliability_table.py [--check]``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- reliability-table:begin -->"
END = "<!-- reliability-table:end -->"


def rows() -> list[tuple[str, str, str]]:
    """(fault class, cases the suite tries, guarantee)."""
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src")]
    interrupt = importlib.import_module("test_interrupt")
    faults = importlib.import_module("test_faults")
    bad = importlib.import_module("test_bad_input")
    signals = len(interrupt.SIGNALS)
    return [
        (
            "Interruption (SIGINT, SIGTERM, SIGKILL at random moments of `upgrade`)",
            f"{interrupt.DEFAULT_TRIALS * signals} trials ({interrupt.DEFAULT_TRIALS} per signal;"
            f" {interrupt.SLOW_TRIALS * signals} with `--run-slow`) + "
            f"{interrupt.NO_COMMIT_TRIALS * 2} `--no-commit` trials (SIGTERM, SIGKILL)",
            "branch, HEAD, index and work tree byte-for-byte as before; exit 130/143 with the "
            "scratch worktree removed; the history never shows a killed run as running; the "
            "next run succeeds and removes what a SIGKILL left; with `--no-commit` each file "
            "is wholly old or wholly new",
        ),
        (
            "Index faults (5xx, resets, time-outs, slow drip, bad JSON, wrong type, "
            "foreign redirect, huge page, 401)",
            f"{len(faults.FAULTS) * 2} cases ({len(faults.FAULTS)} faults x check, upgrade)",
            "bounded retries, one message, exit 3, nothing written",
        ),
        (
            "Bad input (malformed TOML, invalid lines, include cycles and missing includes, "
            "non-UTF-8, binary, conflicting pins, bad settings)",
            f"{len(bad.CASES) * len(bad.COMMANDS)} cases ({len(bad.CASES)} inputs x "
            f"{', '.join(bad.COMMANDS)}) + huge file, symlinks, unknown package",
            "`file:line: message`, exit 2, no traceback, nothing changed",
        ),
        (
            "Reader fuzzing (hypothesis)",
            "arbitrary text and TOML fragments for every reader, generated requirement files",
            "readers raise only greenbump's own input error; spans always match the text",
        ),
        (
            "Tool failures (uv failing, test command missing, hanging test, a test writing "
            "into the tree, git missing, merge in progress)",
            "one test each (tests/test_upgrade.py, test_testrun.py, test_vcs.py)",
            "exit 3 for a failing tool, exit 2 for a refused repository; a hanging test's "
            "process group is killed; files a test wrote are removed and reported",
        ),
    ]


def table() -> str:
    """The Markdown table between the README markers."""
    lines = ["| fault class | cases the suite tries | guarantee |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    updated = text[:start] + "\n" + table() + "\n" + text[end:]
    if "--check" in argv:
        return 0 if updated == text else 1
    readme.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
