"""Benchmark a full ``greenbump upgrade`` beside the same work done by hand with pip and uv.

The application is a git repository whose ``requirements.txt`` pins 30 synthetic packages of the
local test index (``tests/localindex``) at old versions, whose ``requirements-dev.txt`` adds
pytest (from the offline wheelhouse of ``tests/wheelhouse.py``, found through
``PIP_FIND_LINKS``), and whose small test suite imports every package and checks it. Every
package has a newer release the tests accept, so the upgrade is green and commits 30 bumps.

Per round, in this order:

* ``greenbump upgrade APP --index-url URL --format json``, through a tiny in-process driver that
  times every subprocess greenbump starts (uv, git, the test runs) by what it is, so that its
  own overhead is the wall time minus the time spent waiting for them;
* by hand with pip: ``python -m venv`` + ``pip install -r target.txt pytest`` (the versions
  greenbump chose) + ``python -m pytest``;
* by hand with uv, for reference: ``uv venv`` + ``uv pip install`` + ``python -m pytest``.

The first greenbump run (no environment yet, empty caches) is reported on its own; repeat runs
reuse greenbump's environment slot, which each run syncs from the upgraded set back to the
baseline and forward again (two real environment changes of 30 packages). pip's and uv's caches
are warm for the by-hand runs (an untimed install first), as a developer's would be.

Run ``.venv/bin/python benchmarks/upgrade_bench.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from check_bench import (
    BENCH_PYTHON,
    add_source_option,
    bench_env,
    emit,
    fmt_ratio,
    fmt_s,
    local_index,
    machine_lines,
    median,
    pip_version,
    run_timed,
    use_source,
    verdict,
)

from localindex import Release, uv_bin
from wheelhouse import build_wheelhouse

DEPS = 30
OLD = dt.datetime(2022, 1, 1, tzinfo=dt.timezone.utc)

# In-process driver: run greenbump's main() with every subprocess timed by kind.
DRIVER = """\
import contextlib, io, json, os, subprocess, sys, time
spent = {}
counts = {}
_init = subprocess.Popen.__init__
_wait = subprocess.Popen.wait

def kind(args):
    argv = [str(a) for a in (args if isinstance(args, (list, tuple)) else [args])]
    name = os.path.basename(argv[0])
    if name == "uv":
        sub = [a for a in argv[1:3] if not a.startswith("-")]
        return "uv " + " ".join(sub)
    if name == "git":
        return "git"
    if "pytest" in argv:
        return "tests"
    return "other"

def init(self, args, *rest, **kwargs):
    self._bench = (kind(args), time.perf_counter())
    _init(self, args, *rest, **kwargs)

def wait(self, *rest, **kwargs):
    code = _wait(self, *rest, **kwargs)
    bench = getattr(self, "_bench", None)
    if bench is not None:
        self._bench = None
        spent[bench[0]] = spent.get(bench[0], 0.0) + time.perf_counter() - bench[1]
        counts[bench[0]] = counts.get(bench[0], 0) + 1
    return code

subprocess.Popen.__init__ = init
subprocess.Popen.wait = wait
started = time.perf_counter()
from greenbump.main import main
imported = time.perf_counter()
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[2:])
done = time.perf_counter()
with open(sys.argv[1], "w") as fh:
    json.dump({"import": imported - started, "run": done - imported, "code": code,
               "spent": spent, "counts": counts, "report": json.loads(out.getvalue())}, fh)
"""


def package(i: int) -> str:
    """The i-th dependency of the app."""
    return f"app-dep-{i:02d}"


def releases() -> list[Release]:
    """Four to six versions per package; the tests accept VALUE 1 and 2.

    Every 4th package's newest release is yanked, every 5th has one that needs
    ``Python >= 3.99``, and every 6th 2.0.0 requires its predecessor ``>= 1.1``.
    """
    found: list[Release] = []
    for i in range(DEPS):
        plan = [("1.0.0", 1), ("1.0.1", 1), ("1.1.0", 1), ("2.0.0", 2)]
        if i % 4 == 0:
            plan.append(("2.1.0", 9))
        if i % 5 == 0:
            plan.append(("3.0.0", 9))
        for n, (version, value) in enumerate(plan):
            requires = [f"{package(i - 1)}>=1.1"] if i % 6 == 5 and version == "2.0.0" else []
            found.append(
                Release(
                    package(i),
                    version,
                    module=f"VALUE = {value}\n",
                    requires=requires,
                    yanked="broken build" if version == "2.1.0" else False,
                    requires_python=">=3.99" if version == "3.0.0" else None,
                    uploaded=OLD + dt.timedelta(days=20 * n),
                )
            )
    return found


TEST_FILE = """\
import importlib

