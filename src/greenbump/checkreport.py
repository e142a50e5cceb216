"""What ``greenbump check`` found, per package: a plain value built from the pipeline's outputs.

Building the report is pure (inventory + index pages + advisory results in, report out), so
every rule about "outdated", "not checked" and "fix version" is tested without a network.
Rendering lives in :mod:`greenbump.checkformats`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.version import Version

from greenbump.candidates import (
    Candidates,
    Filters,
    ReleaseLike,
    UpdateKind,
    eligible,
    find_candidates,
    python_for,
)
from greenbump.names import NormalizedName

if TYPE_CHECKING:  # annotations only: building a report needs neither the index nor advisories
    from greenbump.advisories.matching import CheckResult, Finding
    from greenbump.inventory import Package
    from greenbump.pages import ProjectPage

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PackageReport:
    """One package's standing."""

    package: Package
    candidates: Candidates | None  # None when the index was not asked (URL / VCS dependency)
    vulns: CheckResult | None  # None when there is no current version to check
    not_checked_reason: str | None  # why vulnerabilities were not (fully) checked
    fix: str | None  # smallest version that fixes every finding
    latest_age_days: int | None
    python: Version | None = None  # what the candidates were judged for (see build_report)

    @property
    def vulnerable(self) -> bool:
        """At least one known vulnerability affects the current version."""
        return self.vulns is not None and self.vulns.vulnerable

    @property
    def checked(self) -> bool:
        """Vulnerabilities were looked up and the source answered for this version."""
        return self.not_checked_reason is None

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The vulnerabilities found (empty when none or not checked)."""
        return self.vulns.findings if self.vulns is not None else ()

    @property
    def outdated(self) -> bool:
        """A newer eligible release exists."""
        return self.candidates is not None and self.candidates.outdated

    @property
    def kind(self) -> UpdateKind | None:
        """Kind of the move to the latest release."""
        return self.candidates.kind if self.candidates is not None else None


@dataclass(frozen=True)
class CheckReport:
    """The whole answer to "how far behind are we, and is anything dangerous?"."""

    project: str
    python: Version
    packages: tuple[PackageReport, ...]
    advisory_source: str
    generated: dt.datetime

    @property
    def vulnerable(self) -> tuple[PackageReport, ...]:
        """Packages with known vulnerabilities."""
        return tuple(p for p in self.packages if p.vulnerable)

    @property
    def outdated(self) -> tuple[PackageReport, ...]:
        """Packages with newer eligible releases."""
        return tuple(p for p in self.packages if p.outdated)

    @property
    def not_checked(self) -> tuple[PackageReport, ...]:
        """Packages whose vulnerabilities could not be checked."""
        return tuple(p for p in self.packages if not p.checked)


def build_report(
    project: str,
    packages: Sequence[Package],
    *,
    pages: Mapping[NormalizedName, ProjectPage],
    vulns: Mapping[NormalizedName, CheckResult],
    filters: Filters,
    advisory_source: str,
) -> CheckReport:
    """Combine the inventory, the index pages and the advisory results.

    Each package is judged for the target Python, unless what it uses needs a newer one: its
    current release (a lock that forks by Python version pins it for 3.12 on), or, unpinned
    and with nothing allowed on the target, the oldest release its declarations allow. It is
    judged for the oldest Python that release admits then, so its latest is never below what
    it has or allows.
    """
    now = filters.now or dt.datetime.now(dt.timezone.utc)
    reports = []
    for package in packages:
        page = pages.get(package.key)
        candidates = python = None
        age = None
        if page is not None:
            current = None if package.current is None else page.release(package.current)
            python = python_for(current, filters.python)
            candidates = _candidates(page, package, filters, python)
            if package.current is None and candidates.latest_allowed is None:
                # Nothing allowed on this Python: maybe every allowed release needs a newer one.
                oldest = python_for(_oldest_allowed(page, package, python), python)
                if oldest != python:
                    python = oldest
                    candidates = _candidates(page, package, filters, python)
            age = _age_days(candidates.latest, now)
        result = vulns.get(package.key)
        reason = _not_checked_reason(package, result)
        fix = None
        if result is not None and result.vulnerable:
            fix = _fix(
                result, page, package, dataclasses.replace(filters, python=python or filters.python)
            )
        reports.append(PackageReport(package, candidates, result, reason, fix, age, python))
    return CheckReport(
        project=project,
        python=filters.python,
        packages=tuple(reports),
        advisory_source=advisory_source,
        generated=now,
    )


def _not_checked_reason(package: Package, result: CheckResult | None) -> str | None:
    if not package.from_index:
        return "not from a package index (URL, VCS or path dependency)"
    if package.current is None:
        return "no pinned or locked version to check"
    if result is None:
        return "the advisory source gave no answer"
    if not result.checked:
        return result.reason or "the advisory source could not check it"
    return None


def _candidates(
    page: ProjectPage, package: Package, filters: Filters, python: Version
) -> Candidates:
    """A package's candidates judged for ``python`` (see :func:`build_report`)."""
    if python != filters.python:
        filters = dataclasses.replace(filters, python=python)
    return find_candidates(page.releases, package.current, package.specifiers(python), filters)


def _oldest_allowed(page: ProjectPage, package: Package, python: Version) -> ReleaseLike | None:
    """The oldest release a package's declarations allow: what says which Python an
    unpinned package is used on (a docs group's ``sphinx>=9.1`` needs 3.12, whatever the
    project's oldest Python is)."""
    specifiers = package.specifiers(python)
    if not specifiers:
        return None
    for version in page.versions:
        if all(s.contains(version, prereleases=True) for s in specifiers):
            return page.release(version)
    return None


def _fix(
    result: CheckResult, page: ProjectPage | None, package: Package, filters: Filters
) -> str | None:
    """The smallest release above the current one that no known advisory hits, among those
    installable on the package's Python and not yanked (prereleases too: the fix prefers
    final releases itself); without a page, among the fixed versions the records name."""
    if page is None or package.current is None:
        return result.fix()
    able = dataclasses.replace(filters, allow_prereleases=True, min_age=None)
    installable = eligible(page.newer(package.current), able, package.current)
    return result.fix([str(release.version) for release in installable])


def _age_days(release: ReleaseLike | None, now: dt.datetime) -> int | None:
    if release is None or release.upload_time is None:
        return None
    return max(0, (now - release.upload_time).days)
