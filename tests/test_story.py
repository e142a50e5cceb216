"""Three runs on one application, told back by ``history``, ``show`` and the run logs.

A clean upgrade (merged), an upgrade with a hold-back (merged), then a rollback of the second:
the history lists all three correctly, ``show`` gives each run's decisions and evidence, every
run's JSON-lines log replays its decisions, the HTML report holds the story, and the rolled
back files are byte for byte what they were before the second run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from greenbump.main import main
from localindex import LocalIndex, Release
from upgrade_app import RELEASES, git, make_app

OLD = dt.datetime(2022, 6, 1, tzinfo=dt.timezone.utc)


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:  # type: ignore[type-arg]
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def _merge(root: Path, branch: str) -> None:
    git(
        root,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "merge",
        "--quiet",
        "--no-ff",
        "--no-edit",
        branch,
    )


def _replay(log: Path) -> dict[str, str]:
    """The last decision per package, read back from a run's JSON-lines log."""
    decisions: dict[str, str] = {}
    for line in log.read_text().splitlines():
        event = json.loads(line)
        if event["kind"] == "decision":
            decisions[event["package"]] = event["action"]
    return decisions


def test_three_runs_tell_their_story(
    tmp_path: Path,
    make_index: Callable[..., LocalIndex],
    wheelhouse: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    index = make_index(RELEASES)
    root = make_app(tmp_path / "app", (1, 2))
    url = ("--index-url", index.index_url, "--format", "json")

    first = _json(capsys, "upgrade", str(root), *url)
    assert first["status"] == "upgraded"
    _merge(root, first["branch"])

    # New releases: alpha 3.0.0 breaks the tests, beta 1.3.0 is fine.
    index.add(Release("alpha", "3.0.0", module="VALUE = 3\n", uploaded=OLD))
    index.add(Release("beta", "1.3.0", module="VALUE = 1\n", uploaded=OLD))
    before_second = (root / "requirements.txt").read_bytes()
    html = tmp_path / "second.html"
    second = _json(capsys, "upgrade", str(root), *url, "--report", str(html))
    pkgs = {p["name"]: p for p in second["packages"]}
    assert pkgs["alpha"]["status"] == "held"
    assert pkgs["alpha"]["failing_tests"] == ["tests/test_app.py::test_values"]
    assert pkgs["beta"]["status"] == "upgraded"
    _merge(root, second["branch"])
    assert (root / "requirements.txt").read_bytes() != before_second

    third = _json(capsys, "rollback", str(root), "--format", "json")
    assert third["status"] == "rolled-back"
    assert (root / "requirements.txt").read_bytes() == before_second
    assert git(root, "status", "--porcelain") == ""

    runs = _json(capsys, "history", str(root), "--format", "json")["runs"]
    assert [r["status"] for r in runs] == ["rolled-back", "upgraded", "upgraded"]
    assert [r["id"] for r in runs[1:]] == [second["run_id"], first["run_id"]]
    assert runs[1]["held"] == 1

    shown = _json(capsys, "show", second["run_id"][:6], str(root), "--format", "json")["run"]
    shown_pkgs = {p["name"]: p for p in shown["packages"]}
    assert shown_pkgs["alpha"]["status"] == "held"
    assert shown_pkgs["alpha"]["failing_tests"] == ["tests/test_app.py::test_values"]
    assert shown["branch"] == second["branch"]
    assert len(shown["test_runs"]) == len(second["test_runs"])

    replayed = _replay(Path(shown["log"]))
    assert replayed["alpha"] == "held"
    assert replayed["beta"] == "upgraded"

    page = html.read_text()
    assert "alpha" in page
    assert "tests/test_app.py::test_values" in page