import pytest

NAMES = {names!r}


@pytest.mark.parametrize("name", NAMES)
def test_value(name):
    assert importlib.import_module(name).VALUE in (1, 2)


def test_all_imported():
    assert len(NAMES) == {count}
"""


def git(root: Path, *args: str) -> None:
    """Run git quietly in ``root``."""
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def make_app(root: Path) -> Path:
    """The application repository (see the module docstring)."""
    root.mkdir(parents=True)
    pins = "".join(f"{package(i)}==1.0.0\n" for i in range(DEPS))
    (root / "requirements.txt").write_text("# runtime\n" + pins, encoding="utf-8")
    (root / "requirements-dev.txt").write_text("-r requirements.txt\npytest\n", encoding="utf-8")
    (root / "tests").mkdir()
    modules = [package(i).replace("-", "_") for i in range(DEPS)]
    (root / "tests" / "test_app.py").write_text(
        TEST_FILE.format(names=modules, count=DEPS), encoding="utf-8"
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "app")
    return root


@dataclass
class GreenbumpRun:
    """One greenbump upgrade, decomposed."""

    wall: float
    rss_mb: float
    report: dict[str, object]
    spent: dict[str, float]
    counts: dict[str, int]
    import_s: float

    def total(self, prefix: str) -> float:
        """Seconds in subprocesses whose kind starts with ``prefix``."""
        return sum(v for k, v in self.spent.items() if k.startswith(prefix))

    @property
    def trials(self) -> list[dict[str, float]]:
        """The report's test runs."""
        runs = self.report["test_runs"]
        assert isinstance(runs, list)
        return runs

    @property
    def stages(self) -> dict[str, float]:
        """The report's stage durations."""
        durations = self.report["durations"]
        assert isinstance(durations, dict)
        return durations

    @property
    def env_seconds(self) -> list[float]:
        """Environment build time per trial that built one."""
        return [float(t["env_seconds"]) for t in self.trials if not t.get("cached")]

    @property
    def test_seconds(self) -> float:
        """Time in test runs, per the report."""
        return sum(float(t["duration"] or 0) for t in self.trials)

    @property
    def overhead(self) -> float:
        """Wall time minus uv and the test runs (git and greenbump's own Python remain)."""
        return self.wall - self.total("uv") - self.total("tests")

    @property
    def own(self) -> float:
        """Wall time minus every subprocess: greenbump's own Python, startup included."""
        return self.wall - sum(self.spent.values())


@dataclass
class ByHand:
    """One by-hand run: environment build (venv + install) and the test run."""

    venv: float
    install: float
    test: float

    @property
    def env(self) -> float:
        """Environment build time."""
        return self.venv + self.install

    @property
    def total(self) -> float:
        """Everything."""
        return self.env + self.test


@dataclass
class Setup:
    """What every run needs."""

    work: Path
    app: Path
    env: dict[str, str]
    index_url: str
    wheelhouse: Path
    driver: Path
    targets: Path = field(init=False)


def run_greenbump(setup: Setup) -> GreenbumpRun:
    """One ``greenbump upgrade`` through the driver.

    The outcomes greenbump remembers across runs are forgotten first: a repeat run would
    otherwise skip the full-set test run it is meant to measure (the environments stay).
    """
    cache = Path(setup.env.get("XDG_CACHE_HOME", Path(setup.env["HOME"]) / ".cache"))
    for outcomes in (cache / "greenbump" / "envs").glob("*/outcomes"):
        shutil.rmtree(outcomes, ignore_errors=True)
    split = setup.work / "split.json"
    argv = [
        str(BENCH_PYTHON),
        str(setup.driver),
        str(split),
        "upgrade",
        str(setup.app),
        "--index-url",
        setup.index_url,
        "--format",
        "json",
    ]
    sample = run_timed(argv, setup.env, setup.work)
    data = json.loads(split.read_text(encoding="utf-8"))
    report = data["report"]
    if data["code"] != 0 or report["status"] != "upgraded":
        raise RuntimeError(f"greenbump upgrade did not upgrade: {json.dumps(report)[:3000]}")
    return GreenbumpRun(
        sample.wall, sample.rss_mb, report, data["spent"], data["counts"], data["import"]
    )


