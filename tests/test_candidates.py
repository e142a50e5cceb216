"""Candidate selection: yanked, requires-python, prereleases, cooldown and update kinds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from greenbump.candidates import (
    Filters,
    ReleaseLike,
    UpdateKind,
    eligible,
    find_candidates,
    lowest_python,
    update_kind,
    wheels_admit,
)

NOW = dt.datetime(2026, 1, 10, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Rel:
    version: Version
    yanked: bool = False
    requires_python: SpecifierSet | None = None
    upload_time: dt.datetime | None = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    wheel_tags: frozenset[tuple[str, str]] | None = None


def rel(v: str, **kw: object) -> Rel:
    return Rel(Version(v), **kw)  # type: ignore[arg-type]


RELEASES = [
    rel("1.0.0"),
    rel("1.0.1"),
    rel("1.0.2", yanked=True),
    rel("1.1.0"),
    rel("1.2.0rc1"),
    rel("2.0.0"),
    rel("2.0.5", upload_time=NOW - dt.timedelta(days=1)),
    rel("2.1.0", requires_python=SpecifierSet(">=3.12")),
]  # oldest first, as an index page holds them
PY310 = Filters(python=Version("3.10"), now=NOW)


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ("1.0.0", "1.0.1", UpdateKind.PATCH),
        ("1.0", "1.0.1", UpdateKind.PATCH),
        ("1.0.9", "1.1", UpdateKind.MINOR),
        ("1.9", "2.0", UpdateKind.MAJOR),
        ("2024.1", "2025.1", UpdateKind.MAJOR),
        ("1.0", "1!1.0", UpdateKind.MAJOR),
    ],
)
def test_update_kind(old: str, new: str, kind: UpdateKind) -> None:
    assert update_kind(Version(old), Version(new)) is kind


def test_candidates_skip_yanked_prerelease_and_python() -> None:
    cands = find_candidates(RELEASES, Version("1.0.0"), [SpecifierSet("<2")], PY310)
    assert cands.latest_patch is not None
    assert str(cands.latest_patch.version) == "1.0.1"  # 1.0.2 is yanked
    assert cands.latest_minor is not None
    assert str(cands.latest_minor.version) == "1.1.0"  # 1.2.0rc1 is a prerelease
    assert cands.latest_major is not None
    assert str(cands.latest_major.version) == "2.0.5"  # 2.1.0 needs Python 3.12
    assert cands.latest_allowed is not None
    assert str(cands.latest_allowed.version) == "1.1.0"
    assert cands.kind is UpdateKind.MAJOR
    assert cands.outdated


def test_newer_python_admits_release() -> None:
    filters = Filters(python=Version("3.12"), now=NOW)
    cands = find_candidates(RELEASES, Version("1.0.0"), [], filters)
    assert cands.latest is not None
    assert str(cands.latest.version) == "2.1.0"


def test_cooldown_skips_young_release() -> None:
    filters = Filters(python=Version("3.10"), now=NOW, min_age=dt.timedelta(days=3))
    cands = find_candidates(RELEASES, Version("1.0.0"), [], filters)
    assert cands.latest is not None
    assert str(cands.latest.version) == "2.0.0"


def test_prereleases_allowed_when_current_is_one() -> None:
    cands = find_candidates(RELEASES, Version("1.2.0rc0"), [SpecifierSet("<2")], PY310)
    assert cands.latest_allowed is not None
    assert str(cands.latest_allowed.version) == "1.2.0rc1"


def test_a_constraint_naming_a_prerelease_allows_them() -> None:
    """``>=0.53b1,<0.54`` (as pip reads it): prereleases count, for the latest too."""
    releases = [rel("0.52b0"), rel("0.53b1"), rel("0.53b2"), rel("0.54b0")]
    cands = find_candidates(releases, None, [SpecifierSet(">=0.53b1,<0.54")], PY310)
    assert cands.latest_allowed == rel("0.53b2") and cands.latest == rel("0.54b0")


def test_a_project_with_only_prereleases_has_a_latest() -> None:
    """Nothing but prereleases published (as sphinxcontrib-towncrier): pip installs the
    newest, so that is the latest; a final release, once there, wins again."""
    releases = [rel("0.4.0a0"), rel("0.5.0a0")]
    cands = find_candidates(releases, None, [], PY310)
    assert cands.latest == rel("0.5.0a0") and cands.latest_allowed == rel("0.5.0a0")
    cands = find_candidates([*releases[:1], rel("0.4.1"), releases[1]], None, [], PY310)
    assert cands.latest == rel("0.4.1")


def test_up_to_date_is_not_outdated() -> None:
    cands = find_candidates(RELEASES, Version("2.0.5"), [], PY310)
    assert not cands.outdated
    assert cands.kind is None


def test_unknown_current_version_still_has_latest() -> None:
    cands = find_candidates(RELEASES, None, [SpecifierSet(">=1.1")], PY310)
    assert cands.latest is not None
    assert str(cands.latest.version) == "2.0.5"
    assert cands.latest_major is None


def test_lowest_python() -> None:
    assert lowest_python(SpecifierSet(">=3.9")) == Version("3.9")
    assert lowest_python(SpecifierSet(">=3.8,!=3.9.*")) == Version("3.8")
    assert str(lowest_python(SpecifierSet(">=3.10,<4"))) == "3.10"  # shown as the minor


@pytest.mark.parametrize(
    ("requires", "lowest"),
    [
        (">=3.8.1", "3.8.1"),  # common (flake8's floor): 3.8 is still supported
        (">=3.14.5,<3.14.6", "3.14.5"),  # an application pinned to one patch release
        ("~=3.10.2", "3.10.2"),
        ("==3.12.*,!=3.12.0", "3.12.1"),
        (">3.9", "3.9.1"),
    ],
)
def test_lowest_python_is_a_patch_release_when_the_minor_is_excluded(
    requires: str, lowest: str
) -> None:
    assert str(lowest_python(SpecifierSet(requires))) == lowest
    with pytest.raises(ValueError, match="admits no known"):
        lowest_python(SpecifierSet("<3"))


@pytest.mark.parametrize(
    ("tags", "python", "admitted"),
    [
        (None, "3.10", True),  # an sdist, or nothing known
        (frozenset({("py3", "none")}), "3.10", True),
        (frozenset({("py2", "none"), ("py3", "none")}), "3.12", True),
        (frozenset({("py2", "none")}), "3.12", False),
        (frozenset({("py311", "none")}), "3.10", False),
        (frozenset({("py38", "none")}), "3.10", True),
        (frozenset({("cp311", "cp311")}), "3.10", False),
        (frozenset({("cp310", "cp310")}), "3.10", True),
        (frozenset({("cp38", "abi3")}), "3.10", True),
        (frozenset({("cp311", "abi3")}), "3.10", False),
        (frozenset({("cp310", "none")}), "3.11", False),
        (frozenset({("pp310", "pypy310_pp73")}), "3.10", False),
        (frozenset({("pp310", "pypy310_pp73"), ("cp310", "cp310")}), "3.10", True),
    ],
)
def test_wheels_admit(tags: frozenset[tuple[str, str]] | None, python: str, admitted: bool) -> None:
    assert wheels_admit(tags, Version(python)) is admitted


def test_eligible_skips_releases_without_a_wheel_for_the_target() -> None:
    only_311 = frozenset({("cp311", "cp311")})
    releases = [rel("1.0.0"), rel("2.0.0", wheel_tags=only_311)]
    assert [str(r.version) for r in eligible(releases, Filters(Version("3.10")))] == ["1.0.0"]
    assert [str(r.version) for r in eligible(releases, Filters(Version("3.11")))] == [
        "1.0.0",
        "2.0.0",
    ]


_VERSIONS = st.sampled_from(
    [
        "0.9",
        "1.0",
        "1.0.1",
        "1.0.2",
        "1.1",
        "1.1.5",
        "1.2rc1",
        "2.0",
        "2.0.1",
        "2.1",
        "3.0a1",
        "3.0",
    ]
)
_SPECS = st.sampled_from(["", ">=1.0", "<2", "==1.1.*", "!=2.0", ">=1.1,<3", "==9"])
_PYTHONS = st.sampled_from([None, SpecifierSet(">=3.8"), SpecifierSet(">=3.12")])


@settings(max_examples=300, deadline=None)
@given(
    picked=st.lists(st.tuples(_VERSIONS, st.booleans(), _PYTHONS), unique_by=lambda t: t[0]),
    current=st.one_of(st.none(), _VERSIONS),
    specs=st.lists(_SPECS, max_size=2),
    pre=st.booleans(),
)
def test_candidates_are_the_newest_of_each_filtered_list(
    picked: list[tuple[str, bool, SpecifierSet | None]],
    current: str | None,
    specs: list[str],
    pre: bool,
) -> None:
    """The top-down search gives what filtering every release and taking the last gives,
    with pip's prerelease rules: allowed when a constraint names one, and the latest (or
    latest allowed) is a prerelease when no final release qualifies."""
    releases = sorted(
        (Rel(Version(v), yanked=y, requires_python=p) for v, y, p in picked),
        key=lambda r: r.version,
    )
    now = Version(current) if current is not None else None
    specifiers = [SpecifierSet(s) for s in specs]
    filters = Filters(python=Version("3.10"), now=NOW, allow_prereleases=pre)
    found = find_candidates(releases, now, specifiers, filters)

    named = any(SpecifierSet(s).prereleases for s in specs)
    filters = Filters(python=Version("3.10"), now=NOW, allow_prereleases=pre or named)
    pool = eligible(releases, filters, now)
    with_pre = eligible(releases, Filters(python=Version("3.10"), now=NOW, allow_prereleases=True))

    def admitted(pool: list[ReleaseLike]) -> list[ReleaseLike]:
        return [r for r in pool if all(s.contains(r.version, prereleases=True) for s in specifiers)]

    allowed = admitted(pool) or admitted(with_pre)
    assert found.latest == (pool or with_pre or [None])[-1]
    assert found.latest_allowed == (allowed[-1] if allowed else None)
    if now is None:
        assert (found.latest_patch, found.latest_minor, found.latest_major) == (None, None, None)
        return
    newer = [r for r in pool if r.version > now]
    minor = [r for r in newer if update_kind(now, r.version) is not UpdateKind.MAJOR]
    patch = [r for r in minor if update_kind(now, r.version) is UpdateKind.PATCH]
    assert found.latest_major == (newer[-1] if newer else None)
    assert found.latest_minor == (minor[-1] if minor else None)
    assert found.latest_patch == (patch[-1] if patch else None)


def test_search_reads_only_the_releases_it_needs() -> None:
    """A page of 2,000 releases: the answers sit among the newest few, so the search stops
    there instead of reading every release (what made a 150-package report slow)."""
    read: list[str] = []

    class Counted(Rel):
        @property
        def yanked(self) -> bool:  # type: ignore[override]  # read once per release examined
            read.append(str(self.version))
            return False

        @yanked.setter
        def yanked(self, value: bool) -> None:
            pass  # the dataclass __init__ sets it

    releases = [Counted(Version(f"{a}.{b}.0")) for a in range(20) for b in range(100)]
    found = find_candidates(releases, Version("19.97.0"), [SpecifierSet("<20")], PY310)
    assert found.latest is not None and str(found.latest.version) == "19.99.0"
    assert found.latest_allowed is found.latest
    assert found.latest_patch is None
    assert found.latest_minor is not None and str(found.latest_minor.version) == "19.99.0"
    assert read == ["19.99.0", "19.98.0", "19.97.0"][: len(read)] and len(read) <= 3
