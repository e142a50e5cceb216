"""Wall time of ``greenbump upgrade`` with culprit isolation, ``--jobs 1`` against ``--jobs 2``.

The application is the isolation acceptance scenario of ``tests/test_jobs.py`` (seven planned
upgrades: two break a test, one breaks only at its newest minor, a pair moves only together, a
dev tool is capped by a held-back package), served from the local test index, with pytest from
the offline wheelhouse. ``--test-seconds S`` makes each test run also burn ``S`` seconds of CPU
(a busy loop in one test), standing in for a real suite: parallel jobs pay off when test runs,
not pytest's start-up, dominate.

Rounds alternate between the job counts on the same repository. Before each timed run the
outcomes greenbump remembers across runs are forgotten (else every set would be known); slot
0's environment stays, as it would for a user, and further slots are rebuilt (they are removed
at the end of each run). One untimed run first warms uv's cache.

    .venv/bin/python benchmarks/jobs_bench.py --runs 3 [--test-seconds 1.5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from localindex import LocalIndex, isolated_environ  # noqa: E402
from test_jobs import ISOLATION_RELEASES, ISOLATION_TESTS  # noqa: E402
from wheelhouse import build_wheelhouse  # noqa: E402

BURN = """

def test_suite_work():
    import time
    end = time.process_time() + {seconds}
    while time.process_time() < end:
        pass
"""


def make_app(root: Path, test_seconds: float) -> None:
    """The scenario's repository, optionally with a CPU-bound test."""
    tests = ISOLATION_TESTS + (BURN.format(seconds=test_seconds) if test_seconds > 0 else "")
    files = {
        "requirements.txt": "a1==1.0.0\na2==1.0.0\nm==1.0.0\npa==1.0.0\npb==1.0.0\nok==1.0.0\n",
        "requirements-dev.txt": "-r requirements.txt\npytest\ndevtool==1.0.0\n",
        "tests/test_app.py": tests,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "app"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def run(app: Path, url: str, env: dict[str, str], jobs: int) -> tuple[float, dict[str, object]]:
    """One upgrade; returns wall seconds and the JSON report."""
    cache = Path(env["XDG_CACHE_HOME"])
    for outcomes in (cache / "greenbump" / "envs").glob("*/outcomes"):
        shutil.rmtree(outcomes, ignore_errors=True)
    argv = [sys.executable, "-m", "greenbump", "upgrade", str(app), "--index-url", url]
    argv += ["--format", "json", "--jobs", str(jobs)]
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    report: dict[str, object] = json.loads(done.stdout)
    return wall, report


def main() -> None:
    """Measure and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per job count")
    parser.add_argument("--test-seconds", type=float, default=0.0, help="CPU seconds per test run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobs-bench-") as tmp:
        work = Path(tmp)
        wheels = work / "wheelhouse"
        build_wheelhouse(wheels)
        env = isolated_environ(os.environ, home=work / "home", uv_cache_dir=work / "uv-cache")
        env["XDG_CACHE_HOME"] = str(work / "home" / ".cache")
        env["PIP_FIND_LINKS"] = str(wheels)
        app = work / "app"
        make_app(app, args.test_seconds)
        with LocalIndex(ISOLATION_RELEASES) as index:
            run(app, index.index_url, env, 1)  # warm uv's cache and slot 0
            walls: dict[int, list[float]] = {1: [], 2: []}
            trials: dict[int, list[int]] = {1: [], 2: []}
            answers: dict[int, object] = {}
            for _ in range(args.runs):
                for jobs in (1, 2):
                    wall, report = run(app, index.index_url, env, jobs)
                    walls[jobs].append(wall)
                    runs = report["test_runs"]
                    assert isinstance(runs, list)
                    trials[jobs].append(sum(1 for r in runs if r["resolved"]))
                    packages = report["packages"]
                    assert isinstance(packages, list)
                    answers[jobs] = sorted((p["name"], p["status"], p["to"]) for p in packages)
    if answers[1] != answers[2]:
        raise SystemExit(f"different answers: {answers}")
    print(
        f"CPU per test run: {args.test_seconds} s; nproc {os.cpu_count()}; load {os.getloadavg()}"
    )
    print("| jobs | wall (median) | runs | test runs (median) |")
    print("| --- | --- | --- | --- |")
    for jobs in (1, 2):
        shown = ", ".join(f"{w:.1f}" for w in walls[jobs])
        median = statistics.median(walls[jobs])
        tests = statistics.median(trials[jobs])
        print(f"| {jobs} | {median:.1f} s | {shown} | {tests:g} |")


if __name__ == "__main__":
    main()