def by_hand(setup: Setup, tool: str) -> ByHand:
    """venv + install the target pins and pytest + run the tests, with ``tool``."""
    venv = setup.work / f"by-hand-{tool}"
    shutil.rmtree(venv, ignore_errors=True)
    python = venv / "bin" / "python"
    if tool == "pip":
        create = [sys.executable, "-m", "venv", str(venv)]
        install = [str(python), "-m", "pip", "install", "--quiet", "--index-url", setup.index_url]
        install += ["-r", str(setup.targets), "pytest"]  # find-links: PIP_FIND_LINKS
    else:
        create = [uv_bin(), "venv", "--quiet", "--python", sys.executable, str(venv)]
        install = [uv_bin(), "pip", "install", "--quiet", "--python", str(python)]
        install += ["--index-url", setup.index_url, "--find-links", str(setup.wheelhouse)]
        install += ["-r", str(setup.targets), "pytest"]
    venv_s = run_timed(create, setup.env, setup.work).wall
    install_s = run_timed(install, setup.env, setup.work).wall
    test = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    test_env = {**setup.env, "PYTHONDONTWRITEBYTECODE": "1"}
    checkout = setup.work / "checkout"
    test_s = run_timed(test, test_env, checkout).wall
    return ByHand(venv_s, install_s, test_s)


def prepare(work: Path, index_url: str) -> Setup:
    """The app, the wheelhouse, the environment variables and the driver."""
    wheelhouse = work / "wheelhouse"
    build_wheelhouse(wheelhouse)
    home = work / "home"
    env = bench_env(home)
    env["PIP_FIND_LINKS"] = str(wheelhouse)
    driver = work / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    return Setup(work, make_app(work / "app"), env, index_url, wheelhouse, driver)


def write_targets(setup: Setup, first: GreenbumpRun) -> None:
    """The versions greenbump chose, for the by-hand runs; and a checkout at those versions."""
    packages = first.report["packages"]
    assert isinstance(packages, list)
    pins = {p["name"]: p["to"] for p in packages if p["status"] == "upgraded"}
    if len(pins) != DEPS:
        raise RuntimeError(f"expected {DEPS} upgrades, got {len(pins)}")
    setup.targets = setup.work / "target.txt"
    setup.targets.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())), "utf-8")
    checkout = setup.work / "checkout"
    shutil.rmtree(checkout, ignore_errors=True)
    shutil.copytree(setup.app / "tests", checkout / "tests")


