"""Culprit isolation against synthetic worlds, checked by brute force.

A :class:`World` is a small model of a project: packages with release ladders and rules
that make a configuration fail (a release that breaks a test, a pair that breaks only
together, a release that needs another package at some version, by the tests or by the
resolver). Its ``probe`` is the real interface :func:`isolate` consumes, so no mock is
involved. :func:`lexmax` enumerates every configuration and returns the maximal green set as
defined in :mod:`greenbump.isolate`; :func:`suffix_closed` says whether the world is in the
class where isolate promises exactly that set.

The benchmark (``benchmarks/isolate_bench.py``) builds its scenarios from this module too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenbump.envs import installed_files
from greenbump.evidence import (
    FileOwners,
    probe_result,
    suspects_from_outcome,
    suspects_from_resolver,
    suspects_from_traceback,
)
from greenbump.isolate import Candidate, Isolation, ProbeResult, isolate
from greenbump.resolve import Resolution
from greenbump.testrun import TestOutcome
from greenbump.verify import Trial

# -- the synthetic world -------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """``pkg`` at level ``at`` or above fails ``test``."""

    pkg: str
    at: int
    test: str = ""


@dataclass(frozen=True)
class Clash:
    """``a`` at ``at_a``+ together with ``b`` at ``at_b``+ fails (each alone passes)."""

    a: str
    at_a: int
    b: str
    at_b: int
    test: str = ""


@dataclass(frozen=True)
class Needs:
    """``pkg`` at ``at``+ needs ``other`` at ``other_at``+: tests fail, or it won't resolve."""

    pkg: str
    at: int
    other: str
    other_at: int
    resolver: bool = False
    test: str = ""


Rule = Break | Clash | Needs

LADDERS = (
    ("1.0.0", "1.0.1", "1.1.0", "2.0.0"),
    ("2.3.1", "2.3.2", "2.4.0", "2.4.1"),
    ("0.9.0", "1.0.0", "1.0.1", "1.1.0"),
    ("4.1.0", "4.2.0", "5.0.0", "5.0.1"),
)


@dataclass
class World:
    """Packages (in priority order) with ladders, and the rules that make runs fail.

    ``evidence``: ``honest`` names the packages of every violated rule, ``silent`` names
    none, ``lying`` always names ``liar`` (an innocent package) for test failures. Resolver
    messages always name their packages: they come from the resolver's own text.
    """

    ladders: dict[str, tuple[str, ...]]
    rules: list[Rule] = field(default_factory=list)
    evidence: str = "honest"
    liar: str = ""
    calls: int = 0

    @property
    def order(self) -> list[str]:
        return list(self.ladders)

    def depends(self) -> dict[str, set[str]]:
        """What the metadata would say: a package needing another depends on it."""
        graph: dict[str, set[str]] = {n: set() for n in self.ladders}
        for rule in self.rules:
            if isinstance(rule, Needs):
                graph[rule.pkg].add(rule.other)
        return graph

    def candidates(self) -> list[Candidate]:
        return [Candidate(n, lad[0], lad[1:]) for n, lad in self.ladders.items()]

    def levels_of(self, config: Mapping[str, str]) -> tuple[int, ...]:
        return tuple(self.ladders[n].index(config[n]) if n in config else 0 for n in self.ladders)

    def verdict(self, levels: Sequence[int]) -> ProbeResult:
        at = dict(zip(self.ladders, levels, strict=True))
        unresolved = [
            r for r in self.rules if isinstance(r, Needs) and r.resolver and _violated(r, at)
        ]
        if unresolved:
            rule = unresolved[0]
            message = (
                f"Because {rule.pkg}=={self.ladders[rule.pkg][at[rule.pkg]]} depends on "
                f"{rule.other}>={self.ladders[rule.other][rule.other_at]} and you require "
                f"{rule.other}=={self.ladders[rule.other][at[rule.other]]}, we can conclude "
                "that your requirements are unsatisfiable."
            )
            names = sorted({n for r in unresolved for n in (r.pkg, r.other)})
            return ProbeResult(False, False, (), message, tuple(names))
        broken = [r for r in self.rules if not _resolver(r) and _violated(r, at)]
        if not broken:
            return ProbeResult(True, True)
        tests = tuple(sorted({_test_of(r) for r in broken}))
        named = sorted({n for r in broken for n in _names(r)})
        suspects = {"honest": named, "silent": [], "lying": [self.liar]}[self.evidence]
        error = f"AssertionError in {tests[0]}"
        return ProbeResult(True, False, tests, error, tuple(suspects))

    def probe(self, config: Mapping[str, str]) -> ProbeResult:
        self.calls += 1
        return self.verdict(self.levels_of(config))

    def green(self, levels: Sequence[int]) -> bool:
        return self.verdict(levels).ok

    def configurations(self) -> list[tuple[int, ...]]:
        return list(itertools.product(*(range(len(lad)) for lad in self.ladders.values())))

    def as_versions(self, levels: Sequence[int]) -> dict[str, str]:
        return {n: self.ladders[n][i] for n, i in zip(self.ladders, levels, strict=True) if i}


