"""``greenbump rollback`` end to end: a real upgrade on the local index, merged, then undone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from greenbump.main import main
from localindex import LocalIndex
from upgrade_app import RELEASES, git, make_app, snapshot

App = Callable[[tuple[int, ...]], tuple[Path, LocalIndex]]
DEP_FILES = ("requirements.txt", "requirements-dev.txt")
IDENT = ("-c", "user.name=t", "-c", "user.email=t@t")


@pytest.fixture
def app(
    tmp_path: Path,
    make_index: Callable[..., LocalIndex],
    wheelhouse: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> App:
    index = make_index(RELEASES)
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))

    def make(allowed: tuple[int, ...]) -> tuple[Path, LocalIndex]:
        return make_app(tmp_path / "app", allowed), index

    return make


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip().startswith("{") else {}, err


def _upgraded(
    capsys: pytest.CaptureFixture[str], root: Path, index: LocalIndex, *extra: str
) -> dict[str, Any]:
    code, doc, err = _cli(
        capsys, "upgrade", str(root), "--index-url", index.index_url, "--format", "json", *extra
    )
    assert code == 0, err
    assert doc["status"] == "upgraded", json.dumps(doc, indent=1)[:3000]
    return doc


def _rollback(
    capsys: pytest.CaptureFixture[str], root: Path, *flags: str, run: str | None = None
) -> tuple[int, dict[str, Any], str]:
    runs = [run] if run else []
    return _cli(capsys, "rollback", *runs, str(root), "--format", "json", *flags)


def _files(root: Path) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in DEP_FILES}


def _bumped_in_order(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's upgraded packages in the order their commits were made."""
    by_commit = {p["commit"]: p for p in doc["packages"] if p["commit"]}
    return [by_commit[sha] for sha in doc["commits"]]


