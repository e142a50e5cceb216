"""A planted secret never appears in anything greenbump prints, writes or commits.

The index needs basic auth; the password travels once in the index URL and once through netrc.
After ``check`` and a real ``upgrade`` (with reports), every output is searched for it: standard
output and error, report files, the commits and branch greenbump made, and everything greenbump
wrote below the project and its cache directory.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from greenbump.main import main
from greenbump.redact import redact_text, remember_secrets
from localindex import DEFAULT_CATALOGUE, Fault, LocalIndex
from upgrade_app import RELEASES, git, make_app

SECRET = "pl4nted-S3cret-value"


def _everything_under(folder: Path) -> bytes:
    data = b""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data += path.read_bytes()
    return data


@pytest.mark.parametrize("via", ["url", "netrc"])
def test_secret_never_leaks(
    tmp_path: Path,
    make_index: Callable[..., LocalIndex],
    wheelhouse: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    osv: Path,
    via: str,
) -> None:
    index = make_index(RELEASES, auth=("alice", SECRET))
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    if via == "url":
        url = index.auth_index_url
    else:
        netrc = tmp_path / "netrc"
        netrc.write_text(f"machine 127.0.0.1 login alice password {SECRET}\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        url = index.index_url
    root = make_app(tmp_path / "app", (1, 2))
    reports = [tmp_path / "report.json", tmp_path / "report.md"]
    outputs = []
    assert main(["check", str(root), "--index-url", url, "--advisories", str(osv)]) == 0
    outputs.append(capsys.readouterr())
    code = main(
        [
            "upgrade",
            str(root),
            "--index-url",
            url,
            "--report",
            str(reports[0]),
            "--report",
            str(reports[1]),
            "--format",
            "json",
        ]
    )
    outputs.append(capsys.readouterr())
    assert code == 0, outputs[-1].err
    # A failing index request must not leak it either.
    index.stop()
    assert (
        main(
            [
                "check",
                str(root),
                "--index-url",
                url,
                "--index-timeout",
                "1",
                "--advisories",
                str(tmp_path),
            ]
        )
        == 3
    )
    outputs.append(capsys.readouterr())
    printed = "".join(o.out + o.err for o in outputs)
    assert "alice:****@" in printed or via == "netrc"
    assert SECRET not in printed
    for report in reports:
        assert SECRET.encode() not in report.read_bytes()
    history = subprocess.run(
        ["git", "log", "--all", "-p", "--format=%H %s%n%b"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    assert b"Bump alpha" in history
    assert SECRET.encode() not in history
    assert SECRET.encode() not in _everything_under(root)
    cache = Path(os.environ["XDG_CACHE_HOME"])
    assert SECRET.encode() not in _everything_under(cache)
    assert git(root, "status", "--porcelain") == ""


def test_a_token_in_an_index_path_is_masked_in_errors(
    tmp_path: Path,
    make_index: Callable[..., LocalIndex],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    osv: Path,
) -> None:
    """A token that a requirements file's ``${VARIABLE}`` puts into the index URL's path is
    nowhere redaction could find it by its place in a URL; a refused page, whose URL is part
    of the message, must still not show it (the run remembers its configuration's secrets)."""
    token = "tok3nPATHsecret9876xyz"
    index = make_index(DEFAULT_CATALOGUE)
    index.add_fault(Fault(path=re.compile(token), status=403))
    host = index.index_url.split("://", 1)[1].split("/", 1)[0]
    root = tmp_path / "app"
    root.mkdir()
    (root / "requirements.txt").write_text(
        f"--index-url http://{host}/${{IDX_TOKEN}}/simple/\nalpha==1.0.0\n"
    )
    monkeypatch.setenv("IDX_TOKEN", token)
    code = main(["check", str(root), "--advisories", str(osv), "-vv"])
    out, err = capsys.readouterr()
    assert code == 3, err
    assert "HTTP 403" in err
    assert f"http://{host}/****/simple/alpha/" in err  # the page is named, its token masked
    assert token not in out + err


def test_remembered_secrets_are_masked_until_the_next_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "remembered Secret/77"  # also masked percent-encoded: remembered%20Secret%2F77
    remember_secrets([secret, ""])
    assert redact_text(f"a {secret} b {quote(secret, safe='')} c") == "a **** b **** c"
    assert main([]) == 2  # a new run (here only the help) starts with nothing remembered
    capsys.readouterr()
    assert redact_text(f"a {secret} c") == f"a {secret} c"
