"""Deciding which advisories affect an installed version, and which upgrade fixes them.

Range evaluation is written here by hand (see :meth:`Range.contains`): no maintained Python
library evaluates OSV ``ECOSYSTEM`` ranges with PEP 440 ordering offline, and the rules are
short. Three decisions shape the results:

* **Aliases merge.** The same vulnerability is often published as a PYSEC, a GHSA and a CVE
  record that name each other in ``aliases``, directly or through a third record. Ids linked
  that way, transitively, make one :class:`Finding`, so a report counts vulnerabilities rather
  than database entries. The primary id is chosen by a fixed preference (PYSEC, then GHSA, then
  CVE, then anything else; ties by natural order) so it does not depend on file order.
* **Fixes are checked, not assumed.** A "fixed" version named by one advisory may still be hit
  by another one (or by another range of the same one). :func:`smallest_fix` only proposes a
  version that no advisory of the package affects.
* **Unchecked is never clean.** A version that is not PEP 440 cannot be placed in a range;
  such a result says ``checked=False`` with the reason, even when it has no finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from packaging.version import Version

from greenbump.advisories.records import Advisory, Severity, parse_version, sort_versions
from greenbump.names import NormalizedName, canonicalize_name

PackageKey = tuple[NormalizedName, str]
"""How query results are keyed: the PEP 503-normalized name and the version as given."""


def package_key(name: str, version: str) -> PackageKey:
    """The result key for ``name`` at ``version``."""
    return (canonicalize_name(name), version)


@dataclass(frozen=True)
class Finding:
    """One vulnerability (all its aliased records together) affecting ``package`` at ``version``.

    ``fixed`` lists every version the merged records name as fixing it; ``fix`` is the smallest
    version above ``version`` among them that none of the merged records affects (``None`` when
    there is none, or when ``version`` is not PEP 440).
    """

    package: NormalizedName
    version: str
    id: str
    aliases: tuple[str, ...]
    summary: str
    fixed: tuple[str, ...]
    fix: str | None
    severity: tuple[Severity, ...] = ()
    references: tuple[str, ...] = ()
    advisories: tuple[Advisory, ...] = field(default=(), repr=False)

    @property
    def ids(self) -> tuple[str, ...]:
        """The primary id followed by the other ids."""
        return (self.id, *self.aliases)


@dataclass(frozen=True)
class CheckResult:
    """What an advisory source could say about one package version.

    ``checked=False`` means the answer is incomplete (the source was unreachable, answered
    garbage, or the version cannot be compared): no finding then does **not** mean safe, and
    ``reason`` says why. Findings that were established anyway are still listed. ``warnings``
    are problems that did not prevent the check (e.g. an unreadable advisory file).

    ``advisories`` holds every live record the source knows for the package, affecting this
    version or not, so that :meth:`fix` never proposes a version that another advisory hits.
    """

    package: NormalizedName
    version: str
    checked: bool
    reason: str | None = None
    findings: tuple[Finding, ...] = ()
    warnings: tuple[str, ...] = ()
    advisories: tuple[Advisory, ...] = field(default=(), repr=False, compare=False)

    @property
    def key(self) -> PackageKey:
        """The key this result is filed under."""
        return (self.package, self.version)

    @property
    def vulnerable(self) -> bool:
        """Whether at least one vulnerability was found."""
        return bool(self.findings)

    @property
    def safe(self) -> bool:
        """Checked and nothing found: the only state that means "no known vulnerability"."""
        return self.checked and not self.findings

    def fix(self, available_versions: Iterable[str | Version] | None = None) -> str | None:
        """The smallest version fixing every finding, hit by no known advisory.

        See :func:`smallest_fix`; ``None`` when there is nothing to fix or no such version.
        """
        return smallest_fix(
            self.version, self.findings, available_versions, advisories=self.advisories
        )


def unchecked(name: str, version: str, reason: str) -> CheckResult:
    """A result for a package that could not be checked."""
    return CheckResult(canonicalize_name(name), version, checked=False, reason=reason)


# ---------------------------------------------------------------------------------------------
# Ids and alias groups

_PREFERENCE = ("PYSEC-", "GHSA-", "CVE-")
_DIGITS = re.compile(r"(\d+)")


def id_sort_key(advisory_id: str) -> tuple[int, tuple[tuple[int, str], ...]]:
    """Preference order of ids: PYSEC, GHSA, CVE, others; then natural (2021-59 < 2021-108)."""
    upper = advisory_id.upper()
    rank = next((i for i, p in enumerate(_PREFERENCE) if upper.startswith(p)), len(_PREFERENCE))
    parts = tuple((int(p), "") if p.isdigit() else (-1, p) for p in _DIGITS.split(upper) if p != "")
    return (rank, parts)


def alias_groups(advisories: Iterable[Advisory]) -> list[list[Advisory]]:
    """Partition ``advisories`` into groups whose ids are linked by aliases, transitively."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    items = list(advisories)
    for adv in items:
        root = find(adv.id)
        for other in adv.aliases:
            other_root = find(other)
            if other_root != root:
                parent[other_root] = root
    groups: dict[str, list[Advisory]] = {}
    for adv in items:
        groups.setdefault(find(adv.id), []).append(adv)
    return list(groups.values())


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def build_finding(package: str, version: str, group: Sequence[Advisory]) -> Finding:
    """One finding from records that are aliases of each other (see :func:`alias_groups`)."""
    key = canonicalize_name(package)
    ordered = sorted(group, key=lambda a: id_sort_key(a.id))
    ids = {i for adv in ordered for i in adv.ids}
    primary = min(ids, key=id_sort_key)
    # The title: a real summary beats one cut from details; then the primary record's.
    head = min(ordered, key=lambda a: (not a.summary, not a.title, a.id != primary))
    fixed = sort_versions(v for adv in ordered for v in adv.fixed_versions(key))
    current = parse_version(version)
    return Finding(
        package=key,
        version=version,
        id=primary,
        aliases=tuple(sorted(ids - {primary}, key=id_sort_key)),
        summary=head.title,
        fixed=fixed,
        fix=_smallest_fix(key, current, ordered, fixed) if current is not None else None,
        severity=tuple(dict.fromkeys(s for adv in ordered for s in adv.severity)),
        references=_unique(u for adv in ordered for u in adv.references),
        advisories=tuple(ordered),
    )


