"""Benchmark ``greenbump check`` side by side with ``pip list --outdated`` and ``uv pip list``.

Default mode: the local test index (``tests/localindex``) serves synthetic releases of 50 and
200 packages (several versions each, some yanked, some with a ``requires-python`` the running
interpreter does not meet, a few prereleases and sdists). One virtual environment holds the
oldest version of every package (installed with uv) and a project's ``requirements.txt`` pins
the same versions. Each round runs, in a rotating order:

* ``greenbump check PROJECT --index-url URL --advisories OSV --format json``
* ``python -m pip list --outdated --index-url URL`` with the environment's own pip
* ``uv pip list --outdated --python VENV --index-url URL``
* on the local index, ``benchmarks/http_floor.py``: the same page requests from a bare CPython
  script and nothing else, the floor under any Python tool on the same machine

once with a cold cache (a fresh ``XDG_CACHE_HOME`` for that run, so greenbump's HTTP cache, pip's
HTTP cache and uv's cache are all empty) and once warm (the tool's own cache dir, filled by an
untimed first run). Wall and CPU time come from ``os.wait4`` on the child, peak RSS from GNU
``time`` (see :func:`run_timed`).
Medians are over ``--runs`` rounds; ratios are ratios of medians. A second greenbump run per
round goes through a tiny in-process driver that reports import time and ``main()`` time apart.

``--real-index`` does the same against the index pip's configuration names when no
configuration file is read: pip's built-in default, asked at run time through
:func:`greenbump.indexconfig.builtin_default_index`. The environments hold a realistic
resolution (as of a fixed date, ``--exclude-newer``) of popular packages: 69 and 157
distributions. Those numbers are network-bound and are labelled so.

The local index's request handler is switched to ``TCP_NODELAY`` here: its headers and body go
out in two writes, and with Nagle's algorithm each response on a kept-alive connection then
waits for the client's delayed ACK (~40 ms), which would penalise every client that reuses
connections (pip, greenbump) and not measure the tools at all.

Run ``.venv/bin/python benchmarks/check_bench.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import localindex.server  # noqa: E402
from localindex import LocalIndex, Release, isolated_environ, uv_bin  # noqa: E402

VENV_BIN = REPO / ".venv" / "bin"
GREENBUMP = VENV_BIN / "greenbump"
BENCH_PYTHON = VENV_BIN / "python"
TOOLS = ("greenbump", "uv", "pip")
FLOOR = "floor"  # benchmarks/http_floor.py: only the requests, in CPython (local index only)
EXCLUDED = ("pip", "setuptools")  # seeded by ``python -m venv``; not on the local index
SOURCE: dict[str, Path] = {}  # "src": a greenbump source tree to benchmark instead (--src)

# Top-level requirements of the real-index sets; resolved with uv as of EXCLUDE_NEWER they
# give 69 and 157 distributions (a web service, and the same with a data-science stack).
_WEB_SERVICE = """
    django djangorestframework celery redis psycopg2-binary requests gunicorn sentry-sdk boto3
    pillow pydantic python-dateutil pyyaml jinja2 click cryptography sqlalchemy alembic flask
    httpx pytest black ruff mypy tabulate toml wrapt
"""
_DATA_STACK = """
    numpy pandas scipy scikit-learn matplotlib fastapi uvicorn aiohttp beautifulsoup4 lxml
    openpyxl tqdm typer tox pre-commit sphinx google-cloud-storage kubernetes paramiko
"""
REAL_SET_SMALL = tuple(_WEB_SERVICE.split())
REAL_SET_LARGE = (*REAL_SET_SMALL, *_DATA_STACK.split())
EXCLUDE_NEWER = "2024-06-01"

# In-process driver: import time and main() time of one greenbump run, written as JSON.
DRIVER = """\
import contextlib, io, json, sys, time
started = time.perf_counter()
from greenbump.main import main
imported = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[2:])
done = time.perf_counter()
with open(sys.argv[1], "w") as fh:
    json.dump({"import": imported - started, "run": done - imported, "code": code}, fh)