def _violated(rule: Rule, at: Mapping[str, int]) -> bool:
    if isinstance(rule, Break):
        return at[rule.pkg] >= rule.at
    if isinstance(rule, Clash):
        return at[rule.a] >= rule.at_a and at[rule.b] >= rule.at_b
    return at[rule.pkg] >= rule.at and at[rule.other] < rule.other_at


def _resolver(rule: Rule) -> bool:
    return isinstance(rule, Needs) and rule.resolver


def _names(rule: Rule) -> tuple[str, ...]:
    if isinstance(rule, Break):
        return (rule.pkg,)
    if isinstance(rule, Clash):
        return (rule.a, rule.b)
    return (rule.pkg, rule.other)


def _test_of(rule: Rule) -> str:
    return rule.test or f"tests/test_app.py::test_{'_'.join(_names(rule))}".replace("-", "_")


def lexmax(world: World) -> dict[str, str]:
    """The maximal green set by enumeration: the lexicographically greatest green levels."""
    return world.as_versions(max(c for c in world.configurations() if world.green(c)))


def suffix_closed(world: World) -> bool:
    """Resetting any trailing part of the order to current keeps green configurations green."""
    for config in world.configurations():
        if world.green(config):
            for i in range(len(config)):
                if not world.green(config[:i] + (0,) * (len(config) - i)):
                    return False
    return True


def single_step_maximal(world: World, accepted: Mapping[str, str]) -> bool:
    """No one package of a green configuration can move higher and stay green."""
    levels = list(world.levels_of(accepted))
    for i, ladder in enumerate(world.ladders.values()):
        for higher in range(levels[i] + 1, len(ladder)):
            if world.green([*levels[:i], higher, *levels[i + 1 :]]):
                return False
    return True


def run(world: World, **options: object) -> Isolation:
    world.calls = 0
    result = isolate(world.candidates(), world.probe, **options)  # type: ignore[arg-type]
    assert result.runs == world.calls  # every probe call is counted, none twice
    return result


def names(n: int) -> list[str]:
    return [f"p{i:02d}" for i in range(n)]


def flat(n: int, ladder: tuple[str, ...] = ("1.0", "2.0")) -> dict[str, tuple[str, ...]]:
    return dict.fromkeys(names(n), ladder)


# -- scenarios -----------------------------------------------------------------------------


def test_no_culprit_takes_one_run() -> None:
    world = World(flat(10))
    result = run(world)
    assert result.accepted == dict.fromkeys(names(10), "2.0")
    assert not result.held
    assert result.runs == 1
    assert result.confirmed


def test_known_outcome_is_not_run_again() -> None:
    world = World(flat(4), [Break("p02", 1)])
    everything = dict.fromkeys(names(4), "2.0")
    result = isolate(world.candidates(), world.probe, known=[(everything, world.probe(everything))])
    world.calls = 0
    again = run(world)
    assert result.runs == again.runs - 1
    assert result.accepted == again.accepted


@pytest.mark.parametrize("evidence", ["honest", "silent"])
def test_one_culprit(evidence: str) -> None:
    world = World(flat(16), [Break("p11", 1, "tests/test_x.py::test_y")], evidence)
    result = run(world, use_evidence=evidence == "honest")
    assert result.accepted == {n: "2.0" for n in names(16) if n != "p11"}
    held = result.held["p11"]
    assert held.tried == "2.0"
    assert held.highest_passing is None
    assert held.failing_tests == ("tests/test_x.py::test_y",)
    assert held.reason == "breaks tests/test_x.py::test_y"
    assert result.confirmed
    assert result.runs <= (3 if evidence == "honest" else 2 + math.ceil(math.log2(16)) + 1)