def report_lines(
    command: str,
    runs: int,
    *,
    first: GreenbumpRun,
    repeats: Sequence[GreenbumpRun],
    hand: Mapping[str, Sequence[ByHand]],
    extra: Sequence[str],
) -> list[str]:
    """Markdown: machine, greenbump's split, the by-hand comparison, the goals."""

    def row(label: str, runs: Sequence[GreenbumpRun]) -> str:
        def med(pick: Callable[[GreenbumpRun], float]) -> str:
            return fmt_s(median([pick(r) for r in runs]))

        plan = med(lambda r: r.stages.get("read", 0) + r.stages["query"] + r.stages["plan"])
        return (
            f"| {label} | {med(lambda r: r.wall)} | {plan} "
            f"| {med(lambda r: r.total('uv pip compile'))} "
            f"| {med(lambda r: sum(r.env_seconds))} ({len(runs[0].env_seconds)} builds) "
            f"| {med(lambda r: r.test_seconds)} | {med(lambda r: r.total('git'))} "
            f"| {med(lambda r: r.overhead)} | {med(lambda r: r.own)} "
            f"| {median([r.rss_mb for r in runs]):.0f} MiB |"
        )

    stage_names = list(first.stages)
    stage_rows = [
        f"| {name} | {fmt_s(first.stages[name])} "
        f"| {fmt_s(median([r.stages.get(name, 0.0) for r in repeats]))} |"
        for name in stage_names
    ]
    pip_env = median([h.env for h in hand["pip"]])
    uv_env = median([h.env for h in hand["uv"]])
    gb_env = median([e for r in repeats for e in r.env_seconds])
    overhead = median([r.overhead for r in repeats])
    own = median([r.own for r in repeats])
    gb_total = median([r.wall for r in repeats])
    lines = [
        f"Command: `{command}` ({runs} repeat runs after the first; medians)",
        "",
        *extra,
        "",
        "| greenbump upgrade, 30 deps | total wall | plan (read+query+plan) | resolve (uv pip "
        "compile) | env builds | tests | git | overhead (total - uv - tests) "
        "| own Python (total - all subprocesses) | peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        row("first run (no env, empty caches)", [first]),
        row(f"repeat runs (median of {len(repeats)})", repeats),
        "",
        f"greenbump's stage durations (`durations` in the JSON report; interpreter start and "
        f"imports, {fmt_s(median([r.import_s for r in repeats]))}, come before them):",
        "",
        "| stage | first run | repeat runs (median) |",
        "| --- | --- | --- |",
        *stage_rows,
        "",
        "Subprocesses per repeat run: "
        + ", ".join(f"{k} x{v}" for k, v in sorted(repeats[-1].counts.items()))
        + ".",
        "",
        "| by hand (warm caches) | venv | install 30 pins + pytest | env build | tests | total |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for tool in ("pip", "uv"):
        cells = [
            fmt_s(median([pick(h) for h in hand[tool]]))
            for pick in (
                lambda h: h.venv,
                lambda h: h.install,
                lambda h: h.env,
                lambda h: h.test,
                lambda h: h.total,
            )
        ]
        lines.append(f"| {tool} | " + " | ".join(cells) + " |")
    pip_total = median([h.total for h in hand["pip"]])
    lines += [
        f"| greenbump (per env build, repeat runs) | | | {fmt_s(gb_env)} | | |",
        "",
        f"Ratios: pip env build / greenbump env build = {fmt_ratio(pip_env / gb_env)}; "
        f"uv-by-hand env build / greenbump env build = {fmt_ratio(uv_env / gb_env)}; "
        "greenbump whole upgrade (2 env builds, 2 test runs, resolves, 30 commits) / pip by "
        f"hand (1 env build, 1 test run) = {fmt_ratio(gb_total / pip_total)}.",
        "",
        "| goal | measured | |",
        "| --- | --- | --- |",
        f"| environment builds at least 20x faster than pip's | pip {fmt_s(pip_env)} vs "
        f"greenbump {fmt_s(gb_env)} per build = {fmt_ratio(pip_env / gb_env)} "
        f"| {verdict(pip_env >= 20 * gb_env)} |",
        f"| greenbump's own overhead under 1 second | total - uv - tests = {fmt_s(overhead)} "
        f"(of which git {fmt_s(median([r.total('git') for r in repeats]))}, Python startup and "
        f"imports {fmt_s(median([r.import_s for r in repeats]))}; "
        f"without any subprocess {fmt_s(own)}) | {verdict(overhead < 1.0)} |",
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, run the rounds, print Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="repeat rounds (medians)")
    parser.add_argument("--output", type=Path, help="also write the Markdown here")
    add_source_option(parser)
    args = parser.parse_args(argv)
    source = use_source(args.src)
    command = "python benchmarks/upgrade_bench.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="greenbump-upgrade-bench-") as tmp,
        local_index(releases()) as index,
    ):
        setup = prepare(Path(tmp), index.index_url)
        first = run_greenbump(setup)
        write_targets(setup, first)
        for tool in ("pip", "uv"):  # fill pip's and uv's caches (untimed)
            by_hand(setup, tool)
        repeats: list[GreenbumpRun] = []
        hand: dict[str, list[ByHand]] = {"pip": [], "uv": []}
        for round_no in range(args.runs):
            repeats.append(run_greenbump(setup))
            hand["pip"].append(by_hand(setup, "pip"))
            hand["uv"].append(by_hand(setup, "uv"))
            index.clear_log()
            print(f"  round {round_no + 1}/{args.runs} done", file=sys.stderr)
        pip = pip_version(setup.work / "by-hand-pip")
    extra = machine_lines(
        uv_bin(),
        [
            "- index: tests/localindex on 127.0.0.1 (TCP_NODELAY), same process; pytest from "
            "the offline wheelhouse (PIP_FIND_LINKS)",
            f"- pip {pip} (ensurepip's, in the by-hand venv)",
            f"- greenbump source: {source}; run by .venv's Python through an in-process "
            "driver that times its subprocesses",
        ],
    )
    lines = report_lines(
        command.strip(), args.runs, first=first, repeats=repeats, hand=hand, extra=extra
    )
    lines += ["", f"Total benchmark time: {time.monotonic() - started:.0f} s."]
    emit(lines, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
