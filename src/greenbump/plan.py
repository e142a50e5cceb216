"""Targets for an upgrade: per package, the version policy allows it to move to, and why.

Pure: inventory, index pages and advisory results in, a :class:`Plan` out. The rules
(``greenbump upgrade``'s policy): the target is the highest release that is not yanked, is at
least ``min-release-age`` days old (a supply-chain cooldown), admits the target Python, is not
a prerelease unless allowed, stays within ``level`` of the current version, and satisfies any
``hold`` cap. ``security-only`` moves only vulnerable packages, and only to the smallest
release that fixes them. ``only`` / ``exclude`` take names or globs.
"""

from __future__ import annotations

import datetime as dt
import enum
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from greenbump.advisories import CheckResult
from greenbump.candidates import Filters, ReleaseLike, UpdateKind, eligible, update_kind
from greenbump.errors import InputError
from greenbump.inventory import Package
from greenbump.names import NormalizedName, canonicalize_name
from greenbump.pages import ProjectPage

LEVELS = {"patch": UpdateKind.PATCH, "minor": UpdateKind.MINOR, "major": UpdateKind.MAJOR}
_RANK = {UpdateKind.PATCH: 0, UpdateKind.MINOR: 1, UpdateKind.MAJOR: 2}


@dataclass(frozen=True)
class Policy:
    """What the user allows an upgrade to do."""

    level: UpdateKind = UpdateKind.MAJOR
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    holds: Mapping[NormalizedName, SpecifierSet] = field(default_factory=dict)
    allow_prereleases: bool = False
    min_release_age: dt.timedelta = dt.timedelta(days=3)
    security_only: bool = False
    bump_lower_bounds: bool = False

    def selected(self, package: Package) -> bool:
        """Whether ``only`` / ``exclude`` let the package move."""
        names = (package.key, package.name)
        if self.only and not any(fnmatch.fnmatch(n, pat) for n in names for pat in self.only):
            return False
        return not any(fnmatch.fnmatch(n, pat) for n in names for pat in self.exclude)


def parse_holds(entries: Sequence[str]) -> dict[NormalizedName, SpecifierSet]:
    """``["django<6", "requests~=2.31"]`` -> caps by normalized name."""
    holds: dict[NormalizedName, SpecifierSet] = {}
    for entry in entries:
        try:
            req = Requirement(entry)
        except InvalidRequirement as exc:
            raise InputError(f"invalid hold {entry!r}: {exc}") from exc
        key = canonicalize_name(req.name)
        holds[key] = holds.get(key, SpecifierSet()) & req.specifier
    return holds


class Status(enum.Enum):
    """What the plan says about a package."""

    UPGRADE = "upgrade"
    CURRENT = "current"  # already at the best allowed version
    SKIPPED = "skipped"  # cannot or may not move (reason says why)


@dataclass(frozen=True)
class Target:
    """One package's planned move."""

    package: Package
    status: Status
    target: Version | None
    latest: Version | None  # newest eligible release ignoring level and holds
    reason: str
    advisories_fixed: tuple[str, ...] = ()
    steps: tuple[Version, ...] = ()  # every release policy allows above current, ascending

    @property
    def key(self) -> NormalizedName:
        """The package's normalized name."""
        return self.package.key

    @property
    def current(self) -> Version | None:
        """Where it is now."""
        return self.package.current

    @property
    def kind(self) -> UpdateKind | None:
        """Kind of the planned move."""
        if self.current is None or self.target is None:
            return None
        return update_kind(self.current, self.target)


@dataclass(frozen=True)
class Plan:
    """Targets for every package of the project."""

    targets: tuple[Target, ...]

    @property
    def upgrades(self) -> tuple[Target, ...]:
        """The packages that are planned to move."""
        return tuple(t for t in self.targets if t.status is Status.UPGRADE)

    def get(self, key: str) -> Target | None:
        """The target of ``key`` (any spelling)."""
        wanted = canonicalize_name(key)
        return next((t for t in self.targets if t.key == wanted), None)


def make_plan(
    packages: Sequence[Package],
    pages: Mapping[NormalizedName, ProjectPage],
    vulns: Mapping[NormalizedName, CheckResult],
    *,
    policy: Policy,
    python: Version,
    now: dt.datetime | None = None,
) -> Plan:
    """A target for every package."""
    filters = Filters(
        python=python,
        allow_prereleases=policy.allow_prereleases,
        min_age=policy.min_release_age if policy.min_release_age else None,
        now=now,
    )
    return Plan(
        tuple(_target(p, pages.get(p.key), vulns.get(p.key), policy, filters) for p in packages)
    )


def _target(
    package: Package,
    page: ProjectPage | None,
    result: CheckResult | None,
    policy: Policy,
    filters: Filters,
) -> Target:
    def skip(reason: str, latest: Version | None = None) -> Target:
        return Target(package, Status.SKIPPED, None, latest, reason)

    if not package.from_index:
        return skip("not from a package index (URL, VCS or path)")
    if page is None:
        return skip("not found on the index")
    current = package.current
    if current is None:
        return skip("no pinned or locked version to move")
    pool = eligible(page.newer(current), filters, current)
    latest = pool[-1].version if pool else None
    if not policy.selected(package):
        return skip("excluded by only/exclude", latest)
    findings = result.findings if result is not None else ()
    if policy.security_only:
        if not findings:
            return skip("security-only: no known vulnerability", latest)
        fix = result.fix([str(r.version) for r in pool]) if result is not None else None
        if fix is None:
            return skip("security-only: no release fixes it yet", latest)
        pool = [r for r in pool if r.version == Version(fix)]
    hold = policy.holds.get(package.key)
    allowed = [r for r in pool if _within_level(current, r, policy.level)]
    if hold is not None:
        allowed = [r for r in allowed if hold.contains(r.version, prereleases=True)]
    if not allowed:
        if latest is None:
            return Target(package, Status.CURRENT, None, None, _why_current(page, current, filters))
        why = (
            "held by policy"
            if hold is not None
            else f"newer releases exceed level {policy.level.value}"
        )
        return skip(why, latest)
    target = allowed[-1].version
    fixed = tuple(
        f.id for f in findings if not any(a.affects(package.key, str(target)) for a in f.advisories)
    )
    reason = "security fix" if policy.security_only else "latest allowed"
    if target != latest:
        reason = "capped by hold" if hold is not None else f"capped at level {policy.level.value}"
    steps = tuple(r.version for r in allowed)
    return Target(package, Status.UPGRADE, target, latest, reason, fixed, steps)


def _within_level(current: Version, release: ReleaseLike, level: UpdateKind) -> bool:
    return _RANK[update_kind(current, release.version)] <= _RANK[level]


def _why_current(page: ProjectPage, current: Version, filters: Filters) -> str:
    """Why nothing newer is a candidate, in the words a person needs."""
    newer = page.newer(current)
    if not newer:
        return "up to date"
    if filters.min_age is not None:
        without_age = Filters(filters.python, filters.allow_prereleases, None, filters.now)
        young = eligible(newer, without_age, current)
        if young:
            days = filters.min_age.days
            return f"{young[-1].version} is younger than min-release-age ({days} days)"
    return "up to date (newer releases are yanked, prereleases or need another Python)"
