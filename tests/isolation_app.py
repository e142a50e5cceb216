"""The isolation acceptance scenario: releases, pinned files and tests, shared by the suites.

Several packages that each break one test (a1, a2), one that breaks only at its newest minor
(m), a pair that must move together (pb needs pa>=2), a dev tool capped by a held-back package
(devtool 2.0 needs a1>=2), and one harmless patch (ok). Used by the end-to-end isolation test
and by the jobs test that checks two parallel jobs give the same answer.
"""

from __future__ import annotations

from typing import Any

from localindex import Release
from upgrade_app import OLD

ISOLATION_TESTS = """\
import a1, a2, m, pa, pb, devtool, ok


def test_a1():
    assert a1.OK, "a1 broke"


def test_a2():
    assert a2.OK, "a2 broke"


def test_m():
    assert m.OK, "m broke"


def test_pair():
    assert pa.OK and pb.OK
"""


def ok_release(name: str, version: str, ok: bool = True, **kwargs: Any) -> Release:
    """A release whose module says whether it works (``OK``), uploaded long ago."""
    kwargs.setdefault("uploaded", OLD)
    return Release(name, version, module=f"OK = {ok}\nVERSION = {version!r}\n", **kwargs)


ISOLATION_RELEASES = [
    ok_release("a1", "1.0.0"),
    ok_release("a1", "2.0.0", ok=False),  # breaks test_a1
    ok_release("a2", "1.0.0"),
    ok_release("a2", "1.1.0", ok=False),  # breaks test_a2
    ok_release("m", "1.0.0"),
    ok_release("m", "1.1.0"),
    ok_release("m", "1.2.0", ok=False),  # only the newest minor breaks test_m
    ok_release("pa", "1.0.0"),
    ok_release("pa", "2.0.0"),
    ok_release("pb", "1.0.0"),
    ok_release("pb", "2.0.0", requires=["pa>=2"]),  # moves only together with pa
    ok_release("devtool", "1.0.0"),
    ok_release("devtool", "2.0.0", requires=["a1>=2"]),  # capped by the held-back a1
    ok_release("ok", "1.0.0"),
    ok_release("ok", "1.0.1"),
]

ISOLATION_FILES = {
    "requirements.txt": "a1==1.0.0\na2==1.0.0\nm==1.0.0\npa==1.0.0\npb==1.0.0\nok==1.0.0\n",
    "requirements-dev.txt": "-r requirements.txt\npytest\ndevtool==1.0.0\n",
    "tests/test_app.py": ISOLATION_TESTS,
}

# The answer: (status, version) per planned package, the maximal set the tests pass with.
MAXIMAL_GREEN_SET = {
    "a1": ("held", "2.0.0"),
    "a2": ("held", "1.1.0"),
    "m": ("upgraded", "1.1.0"),
    "pa": ("upgraded", "2.0.0"),
    "pb": ("upgraded", "2.0.0"),
    "devtool": ("held", "2.0.0"),
    "ok": ("upgraded", "1.0.1"),
}
