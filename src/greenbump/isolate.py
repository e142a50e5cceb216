"""Find which upgrades break the tests, and keep every upgrade that stays green.

When the tests fail with the full set of planned upgrades, this module decides, package by
package, how far each one can move. It is a pure algorithm over an *oracle*: a
:data:`Probe` callable that installs a set of versions, runs the tests and answers with a
:class:`ProbeResult`. It never touches environments itself, so it is fast to test against
synthetic oracles and the caller owns caching, baselines and flaky-test handling.

Test runs are the expensive step, so every decision here is about asking fewer of them:

1. **All targets first.** Green: done after one run.
2. **Evidence first.** A failing run names suspects (traceback frames inside a package's
   files, the module of an ``ImportError``, the packages in a resolver conflict; see
   :mod:`greenbump.evidence`). The hypothesis "hold the suspects, take everything else" is
   tested at once; when it fails and names new suspects, they join and it is tested again.
   Evidence only *proposes*: each suspect is confirmed by its own run, so evidence that names
   an innocent package costs a run but never changes the answer.
3. **Group testing where the evidence is silent.** Candidates are in priority order; with a
   known-green set ``D`` the first culprit is the first ``i`` with ``D + rest[:i+1]``
   failing. Prefixes are probed in groups sized as generalized binary splitting sizes them
   (``2**floor(log2((m-k+1)/k))`` for ``k`` estimated culprits among ``m``, falling to single
   packages when culprits are dense), then bisected: about ``k*log2(n/k) + 2k`` runs for
   sparse culprits, never much more than one per package for dense ones.
4. **Highest green version** of each culprit, against the set accepted before it: breaks
   cluster at minor and major boundaries, so the newest release of each minor is searched first
   (the current major's newest first), then the first failing minor from its first release.
5. **Move together.** When a culprit's failure names packages still waiting later in the
   order (a resolver conflict always counts; traceback evidence when enabled), they are tried
   together once: a pair that only installs or works as a pair moves as a group.
6. **Retry what made no progress** when something it may depend on moved later, until
   nothing changes ("A only works with B" where B comes later in the order).
7. **Confirm** the final set (usually the last green run already is that set, from memory).

What "maximal green set" means
------------------------------
A *configuration* gives each candidate one version from ``(current, *versions)``; it is
*green* when the probe says installable and green. Candidates are given in **priority order**
(earlier = kept first when two upgrades cannot coexist; put dependencies before dependents and
likely culprits last). The **maximal green set** is the lexicographically greatest green
configuration comparing version positions in priority order: the first candidate as high as
any green configuration allows, then the second as high as possible given the first, and so on.
An upgrade is never given up for a lower-priority one.

:func:`isolate` returns exactly that set whenever the oracle is *suffix-closed*: resetting
any trailing part of the priority order to current versions keeps a green configuration green.
This holds when failures come from packages breaking tests at some release, from pairs that
break only together (interactions), and from "A needs B at least at X" where B comes before A
(by tests or by the resolver, e.g. a tool capped by a held-back dependency), which is what
ordering dependencies before dependents gives. Outside that class (A needs a *later* B, pairs
that only move together) the answer is still a confirmed green set in which no single package
can move higher and every resolver-named group has been tried as a whole.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

from greenbump.names import canonicalize_name

ERROR_LINES = 5  # first lines of an error kept in a HeldBack
_TESTS_SHOWN = 3


@dataclass(frozen=True)
class Candidate:
    """One planned upgrade: where a package is, where it may go, and the releases between.

    ``versions`` are the releases the plan allows strictly above ``current`` up to and
    including ``target``, ascending; ``target`` defaults to the last of them. The name is
    normalized (PEP 503) on construction so probes and results agree on spelling.
    """

    name: str
    current: str
    versions: tuple[str, ...]
    target: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", str(canonicalize_name(self.name)))
        object.__setattr__(self, "versions", tuple(str(v) for v in self.versions))
        if not self.versions:
            raise ValueError(f"{self.name}: no release above {self.current} to try")
        if not self.target:
            object.__setattr__(self, "target", self.versions[-1])
        if self.target != self.versions[-1]:
            raise ValueError(f"{self.name}: target {self.target} is not the newest of versions")
        try:
            ladder = [Version(v) for v in (self.current, *self.versions)]
        except InvalidVersion as exc:
            raise ValueError(f"{self.name}: {exc}") from exc
        if any(a >= b for a, b in itertools.pairwise(ladder)):
            raise ValueError(f"{self.name}: versions must ascend strictly above {self.current}")

    @property
    def ladder(self) -> tuple[str, ...]:
        """``(current, *versions)``: position 0 is "not upgraded"."""
        return (self.current, *self.versions)


@dataclass(frozen=True)
class ProbeResult:
    """What one probe said about one configuration.

    ``green`` means no test that passed at baseline fails (the caller compares to its
    baseline). ``suspects`` are package names the evidence points at; names that are not
    candidates are ignored. ``error`` holds the first lines of the failure or the resolver's
    message.
    """

    installable: bool
    green: bool
    failing_tests: tuple[str, ...] = ()
    error: str = ""
    suspects: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Installable and green: the configuration can be kept."""
        return self.installable and self.green