@pytest.mark.parametrize("evidence", ["honest", "silent", "lying"])
def test_several_independent_culprits(evidence: str) -> None:
    culprits = ["p03", "p09", "p10", "p27"]
    world = World(flat(32), [Break(c, 1) for c in culprits], evidence, liar="p00")
    result = run(world)
    assert result.accepted == lexmax_flat(32, culprits)
    assert set(result.held) == set(culprits)
    assert result.confirmed
    if evidence == "honest":
        assert result.runs <= 2 + len(culprits) + 1
        assert result.evidence_hits == len(culprits)


def lexmax_flat(n: int, held: Sequence[str]) -> dict[str, str]:
    return {name: "2.0" for name in names(n) if name not in held}


def test_highest_green_version_is_found_at_minor_boundary() -> None:
    ladder = ("1.0.0", "1.0.1", "1.0.2", "1.1.0", "1.1.1", "1.2.0", "1.2.1", "1.2.2", "2.0.0")
    world = World({"app-lib": ladder, "other": ("1.0", "2.0")}, [Break("app-lib", 5)])
    result = run(world)
    assert result.accepted == {"app-lib": "1.1.1", "other": "2.0"}
    held = result.held["app-lib"]
    assert (held.tried, held.highest_passing) == ("1.2.0", "1.1.1")
    assert result.confirmed


def test_break_inside_a_minor_is_found_from_its_first_release() -> None:
    ladder = ("1.0.0", "1.1.0", "1.2.0", "1.2.1", "1.2.2", "1.2.3", "1.3.0", "2.0.0")
    world = World({"lib": ladder}, [Break("lib", 4)])  # 1.2.2 breaks, 1.2.1 is the answer
    result = run(world)
    assert result.accepted == {"lib": "1.2.1"}
    assert result.held["lib"].tried == "1.2.2"


def test_culprit_breaking_only_at_newest_minor() -> None:
    ladder = ("3.0.0", "3.0.1", "3.1.0", "3.1.1", "3.2.0", "3.2.1", "3.3.0", "4.0.0", "4.1.0")
    world = World({"x": ladder, "y": ("1.0", "1.1")}, [Break("x", 8)])
    result = run(world)
    assert result.accepted == {"x": "4.0.0", "y": "1.1"}
    # all targets; hold x (green); x alone fails; 3.3.0 (current major's newest) passes;
    # 4.0.0 passes; y joins x at 4.0.0 (the confirmation): 6 runs
    assert result.runs <= 6
    assert (result.held["x"].tried, result.held["x"].highest_passing) == ("4.1.0", "4.0.0")


def test_interaction_pair_keeps_the_earlier_package() -> None:
    world = World(flat(8), [Clash("p02", 1, "p05", 1)])
    for evidence in ("honest", "silent", "lying"):
        world.evidence, world.liar = evidence, "p02"
        result = run(world)
        assert result.accepted == lexmax_flat(8, ["p05"]), evidence
        assert "together with p02 at 2.0" in result.held["p05"].reason or evidence != "honest"


def test_interaction_with_intermediate_release() -> None:
    ladder = ("1.0", "1.1", "2.0")
    world = World({"a": ladder, "b": ladder}, [Clash("a", 2, "b", 2)])
    result = run(world)
    assert result.accepted == lexmax(world) == {"a": "2.0", "b": "1.1"}


def test_coupled_pair_dependency_first() -> None:
    # "a" works only with "b"'s target; dependencies come first in the order.
    world = World({"b": ("1.0", "1.5", "2.0"), "a": ("1.0", "2.0")}, [Needs("a", 1, "b", 2)])
    result = run(world)
    assert result.accepted == {"a": "2.0", "b": "2.0"}
    assert result.runs == 1


def test_coupled_pair_dependent_first_is_retried() -> None:
    # "a" comes first and fails while "b" is old; once "b" moves, "a" is tried again.
    world = World({"a": ("1.0", "2.0"), "b": ("1.0", "2.0"), "c": ("1.0", "2.0")})
    world.rules = [Needs("a", 1, "b", 1), Break("c", 1)]
    for evidence, use in (("honest", True), ("silent", True), ("honest", False)):
        world.evidence = evidence
        result = run(world, use_evidence=use)
        assert result.accepted == {"a": "2.0", "b": "2.0"}, (evidence, use)
        assert result.confirmed


def test_coupled_pair_held_reason() -> None:
    world = World({"a": ("1.0", "2.0"), "b": ("1.0", "2.0")})
    world.rules = [Needs("a", 1, "b", 1), Break("b", 1)]
    result = run(world)
    assert result.accepted == {}
    assert result.held["a"].reason == "only together with b held at 1.0"


