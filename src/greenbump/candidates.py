"""Which releases a dependency could move to, and what kind of move each is.

Pure functions over the index's release list: no I/O. The rules:

* yanked releases are never candidates (PEP 592: they stay installable by exact pin only);
* a release whose ``requires-python`` does not admit the project's target Python is skipped,
  and so is one that has only wheels, none of them for that Python (``cp311`` wheels and no
  sdist cannot install on 3.10, whatever ``requires-python`` says or fails to say);
* prereleases count only when the current version is one or the user allows them;
* releases younger than a cooldown (``min_age``) are skipped when one is given.

Update kinds follow the release segments: a different first segment is a major update, a
different second a minor one, anything else a patch. ``0.x`` projects are not special-cased:
users read kinds positionally and a surprise "minor" tells them more than a guessed "major".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from packaging.specifiers import SpecifierSet
from packaging.version import Version


class ReleaseLike(Protocol):
    """What this module needs of an index release (see :class:`greenbump.pages.Release`)."""

    @property
    def version(self) -> Version: ...
    @property
    def yanked(self) -> bool: ...
    @property
    def requires_python(self) -> SpecifierSet | None: ...
    @property
    def upload_time(self) -> dt.datetime | None: ...
    @property
    def wheel_tags(self) -> frozenset[tuple[str, str]] | None: ...


class UpdateKind(enum.Enum):
    """How far a move reaches."""

    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"


def update_kind(current: Version, new: Version) -> UpdateKind:
    """The kind of the move from ``current`` to ``new``."""
    old_parts = (*current.release, 0, 0)
    new_parts = (*new.release, 0, 0)
    if current.epoch != new.epoch or old_parts[0] != new_parts[0]:
        return UpdateKind.MAJOR
    if old_parts[1] != new_parts[1]:
        return UpdateKind.MINOR
    return UpdateKind.PATCH


def admits_python(requires_python: SpecifierSet | None, python: Version) -> bool:
    """Whether a release's ``requires-python`` admits ``python`` (no constraint admits all)."""
    return requires_python is None or requires_python.contains(python, prereleases=True)


def python_for(current: ReleaseLike | None, python: Version) -> Version:
    """The Python a package's candidates are judged for: the target, or, when the release
    the project has now needs a newer one, the oldest Python that release admits.

    A lock that forks by Python version pins a package at 0.2.4 for 3.12 and newer only; a
    docs extra pins Sphinx for the Python its build uses. Judged for the project's oldest
    Python, their latest would be older than what they have, and the move they can make
    would never show.
    """
    spec = None if current is None else current.requires_python
    if spec is None or admits_python(spec, python):
        return python
    try:
        lowest = lowest_python(spec)
    except ValueError:
        return python
    return max(lowest, python)


def wheels_admit(tags: frozenset[tuple[str, str]] | None, python: Version) -> bool:
    """Whether one of a release's wheels (``(interpreter, abi)`` pairs) installs on CPython
    ``python``; ``None`` (an sdist, or no files known) admits every Python."""
    if tags is None:
        return True
    major, minor = (*python.release, 0)[:2]
    return any(_tag_admits(interpreter, abi, major, minor) for interpreter, abi in tags)


def _tag_admits(interpreter: str, abi: str, major: int, minor: int) -> bool:
    """PEP 425 as installers apply it: ``py3``/``py3X`` (X <= minor), ``cp3X`` for exactly
    3.X, or ``cp3X-abi3`` for 3.X and later. Other implementations' wheels do not count."""
    kind, digits = interpreter[:2], interpreter[2:]
    if not digits.isdigit() or int(digits[0]) != major:
        return False
    wanted = int(digits[1:]) if len(digits) > 1 else None
    if kind == "py":
        return wanted is None or wanted <= minor
    if kind == "cp":
        if wanted is None:
            return True
        return wanted <= minor if abi == "abi3" else wanted == minor
    return False


@dataclass(frozen=True)
class Filters:
    """What makes a release eligible at all."""

    python: Version
    allow_prereleases: bool = False
    min_age: dt.timedelta | None = None
    now: dt.datetime | None = None


class _Eligible:
    """The rules above as one test per release, shared by :func:`eligible` and the top-down
    search of :func:`find_candidates`."""

    def __init__(self, filters: Filters, current: Version | None) -> None:
        self.filters = filters
        self.current = current
        self.pre_ok = filters.allow_prereleases or (current is not None and current.is_prerelease)
        self.now = filters.now or dt.datetime.now(dt.timezone.utc)
        self.python_ok: dict[int, bool] = {}  # by id: a page's releases share a few specifiers

    def __call__(self, release: ReleaseLike) -> bool:
        if release.yanked:
            return False
        spec = release.requires_python
        admitted = self.python_ok.get(id(spec))
        if admitted is None:
            admitted = self.python_ok[id(spec)] = admits_python(spec, self.filters.python)
        if not admitted:
            return False
        current = self.current
        if (current is None or release.version > current) and not wheels_admit(
            release.wheel_tags, self.filters.python
        ):
            return False  # asked only of releases one could move to: big pages list thousands
        if release.version.is_prerelease and not self.pre_ok:
            return False
        min_age = self.filters.min_age
        return min_age is None or (
            release.upload_time is not None and self.now - release.upload_time >= min_age
        )


