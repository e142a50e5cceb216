"""``greenbump upgrade`` end to end: real git repositories, the local index, real envs and tests."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from greenbump.main import main
from localindex import LocalIndex
from upgrade_app import RELEASES, git, make_app, snapshot


@pytest.fixture
def app(
    tmp_path: Path,
    make_index: Callable[..., LocalIndex],
    wheelhouse: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[tuple[int, ...]], tuple[Path, LocalIndex]]:
    index = make_index(RELEASES)
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))

    def make(allowed: tuple[int, ...]) -> tuple[Path, LocalIndex]:
        return make_app(tmp_path / "app", allowed), index

    return make


def _upgrade(
    capsys: pytest.CaptureFixture[str], root: Path, index: LocalIndex, *extra: str
) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    code = main(["upgrade", str(root), "--index-url", index.index_url, "--format", "json", *extra])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip().startswith("{") else {}, err


def test_green_upgrade_commits_on_a_new_branch(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, index = app((1, 2))
    before = snapshot(root)
    code, doc, err = _upgrade(capsys, root, index)
    assert code == 0, err
    assert doc["status"] == "upgraded", json.dumps(doc, indent=1)[:3000]
    assert snapshot(root) == {**before, "branches": snapshot(root)["branches"]}
    branch = doc["branch"]
    assert branch.startswith("greenbump/")
    pkgs = {p["name"]: p for p in doc["packages"]}
    assert pkgs["alpha"]["status"] == "upgraded"
    assert pkgs["alpha"]["to"] == "2.0.0"
    assert pkgs["beta"]["to"] == "1.2.0"
    assert pkgs["gamma"]["to"] == "1.1.0"  # 1.2.0 is yanked
    assert pkgs["delta"]["status"] == "unchanged"  # 2.0.0 needs Python >= 3.99
    assert pkgs["epsilon"]["status"] == "unchanged"  # 1.0.1 is younger than 3 days
    committed = subprocess.run(
        ["git", "show", f"{branch}:requirements.txt"], cwd=root, check=True, capture_output=True
    ).stdout
    assert committed == (
        b"# runtime pins\nalpha==2.0.0\nbeta==1.2.0  # keep this comment\r\n"
        b"gamma==1.1.0\ndelta==1.0.0\nepsilon==1.0.0\n"
    )
    subjects = git(root, "log", "--format=%s", f"main..{branch}").splitlines()
    assert sorted(subjects) == [
        "Bump alpha from 1.0.0 to 2.0.0",
        "Bump beta from 1.0.0 to 1.2.0",
        "Bump gamma from 1.0.0 to 1.1.0",
    ]
    assert len(doc["test_runs"]) == 2  # baseline and the full set
    assert all(run["passed"] for run in doc["test_runs"])


def test_breaking_upgrade_is_isolated_and_the_rest_is_kept(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, index = app((1,))  # alpha 2.0.0 changes VALUE to 2: the test breaks
    before = snapshot(root)
    code, doc, err = _upgrade(capsys, root, index)
    assert code == 0, err
    assert doc["status"] == "upgraded"
    pkgs = {p["name"]: p for p in doc["packages"]}
    alpha = pkgs["alpha"]
    assert alpha["to"] == "1.1.0"  # the highest version that keeps the tests green
    assert alpha["failing_tests"] == ["tests/test_app.py::test_values"]
    assert "2.0.0" in alpha["reason"]
    assert "assert 2 in (1,)" in alpha["error"]
    assert pkgs["beta"]["status"] == "upgraded"
    assert pkgs["gamma"]["status"] == "upgraded"
    committed = subprocess.run(
        ["git", "show", f"{doc['branch']}:requirements.txt"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout
    assert b"alpha==1.1.0\n" in committed
    assert b"beta==1.2.0" in committed
    assert snapshot(root) == {**before, "branches": snapshot(root)["branches"]}
    assert all(run["passed"] is not None for run in doc["test_runs"])
    assert doc["test_runs"][-1]["passed"] is True or any(
        r["passed"] and r["pins"]["alpha"] == "1.1.0" for r in doc["test_runs"]
    )


def test_every_upgrade_breaking_holds_everything_back(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, index = app((1,))
    before = snapshot(root)
    code, doc, _ = _upgrade(
        capsys, root, index, "--only", "alpha", "--level", "major", "--hold", "alpha>=2"
    )
    assert code == 1
    assert doc["status"] == "held"
    assert doc["branch"] is None
    assert snapshot(root) == before


def test_dry_run_changes_nothing(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    root, index = app((1, 2))
    before = snapshot(root)
    plan = tmp_path / "plan.md"
    code, doc, _ = _upgrade(capsys, root, index, "--dry-run", "--report", str(plan))
    assert code == 0
    assert doc["status"] == "planned"
    assert doc["test_runs"] == []
    assert snapshot(root) == before
    text = plan.read_text()
    assert "# Planned dependency upgrades" in text
    assert "| alpha | 1.0.0 | 2.0.0 | major |" in text


def test_dirty_tree_is_refused(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, index = app((1, 2))
    (root / "requirements.txt").write_text("alpha==1.0.0\n")
    before = snapshot(root)
    code, _, err = _upgrade(capsys, root, index)
    assert code == 2
    assert "requirements.txt" in err
    assert "Traceback" not in err
    assert snapshot(root) == before


def test_no_commit_leaves_edits_in_the_work_tree(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, index = app((1, 2))
    head = git(root, "rev-parse", "HEAD")
    code, doc, _ = _upgrade(capsys, root, index, "--no-commit", "--only", "beta")
    assert code == 0
    assert doc["branch"] is None
    assert (root / "requirements.txt").read_bytes().splitlines()[2] == (
        b"beta==1.2.0  # keep this comment"
    )
    assert git(root, "rev-parse", "HEAD") == head
    assert git(root, "branch", "--list").strip() == "* main"


def test_level_and_hold_cap_targets(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, index = app((1, 2))
    code, doc, _ = _upgrade(
        capsys, root, index, "--dry-run", "--level", "minor", "--hold", "beta<1.1"
    )
    assert code == 0
    pkgs = {p["name"]: p for p in doc["packages"]}
    assert pkgs["alpha"]["to"] == "1.1.0"
    assert pkgs["beta"]["status"] == "unchanged"
    assert "held by policy" in pkgs["beta"]["reason"]


def test_html_report_and_webhook_notification(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    import http.server
    import threading

    received: list[bytes] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        root, index = app((1, 2))
        (root / "greenbump.toml").write_text(
            f'[notify]\nwebhook = "http://127.0.0.1:{server.server_port}/hook"\n'
            'webhook-format = "json"\n'
        )
        git(root, "add", "greenbump.toml")
        git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "notify")
        html = tmp_path / "report.html"
        code, doc, err = _upgrade(capsys, root, index, "--report", str(html), "--notify")
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, err
    page = html.read_text()
    assert "<svg" in page
    assert "alpha" in page
    assert len(received) == 1
    payload = json.loads(received[0])
    assert doc["branch"] in json.dumps(payload)


def test_files_a_test_run_writes_are_removed_and_reported(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, index = app((1, 2))
    (root / "tests" / "test_writes.py").write_text(
        "from pathlib import Path\n\n\ndef test_writes():\n"
        "    Path('scratch-output.txt').write_text('x')\n"
    )
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "writer")
    code, doc, err = _upgrade(capsys, root, index)
    assert code == 0, err
    assert any("scratch-output.txt" in note for note in doc["notes"])
    tree = git(root, "ls-tree", "-r", "--name-only", doc["branch"])
    assert "scratch-output.txt" not in tree
    assert not (root / "scratch-output.txt").exists()


def test_missing_test_command_is_a_clear_error(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, index = app((1, 2))
    before = snapshot(root)
    code = main(
        ["upgrade", str(root), "--index-url", index.index_url, "--test", "no-such-runner -x"]
    )
    err = capsys.readouterr().err
    assert code == 3, err
    assert "no-such-runner" in err
    assert "Traceback" not in err
    assert snapshot(root) == before


def test_mid_merge_repository_is_refused(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, index = app((1, 2))
    git(root, "checkout", "-q", "-b", "other")
    (root / "requirements.txt").write_text("alpha==1.1.0\n")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "other")
    git(root, "checkout", "-q", "main")
    (root / "requirements.txt").write_text("alpha==1.0.1\n")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "main")
    merge = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "merge", "other"]
    subprocess.run(merge, cwd=root, capture_output=True, check=False)
    assert (root / ".git" / "MERGE_HEAD").exists()
    code = main(["upgrade", str(root), "--index-url", index.index_url])
    err = capsys.readouterr().err
    assert code == 2
    assert "merge" in err


def test_outcomes_are_remembered_across_runs(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, index = app((1,))  # alpha 2.0.0 breaks: isolation needs several trials
    code, first, err = _upgrade(capsys, root, index)
    assert code == 0, err
    assert not any(run["cached"] for run in first["test_runs"])
    code, second, err = _upgrade(capsys, root, index)
    assert code == 0, err
    fresh = [run for run in second["test_runs"][1:] if not run["cached"]]
    assert fresh == []  # only the baseline ran again: every other set was known
    assert [p["to"] for p in second["packages"]] == [p["to"] for p in first["packages"]]
    # Changing the project's code invalidates what was remembered.
    (root / "tests" / "test_extra.py").write_text("def test_more():\n    assert True\n")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "more tests")
    code, third, err = _upgrade(capsys, root, index)
    assert code == 0, err
    assert not any(run["cached"] for run in third["test_runs"])


def test_a_failing_uv_is_an_external_error(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    root, index = app((1, 2))
    before = snapshot(root)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("uv cannot use this as its cache\n")
    monkeypatch.setenv("UV_CACHE_DIR", str(blocker))
    code = main(["upgrade", str(root), "--index-url", index.index_url])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "uv" in err
    assert "Traceback" not in err
    assert snapshot(root) == before


def test_a_run_that_stops_still_writes_the_reports_asked_for(
    app: Callable[[tuple[int, ...]], tuple[Path, LocalIndex]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """The plan was made, then the tests could not run: the reports say so (exit 3 stays)."""
    root, index = app((1, 2))
    reports = [tmp_path / "run.json", tmp_path / "run.md", tmp_path / "run.html"]
    argv = ["upgrade", str(root), "--index-url", index.index_url, "--test", "no-such-runner -x"]
    code = main([*argv, *(arg for r in reports for arg in ("--report", str(r)))])
    err = capsys.readouterr().err
    assert code == 3, err
    document = json.loads(reports[0].read_text(encoding="utf-8"))
    assert document["status"] == "failed"
    assert document["commits"] == []
    planned = {p["name"] for p in document["packages"] if p["status"] == "planned"}
    assert planned  # what the run had found before it stopped
    assert any("no-such-runner" in note for note in document["notes"])
    markdown = reports[1].read_text(encoding="utf-8")
    assert "stopped" in markdown and "no-such-runner" in markdown
    assert "no-such-runner" in reports[2].read_text(encoding="utf-8")


def test_failed_reports_uncommitted_upgrades_as_planned() -> None:
    import datetime as dt

    from packaging.version import Version

    from greenbump.inventory import Package
    from greenbump.names import canonicalize_name
    from greenbump.plan import Status, Target
    from greenbump.upgrade import PackageResult, Result, failed

    def entry(name: str, status: str, commit: str | None) -> PackageResult:
        package = Package(canonicalize_name(name), name, (), Version("1.0"), None, True)
        target = Target(package, Status.UPGRADE, Version("2.0"), Version("2.0"), "", ())
        return PackageResult(target, status, Version("2.0"), commit=commit)

    result = Result(run_id="r", started=dt.datetime(2026, 11, 27, tzinfo=dt.timezone.utc))
    result.packages = [
        entry("committed", "upgraded", "abc123"),
        entry("relocking", "upgraded", None),
        entry("kept", "held", None),
    ]
    failed(result, "poetry.lock: poetry failed: Package attrs (25.4.0) not found.")
    assert result.status == "failed"
    assert [p.status for p in result.packages] == ["upgraded", "planned", "held"]
    assert result.notes == [
        "stopped: poetry.lock: poetry failed: Package attrs (25.4.0) not found."
    ]