"""


# --- measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One finished child process."""

    wall: float  # seconds
    cpu: float  # user + system seconds of the child (and children it waited for)
    rss_mb: float  # peak resident set size in MiB
    stdout: str
    requests: int = 0  # index page requests the local index saw (0 on the real index)


def _gnu_time() -> str | None:
    """GNU ``time``, when installed: it reports a child's own peak RSS.

    ``ru_maxrss`` from ``os.wait4`` is not that: Linux carries a process's high-water mark
    across ``fork`` and ``exec``, so every child of this benchmark (which holds the index
    server) reports at least this process's size. GNU ``time`` is a small C parent.
    """
    path = shutil.which("time") or "/usr/bin/time"
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return path if "GNU" in done.stdout + done.stderr else None


GNU_TIME = _gnu_time()


def run_timed(
    argv: Sequence[str | Path], env: Mapping[str, str], cwd: Path, *, check: bool = True
) -> Sample:
    """Run ``argv`` to completion; wall and CPU time from ``os.wait4``, the peak RSS from GNU
    ``time`` (else ``wait4``'s, which has this process's size as a floor)."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        report = Path(scratch) / "rss"
        command = [str(a) for a in argv]
        if GNU_TIME:
            command = [GNU_TIME, "-o", str(report), "-f", "%M", *command]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=dict(env), cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        peak_kib = float(usage.ru_maxrss)
        if GNU_TIME and report.is_file():
            lines = report.read_text().split()
            peak_kib = float(lines[-1]) if lines and lines[-1].isdigit() else peak_kib
    if check and process.returncode != 0:
        shown = " ".join(shlex.quote(str(a)) for a in argv)
        raise RuntimeError(f"exit {process.returncode}: {shown}\n{stderr[-3000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, peak_kib / 1024, stdout)


def median(values: Sequence[float]) -> float:
    """The median (``nan`` for no values)."""
    return statistics.median(values) if values else float("nan")


def fmt_s(value: float) -> str:
    """Seconds for a table cell."""
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def fmt_ratio(value: float) -> str:
    """A ratio for a table cell."""
    return f"{value:.2f}x"


def verdict(ok: bool) -> str:
    """Table cell for a goal."""
    return "**met**" if ok else "**not met**"


def machine_lines(uv: str, extra: Sequence[str] = ()) -> list[str]:
    """Machine, versions and date, as Markdown list items."""
    uv_version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
    greenbump_version = subprocess.run(
        [str(GREENBUMP), "--version"], capture_output=True, text=True, check=True
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        f"- machine: {platform.system()} {platform.machine()}, nproc {os.cpu_count()}, "
        f"load average at start {load} (shared, noisy)",
        f"- Python {platform.python_version()}, {uv_version.stdout.strip()}, "
        f"{greenbump_version.stdout.strip()}",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        *extra,
    ]


def pip_version(venv: Path) -> str:
    """The version of the pip inside ``venv``."""
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "--version"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    return out.stdout.split()[1]


def bench_env(home: Path, cache_home: Path | None = None) -> dict[str, str]:
    """No pip/uv configuration, a private home, and optionally a given cache home."""
    env = isolated_environ(os.environ, home=home)
    if cache_home is not None:
        cache_home.mkdir(parents=True, exist_ok=True)
        env["XDG_CACHE_HOME"] = str(cache_home)
    env.pop("UV_CACHE_DIR", None)  # uv then caches under XDG_CACHE_HOME/uv
    # Let the untimed first runs write bytecode, as any installed package has it: otherwise a
    # source file edited since its last compile is compiled again on every timed run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if "src" in SOURCE:
        env["PYTHONPATH"] = str(SOURCE["src"])
    return env


def add_source_option(parser: argparse.ArgumentParser) -> None:
    """``--src DIR``: benchmark the greenbump in ``DIR/src`` (e.g. a worktree of a commit)."""
    parser.add_argument(
        "--src", type=Path, help="a greenbump checkout to benchmark instead of .venv's"
    )


def use_source(checkout: Path | None) -> str:
    """Point every child at ``checkout/src``; returns a description of what is measured."""
    root = REPO if checkout is None else checkout.resolve()
    if checkout is not None:
        SOURCE["src"] = root / "src"
    tree = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        check=False,
        capture_output=True,
        text=True,
        cwd=root,
    ).stdout.strip()
    return f"{root} at {tree or 'unknown'}"


# --- the synthetic index -----------------------------------------------------------------------

VERSIONS = ("1.0.0", "1.0.1", "1.1.0", "1.2.0", "2.0.0", "2.1.0", "3.0.0")
FIRST_UPLOAD = dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)


def package_name(i: int) -> str:
    """The i-th synthetic package."""
    return f"bench-pkg-{i:03d}"


def synthetic_releases(count: int) -> list[Release]:
    """``count`` packages of 4 to 7 versions; some yanked, some Python-gated, a few rc and sdists.

    Every package's oldest version is 1.0.0 (what gets installed); the newest is yanked for
    every 5th package and needs ``Python >= 3.99`` for every 7th, every 6th has a ``4.0.0rc1``
    and every 10th ships sdists as well.
    """
    releases: list[Release] = []
    for i in range(count):
        versions = list(VERSIONS[: 4 + i % 4])
        if i % 6 == 0:
            versions.append("4.0.0rc1")
        for n, version in enumerate(versions):
            newest = n == len(versions) - 1
            releases.append(
                Release(
                    package_name(i),
                    version,
                    requires_python=">=3.99" if newest and i % 7 == 0 else None,
                    yanked="broken build" if newest and i % 5 == 0 else False,
                    uploaded=FIRST_UPLOAD + dt.timedelta(days=30 * n + i % 30),
                    sdist=i % 10 == 3,
                )
            )
    return releases


def write_advisories(folder: Path, names: Sequence[str], fixed: str = "1.0.1") -> Path:
    """OSV records (with aliases) against every 10th package, fixed in ``fixed``."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, name in enumerate(names[::10]):
        for osv_id in (f"PYSEC-2099-{n}", f"GHSA-bench-{n:04d}-xxxx"):
            record = {
                "id": osv_id,
                "modified": "2024-01-01T00:00:00Z",
                "aliases": [f"CVE-2099-{n}"],
                "summary": f"{name}: a synthetic advisory",
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": name},
                        "ranges": [
                            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                        ],
                    }
                ],
            }
            (folder / f"{osv_id}.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


@contextlib.contextmanager
def local_index(releases: Sequence[Release]) -> Iterator[LocalIndex]:
    """The local index with TCP_NODELAY on its connections (see the module docstring)."""
    localindex.server._Handler.disable_nagle_algorithm = True
    with LocalIndex(releases) as index:
        yield index


# --- one scenario ------------------------------------------------------------------------------


@dataclass
class Scenario:
    """One environment and project, and the argv of each tool against one index."""

    label: str
    deps: int
    project: Path
    venv: Path
    advisories: Path
    index_url: str
    pip: str = ""
    count_requests: Callable[[], int] | None = None  # the local index's page request count
    reset_requests: Callable[[], None] | None = None
    tools: tuple[str, ...] = TOOLS

    def argv(self, tool: str) -> list[str]:
        """The command line of ``tool``."""
        python = str(self.venv / "bin" / "python")
        excluded = [arg for name in EXCLUDED for arg in ("--exclude", name)]
        if tool == "greenbump":
            return [
                str(GREENBUMP),
                "check",
                str(self.project),
                "--index-url",
                self.index_url,
                "--advisories",
                str(self.advisories),
                "--format",
                "json",
            ]
        if tool == "pip":
            return [
                python,
                "-m",
                "pip",
                "list",
                "--outdated",
                "--index-url",
                self.index_url,
                *excluded,
            ]
        if tool == FLOOR:
            return [
                str(BENCH_PYTHON),
                str(REPO / "benchmarks" / "http_floor.py"),
                "--index-url",
                self.index_url,
                "--requirements",
                str(self.project / "requirements.txt"),
            ]
        if tool == "uv":
            return [
                uv_bin(),
                "pip",
                "list",
                "--outdated",
                "--python",
                python,
                "--index-url",
                self.index_url,
                *excluded,
            ]
        raise ValueError(tool)


@dataclass
class Results:
    """Samples per (tool, cache state), and greenbump's in-process split."""

    samples: dict[tuple[str, str], list[Sample]] = field(default_factory=dict)
    split: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def add(self, tool: str, state: str, sample: Sample) -> None:
        """Record one sample."""
        self.samples.setdefault((tool, state), []).append(sample)

    def wall(self, tool: str, state: str) -> float:
        """Median wall time."""
        return median([s.wall for s in self.samples.get((tool, state), [])])

    def stat(self, tool: str, state: str, pick: Callable[[Sample], float]) -> float:
        """Median of any per-sample number."""
        return median([pick(s) for s in self.samples.get((tool, state), [])])


def prepare(
    scenario_dir: Path, pins: Mapping[str, str], index_url: str, home: Path, *, real: bool
) -> tuple[Path, Path]:
    """The project (requirements.txt) and the venv holding exactly ``pins`` (plus pip)."""
    project = scenario_dir / "project"
    project.mkdir(parents=True)
    text = "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))
    (project / "requirements.txt").write_text(text, encoding="utf-8")
    venv = scenario_dir / "venv"
    env = bench_env(home, home / "setup-cache")
    # python -m venv seeds pip (offline, from ensurepip), which `python -m pip list` needs.
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    install = [
        uv_bin(),
        "pip",
        "install",
        "--quiet",
        "--python",
        str(venv / "bin" / "python"),
        "--index-url",
        index_url,
        "--no-deps",
        "-r",
        str(project / "requirements.txt"),
    ]
    if real:
        install.append("--only-binary=:all:")
    subprocess.run(install, check=True, env=env, cwd=scenario_dir)
    return project, venv


def measure(scenario: Scenario, runs: int, work: Path, home: Path) -> Results:
    """``runs`` rounds of every tool, cold then warm, in a rotating order."""
    results = Results()
    tools = scenario.tools
    warm_homes = {tool: work / f"warm-{tool}" for tool in tools}
    driver = work / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    for tool in tools:  # fill the warm caches (untimed)
        run_timed(scenario.argv(tool), bench_env(home, warm_homes[tool]), work)
    for round_no in range(runs):
        shift = round_no % len(tools)
        order = tools[shift:] + tools[:shift]
        for tool in order:
            for state in ("cold", "warm"):
                cache = work / f"cold-{tool}-{round_no}" if state == "cold" else warm_homes[tool]
                if scenario.reset_requests is not None:
                    scenario.reset_requests()
                sample = run_timed(scenario.argv(tool), bench_env(home, cache), work)
                if tool == "greenbump":
                    _check_report(sample.stdout, scenario.deps)
                if scenario.count_requests is not None:
                    sample = Sample(
                        sample.wall, sample.cpu, sample.rss_mb, "", scenario.count_requests()
                    )
                results.add(tool, state, sample)
                if state == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
        for state in ("cold", "warm"):  # greenbump once more, in process: import vs run
            cache = work / "cold-driver" if state == "cold" else warm_homes["greenbump"]
            split_file = work / "split.json"
            args = scenario.argv("greenbump")[1:]
            argv = [str(BENCH_PYTHON), str(driver), str(split_file), *args]
            run_timed(argv, bench_env(home, cache), work)
            data = json.loads(split_file.read_text(encoding="utf-8"))
            results.split.setdefault(state, []).append((data["import"], data["run"]))
            if state == "cold":
                shutil.rmtree(cache, ignore_errors=True)
        print(f"  {scenario.label}: round {round_no + 1}/{runs} done", file=sys.stderr)
    return results


def _check_report(stdout: str, deps: int) -> None:
    doc = json.loads(stdout)
    if doc["summary"]["packages"] != deps:
        raise RuntimeError(f"greenbump checked {doc['summary']['packages']} packages, not {deps}")


# --- scenarios ---------------------------------------------------------------------------------


def local_scenarios(sizes: Sequence[int], runs: int, work: Path) -> list[tuple[Scenario, Results]]:
    """Every size against the local index."""
    done = []
    home = work / "home"
    for size in sizes:
        releases = synthetic_releases(size)
        names = [package_name(i) for i in range(size)]
        scenario_dir = work / f"local-{size}"
        with local_index(releases) as index:
            project, venv = prepare(
                scenario_dir, dict.fromkeys(names, "1.0.0"), index.index_url, home, real=False
            )
            scenario = Scenario(
                label=f"local index, {size} deps",
                deps=size,
                project=project,
                venv=venv,
                advisories=write_advisories(scenario_dir / "osv", names),
                index_url=index.index_url,
                pip=pip_version(venv),
                count_requests=lambda index=index: index.count(prefix="/simple/"),
                reset_requests=index.clear_log,
                tools=(*TOOLS, FLOOR),
            )
            done.append((scenario, measure(scenario, runs, scenario_dir, home)))
        shutil.rmtree(scenario_dir, ignore_errors=True)
    return done


def real_scenarios(runs: int, work: Path) -> tuple[str, list[tuple[Scenario, Results]]]:
    """The two popular-package sets against pip's default index (network-bound)."""
    from greenbump.indexconfig import builtin_default_index

    home = work / "home"
    env = bench_env(home, home / "setup-cache")
    index_url, learnt = builtin_default_index(env)
    done = []
    for label, top in (("small", REAL_SET_SMALL), ("large", REAL_SET_LARGE)):
        scenario_dir = work / f"real-{label}"
        scenario_dir.mkdir(parents=True)
        (scenario_dir / "top.in").write_text("\n".join(top) + "\n", encoding="utf-8")
        compiled = subprocess.run(
            [
                uv_bin(),
                "pip",
                "compile",
                "top.in",
                "--python-version",
                f"{sys.version_info.major}.{sys.version_info.minor}",
                "--exclude-newer",
                EXCLUDE_NEWER,
                "--index-url",
                index_url,
                "--no-header",
                "--no-annotate",
                "--quiet",
            ],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=scenario_dir,
        ).stdout
        pins = dict(
            line.split("==", 1)
            for line in compiled.splitlines()
            if "==" in line and " " not in line
        )
        project, venv = prepare(scenario_dir, pins, index_url, home, real=True)
        names = sorted(pins)
        scenario = Scenario(
            label=f"real index, {len(pins)} deps",
            deps=len(pins),
            project=project,
            venv=venv,
            advisories=write_advisories(scenario_dir / "osv", names, fixed="0.0.1"),
            index_url=index_url,
            pip=pip_version(venv),
        )
        done.append((scenario, measure(scenario, runs, scenario_dir, home)))
        shutil.rmtree(scenario_dir, ignore_errors=True)
    return f"{learnt}", done


# --- report ------------------------------------------------------------------------------------


def tables(done: Sequence[tuple[Scenario, Results]], network: bool) -> list[str]:
    """Markdown tables: medians and ratios, then greenbump's own numbers."""
    label = " (network-bound)" if network else ""
    floor = all(FLOOR in scenario.tools for scenario, _ in done)
    extra = " python floor | greenbump / floor |" if floor else ""
    lines = [
        f"| deps{label} | cache | greenbump | uv | pip | greenbump / uv | pip / greenbump |{extra}",
        "| --- | --- | --- | --- | --- | --- | --- |" + (" --- | --- |" if floor else ""),
    ]
    for scenario, results in done:
        for state in ("cold", "warm"):
            g, u, p = (results.wall(t, state) for t in TOOLS)
            row = (
                f"| {scenario.deps} | {state} | {fmt_s(g)} | {fmt_s(u)} | {fmt_s(p)} "
                f"| {fmt_ratio(g / u)} | {fmt_ratio(p / g)} |"
            )
            if floor:
                f = results.wall(FLOOR, state)
                row += f" {fmt_s(f)} | {fmt_ratio(g / f)} |"
            lines.append(row)
    lines += [
        "",
        "| deps | cache | greenbump import | greenbump main() | CPU g / u / p "
        "| peak RSS g / u / p | page requests g / u / p |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for scenario, results in done:
        for state in ("cold", "warm"):
            split = results.split.get(state, [])
            imp = median([s[0] for s in split])
            main = median([s[1] for s in split])
            cpu = " / ".join(fmt_s(results.stat(t, state, lambda s: s.cpu)) for t in TOOLS)
            rss = " / ".join(f"{results.stat(t, state, lambda s: s.rss_mb):.0f}" for t in TOOLS)
            reqs = " / ".join(f"{results.stat(t, state, lambda s: s.requests):.0f}" for t in TOOLS)
            lines.append(
                f"| {scenario.deps} | {state} | {fmt_s(imp)} | {fmt_s(main)} | {cpu} "
                f"| {rss} MiB | {reqs if scenario.count_requests else 'n/a'} |"
            )
    return lines


def goals(done: Sequence[tuple[Scenario, Results]]) -> list[str]:
    """The issue's goals for the largest local scenario."""
    scenario, results = max(done, key=lambda item: item[0].deps)
    g_warm, u_warm = results.wall("greenbump", "warm"), results.wall("uv", "warm")
    g_cold, u_cold = results.wall("greenbump", "cold"), results.wall("uv", "cold")
    p_cold = results.wall("pip", "cold")
    rss = max(s.rss_mb for key, ss in results.samples.items() if key[0] == "greenbump" for s in ss)
    n = scenario.deps
    return [
        "| goal | measured | |",
        "| --- | --- | --- |",
        f"| warm check of {n} deps no slower than uv's listing | greenbump {fmt_s(g_warm)}, "
        f"uv {fmt_s(u_warm)} ({fmt_ratio(g_warm / u_warm)}) | {verdict(g_warm <= u_warm)} |",
        f"| cold check no slower than 2x uv | {fmt_ratio(g_cold / u_cold)} "
        f"| {verdict(g_cold <= 2 * u_cold)} |",
        f"| cold check at least 5x faster than pip | pip / greenbump = "
        f"{fmt_ratio(p_cold / g_cold)} | {verdict(p_cold >= 5 * g_cold)} |",
        f"| peak memory under 150 MB | max over all greenbump runs {rss:.0f} MiB "
        f"| {verdict(rss * 1.048576 < 150)} |",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, run the scenarios, print Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--runs", type=int, default=7, help="rounds per scenario (median)")
    parser.add_argument(
        "--real-index",
        action="store_true",
        help="instead: popular packages against pip's default index (network-bound)",
    )
    parser.add_argument("--output", type=Path, help="also write the Markdown here")
    add_source_option(parser)
    args = parser.parse_args(argv)
    source = use_source(args.src)
    command = "python benchmarks/check_bench.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="greenbump-check-bench-") as tmp:
        work = Path(tmp)
        extra = [f"- greenbump source: {source}"]
        if args.real_index:
            learnt, done = real_scenarios(args.runs, work)
            extra.append(f"- index: pip's default index ({learnt}), over the network")
        else:
            done = local_scenarios(args.sizes, args.runs, work)
            extra.append("- index: tests/localindex on 127.0.0.1 (TCP_NODELAY), same process")
        extra.append(f"- pip {done[0][0].pip} (the benchmark venv's own, from ensurepip)")
        lines = [
            f"Command: `{command.strip()}` ({args.runs} rounds; medians; cold = fresh cache "
            "for every run; ratios are ratios of medians)",
            "",
            *machine_lines(uv_bin(), extra),
            "",
            *tables(done, args.real_index),
            "",
        ]
        if not args.real_index:
            lines += [*goals(done), ""]
    lines.append(f"Total benchmark time: {time.monotonic() - started:.0f} s.")
    emit(lines, args.output)
    return 0


def emit(lines: list[str], output: Path | None) -> None:
    """Print the Markdown and, with ``--output``, write it there too (for BENCHMARKS.md)."""
    text = "\n".join(lines) + "\n"
    print(text)
    if output is not None:
        output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