# name -> version for every package moved off its current version; the rest stay current.
Probe = Callable[[Mapping[str, str]], ProbeResult]


@dataclass(frozen=True)
class HeldBack:
    """Why a package did not reach its target, and how far it got.

    ``tried`` is the lowest version seen failing above ``highest_passing`` (``None`` when
    no newer version passed); ``failing_tests`` and ``error`` are from that run.
    """

    name: str
    current: str
    target: str
    tried: str
    highest_passing: str | None
    failing_tests: tuple[str, ...]
    error: str
    reason: str
    suspects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One probe that was really run (not answered from memory), for reports and tests."""

    changes: tuple[tuple[str, str], ...]
    installable: bool
    green: bool
    failing_tests: tuple[str, ...]


@dataclass(frozen=True)
class Isolation:
    """The outcome of :func:`isolate`.

    ``accepted`` maps each package that moved to its version in the final set (possibly an
    intermediate release); ``held`` explains every package below its target. ``runs`` counts
    probe calls not answered from this module's memory; ``test_runs`` those of them that
    installed (the rest were refused by the resolver or installer). ``confirmed`` says the
    final set itself was probed (or remembered) green. ``evidence_probes`` counts probes made
    to test evidence hypotheses and ``evidence_hits`` the culprits they located.
    """

    accepted: Mapping[str, str]
    held: Mapping[str, HeldBack]
    groups: tuple[frozenset[str], ...]
    runs: int
    test_runs: int
    confirmed: bool
    evidence_probes: int = 0
    evidence_hits: int = 0
    steps: tuple[Step, ...] = field(default=(), compare=False)


def isolate(
    candidates: Sequence[Candidate],
    probe: Probe,
    *,
    jobs: int = 1,
    use_evidence: bool = True,
    known: Iterable[tuple[Mapping[str, str], ProbeResult]] = (),
    depends: Mapping[str, Iterable[str]] | None = None,
) -> Isolation:
    """Find the maximal green set of upgrades (see the module docstring) with few probes.

    ``candidates`` are in priority order. The configuration with every candidate at its
    current version is assumed green (it is the baseline the caller compared against).
    ``known`` seeds the memory with outcomes the caller already has, typically the failing
    run of all targets, so it is not counted again. With ``jobs > 1`` searches probe several
    points at once (k-ary instead of binary); ``probe`` must then be thread-safe.

    ``depends`` maps a candidate to the packages it requires (from the resolved metadata;
    transitive requirements are followed here). A held package is tried again after others
    moved only when the evidence of its failure, or a dependency of it, moved: without the
    map, any move counts, which costs up to one run per held package but still catches
    "A only works with B" when B comes later in the order.
    """
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise ValueError("duplicate candidate names")
    oracle = _Oracle(probe, jobs)
    for config, result in known:
        oracle.remember(config, result)
    graph = None if depends is None else _closure(depends, set(names))
    return _Isolator(list(candidates), oracle, use_evidence, graph).run()


class _Oracle:
    """The probe with memory, a run counter and optional parallel batches."""

    def __init__(self, probe: Probe, jobs: int) -> None:
        self._probe = probe
        self.jobs = jobs
        self._memo: dict[frozenset[tuple[str, str]], ProbeResult] = {}
        self._lock = threading.Lock()
        self.steps: list[Step] = []

    @staticmethod
    def _key(config: Mapping[str, str]) -> frozenset[tuple[str, str]]:
        return frozenset((str(canonicalize_name(n)), v) for n, v in config.items())

    def remember(self, config: Mapping[str, str], result: ProbeResult) -> None:
        with self._lock:
            self._memo[self._key(config)] = result

    def ask(self, config: Mapping[str, str]) -> ProbeResult:
        return self.ask_many([config])[0]

    def ask_many(self, configs: Sequence[Mapping[str, str]]) -> list[ProbeResult]:
        keys = [self._key(c) for c in configs]
        with self._lock:
            todo = {k: c for k, c in zip(keys, configs, strict=True) if k not in self._memo}
        if todo:
            items = list(todo.items())
            if self.jobs > 1 and len(items) > 1:
                pool = ThreadPoolExecutor(max_workers=min(self.jobs, len(items)))
                try:
                    results = list(pool.map(lambda kc: self._probe(dict(kc[1])), items))
                finally:
                    # Not waiting here: when the caller was interrupted, its probes are still
                    # running and only the caller can stop them (e.g. Verifier.cancel).
                    pool.shutdown(wait=False, cancel_futures=True)
            else:
                results = [self._probe(dict(c)) for _, c in items]
            with self._lock:
                for (key, config), result in zip(items, results, strict=True):
                    self._memo[key] = result
                    self.steps.append(
                        Step(
                            tuple(sorted(config.items())),
                            result.installable,
                            result.green,
                            result.failing_tests,
                        )
                    )
        with self._lock:
            return [self._memo[k] for k in keys]


Levels = dict[str, int]  # name -> position in its ladder (0 = current)


class _Isolator:
    """The state of one isolation: decided levels, failures seen, groups found."""

    def __init__(
        self,
        candidates: list[Candidate],
        oracle: _Oracle,
        use_evidence: bool,
        depends: Mapping[str, frozenset[str]] | None,
    ) -> None:
        self.order = [c.name for c in candidates]
        self.cands = {c.name: c for c in candidates}
        self.ladder = {c.name: c.ladder for c in candidates}
        self.top = {c.name: len(c.versions) for c in candidates}
        self.oracle = oracle
        self.use_evidence = use_evidence
        self.depends = depends
        self.level: Levels = {}
        self.failure: dict[str, tuple[int, ProbeResult]] = {}
        self.searched_at: dict[str, Levels] = {}
        self.group_tried_at: dict[frozenset[str], Levels] = {}
        self.groups: list[frozenset[str]] = []
        self.resolver_groups: list[frozenset[str]] = []
        self.fresh: set[str] = set()  # suspects named by failing probes, not yet consumed
        self.evidence_probes = 0
        self.evidence_hits = 0

    # -- probing -------------------------------------------------------------------------

    def config(self, levels: Mapping[str, int]) -> dict[str, str]:
        return {n: self.ladder[n][i] for n, i in levels.items() if i > 0}

    def with_top(self, names: Iterable[str], base: Levels | None = None) -> Levels:
        levels = dict(self.level if base is None else base)
        levels.update({n: self.top[n] for n in names})
        return levels

    def ask_many(self, many: Sequence[Levels]) -> list[ProbeResult]:
        results = self.oracle.ask_many([self.config(levels) for levels in many])
        for result in results:
            if result.ok:
                continue
            named = self.named(result)
            self.fresh |= named
            if not result.installable and len(named) > 1:
                group = frozenset(named)
                if group not in self.resolver_groups:
                    self.resolver_groups.append(group)
        return results

    def ask(self, levels: Levels) -> ProbeResult:
        return self.ask_many([levels])[0]

    def named(self, result: ProbeResult) -> set[str]:
        """The candidates a result's evidence names."""
        names = {str(canonicalize_name(s)) for s in result.suspects}
        return names & self.cands.keys()

    def usable(self, result: ProbeResult) -> set[str] | None:
        """Suspects this run may act on: resolver names always, tracebacks if enabled."""
        if not result.installable or self.use_evidence:
            return self.named(result)
        return None

    # -- the whole run -------------------------------------------------------------------

    def run(self) -> Isolation:
        if not self.order:
            return self.result(confirmed=True)
        if self.ask(self.with_top(self.order)).ok:
            self.level = self.with_top(self.order)
            return self.result(confirmed=True)
        self.main_pass(self.use_evidence)
        self.settle()
        confirmed = self.ask(self.level).ok
        if not confirmed:
            # Only evidence shortcuts accept sets that were not probed themselves; outside the
            # suffix-closed class they can be wrong. Start over blind: every set it accepts is
            # a probed one, and memory makes the repeated part free.
            self.use_evidence = False
            self.level, self.failure, self.searched_at = {}, {}, {}
            self.group_tried_at, self.groups = {}, []
            self.fresh.clear()
            self.main_pass(evidence=False)
            self.settle()
            confirmed = self.ask(self.level).ok
        return self.result(confirmed=confirmed)

    def main_pass(self, evidence: bool) -> None:
        """Decide every candidate once, in priority order (steps 2 to 5)."""
        rest = list(self.order)
        pool: set[str] = set()
        stale = False
        found = 0
        while rest:
            in_rest = set(rest)
            if evidence:
                new = (self.fresh & in_rest) - pool
                self.fresh.clear()
                if new:
                    pool |= new
                    stale = False
            hold = pool & in_rest
            if evidence and hold and not stale:
                hypothesis = self.with_top(n for n in rest if n not in hold)
                self.evidence_probes += 1
                if not self.ask(hypothesis).ok:
                    if (self.fresh & in_rest) - pool:
                        continue  # the failure names new suspects: hold them too
                    stale = True  # the evidence is exhausted; split blindly below
                else:
                    first = next(i for i, n in enumerate(rest) if n in hold)
                    before = dict(self.level)
                    self.level.update(self.with_top(rest[:first], base={}))
                    suspect = rest[first]
                    pool.discard(suspect)
                    self.evidence_probes += 1
                    confirm = self.ask(self.with_top([suspect]))
                    blamed = self.usable(confirm)
                    if confirm.ok:
                        self.level[suspect] = self.top[suspect]
                        rest = rest[first + 1 :]
                    elif blamed and suspect not in blamed:
                        # The failure blames the packages taken on trust, not the suspect: the
                        # shortcut does not hold here (e.g. a pair that only moves together).
                        self.level = before
                        pool.add(suspect)
                        stale = True
                    else:
                        self.evidence_hits += 1
                        found += 1
                        rest = self.culprit(suspect, confirm, rest[first + 1 :])
                    continue
            rest, hit = self.split_step(rest, found)
            found += hit

    def split_step(self, rest: list[str], found: int) -> tuple[list[str], int]:
        """One round of generalized binary splitting over the prefixes of ``rest``."""
        m = len(rest)
        done = len(self.order) - m
        # Culprits still expected in ``rest`` at the density seen so far. Below about one,
        # the likeliest outcome is "none left": test the whole rest at once.
        expected = found * m / done if done else 0.0
        size = m if expected < 1.5 else _group_size(m, round(expected))
        if self.ask(self.with_top(rest[:size])).ok:
            self.level.update(self.with_top(rest[:size], base={}))
            return rest[size:], 0

        def bad(points: Sequence[int]) -> list[bool]:
            results = self.ask_many([self.with_top(rest[: p + 1]) for p in points])
            return [not r.ok for r in results]

        first = _first_bad(-1, size - 1, bad, (), self.oracle.jobs)
        failing = self.ask(self.with_top(rest[: first + 1]))  # remembered
        self.level.update(self.with_top(rest[:first], base={}))
        return self.culprit(rest[first], failing, rest[first + 1 :]), 1

    def culprit(self, name: str, failing: ProbeResult, later: list[str]) -> list[str]:
        """``name`` at its target fails with the decided set: move with partners, or search."""
        partners = [n for n in later if n in (self.usable(failing) or set())]
        if partners:
            together = self.ask(self.with_top([name, *partners]))
            if together.ok:
                self.level = self.with_top([name, *partners])
                self.groups.append(frozenset([name, *partners]))
                return [n for n in later if n not in partners]
        self.level[name] = self.search(name, 0, self.top[name], failing)
        self.searched_at[name] = dict(self.level)
        return later

    def search(self, name: str, good: int, bad: int, failing: ProbeResult) -> int:
        """The highest green level of ``name`` in ``[good, bad)`` against the decided set.

        ``good`` is known green and ``bad`` known failing. The newest release of each minor
        is searched first, starting with the newest of the current major (where most
        upgrades stay green), then the first failing minor from its own first release: a
        break usually arrives with a minor's ``.0``.
        """
        ladder = self.ladder[name]
        parsed = [Version(v) for v in ladder]
        self.failure[name] = (bad, failing)

        def bad_at(points: Sequence[int]) -> list[bool]:
            results = self.ask_many([{**self.level, name: p} for p in points])
            return [not r.ok for r in results]

        def minor(i: int) -> tuple[int, int]:
            return (parsed[i].major, parsed[i].minor)

        heads = [i for i in range(good + 1, bad + 1) if i == bad or minor(i) != minor(i + 1)]
        same_major = [h for h in heads[:-1] if parsed[h].major == parsed[good].major]
        hints = [heads.index(same_major[-1])] if same_major else []
        jobs = self.oracle.jobs
        pos = _first_bad(-1, len(heads) - 1, lambda ps: bad_at([heads[p] for p in ps]), hints, jobs)
        below = heads[pos - 1] if pos > 0 else good
        first = _first_bad(below, heads[pos], bad_at, (below + 1,), jobs)
        if first < bad:
            self.failure[name] = (first, self.ask({**self.level, name: first}))
        return first - 1

    def settle(self) -> None:
        """Retry held packages and resolver groups after others moved, until nothing does."""
        changed = True
        while changed:
            changed = False
            for name in self.order:
                have = self.level.get(name, 0)
                if have >= self.top[name] or not self.worth_retrying(name):
                    continue
                attempt = self.ask(self.with_top([name]))
                if attempt.ok:
                    self.level[name] = self.top[name]
                    changed = True
                else:
                    best = self.search(name, have, self.top[name], attempt)
                    if best > have:
                        self.level[name] = best
                        changed = True
                self.searched_at[name] = dict(self.level)
            for group in self.resolver_groups:
                below = [n for n in group if self.level.get(n, 0) < self.top[n]]
                if len(below) < 2 or self.group_tried_at.get(group) == self.level:
                    continue
                if any(self.stuck_alone(n, group) for n in below):
                    continue
                self.group_tried_at[group] = dict(self.level)
                if self.ask(self.with_top(below)).ok:
                    self.level = self.with_top(below)
                    self.groups.append(frozenset(below))
                    changed = True

    def worth_retrying(self, name: str) -> bool:
        """Whether something that could have stopped ``name`` moved since its last search.

        Evidence that names only the package itself (its own files in the traceback, its
        own requirement in a resolver message) means no other move can help it.
        """
        before = self.searched_at.get(name)
        raised = {
            n
            for n, i in self.level.items()
            if n != name and (before is None or i > before.get(n, 0))
        }
        if not raised:
            return False
        seen = self.failure.get(name)
        named = (self.usable(seen[1]) if seen is not None else None) or set()
        if (named - {name}) & raised:
            return True
        if self.depends is not None:
            return bool(self.depends.get(name, frozenset()) & raised)
        return not named  # no evidence and no graph: any move may have helped

    def stuck_alone(self, name: str, group: frozenset[str]) -> bool:
        """Whether ``name`` breaks the tests by itself, so moving ``group`` cannot help it.

        True when its failure named only itself and, if the graph is known, it depends on no
        other member of the group.
        """
        seen = self.failure.get(name)
        if seen is None or not seen[1].installable or self.usable(seen[1]) != {name}:
            return False
        return self.depends is None or not self.depends.get(name, frozenset()) & group

    # -- the answer ----------------------------------------------------------------------

    def result(self, *, confirmed: bool) -> Isolation:
        accepted = {n: self.ladder[n][i] for n in self.order if (i := self.level.get(n, 0)) > 0}
        held = {n: self.held_back(n) for n in self.order if self.level.get(n, 0) < self.top[n]}
        steps = tuple(self.oracle.steps)
        return Isolation(
            accepted=accepted,
            held=held,
            groups=tuple(dict.fromkeys(self.groups)),
            runs=len(steps),
            test_runs=sum(1 for s in steps if s.installable),
            confirmed=confirmed,
            evidence_probes=self.evidence_probes,
            evidence_hits=self.evidence_hits,
            steps=steps,
        )

    def state_of(self, name: str) -> str:
        level = self.level.get(name, 0)
        if level >= self.top[name]:
            return f"{name} at {self.ladder[name][level]}"
        return f"{name} held at {self.ladder[name][level]}"

    def held_back(self, name: str) -> HeldBack:
        cand = self.cands[name]
        level = self.level.get(name, 0)
        bad, failing = self.failure.get(name, (self.top[name], ProbeResult(False, False)))
        others = sorted(self.named(failing) - {name})
        held_others = [o for o in others if self.level.get(o, 0) < self.top[o]]
        first_line = _first_lines(failing.error, 1)
        if not failing.installable:
            if held_others and level > 0:
                reason = f"capped by {', '.join(self.state_of(o) for o in held_others)}"
            elif others:
                with_ = ", ".join(self.state_of(o) for o in others)
                reason = f"cannot be installed with {with_}: {first_line}"
            else:
                reason = f"cannot be installed: {first_line}"
        else:
            tests = list(failing.failing_tests[:_TESTS_SHOWN])
            more = len(failing.failing_tests) - len(tests)
            broken = ", ".join(tests) + (f" and {more} more" if more > 0 else "")
            broken = broken or first_line or "the tests fail"
            if held_others:
                reason = f"only together with {', '.join(self.state_of(o) for o in held_others)}"
            elif others:
                reason = f"breaks {broken} together with " + ", ".join(
                    self.state_of(o) for o in others
                )
            else:
                reason = f"breaks {broken}"
        return HeldBack(
            name=name,
            current=cand.current,
            target=cand.target,
            tried=self.ladder[name][bad],
            highest_passing=self.ladder[name][level] if level > 0 else None,
            failing_tests=failing.failing_tests,
            error=_first_lines(failing.error, ERROR_LINES),
            reason=reason,
            suspects=tuple(others),
        )


