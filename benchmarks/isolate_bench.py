"""Culprit isolation: test runs spent by greenbump against one run per upgrade.

Synthetic projects with n planned upgrades (8, 16, 32, 64) and k culprits (0 to 4) built from
the worlds of ``tests/test_isolate.py``: a culprit whose earlier releases pass (its highest
green version must be found), an interaction pair (each alone passes, together they fail),
a plain break at the target, and a dev tool capped by a held-back package; every scenario
also has a coupled pair that only works together (the dependency ordered first). Each row is
the mean over several seeds.

Columns: runs with evidence (honest tracebacks), runs without evidence (the same worlds with
silent failures, ``use_evidence=False``), the runs evidence saved, the naive strategy (one run
per upgrade, each alone, as one-PR-per-package bots do; it finds neither interactions nor
highest green versions, so its result is compared with the oracle too), whether isolate's
answer equals the oracle (brute-force enumeration for n = 8, the sequential-greedy reference
otherwise, which equals it for these suffix-closed worlds), and the algorithm's own time.

Usage: ``python benchmarks/isolate_bench.py [--seeds N] [--write BENCHMARKS.md]``
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from greenbump.isolate import isolate  # noqa: E402
from test_isolate import Break, Clash, Needs, Rule, World, lexmax  # noqa: E402

SIZES = (8, 16, 32, 64)
CULPRITS = (0, 1, 2, 3, 4)
DEEP = ("1.4.0", "1.4.1", "1.5.0", "1.5.1", "1.5.2", "1.6.0", "2.0.0", "2.1.0")
SHORT = (("1.0.0", "1.0.1"), ("1.0.0", "1.1.0", "1.1.1"), ("2.2.0", "2.2.1", "3.0.0"))
BRUTE_FORCE_MAX = 8


@dataclass(frozen=True)
class Row:
    n: int
    k: int
    evidence: float
    blind: float
    naive: float
    naive_exact: float
    exact: bool
    oracle: str
    millis: float


def build(n: int, k: int, seed: int, evidence: str) -> World:
    """A world with ``k`` culprits of the kinds the module docstring lists, and a coupled pair."""
    rng = random.Random(seed * 1000 + n * 10 + k)  # noqa: S311  # reproducible worlds
    names = [f"pkg{i:02d}" for i in range(n)]
    ladders = {name: rng.choice(SHORT) for name in names}
    kinds = ["deep", "clash", "break", "capped"][:k]
    slots = rng.sample(range(n), 2 + sum(1 if kind in ("deep", "break") else 2 for kind in kinds))
    rules: list[Rule] = []
    dep, dependent = sorted(slots[:2])  # dependency first, as the caller orders them
    rules.append(Needs(names[dependent], len(ladders[names[dependent]]) - 1, names[dep], 1))
    free = slots[2:]
    for kind in kinds:
        if kind in ("deep", "break"):
            a, free = free[0], free[1:]
            if kind == "deep":
                ladders[names[a]] = DEEP
                rules.append(Break(names[a], DEEP.index("1.6.0")))
            else:
                rules.append(Break(names[a], len(ladders[names[a]]) - 1))
            continue
        a, b = sorted(free[:2])
        free = free[2:]
        if kind == "clash":
            rules.append(Clash(names[a], 1, names[b], 1))
        else:  # a tool (b) whose newest release needs a newer lib (a) that breaks the tests
            ladders[names[b]] = ("2.0.0", "2.1.0", "3.0.0")
            rules += [Break(names[a], 1), Needs(names[b], 2, names[a], 1, resolver=True)]
    return World(ladders, rules, evidence)


def reference(world: World) -> dict[str, str]:
    """Sequential greedy by linear scans: the maximal green set of a suffix-closed world."""
    levels = [0] * len(world.ladders)
    for i, ladder in enumerate(world.ladders.values()):
        for level in range(len(ladder) - 1, 0, -1):
            if world.green([*levels[:i], level, *levels[i + 1 :]]):
                levels[i] = level
                break
    return world.as_versions(levels)


def naive(world: World) -> dict[str, str]:
    """One run per upgrade, each alone at its target; keep the green ones."""
    kept = {}
    for name, ladder in world.ladders.items():
        if world.probe({name: ladder[-1]}).ok:
            kept[name] = ladder[-1]
    return kept


def measure(n: int, k: int, seeds: int) -> Row:
    evid, blind, naive_runs, naive_ok, times = [], [], [], [], []
    exact = True
    for seed in range(seeds):
        world = build(n, k, seed, "honest")
        expected = lexmax(world) if n <= BRUTE_FORCE_MAX else reference(world)
        started = time.perf_counter()
        world.calls = 0
        result = isolate(world.candidates(), world.probe, depends=world.depends())
        times.append((time.perf_counter() - started) * 1000)
        evid.append(result.runs)
        exact &= result.accepted == expected and result.confirmed
        silent = build(n, k, seed, "silent")
        quiet = isolate(
            silent.candidates(), silent.probe, use_evidence=False, depends=silent.depends()
        )
        blind.append(quiet.runs)
        exact &= quiet.accepted == expected
        silent.calls = 0
        naive_ok.append(naive(silent) == expected)
        naive_runs.append(silent.calls)
    return Row(
        n,
        k,
        statistics.mean(evid),
        statistics.mean(blind),
        statistics.mean(naive_runs),
        statistics.mean(naive_ok),
        exact,
        "brute force" if n <= BRUTE_FORCE_MAX else "greedy reference",
        statistics.mean(times),
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| n | k | runs (evidence) | runs (no evidence) | saved by evidence | naive runs "
        "| naive exact | greenbump exact | oracle | algorithm ms |",
        "|---:|---:|---:|---:|---:|---:|---:|:---:|:---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.n} | {r.k} | {r.evidence:.1f} | {r.blind:.1f} | {r.blind - r.evidence:.1f} "
            f"| {r.naive:.0f} | {r.naive_exact:.0%} | {'yes' if r.exact else 'NO'} "
            f"| {r.oracle} | {r.millis:.2f} |"
        )
    return "\n".join(lines)


def write_section(path: Path, body: str) -> None:
    """Add or replace the "Culprit isolation" section of ``path``, leaving the rest alone."""
    section = f"## Culprit isolation\n\n{body.strip()}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Culprit isolation\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--write", type=Path, help="add or replace the section in this file")
    args = parser.parse_args()
    rows = [measure(n, k, args.seeds) for n in SIZES for k in CULPRITS]
    rendered = table(rows)
    print(rendered)
    if args.write is not None:
        command = f"python benchmarks/isolate_bench.py --seeds {args.seeds} --write {args.write}"
        body = (
            "Test runs to find the maximal green set when the full set of upgrades fails, on "
            "synthetic projects (`benchmarks/isolate_bench.py`, worlds from "
            "`tests/test_isolate.py`). k culprits of four kinds: a break at a minor boundary "
            "with earlier releases green, an interaction pair, a break at the target, a dev "
            "tool capped by a held-back package; every project also has a coupled pair. "
            f"Means over {args.seeds} seeds. Naive = one run per upgrade, each alone, which "
            "misses interactions and intermediate versions (and the coupled pair, whose "
            "dependent fails alone: hence 0% exact even for k = 0). Runs include the first "
            "run of all targets and the final confirmation; both greenbump columns get the "
            "dependency graph. Algorithm ms: isolate's own time with an instant oracle.\n\n"
            f"```\n{command}\n```\n\n{rendered}\n"
        )
        write_section(args.write, body)
    return 0 if all(r.exact for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