def test_resolver_coupled_pair_moves_together() -> None:
    world = World({"jinja2": ("2.11", "3.0"), "z": ("1", "2"), "markupsafe": ("1.1", "2.0")})
    world.rules = [
        Needs("jinja2", 1, "markupsafe", 1, resolver=True),
        Needs("markupsafe", 1, "jinja2", 1, resolver=True),
        Break("z", 1),
    ]
    for use in (True, False):
        result = run(world, use_evidence=use)
        assert result.accepted == {"jinja2": "3.0", "markupsafe": "2.0"}
        assert frozenset({"jinja2", "markupsafe"}) in result.groups
        assert result.confirmed


def test_resolver_coupled_pair_with_intermediate_releases() -> None:
    ladder = ("1.0", "1.1", "2.0")
    world = World({"a": ladder, "b": ladder})
    world.rules = [Needs("a", 2, "b", 2, resolver=True), Needs("b", 2, "a", 2, resolver=True)]
    result = run(world)
    assert result.accepted == {"a": "2.0", "b": "2.0"}


def test_dev_tool_capped_by_held_package() -> None:
    # the tool's 3.x needs lib 2+, and lib 2 breaks the tests: the tool stays at 2.5
    world = World(
        {"lib": ("1.0", "2.0"), "tool": ("2.0", "2.5", "3.0", "3.1")},
        [Break("lib", 1), Needs("tool", 2, "lib", 1, resolver=True)],
    )
    result = run(world)
    assert result.accepted == lexmax(world) == {"tool": "2.5"}
    held = result.held["tool"]
    assert held.highest_passing == "2.5"
    assert held.tried == "3.0"
    assert held.reason == "capped by lib held at 1.0"
    assert "depends on lib>=2.0" in held.error
    assert result.held["lib"].reason.startswith("breaks tests/")


def test_dev_tool_that_cannot_move_at_all() -> None:
    world = World(
        {"lib": ("1.0", "2.0"), "tool": ("2.0", "3.0")},
        [Break("lib", 1), Needs("tool", 1, "lib", 1, resolver=True)],
    )
    result = run(world)
    assert result.accepted == {}
    assert result.held["tool"].reason.startswith("cannot be installed with lib held at 1.0: ")


def test_evidence_saves_runs() -> None:
    rules: list[Rule] = [Break(n, 1) for n in ("p05", "p20", "p41", "p60")]
    honest = run(World(flat(64), list(rules), "honest"))
    blind = run(World(flat(64), list(rules), "silent"))
    assert honest.accepted == blind.accepted == lexmax_flat(64, ["p05", "p20", "p41", "p60"])
    assert honest.runs < blind.runs / 3


def test_lying_evidence_still_exact() -> None:
    rules: list[Rule] = [Break("p07", 1), Clash("p02", 1, "p12", 1)]
    world = World(flat(14), rules, "lying", liar="p03")
    result = run(world)
    assert result.accepted == lexmax_flat(14, ["p07", "p12"])
    assert "p03" not in result.held
    world.evidence = "honest"
    assert run(world).runs < result.runs


def test_evidence_naming_new_suspects_is_followed() -> None:
    # each failing run names only the first broken package it sees, as a real traceback would
    culprits = ["p01", "p04", "p06"]
    world = World(flat(8), [Break(c, 1) for c in culprits])

    def first_only(config: Mapping[str, str]) -> ProbeResult:
        result = world.probe(config)
        return ProbeResult(
            result.installable,
            result.green,
            result.failing_tests,
            result.error,
            result.suspects[:1],
        )

    result = isolate(world.candidates(), first_only)
    assert result.accepted == lexmax_flat(8, culprits)
    assert result.evidence_hits == 3


def test_parallel_jobs_give_the_same_answer() -> None:
    ladder = ("1.0.0", "1.0.1", "1.1.0", "1.1.1", "1.2.0", "2.0.0", "2.1.0")
    ladders = {**flat(20), "deep": ladder}
    rules: list[Rule] = [Break("p03", 1), Break("p17", 1), Break("deep", 4)]
    world = World(ladders, rules, "silent")
    one = run(world, jobs=1)
    four = run(world, jobs=4)
    assert one.accepted == four.accepted == {**lexmax_flat(20, ["p03", "p17"]), "deep": "1.1.1"}