def _closure(depends: Mapping[str, Iterable[str]], names: set[str]) -> dict[str, frozenset[str]]:
    """Each candidate's direct and indirect requirements, limited to candidates."""
    direct = {
        str(canonicalize_name(k)): {str(canonicalize_name(v)) for v in vs}
        for k, vs in depends.items()
    }
    closed: dict[str, frozenset[str]] = {}
    for name in names:
        seen: set[str] = set()
        todo = list(direct.get(name, ()))
        while todo:
            dep = todo.pop()
            if dep not in seen:
                seen.add(dep)
                todo.extend(direct.get(dep, ()))
        closed[name] = frozenset((seen & names) - {name})
    return closed


def _group_size(m: int, k: int) -> int:
    """Generalized binary splitting's group size for ``k`` culprits among ``m``."""
    if m <= 2 * k - 2:
        return 1
    exponent: int = math.floor(math.log2((m - k + 1) / k))
    return min(m, 1 << exponent)


def _first_bad(
    good: int,
    bad: int,
    is_bad: Callable[[Sequence[int]], list[bool]],
    hints: Sequence[int],
    jobs: int,
) -> int:
    """The smallest failing position in ``(good, bad]``; ``good`` passes, ``bad`` fails.

    Each round probes up to ``jobs`` points: the ``hints`` still inside the interval first
    (likely boundaries), then evenly spaced points (the midpoint when ``jobs == 1``).
    """
    hints = list(hints)
    while bad - good > 1:
        points = [h for h in hints if good < h < bad][:jobs]
        hints = [h for h in hints if h not in points]
        spread = jobs - len(points)
        for t in range(1, spread + 1):
            p = good + round(t * (bad - good) / (spread + 1))
            if good < p < bad and p not in points:
                points.append(p)
        points.sort()
        for point, failed in zip(points, is_bad(points), strict=True):
            if failed:
                bad = point
                break
            good = point
    return bad


def _first_lines(text: str, count: int) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[:count])
