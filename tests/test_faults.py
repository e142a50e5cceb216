"""A faulty index: every fault ends in bounded retries and one clear error (exit 3), no change.

The faults are served by the project's own local index (``localindex.Fault``) on 127.0.0.1:
server errors, dropped connections, time-outs, a slow drip, truncated or invalid JSON, HTML
where JSON was asked for, a wrong content type, a redirect to another host and a huge page.
The README's reliability table counts these cases.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from greenbump.main import main
from localindex import LocalIndex, Release
from localindex.server import Fault, RequestRecord, Response

PAGE = "/simple/alpha/"
JSON_TYPE = {"Content-Type": "application/vnd.pypi.simple.v1+json"}


def _drip(record: RequestRecord) -> Response:
    import time

    time.sleep(4)  # longer than the total time allowed for one request in these tests
    return Response(200, b"{}", JSON_TYPE)


FAULTS: dict[str, Callable[[str], Fault]] = {
    "500 every time": lambda other: Fault(PAGE, status=500),
    "503 every time": lambda other: Fault(PAGE, status=503, headers={"Retry-After": "0"}),
    "connection reset": lambda other: Fault(PAGE, disconnect=True),
    "time-out": lambda other: Fault(PAGE, delay=5),
    "slow drip": lambda other: Fault(PAGE, respond=_drip),
    "truncated JSON": lambda other: Fault(PAGE, status=200, body=b'{"files": [', headers=JSON_TYPE),
    "invalid JSON": lambda other: Fault(PAGE, status=200, body=b"not json", headers=JSON_TYPE),
    "JSON of the wrong shape": lambda other: Fault(
        PAGE, status=200, body=json.dumps({"files": "x"}).encode(), headers=JSON_TYPE
    ),
    "wrong content type": lambda other: Fault(
        PAGE, status=200, body=b"\x00\x01", headers={"Content-Type": "application/octet-stream"}
    ),
    "redirect to another host": lambda other: Fault(
        PAGE, status=302, headers={"Location": other + PAGE}
    ),
    "huge page": lambda other: Fault(
        PAGE, status=200, body=b" " * (65 * 1024 * 1024), headers=JSON_TYPE
    ),
    "401 without credentials": lambda other: Fault(PAGE, status=401),
}
EXPECTED = {
    "truncated JSON": "invalid JSON",
    "invalid JSON": "invalid JSON",
    "redirect to another host": "another host",
    "huge page": "larger than",
    "wrong content type": "content type",
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("command", ["check", "upgrade"])
def test_index_faults_are_exit_3_and_change_nothing(
    tmp_path: Path,
    make_index: Callable[..., LocalIndex],
    capsys: pytest.CaptureFixture[str],
    fault: str,
    command: str,
) -> None:
    index = make_index([Release("alpha", "1.0.0"), Release("alpha", "2.0.0")])
    other = index.index_url.replace("127.0.0.1", "localhost").removesuffix("/simple/")
    index.add_fault(FAULTS[fault](other))
    (tmp_path / "requirements.txt").write_text("alpha==1.0.0\n")
    before = (tmp_path / "requirements.txt").read_bytes()
    argv = [command, str(tmp_path), "--index-url", index.index_url, "--index-timeout", "1"]
    osv = tmp_path.parent / f"{tmp_path.name}-osv"  # local: no network; reads fine
    osv.mkdir()
    (osv / "PYSEC-0000-1.json").write_text(json.dumps({"id": "PYSEC-0000-1", "affected": []}))
    argv += ["--advisories", str(osv)] if command == "check" else ["--dry-run"]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 3, err
    assert "Traceback" not in err
    assert err.count("\n") <= 6, err
    assert EXPECTED.get(fault, "") in err
    assert (tmp_path / "requirements.txt").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["requirements.txt"]
    hits = index.count(path=PAGE) if "redirect" not in fault else 1
    assert 1 <= hits <= 4  # bounded retries
    index.errors.clear()