@pytest.mark.parametrize(("n", "k"), [(8, 1), (16, 1), (16, 2), (32, 2), (64, 1), (64, 4)])
def test_sparse_run_count_bound(n: int, k: int) -> None:
    step = n // k
    culprits = [names(n)[i * step + step // 2] for i in range(k)]
    bound = k * math.log2(n / k) + 2 * k + 2  # culprits have no earlier release to search
    for use in (True, False):
        world = World(flat(n), [Break(c, 1) for c in culprits], "silent")
        result = run(world, use_evidence=use, depends=world.depends())
        assert result.accepted == lexmax_flat(n, culprits)
        assert result.runs <= bound, (result.runs, bound)


def test_dense_culprits_cost_about_one_run_each() -> None:
    n = 12
    culprits = names(n)[::2]  # half of them
    world = World(flat(n), [Break(c, 1) for c in culprits], "silent")
    result = run(world, depends=world.depends())
    assert result.accepted == lexmax_flat(n, culprits)
    # k is not known up front: the first culprit is bisected (log2 n), the density seen
    # then makes the search test one package at a time
    assert result.runs <= n + math.ceil(math.log2(n)) + 1


def test_candidate_validation() -> None:
    assert Candidate("Foo_Bar", "1.0", ("1.1", "2.0")).name == "foo-bar"
    assert Candidate("x", "1.0", ("2.0",)).target == "2.0"
    with pytest.raises(ValueError, match="ascend"):
        Candidate("x", "1.0", ("2.0", "1.5"))
    with pytest.raises(ValueError, match="no release"):
        Candidate("x", "1.0", ())
    with pytest.raises(ValueError, match="target"):
        Candidate("x", "1.0", ("2.0",), target="3.0")
    with pytest.raises(ValueError, match="duplicate"):
        isolate([Candidate("x", "1", ("2",)), Candidate("X", "1", ("2",))], World({}).probe)


def test_no_candidates() -> None:
    result = isolate([], World({}).probe)
    assert result.confirmed
    assert result.runs == 0


# -- brute force over random small worlds ---------------------------------------------------


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n = draw(st.integers(1, 5))
    ladders: dict[str, tuple[str, ...]] = {}
    for name in "abcde"[:n]:
        base = draw(st.sampled_from(LADDERS))
        ladders[name] = base[: 1 + draw(st.integers(2, 3))]
    pkgs = list(ladders)

    def level(pkg: str) -> int:
        return draw(st.integers(1, len(ladders[pkg]) - 1))

    rules: list[Rule] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["break", "clash", "needs", "resolver"]))
        a = draw(st.sampled_from(pkgs))
        if kind == "break" or n == 1:
            rules.append(Break(a, level(a)))
            continue
        b = draw(st.sampled_from([p for p in pkgs if p != a]))
        if kind == "clash":
            rules.append(Clash(a, level(a), b, level(b)))
        else:
            rules.append(Needs(a, level(a), b, level(b), resolver=kind == "resolver"))
    evidence = draw(st.sampled_from(["honest", "silent", "lying"]))
    return World(ladders, rules, evidence, liar=draw(st.sampled_from(pkgs)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.booleans(), st.sampled_from([1, 3]), st.booleans())
def test_matches_brute_force(world: World, use_evidence: bool, jobs: int, graph: bool) -> None:
    depends = world.depends() if graph else None
    result = run(world, use_evidence=use_evidence, jobs=jobs, depends=depends)
    assert result.confirmed
    assert world.green(world.levels_of(result.accepted))
    if suffix_closed(world):
        assert result.accepted == lexmax(world)
    elif world.evidence != "lying" or not use_evidence:
        # lying evidence outside the suffix-closed class may leave a package below a
        # version it could take: only "green and confirmed" is promised there
        assert single_step_maximal(world, result.accepted)
    for name, held in result.held.items():
        ladder = world.ladders[name]
        assert ladder.index(held.tried) > ladder.index(held.highest_passing or ladder[0])


# -- evidence helpers ----------------------------------------------------------------------


def make_venv(root: Path, dists: Mapping[str, Sequence[str]]) -> Path:
    site = root / "venv" / "lib" / "python3.12" / "site-packages"
    for dist, files in dists.items():
        info = site / f"{dist}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        rows = [*files, f"{info.name}/METADATA", f"{info.name}/RECORD"]
        for rel in files:
            path = site / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")
        (info / "RECORD").write_text("".join(f"{r},,\n" for r in rows))
    return root / "venv"


@pytest.fixture
def venv_files(tmp_path: Path) -> dict[Path, str]:
    venv = make_venv(
        tmp_path,
        {
            "Markup_Safe": ["markupsafe/__init__.py", "markupsafe/_speedups.cpython-312.so"],
            "requests": ["requests/__init__.py", "requests/sessions.py"],
            "protobuf": ["google/protobuf/__init__.py", "google/protobuf/message.py"],
            "google-api-core": ["google/api_core/__init__.py"],
            "six": ["six.py", "../../../bin/sixer"],
        },
    )
    return {path: str(name) for path, name in installed_files(venv).items()}


def test_frames_map_to_distributions(venv_files: dict[Path, str]) -> None:
    sessions = next(p for p in venv_files if p.name == "sessions.py")
    text = (
        "Traceback (most recent call last):\n"
        '  File "/project/tests/test_api.py", line 12, in test_get\n'
        f'  File "{sessions}", line 589, in request\n'
        "TypeError: unexpected keyword\n"
    )
    assert suspects_from_traceback(text, venv_files) == {"requests"}


def test_pytest_frames_relative_to_root(venv_files: dict[Path, str]) -> None:
    text = (
        "tests/test_render.py:8: in test_render\n"
        "    render()\n"
        ".venv/lib/python3.12/site-packages/markupsafe/__init__.py:40: in escape\n"
        "E   TypeError: boom\n"
    )
    assert suspects_from_traceback(text, venv_files) == {"markup-safe"}


def test_import_and_attribute_errors_name_modules(venv_files: dict[Path, str]) -> None:
    owners = FileOwners.of(venv_files)
    cases = {
        "E   ImportError: cannot import name 'soft_unicode' from 'markupsafe' (/x.py)": {
            "markup-safe"
        },
        "E   AttributeError: module 'six' has no attribute 'moves'": {"six"},
        "ModuleNotFoundError: No module named 'google.protobuf.internal'": {"protobuf"},
        "AttributeError: module 'google.api_core' has no attribute 'x'": {"google-api-core"},
        "ModuleNotFoundError: No module named 'requests_toolbelt'": set(),
        "ModuleNotFoundError: No module named 'project_local'": set(),
    }
    for text, expected in cases.items():
        assert suspects_from_traceback(text, owners) == expected, text


def test_resolver_messages_name_packages() -> None:
    message = (
        "  \u00d7 No solution found when resolving dependencies:\n"
        "  ╰─▶ Because Jinja2==3.0.0 depends on MarkupSafe>=2.0 and you require "
        "markupsafe==1.1.1, we can conclude that jinja2==3.0.0 cannot be used."
    )
    names = ["jinja2", "markupsafe", "requests", "safe"]
    assert suspects_from_resolver(message, names) == {"jinja2", "markupsafe"}


def test_probe_result_from_trials(venv_files: dict[Path, str]) -> None:
    sessions = next(p for p in venv_files if p.name == "sessions.py")
    outcome = TestOutcome(
        passed=False,
        timed_out=False,
        returncode=1,
        duration=1.0,
        failed=("tests/test_a.py::test_old", "tests/test_a.py::test_new"),
        tracebacks=(
            ("tests/test_a.py::test_old", "AttributeError: module 'six' has no attribute 'x'"),
            ("tests/test_a.py::test_new", f'File "{sessions}", line 3, in get\nValueError'),
        ),
        excerpt="tests/test_a.py::test_new: ValueError",
        per_test=True,
    )
    names = ["requests", "six"]
    red = Trial(
        {"requests": "3.0"}, Resolution({}, True), outcome, ("tests/test_a.py::test_new",), "h"
    )
    result = probe_result(red, venv_files, names)
    assert (result.installable, result.green) == (True, False)
    assert result.suspects == ("requests",)  # the baseline failure's evidence is not used
    assert result.failing_tests == ("tests/test_a.py::test_new",)
    assert suspects_from_outcome(outcome, venv_files) == {"requests", "six"}

    why = "Because requests==3.0 depends on urllib3>=3 and you require urllib3==2.0, ..."
    refused = Trial({"requests": "3.0"}, Resolution({}, False, why), None, (), None)
    result = probe_result(refused, venv_files, [*names, "urllib3"])
    assert (result.installable, result.suspects) == (False, ("requests", "urllib3"))
    assert result.error.startswith("Because requests==3.0")

    ok = TestOutcome(passed=True, timed_out=False, returncode=0, duration=1.0)
    assert probe_result(Trial({}, Resolution({}, True), ok, (), "h"), venv_files, names).ok
