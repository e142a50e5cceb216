"""``greenbump check`` on every project of the real-world corpus, against the configured index.

A trial, not a test: it needs the network (the index your pip/uv configuration names, else
pip's default) and takes a few minutes. Each project (a manifest with the lock files beside it,
or a folder of requirement files) is copied to a scratch folder and checked with the corpus's
advisory database; the table lists the exit code, the time and the summary, then every run
that did not exit 0 with its message. Exit codes other than 0, 2 and 3, or a traceback, are
bugs; so is a JSON report that does not parse.

    .venv/bin/python scripts/check_corpus.py [../shared/corpus] [--limit N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
    args = parser.parse_args()
    todo = projects(args.corpus)[: args.limit]
    rows, bad = [], []
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
                    summary = json.loads(done.stdout)["summary"]
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
    if bad:
        print(f"crashed or unreadable: {', '.join(bad)}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