def build_findings(package: str, version: str, matched: Iterable[Advisory]) -> tuple[Finding, ...]:
    """Findings for advisories already known to affect ``package`` at ``version``.

    Records with the same id are read once (the most recently modified wins).
    """
    latest: dict[str, Advisory] = {}
    for adv in matched:
        old = latest.get(adv.id)
        if old is None or adv.modified > old.modified:
            latest[adv.id] = adv
    findings = [build_finding(package, version, g) for g in alias_groups(latest.values())]
    return tuple(sorted(findings, key=lambda f: id_sort_key(f.id)))


# ---------------------------------------------------------------------------------------------
# Matching


def check(
    package: str,
    version: str,
    advisories: Iterable[Advisory],
    *,
    warnings: Sequence[str] = (),
) -> CheckResult:
    """Match ``package`` at ``version`` against ``advisories`` (any mix of packages).

    Withdrawn records are ignored. A version that is not PEP 440 is only compared with the
    explicit ``versions`` lists; if the package has any advisory, the result is then
    ``checked=False`` because its ranges could not be evaluated. So is the result of a
    version that an advisory's readable parts do not hit while one of its ranges could not
    be read (``fixed: 0.2.0-n653``): that range might hold it.
    """
    key = canonicalize_name(package)
    live = [a for a in advisories if a.withdrawn is None and a.for_package(key) is not None]
    notes = list(warnings)
    for adv in live:
        entry = adv.for_package(key)
        if entry is not None:
            notes.extend(f"{adv.id}: {problem}" for problem in entry.problems)
    parsed = parse_version(version)
    if parsed is None:
        matched = [a for a in live if a.affects(key, version)]
        findings = build_findings(key, version, matched)
        if not live:
            return CheckResult(key, version, True, None, findings, tuple(notes))
        shown = f"version {version!r} is not a PEP 440 version" if version else "no version"
        reason = (
            f"{shown}: {len(live)} advisor{'y' if len(live) == 1 else 'ies'} for {key} "
            "could only be compared with their explicit version lists"
        )
        return CheckResult(key, version, False, reason, findings, tuple(notes), tuple(live))
    matched = [a for a in live if a.affects(key, parsed)]
    findings = build_findings(key, version, matched)
    unsure = [a for a in live if _problems(a, key) and all(a is not m for m in matched)]
    if unsure:
        # A range that cannot be evaluated might hold this version: not "none known".
        first = unsure[0]
        reason = (
            f"{', '.join(a.id for a in unsure)}: could not be fully evaluated "
            f"({_problems(first, key)[0].split(': ', 1)[-1]})"
        )
        return CheckResult(key, version, False, reason, findings, tuple(notes), tuple(live))
    return CheckResult(key, version, True, None, findings, tuple(notes), tuple(live))