def test_merged_run_is_restored_byte_for_byte_one_revert_per_package(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    root, index = app((1, 2))
    before = _files(root)
    doc = _upgraded(capsys, root, index)
    git(root, "merge", "--ff-only", "--quiet", doc["branch"])
    merged_head = git(root, "rev-parse", "HEAD").strip()
    assert _files(root) != before
    (root / "notes.txt").write_text("ignored by nobody\n")  # not ours: must stay untracked...
    git(root, "add", "notes.txt")
    git(root, *IDENT, "commit", "-qm", "notes")  # ...so commit it: the tree must be clean
    notes_head = git(root, "rev-parse", "HEAD").strip()

    code, report, err = _rollback(capsys, root)

    assert code == 0, err
    assert report["status"] == "rolled-back"
    assert report["rolled_back_run"] == doc["run_id"]
    assert report["mode"] == "merged"
    assert report["branch"] == "main"
    assert _files(root) == before  # byte for byte, CRLF line included
    subjects = git(root, "log", "--format=%s", f"{notes_head}..HEAD").splitlines()
    bumped = _bumped_in_order(doc)
    # newest first in git log: the first revert undoes the last bump
    assert subjects == [f"Revert {p['name']} to {p['from']}" for p in bumped]
    assert [p["status"] for p in report["packages"]] == ["reverted"] * len(bumped)
    assert report["commits"] == git(root, "rev-list", "--reverse", f"{notes_head}..HEAD").split()
    assert git(root, "status", "--porcelain") == ""
    assert (root / "notes.txt").read_text() == "ignored by nobody\n"
    assert git(root, "merge-base", "--is-ancestor", merged_head, "HEAD") == ""

    code, hist, _ = _cli(capsys, "history", str(root), "--format", "json")
    assert code == 0
    newest = hist["runs"][0]
    assert newest["id"] == report["run_id"]
    assert newest["status"] == "rolled-back"
    assert newest["command"].startswith("greenbump rollback")
    assert hist["runs"][1]["id"] == doc["run_id"]

    # The run is undone: the default finds nothing left, and naming it changes nothing.
    head = git(root, "rev-parse", "HEAD")
    code, again, err = _rollback(capsys, root)
    assert code == 1
    assert "nothing to roll back" in err
    code, again, err = _rollback(capsys, root, run=doc["run_id"])
    assert code == 1
    assert again["status"] == "nothing-to-do"
    assert git(root, "rev-parse", "HEAD") == head


def test_package_undoes_only_that_package_after_a_no_ff_merge(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    root, index = app((1, 2))
    doc = _upgraded(capsys, root, index)
    git(root, *IDENT, "merge", "--no-ff", "--quiet", "-m", "merge upgrades", doc["branch"])
    first = _bumped_in_order(doc)[0]  # later bumps edited the same file: a 3-way undo
    merged = (root / "requirements.txt").read_bytes()
    head = git(root, "rev-parse", "HEAD").strip()

    code, report, err = _rollback(capsys, root, "--package", first["name"].upper())

    assert code == 0, err
    assert [p["name"] for p in report["packages"]] == [first["name"]]
    assert report["packages"][0]["from"] == first["to"]
    assert report["packages"][0]["to"] == first["from"]
    expected = merged.replace(
        f"{first['name']}=={first['to']}".encode(), f"{first['name']}=={first['from']}".encode()
    )
    assert expected != merged
    assert (root / "requirements.txt").read_bytes() == expected
    assert git(root, "log", "--format=%s", f"{head}..HEAD").splitlines() == [
        f"Revert {first['name']} to {first['from']}"
    ]
    assert git(root, "status", "--porcelain") == ""


def test_later_edits_are_kept_or_refused(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    root, index = app((1, 2))
    doc = _upgraded(capsys, root, index)
    git(root, "merge", "--ff-only", "--quiet", doc["branch"])
    with (root / "requirements.txt").open("ab") as handle:
        handle.write(b"zeta==1.0.0\n")
    git(root, *IDENT, "commit", "-qam", "add zeta")
    before = snapshot(root)

    code, _, err = _rollback(capsys, root)  # restoring pre-run bytes would drop zeta
    assert code == 2
    assert "requirements.txt" in err
    assert "--force" in err
    assert snapshot(root) == before

    for package in _bumped_in_order(doc):  # one package at a time keeps zeta
        code, _, err = _rollback(capsys, root, "--package", package["name"], run=doc["run_id"])
        assert code == 0, err
    text = (root / "requirements.txt").read_bytes()
    assert text == (
        b"# runtime pins\nalpha==1.0.0\nbeta==1.0.0  # keep this comment\r\n"
        b"gamma==1.0.0\ndelta==1.0.0\nepsilon==1.0.0\nzeta==1.0.0\n"
    )


def test_unmerged_branch_is_reported_and_can_be_deleted(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    root, index = app((1, 2))
    doc = _upgraded(capsys, root, index)
    before = snapshot(root)

    code, report, err = _rollback(capsys, root)

    assert code == 1
    assert "not merged" in err
    assert doc["branch"] in err
    assert "--delete-branch" in err
    assert report["status"] == "nothing-to-do"
    assert report["mode"] == "unmerged"
    assert snapshot(root) == before

    code, report, err = _rollback(capsys, root, "--delete-branch", run=doc["run_id"])
    assert code == 0, err
    assert report["status"] == "branch-deleted"
    assert report["deleted_branch"] == doc["branch"]
    assert git(root, "branch", "--list").strip() == "* main"
    assert snapshot(root) == {**before, "branches": b"* main\n"}


def test_checked_out_or_moved_branch_is_not_deleted(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    root, index = app((1, 2))
    doc = _upgraded(capsys, root, index)
    git(root, "checkout", "-q", doc["branch"])
    code, _, err = _rollback(capsys, root, "--delete-branch", run=doc["run_id"])
    assert code == 2
    assert "checked out" in err
    git(root, "checkout", "-q", "main")
    git(root, "branch", "-f", doc["branch"], "main")  # someone moved it
    code, _, err = _rollback(capsys, root, "--delete-branch", run=doc["run_id"])
    assert code == 2
    assert "has moved" in err
    assert doc["branch"] in git(root, "branch", "--list")


def test_dirty_tree_is_refused_and_nothing_changes(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    root, index = app((1, 2))
    doc = _upgraded(capsys, root, index)
    git(root, "merge", "--ff-only", "--quiet", doc["branch"])
    (root / "tests" / "test_app.py").write_text("# work in progress\n")
    before = snapshot(root)

    code, _, err = _rollback(capsys, root)

    assert code == 2
    assert "uncommitted changes" in err
    assert "Traceback" not in err
    assert snapshot(root) == before
    code, hist, _ = _cli(capsys, "history", str(root), "--format", "json")
    assert hist["runs"][0]["status"] == "failed"


def test_no_commit_run_is_restored_from_head(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    root, index = app((1, 2))
    before = snapshot(root)
    doc = _upgraded(capsys, root, index, "--no-commit", "--only", "beta")
    assert doc["commits"] == []
    assert (root / "requirements.txt").read_bytes() != before["requirements.txt"]

    code, report, err = _rollback(capsys, root)

    assert code == 0, err
    assert report["mode"] == "work-tree"
    assert report["commits"] == []
    assert [p["name"] for p in report["packages"]] == ["beta"]
    assert any("git cat-file -p" in note for note in report["notes"])
    assert snapshot(root) == before


def test_nothing_recorded_is_nothing_to_roll_back(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = app((1, 2))
    before = snapshot(root)
    code, report, err = _rollback(capsys, root)
    assert code == 1
    assert report["status"] == "nothing-to-do"
    assert "nothing to roll back" in err
    assert snapshot(root) == before
    code, _, err = _rollback(capsys, root, run="feedbeef")
    assert code == 2
    assert "no run" in err
