"""``greenbump check`` on every project of the real-world corpus, against the configured index.

A trial, not a test: it needs the network (the index your pip/uv configuration names, else
pip's default) and takes a few minutes. Each project (a manifest with the lock files beside it,
or a folder of requirement files) is copied to a scratch folder and checked with the corpus's
advisory database; the table lists the exit code, the time and the summary, then every run
that did not exit 0 with its message. Exit codes other than 0, 2 and 3, or a traceback, are
bugs; so is a JSON report that does not parse.

Every package of every report is then looked at: a latest version below the current one is
listed (it hides the moves a package has). With ``--against-json``, each package's latest is
also compared with a second opinion: the newest final release the index's per-project JSON
API (pip's built-in default, asked at run time) lists as not yanked, admitting the package's
``python`` by ``requires-python`` and by its wheels' tags (or having an sdist). Projects that
have published only prereleases differ by design (greenbump then gives the newest
prerelease, as pip would install it).

    .venv/bin/python scripts/check_corpus.py [../shared/corpus] [--limit N] [--json FILE]
        [--against-json]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

GREENBUMP = Path(sys.executable).parent / "greenbump"
MANIFESTS = ("pyproject.toml", "Pipfile")


def projects(corpus: Path) -> list[tuple[Path, bool]]:
    """(folder, whole tree?) pairs: manifest folders, then folders of requirement files."""
    manifests = sorted(
        {
            path.parent
            for kind in ("locks", "pyproject")
            for name in MANIFESTS
            for path in (corpus / kind).rglob(name)
        }
    )
    requirements = sorted({p.parent for p in (corpus / "requirements").rglob("*.txt")})
    return [(p, False) for p in manifests] + [(p, True) for p in requirements]


def main() -> int:
    """Check every project; exit 1 when any run crashed or printed a traceback."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    parser.add_argument("corpus", nargs="?", type=Path, default=default)
    parser.add_argument("--limit", type=int, help="only the first N projects")
    parser.add_argument("--json", type=Path, help="also write every run's outcome here")
    parser.add_argument(
        "--against-json", action="store_true", help="compare latest versions with the JSON API"
    )
    args = parser.parse_args()
    latest: dict[tuple[str, str], str] = {}  # (package, python) -> latest, from every report
    todo = projects(args.corpus)[: args.limit]
    rows: list[dict[str, Any]] = []
    bad: list[str] = []
    with tempfile.TemporaryDirectory(prefix="greenbump-corpus-") as tmp:
        env = dict(os.environ, XDG_CACHE_HOME=str(Path(tmp) / "cache"))
        for number, (source, whole) in enumerate(todo):
            target = Path(tmp) / f"p{number:03d}"
            if whole:
                shutil.copytree(source, target)
            else:
                target.mkdir()
                for item in source.iterdir():
                    if item.is_file():
                        shutil.copy2(item, target / item.name)
            argv = [str(GREENBUMP), "check", str(target), "--format", "json"]
            argv += ["--advisories", str(args.corpus / "advisories")]
            started = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
            wall = time.perf_counter() - started
            name = str(source.relative_to(args.corpus))
            summary: object = None
            if done.returncode in (0, 1):
                try:
                    report = json.loads(done.stdout)
                    summary = report["summary"]
                    note_packages(name, report["packages"], latest)
                except (ValueError, KeyError) as exc:
                    summary = f"unreadable report: {exc}"
                    bad.append(name)
            message = done.stderr.strip().replace(tmp, "…")
            if done.returncode not in (0, 1, 2, 3) or "Traceback" in done.stderr:
                bad.append(name)
            rows.append(
                {
                    "project": name,
                    "exit": done.returncode,
                    "seconds": round(wall, 2),
                    "summary": summary,
                    "message": message,
                }
            )
            print(f"{number:3d} exit {done.returncode} {wall:5.1f} s  {name}", file=sys.stderr)
    totals = {"packages": 0, "outdated": 0, "vulnerable": 0, "not_checked": 0}
    for row in rows:
        if isinstance(row["summary"], dict):
            for key in totals:
                totals[key] += row["summary"].get(key, 0)
    exits = {
        code: sum(1 for r in rows if r["exit"] == code)
        for code in sorted({r["exit"] for r in rows})
    }
    print(f"{len(rows)} projects; exit codes {exits}; {totals}")
    for row in rows:
        if row["exit"] != 0:
            last = row["message"].splitlines()[-1] if row["message"] else ""
            print(f"- exit {row['exit']} {row['project']}: {last}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    if args.against_json:
        compare_with_json_api(latest)
    if bad:
        print(f"crashed or unreadable: {', '.join(bad)}", file=sys.stderr)
    return 1 if bad else 0


def note_packages(
    project: str, packages: list[dict[str, Any]], latest: dict[tuple[str, str], str]
) -> None:
    """Print packages whose latest is below their current version; remember each latest."""
    for package in packages:
        current, newest, python = package["current"], package["latest"], package["python"]
        if current and newest and Version(current) > Version(newest):
            print(f"- {project}: {package['name']} {current} is newer than latest {newest}")
        if newest and python:
            latest.setdefault((package["name"], python), newest)


def compare_with_json_api(latest: dict[tuple[str, str], str]) -> None:
    """Print every (package, python) whose latest differs from the JSON API's answer."""
    import httpx
    from pip._internal.models.index import PyPI  # pip's built-in default, read at run time

    def second_opinion(item: tuple[tuple[str, str], str]) -> tuple[str, str, str, str] | None:
        (name, python), newest = item
        answer = client.get(f"{PyPI.pypi_url}/{name}/json")
        if answer.status_code != 200:
            return name, python, newest, f"HTTP {answer.status_code}"
        expected = _newest_final(answer.json()["releases"], Version(python))
        if expected == Version(newest) or (expected is None and Version(newest).is_prerelease):
            return None  # the same, or a project with only prereleases (see the docstring)
        return name, python, newest, str(expected)

    with (
        httpx.Client(timeout=60, follow_redirects=True) as client,
        concurrent.futures.ThreadPoolExecutor(8) as pool,
    ):
        differ = [d for d in pool.map(second_opinion, sorted(latest.items())) if d is not None]
    print(f"{len(latest)} latest versions compared with the JSON API; {len(differ)} differ")
    for name, python, newest, other in differ:
        print(f"- {name} (Python {python}): greenbump {newest}, JSON API {other}")


def _newest_final(releases: dict[str, list[dict[str, Any]]], python: Version) -> Version | None:
    best = None
    for text, files in releases.items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        usable = [f for f in files if not f.get("yanked") and _admits(f, python)]
        if not version.is_prerelease and usable and (best is None or version > best):
            best = version
    return best


def _admits(file: dict[str, Any], python: Version) -> bool:
    spec = file.get("requires_python")
    with contextlib.suppress(InvalidSpecifier):
        if spec and not SpecifierSet(spec).contains(python, prereleases=True):
            return False
    name = file["filename"]
    if not name.endswith(".whl"):
        return True
    interpreters, abi = name[:-4].split("-")[-3:-1]
    for tag in interpreters.split("."):
        if tag.startswith("py3") or tag == f"cp3{python.minor}":
            return True
        if tag.startswith("cp3") and abi == "abi3" and int(tag[3:] or 0) <= python.minor:
            return True
    return False


if __name__ == "__main__":
    raise SystemExit(main())