def _problems(advisory: Advisory, key: NormalizedName) -> tuple[str, ...]:
    entry = advisory.for_package(key)
    return () if entry is None else entry.problems


def smallest_fix(
    current: str | Version,
    findings: Sequence[Finding],
    available_versions: Iterable[str | Version] | None = None,
    *,
    advisories: Iterable[Advisory] = (),
) -> str | None:
    """The smallest version above ``current`` that fixes every finding.

    The version must not be affected by any record behind ``findings``, nor by any of
    ``advisories`` (other known records of the package, e.g. :attr:`CheckResult.advisories`:
    an upgrade that trades one vulnerability for another is no fix). Candidates are
    ``available_versions`` when given (e.g. the releases on the index), else the fixed versions
    the records name. Final releases are preferred; a pre-release is only proposed when
    ``current`` is one, or when no final release qualifies. Taking the smallest qualifying
    version also prefers the current release line: 2.0.1 with fixes in 2.0.3 and 2.1.0 gives
    2.0.3, unless an advisory affects 2.0.3. The answer is spelled as in the candidates.

    ``None`` when there is nothing to fix, nothing qualifies, or ``current`` is not PEP 440.
    """
    if not findings:
        return None
    packages = {f.package for f in findings}
    if len(packages) != 1:
        raise ValueError(f"findings for several packages: {', '.join(sorted(packages))}")
    (package,) = packages
    parsed = current if isinstance(current, Version) else parse_version(current)
    if parsed is None:
        return None
    records: dict[str, Advisory] = {}
    for adv in [a for f in findings for a in f.advisories] + list(advisories):
        if adv.withdrawn is None and adv.for_package(package) is not None:
            records.setdefault(adv.id, adv)
    if available_versions is None:
        candidates: Iterable[str | Version] = [v for f in findings for v in f.fixed] + [
            v for adv in records.values() for v in adv.fixed_versions(package)
        ]
    else:
        candidates = available_versions
    return _smallest_fix(package, parsed, list(records.values()), candidates)


def _smallest_fix(
    package: NormalizedName,
    current: Version,
    advisories: Sequence[Advisory],
    candidates: Iterable[str | Version],
) -> str | None:
    spelled: dict[Version, str] = {}
    for cand in candidates:
        parsed = cand if isinstance(cand, Version) else parse_version(cand)
        if parsed is not None and parsed > current:
            spelled.setdefault(parsed, str(cand))
    ordered = sorted(spelled)
    finals = [v for v in ordered if current.is_prerelease or not v.is_prerelease]
    previews = [v for v in ordered if v.is_prerelease and not current.is_prerelease]
    for pool in (finals, previews):
        for cand_version in pool:
            if not any(a.affects(package, cand_version) for a in advisories):
                return spelled[cand_version]
    return None