def eligible(
    releases: Iterable[ReleaseLike], filters: Filters, current: Version | None = None
) -> list[ReleaseLike]:
    """Releases a dependency may move to, oldest first."""
    return sorted(filter(_Eligible(filters, current), releases), key=lambda r: r.version)


@dataclass(frozen=True)
class Candidates:
    """Where a dependency stands and where it could go."""

    current: Version | None
    latest: ReleaseLike | None  # newest eligible release overall
    latest_allowed: ReleaseLike | None  # newest eligible release the declared constraint admits
    latest_patch: ReleaseLike | None  # newest above current in the same major.minor
    latest_minor: ReleaseLike | None  # newest above current in the same major
    latest_major: ReleaseLike | None  # newest above current at all

    @property
    def outdated(self) -> bool:
        """Whether anything newer than the current version is eligible."""
        return self.latest_major is not None

    @property
    def kind(self) -> UpdateKind | None:
        """The kind of the move to the latest release."""
        if self.current is None or self.latest_major is None:
            return None
        return update_kind(self.current, self.latest_major.version)


def find_candidates(
    releases: Sequence[ReleaseLike],
    current: Version | None,
    specifiers: Sequence[SpecifierSet],
    filters: Filters,
) -> Candidates:
    """Candidates for one dependency; ``specifiers`` are its declared constraints (all apply).

    ``releases`` come oldest first, as :class:`~greenbump.pages.ProjectPage` holds them. Each
    answer is the newest release that qualifies, so the search reads from the newest down
    and stops as soon as every answer is known: a large project lists thousands of
    releases, and a check of 150 packages read all of them for a handful each.

    Prereleases count as pip counts them: when a declared constraint names one
    (``>=0.53b1``), and, for the latest and the latest allowed, when no final release
    qualifies at all (a project that has only published prereleases).
    """
    if not filters.allow_prereleases and any(s.prereleases for s in specifiers):
        filters = dataclasses.replace(filters, allow_prereleases=True)
    found = _search(releases, current, specifiers, _Eligible(filters, current))
    if (found.latest is None or found.latest_allowed is None) and not (
        filters.allow_prereleases or (current is not None and current.is_prerelease)
    ):
        with_pre = dataclasses.replace(filters, allow_prereleases=True)
        pre = _search(releases, current, specifiers, _Eligible(with_pre, current))
        found = dataclasses.replace(
            found,
            latest=found.latest or pre.latest,
            latest_allowed=found.latest_allowed or pre.latest_allowed,
        )
    return found


def _search(
    releases: Sequence[ReleaseLike],
    current: Version | None,
    specifiers: Sequence[SpecifierSet],
    keep: _Eligible,
) -> Candidates:
    latest = allowed = major = minor = patch = None
    for release in reversed(releases):
        newer = current is not None and release.version > current
        if (
            latest is not None
            and allowed is not None
            and (current is None or patch is not None or not newer)
        ):
            break  # nothing further down can change an answer
        if not keep(release):
            continue
        if latest is None:
            latest = release
        if allowed is None and all(
            s.contains(release.version, prereleases=True) for s in specifiers
        ):
            allowed = release
        if newer and patch is None and current is not None:
            kind = update_kind(current, release.version)
            if major is None:
                major = release
            if kind is not UpdateKind.MAJOR:
                if minor is None:
                    minor = release
                if kind is UpdateKind.PATCH:
                    patch = release
    return Candidates(
        current=current,
        latest=latest,
        latest_allowed=allowed,
        latest_patch=patch,
        latest_minor=minor,
        latest_major=major,
    )


def lowest_python(requires_python: SpecifierSet, known: Sequence[Version] | None = None) -> Version:
    """The oldest CPython version a project's ``requires-python`` admits: a minor version
    (``3.9``), or its first admitted patch release when ``.0`` is excluded (``>=3.8.1`` gives
    ``3.8.1``, ``>=3.14.5,<3.14.6`` gives ``3.14.5``).

    A release is safe for a project only if it installs on every Python the project supports, so
    candidate filtering uses the oldest one: a project that still supports 3.8.1 must not be
    offered a release that needs 3.9.
    """
    minors = known or [Version(f"3.{minor}") for minor in range(6, 20)]
    for minor in minors:
        if requires_python.contains(minor, prereleases=True):
            return minor
        for patch in range(1, _PATCHES):
            version = Version(f"{minor.major}.{minor.minor}.{patch}")
            if requires_python.contains(version, prereleases=True):
                return version
    raise ValueError(f"requires-python {requires_python} admits no known Python 3 version")


_PATCHES = 40  # patch releases looked at per minor version (3.8 ended at 3.8.20)
