"""Vulnerability data from OSV advisories: range matching, alias merging, fixes, and sources.

Three layers:

1. The real PyPA advisory database from the shared corpus (skipped when absent). Every expected
   id and fix below was checked by hand against the YAML files under ``vulns/<package>/``.
2. Small synthetic databases written to temporary folders (YAML, JSON, zip, broken files).
3. :class:`OsvApi` against a real HTTP server on 127.0.0.1 that speaks the OSV protocol, and
   misbehaves on request (errors, garbage, timeouts, nobody listening).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import re
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import InvalidVersion, Version

from greenbump.advisories import (
    Advisory,
    AdvisoryFormatError,
    CheckResult,
    OsvApi,
    OsvDirectory,
    check,
    load_document,
    package_key,
    parse_advisory,
    smallest_fix,
)
from greenbump.advisories.local import scan_names
from greenbump.advisories.matching import id_sort_key
from greenbump.advisories.records import to_osv
from greenbump.errors import InputError

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "advisories" / "vulns"

# ---------------------------------------------------------------------------------------------
# Helpers


def record(
    adv_id: str,
    *affected: dict[str, object],
    aliases: tuple[str, ...] = (),
    **extra: object,
) -> dict[str, object]:
    """An OSV document."""
    doc: dict[str, object] = {
        "id": adv_id,
        "modified": "2024-01-01T00:00:00Z",
        "affected": list(affected),
    }
    if aliases:
        doc["aliases"] = list(aliases)
    doc.update(extra)
    return doc


def pkg(
    name: str,
    *events: tuple[str, str],
    versions: tuple[str, ...] = (),
    ecosystem: str = "PyPI",
    ranges: list[dict[str, object]] | None = None,
) -> dict[str, object]:
    """One ``affected`` entry; ``events`` make one ECOSYSTEM range."""
    entry: dict[str, object] = {"package": {"name": name, "ecosystem": ecosystem}}
    all_ranges = list(ranges or [])
    if events:
        all_ranges.append({"type": "ECOSYSTEM", "events": [{k: v} for k, v in events]})
    if all_ranges:
        entry["ranges"] = all_ranges
    if versions:
        entry["versions"] = list(versions)
    return entry


def write_json(folder: Path, doc: dict[str, object], name: str | None = None) -> Path:
    path = folder / (name or f"{doc['id']}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def db(tmp_path: Path, *docs: dict[str, object]) -> OsvDirectory:
    """A flat JSON database (the ``all.zip`` layout, unzipped) of ``docs``."""
    folder = tmp_path / "db"
    folder.mkdir(exist_ok=True)
    for doc in docs:
        write_json(folder, doc)
    return OsvDirectory(folder)


def one(source: OsvDirectory | OsvApi, name: str, version: str) -> CheckResult:
    results = source.query([(name, version)])
    assert len(results) == 1
    return next(iter(results.values()))


def ids(result: CheckResult) -> list[str]:
    return [f.id for f in result.findings]


# ---------------------------------------------------------------------------------------------
# 1. The real PyPA advisory database


@pytest.fixture(scope="module")
def pypa() -> OsvDirectory:
    if not CORPUS.is_dir():
        pytest.skip(f"the PyPA advisory database is not at {CORPUS}")
    return OsvDirectory(CORPUS)


def test_pypa_requests_2_19_0(pypa: OsvDirectory) -> None:
    # PYSEC-2018-28 (CVE-2018-18074): introduced 0, fixed 2.20.0.
    # PYSEC-2023-74 (CVE-2023-32681): introduced 2.3.0, fixed 2.31.0.
    # Not PYSEC-2014-13/14 (fixed 2.3.0) nor PYSEC-2015-17 (2.1.0 to 2.6.0).
    result = one(pypa, "requests", "2.19.0")
    assert result.checked and result.reason is None
    assert ids(result) == ["PYSEC-2018-28", "PYSEC-2023-74"]
    first, second = result.findings
    assert first.aliases == ("GHSA-x84v-xcm2-53pg", "CVE-2018-18074")
    assert first.fixed == ("2.20.0",) and first.fix == "2.20.0"
    assert second.aliases == ("GHSA-j8r2-6x86-q33q", "CVE-2023-32681")
    assert second.fixed == ("2.31.0",) and second.fix == "2.31.0"
    assert result.fix() == "2.31.0"
    assert result.fix(["2.20.0", "2.25.1", "2.31.0", "2.32.3"]) == "2.31.0"
    # No summary in the record: the title is cut from the details, at most a line long.
    assert first.summary.startswith("The Requests package before 2.20.0 for Python sends an")
    assert len(first.summary) <= 160 and first.summary.endswith("…")
    assert any("github.com" in url for url in first.references)


def test_pypa_requests_safe_version(pypa: OsvDirectory) -> None:
    result = one(pypa, "requests", "2.31.0")
    assert result.checked and result.safe and result.findings == ()
    assert result.fix() is None


def test_pypa_urllib3_1_24_1(pypa: OsvDirectory) -> None:
    # Affected: PYSEC-2019-132 (fixed 1.24.3), PYSEC-2019-133 (1.24.2), PYSEC-2020-148
    # (1.25.9), PYSEC-2021-108 (1.26.5), PYSEC-2023-192 (1.26.17 / 2.0.6, events unsorted in
    # the file), PYSEC-2023-207 (1.24.2), PYSEC-2023-212 (1.26.18 / 2.0.7).
    # Not affected: PYSEC-2017-98 (1.17 to 1.18.1), PYSEC-2018-32 (fixed 1.23), PYSEC-2020-149
    # (1.25.2 to 1.25.8), PYSEC-2021-59 (1.26.0 to 1.26.4).
    result = one(pypa, "urllib3", "1.24.1")
    assert result.checked
    assert ids(result) == [
        "PYSEC-2019-132",
        "PYSEC-2019-133",
        "PYSEC-2020-148",
        "PYSEC-2021-108",
        "PYSEC-2023-192",
        "PYSEC-2023-207",
        "PYSEC-2023-212",
    ]
    by_id = {f.id: f for f in result.findings}
    assert by_id["PYSEC-2019-133"].aliases == ("GHSA-mh33-7rrq-662w", "CVE-2019-11324")
    assert by_id["PYSEC-2019-133"].fix == "1.24.2"
    assert by_id["PYSEC-2019-132"].fix == "1.24.3"
    assert by_id["PYSEC-2023-192"].fixed == ("1.26.17", "2.0.6")
    assert by_id["PYSEC-2023-192"].fix == "1.26.17"  # the 1.x line, not 2.0.6
    assert by_id["PYSEC-2023-212"].fixed == ("1.26.18", "2.0.7")
    assert by_id["PYSEC-2023-207"].aliases == ("CVE-2018-25091",)
    # 1.26.18 is the first named fix that none of the eleven urllib3 advisories affects.
    assert result.fix() == "1.26.18"
    releases = ["1.24.2", "1.24.3", "1.25.9", "1.25.11", "1.26.5", "1.26.17", "1.26.18", "2.0.7"]
    assert result.fix(releases) == "1.26.18"


def test_pypa_urllib3_lower_bounds(pypa: OsvDirectory) -> None:
    # 1.25.1 is below PYSEC-2020-149's introduced 1.25.2; 1.25.3 is inside it.
    assert "PYSEC-2020-149" not in ids(one(pypa, "urllib3", "1.25.1"))
    assert "PYSEC-2020-149" in ids(one(pypa, "urllib3", "1.25.3"))
    # 1.26.3 is inside PYSEC-2021-59 (1.26.0 to 1.26.4); 1.26.4 is its fix.
    assert "PYSEC-2021-59" in ids(one(pypa, "urllib3", "1.26.3"))
    assert "PYSEC-2021-59" not in ids(one(pypa, "urllib3", "1.26.4"))
    # 2.0.6 fixes PYSEC-2023-192 on the 2.x line but PYSEC-2023-212 waits for 2.0.7.
    assert ids(one(pypa, "urllib3", "2.0.6")) == ["PYSEC-2023-212"]


def test_pypa_jinja2_2_10(pypa: OsvDirectory) -> None:
    # PYSEC-2019-217 (fixed 2.10.1) and PYSEC-2021-66 (fixed 2.11.3, with a SNYK alias); not
    # PYSEC-2014-8 (2.7.2), PYSEC-2014-82 (2.7.3), PYSEC-2019-220 (2.8.1).
    result = one(pypa, "Jinja2", "2.10")
    assert result.package == "jinja2" and result.key == ("jinja2", "2.10")
    assert ids(result) == ["PYSEC-2019-217", "PYSEC-2021-66"]
    assert [f.fix for f in result.findings] == ["2.10.1", "2.11.3"]
    assert result.findings[1].aliases == (
        "GHSA-g3rq-g295-4j3m",
        "CVE-2020-28493",
        "SNYK-PYTHON-JINJA2-1012994",
    )
    assert result.fix() == "2.11.3"  # 2.10.1 is still hit by PYSEC-2021-66


def test_pypa_certifi(pypa: OsvDirectory) -> None:
    # PYSEC-2022-42986: introduced 2017.11.5, fixed 2022.12.7.
    # PYSEC-2023-135: introduced 2015.4.28, fixed 2023.7.22.
    result = one(pypa, "certifi", "2022.9.24")
    assert ids(result) == ["PYSEC-2022-42986", "PYSEC-2023-135"]
    assert [f.fix for f in result.findings] == ["2022.12.7", "2023.7.22"]
    assert result.findings[0].aliases == ("GHSA-43fp-rhv2-5gv8", "CVE-2022-23491")
    assert result.fix() == "2023.7.22"
    # Below the first "introduced": only the older advisory applies.
    assert ids(one(pypa, "certifi", "2017.4.17")) == ["PYSEC-2023-135"]
    assert one(pypa, "certifi", "2023.7.22").safe


def test_pypa_redis_prefers_current_line(pypa: OsvDirectory) -> None:
    # PYSEC-2023-45: 4.2.0-4.3.6, 4.4.0-4.4.3, 4.5.0-4.5.3.
    # PYSEC-2023-46: 4.2.0-4.4.4, 4.5.0-4.5.4.  PYSEC-2023-73 lists 1.34 but is withdrawn.
    result = one(pypa, "redis", "4.3.4")
    assert ids(result) == ["PYSEC-2023-45", "PYSEC-2023-46"]
    assert [f.fix for f in result.findings] == ["4.3.6", "4.4.4"]
    assert result.fix() == "4.4.4"  # 4.3.6 and 4.4.3 are still hit by PYSEC-2023-46
    assert result.fix(["4.3.5", "4.3.6", "4.4.0", "4.4.4", "4.5.5"]) == "4.4.4"
    late = one(pypa, "redis", "4.5.1")
    assert [f.fix for f in late.findings] == ["4.5.3", "4.5.4"]
    assert late.fix() == "4.5.4"
    assert one(pypa, "redis", "1.34").safe  # only the withdrawn advisory names it


def test_pypa_last_affected(pypa: OsvDirectory) -> None:
    # PYSEC-2022-42969: introduced 0, last_affected 1.11.0, no fix.
    result = one(pypa, "py", "1.11.0")
    assert ids(result) == ["PYSEC-2022-42969"]
    assert result.findings[0].fixed == () and result.findings[0].fix is None
    assert result.fix() is None
    assert result.fix(["1.11.0", "1.12.0"]) == "1.12.0"
    assert one(pypa, "py", "1.11.1").safe


def test_pypa_unknown_package_is_checked(pypa: OsvDirectory) -> None:
    result = one(pypa, "surely-not-a-package-with-advisories", "1.0")
    assert result.checked and result.safe and result.reason is None


def test_pypa_batch_and_spelling(pypa: OsvDirectory) -> None:
    results = pypa.query(
        [("Requests", "2.19.0"), ("requests", "2.19.0"), ("URLLIB3", "1.26.18"), ("py", "1.4.0")]
    )
    assert set(results) == {("requests", "2.19.0"), ("urllib3", "1.26.18"), ("py", "1.4.0")}
    assert results[package_key("urllib3", "1.26.18")].safe
    assert pypa.warnings == ()


def test_pypa_load_all_parses_every_record(pypa: OsvDirectory) -> None:
    source = OsvDirectory(CORPUS)
    everything = source.load_all()
    assert len(everything) == 2661
    assert source.warnings == ()
    assert sum(a.withdrawn is not None for a in everything) == 10


def test_pypa_first_query_reads_only_the_packages_asked_for(pypa: OsvDirectory) -> None:
    """A project asks about a few dozen of the database's 664 packages: only their records
    are parsed (what keeps a first check from parsing 2,661 YAML files)."""
    source = OsvDirectory(CORPUS)
    source.query([("requests", "2.19.0"), ("urllib3", "1.24.1"), ("jinja2", "2.10")])
    loaded = {member for member, entry in source._index().items() if entry.loaded}
    records = {
        path.relative_to(CORPUS).as_posix()
        for folder in ("requests", "urllib3", "jinja2")
        for path in (CORPUS / folder).glob("*.yaml")
    }
    assert loaded == records and len(records) == 21


def test_pypa_with_cache(pypa: OsvDirectory, tmp_path: Path) -> None:
    asked = [("requests", "2.19.0"), ("urllib3", "1.24.1"), ("certifi", "2022.9.24")]
    cold = OsvDirectory(CORPUS, cache_dir=tmp_path)
    first = cold.query(asked)
    (cache,) = tmp_path.glob("osv-index-*.json")
    warm = OsvDirectory(CORPUS, cache_dir=tmp_path)
    second = warm.query(asked)
    assert first == second == pypa.query(asked)
    assert cache.stat().st_size > 0


@functools.cache
def _version(text: str) -> Version | None:
    with contextlib.suppress(InvalidVersion):
        return Version(text)
    return None


@functools.cache
def _listed(versions: tuple[str, ...]) -> frozenset[Version | None]:
    return frozenset(map(_version, versions))


def _plainly_affects(affected: dict[str, Any], version: Version) -> bool | None:
    """OSV's rule for one ``affected`` entry, as the schema's evaluation pseudocode states it,
    for a second opinion: listed in ``versions``, or, walking each ECOSYSTEM range's events
    sorted by version (``introduced`` first among equals, as OSV's own version lists read
    such records), last opened by an ``introduced`` at or below it and not closed since by
    a ``fixed`` at or below it or a ``last_affected`` below it. ``None`` when it is not hit
    but a range names a version that is not PEP 440 (that range might hold it)."""
    if version in _listed(tuple(affected.get("versions", ()))):
        return True
    unsure = False
    for events in (r["events"] for r in affected.get("ranges", ()) if r["type"] == "ECOSYSTEM"):
        bounds = [
            (_version(text), kind != "introduced", kind) for e in events for kind, text in e.items()
        ]
        if any(at is None for at, _, _ in bounds):
            unsure = True
            continue
        inside = False
        for at, _, kind in sorted(bounds, key=lambda b: (b[0], b[1])):
            assert at is not None
            if kind == "introduced":
                inside = inside or version >= at
            elif kind == "last_affected":
                inside = inside and not version > at
            else:
                inside = inside and not version >= at
        if inside:
            return True
    return None if unsure else False


def test_pypa_findings_agree_with_a_plain_reading_of_every_record(pypa: OsvDirectory) -> None:
    """For every package in the database, every version its ranges name and the version
    just after each: the findings, aliases merged, are exactly the live records that
    :func:`_plainly_affects` says hit it, and the result is "not checked" exactly when a
    record that does not hit it has a range that cannot be read."""
    records: dict[str, list[tuple[str, set[str], dict[str, Any]]]] = {}
    for path in sorted(CORPUS.rglob("*.yaml")):
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        if doc.get("withdrawn"):
            continue
        for affected in doc["affected"]:
            name = package_key(affected["package"]["name"], "0")[0]
            records.setdefault(name, []).append((doc["id"], set(doc.get("aliases", [])), affected))
    asked: set[tuple[str, str]] = set()
    for name, entries in records.items():
        for _, _, affected in entries:
            for r in affected.get("ranges", ()):
                for version in filter(None, (_version(v) for e in r["events"] for v in e.values())):
                    asked.add((name, str(version)))
                    if not (version.is_devrelease or version.is_postrelease or version.local):
                        asked.add((name, f"{version}.post1"))  # just after it
    results = pypa.query(sorted(asked))
    assert len(asked) > 5_000 and set(results) == asked
    wrong = []
    for (name, text), result in sorted(results.items()):
        verdicts = {
            osv_id: (_plainly_affects(affected, Version(text)), aliases)
            for osv_id, aliases, affected in records[name]
        }
        hit = {osv_id for osv_id, (verdict, _) in verdicts.items() if verdict}
        unsure = {osv_id for osv_id, (verdict, _) in verdicts.items() if verdict is None}
        found = {f.id: set(f.aliases) for f in result.findings}
        named = set(found).union(*found.values())
        if not (hit <= named and all(i in hit or found[i] & hit for i in found)):
            wrong.append((name, text, sorted(hit), sorted(found)))
        if result.checked == bool(unsure):
            wrong.append((name, text, sorted(unsure), result.reason))
    assert wrong == []


# ---------------------------------------------------------------------------------------------
# 2. Range semantics, on parsed records


def affected_by(doc: dict[str, object], version: str, name: str = "demo") -> bool:
    return parse_advisory(doc).affects(name, version)


def test_introduced_fixed() -> None:
    doc = record("X-1", pkg("demo", ("introduced", "1.2"), ("fixed", "1.4")))
    assert not affected_by(doc, "1.1.9")
    assert affected_by(doc, "1.2")
    assert affected_by(doc, "1.2.0")  # PEP 440: 1.2 == 1.2.0
    assert affected_by(doc, "1.3.99")
    assert affected_by(doc, "1.4rc1")  # a pre-release of the fix precedes it
    assert not affected_by(doc, "1.4")
    assert not affected_by(doc, "1.4.post1")


def test_introduced_zero_means_from_the_start() -> None:
    doc = record("X-1", pkg("demo", ("introduced", "0"), ("fixed", "1.0")))
    assert affected_by(doc, "0.0.1.dev0")
    assert affected_by(doc, "0a1")
    assert affected_by(doc, "0.9")
    assert not affected_by(doc, "1.0")


def test_events_are_sorted_before_evaluation() -> None:
    # As in PYSEC-2023-192: the 2.x pair is written before the 1.x pair.
    doc = record(
        "X-1",
        pkg(
            "demo",
            ("introduced", "2.0.0"),
            ("fixed", "2.0.6"),
            ("introduced", "0"),
            ("fixed", "1.26.17"),
        ),
    )
    assert affected_by(doc, "1.0")
    assert not affected_by(doc, "1.26.17")
    assert not affected_by(doc, "1.27")
    assert affected_by(doc, "2.0.0")
    assert not affected_by(doc, "2.0.6")


def test_last_affected_and_limit() -> None:
    doc = record("X-1", pkg("demo", ("introduced", "1.0"), ("last_affected", "1.5")))
    assert affected_by(doc, "1.5")
    assert affected_by(doc, "1.5.0")
    assert not affected_by(doc, "1.5.1")
    limit = record("X-2", pkg("demo", ("introduced", "1.0"), ("limit", "2.0")))
    assert affected_by(limit, "1.9")
    assert not affected_by(limit, "2.0")
    assert parse_advisory(limit).fixed_versions("demo") == ()  # a limit is not a fix


def test_open_ended_range() -> None:
    doc = record("X-1", pkg("demo", ("introduced", "3.0")))
    assert not affected_by(doc, "2.9")
    assert affected_by(doc, "3.0") and affected_by(doc, "99.0")


def test_explicit_versions_only() -> None:
    doc = record("X-1", pkg("demo", versions=("1.0", "1.1", "2.0rc1")))
    assert affected_by(doc, "1.0.0")  # PEP 440 equality
    assert affected_by(doc, "1.1")
    assert affected_by(doc, "2.0c1")  # the alternative spelling of rc1
    assert not affected_by(doc, "1.2")


def test_only_pypi_ecosystem_ranges_count() -> None:
    doc = record(
        "X-1",
        pkg("demo", ("introduced", "0"), ecosystem="npm"),
        pkg(
            "demo",
            ranges=[
                {"type": "GIT", "repo": "r", "events": [{"introduced": "0"}, {"fixed": "abc"}]},
                {"type": "SEMVER", "events": [{"introduced": "0"}]},
            ],
        ),
    )
    assert not affected_by(doc, "1.0")
    assert parse_advisory(doc).packages == ("demo",)


def test_names_are_pep503_normalized() -> None:
    doc = record("X-1", pkg("Zope.Interface", ("introduced", "0")))
    advisory = parse_advisory(doc)
    assert advisory.packages == ("zope-interface",)
    assert advisory.affects("zope_interface", "1.0")
    assert advisory.affects("ZOPE-INTERFACE", "1.0")


def test_several_entries_for_one_package_merge() -> None:
    doc = record(
        "X-1",
        pkg("demo", ("introduced", "1.0"), ("fixed", "1.1")),
        pkg("Demo", ("introduced", "2.0"), ("fixed", "2.1")),
    )
    advisory = parse_advisory(doc)
    assert len(advisory.affected) == 1
    assert advisory.fixed_versions("demo") == ("1.1", "2.1")
    assert advisory.affects("demo", "2.0.5") and not advisory.affects("demo", "1.5")


def test_invalid_event_version_is_a_problem_not_a_crash() -> None:
    doc = record(
        "X-1",
        pkg("demo", ("introduced", "0"), ("fixed", "not a version"), versions=("1.0",)),
    )
    advisory = parse_advisory(doc)
    (entry,) = advisory.affected
    assert entry.ranges == () and entry.problems
    assert advisory.affects("demo", "1.0")  # the explicit list still works
    result = check("demo", "1.0", [advisory])
    assert result.checked and ids(result) == ["X-1"]
    assert any("not a version" in w for w in result.warnings)
    # 2.0 is not listed, but the range that cannot be read might hold it: never "clean".
    other = check("demo", "2.0", [advisory])
    assert not other.checked and not other.safe and other.findings == ()
    assert (
        other.reason
        == "X-1: could not be fully evaluated (fixed 'not a version' is not a PEP 440 version)"
    )


def test_invalid_installed_version() -> None:
    listed = parse_advisory(record("X-1", pkg("demo", ("introduced", "0"), versions=("custom",))))
    result = check("demo", "custom", [listed])
    assert not result.checked and "not a PEP 440 version" in (result.reason or "")
    assert ids(result) == ["X-1"]  # matched as text in the explicit list
    assert result.findings[0].fix is None and result.fix() is None
    other = check("demo", "also custom", [listed])
    assert not other.checked and other.findings == ()
    # No advisory for the package at all: nothing to evaluate, so the answer is complete.
    assert check("unrelated", "custom", [listed]).safe
    assert not check("demo", "", [listed]).checked


def test_withdrawn_is_ignored() -> None:
    doc = record("X-1", pkg("demo", ("introduced", "0")), withdrawn="2024-02-02T00:00:00Z")
    advisory = parse_advisory(doc)
    assert advisory.withdrawn == "2024-02-02T00:00:00Z"
    assert not advisory.affects("demo", "1.0")
    assert check("demo", "1.0", [advisory]).safe


def test_parse_keeps_reported_fields() -> None:
    details = "word " * 400
    doc = record(
        "GHSA-aaaa-bbbb-cccc",
        pkg("demo", ("introduced", "0"), ("fixed", "1.0")),
        aliases=("CVE-2024-1", "GHSA-aaaa-bbbb-cccc", "CVE-2024-1"),
        summary="Bad thing",
        details=details,
        severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        references=[
            {"type": "WEB", "url": "https://example.invalid/a"},
            {"url": "https://x.invalid"},
        ],
        published="2024-01-01T00:00:00Z",
    )
    advisory = parse_advisory(doc)
    assert advisory.aliases == ("CVE-2024-1",)  # deduplicated, own id dropped
    assert advisory.title == "Bad thing"
    assert len(advisory.details) < 700 and advisory.details.endswith("…")
    assert advisory.severity[0].type == "CVSS_V3"
    assert advisory.references == ("https://example.invalid/a", "https://x.invalid")
    assert parse_advisory(to_osv(advisory)) == advisory  # the cache round trip


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "mapping"),
        ({"affected": []}, "missing id"),
        ({"id": "X", "affected": {"a": 1}}, "must be a list"),
        ({"id": "X", "affected": [{"package": "demo"}]}, "must be a mapping"),
        ({"id": "X", "affected": [{"package": {"ecosystem": "PyPI"}}]}, "missing affected[0]"),
        (
            {"id": "X", "affected": [pkg("demo", ranges=[{"type": "ECOSYSTEM", "events": [{}]}])]},
            "exactly one key",
        ),
        (
            {
                "id": "X",
                "affected": [pkg("d", ranges=[{"type": "ECOSYSTEM", "events": [{"x": 1}]}])],
            },
            "unknown event",
        ),
        ({"id": ["X"]}, "must be a string"),
    ],
)
def test_malformed_documents(doc: object, message: str) -> None:
    with pytest.raises(AdvisoryFormatError, match=re.escape(message)):
        parse_advisory(doc)


def test_yaml_versions_stay_text() -> None:
    text = b"""id: X-1
modified: 2021-07-05T00:01:25Z
affected:
- package: {name: demo, ecosystem: PyPI}
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: 2.9
    - fixed: 2.10
  versions: [2.9, 1.10, 3]
"""
    doc = load_document(text, "X-1.yaml")
    advisory = parse_advisory(doc)
    assert advisory.fixed_versions("demo") == ("2.10",)  # not the float 2.1
    assert advisory.modified == "2021-07-05T00:01:25Z"
    assert advisory.for_package("demo") is not None
    assert advisory.for_package("demo").versions == ("2.9", "1.10", "3")  # type: ignore[union-attr]
    assert advisory.affects("demo", "2.9.5") and not advisory.affects("demo", "2.10")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"id: [unclosed", "a.yaml"),
        (b"a: &x [*x]\n", "a.yaml"),  # an alias inside itself
        (b"? [a, b]\n: c\n", "a.yaml"),  # a list as a mapping key
        (b"{not json", "a.json"),
        (b"\xff\xfe\x00garbage", "a.json"),
        (b"---\na: 1\n---\nb: 2\n", "a.yaml"),  # two documents
    ],
)
def test_undecodable_documents(data: bytes, name: str) -> None:
    with pytest.raises(AdvisoryFormatError):
        load_document(data, name)


def test_scan_names_is_a_superset() -> None:
    block = b"affected:\n- package:\n    name: Foo.Bar\n    ecosystem: PyPI\n"
    assert scan_names(block) == frozenset({"foo-bar"})
    flow = b'affected: [{package: {name: "baz", ecosystem: PyPI}}]'
    assert scan_names(flow) == frozenset({"baz"})
    assert scan_names(json.dumps(record("X", pkg("Qux_1"))).encode()) == frozenset({"qux-1"})
    assert scan_names(b"id: X\ndetails: no packages here\n") == frozenset()
    # A value the expression cannot read: the file must be parsed for every package.
    assert scan_names(b"affected:\n- package:\n    name:\n      foo\n") is None
    assert scan_names(b"affected:\n- package:\n    name: >-\n      foo\n") is None


# ---------------------------------------------------------------------------------------------
# 2b. Alias merging and fixes


def test_alias_merging_is_transitive_and_prefers_pysec() -> None:
    # GHSA names the CVE; PYSEC names only the GHSA; OSV-1 names the CVE. One vulnerability.
    advisories = [
        parse_advisory(
            record(
                "GHSA-q2q7-5pp4-w6pg",
                pkg("demo", ("introduced", "0"), ("fixed", "1.2")),
                aliases=("CVE-2021-33503",),
                summary="from GHSA",
            )
        ),
        parse_advisory(
            record(
                "PYSEC-2021-108",
                pkg("demo", ("introduced", "0"), ("fixed", "1.3")),
                aliases=("GHSA-q2q7-5pp4-w6pg",),
                summary="from PYSEC",
            )
        ),
        parse_advisory(
            record("OSV-2021-1", pkg("demo", ("introduced", "0")), aliases=("CVE-2021-33503",))
        ),
        parse_advisory(record("PYSEC-2021-59", pkg("demo", ("introduced", "0"), ("fixed", "1.1")))),
    ]
    result = check("demo", "1.0", advisories)
    assert ids(result) == ["PYSEC-2021-59", "PYSEC-2021-108"]  # natural order: 59 < 108
    merged = result.findings[1]
    assert merged.aliases == ("GHSA-q2q7-5pp4-w6pg", "CVE-2021-33503", "OSV-2021-1")
    assert merged.summary == "from PYSEC"
    assert merged.fixed == ("1.2", "1.3")
    assert merged.fix is None  # OSV-2021-1 has no fix and affects everything
    assert len(merged.advisories) == 3
    assert result.fix() is None


def test_primary_id_is_stable_whatever_the_order() -> None:
    a = parse_advisory(record("CVE-2020-1", pkg("demo", ("introduced", "0")), aliases=("GHSA-x",)))
    b = parse_advisory(record("GHSA-x", pkg("demo", ("introduced", "0"))))
    assert ids(check("demo", "1", [a, b])) == ids(check("demo", "1", [b, a])) == ["GHSA-x"]
    assert check("demo", "1", [a, b]).findings[0].aliases == ("CVE-2020-1",)
    assert sorted(["CVE-1", "X-1", "GHSA-1", "PYSEC-1"], key=id_sort_key) == [
        "PYSEC-1",
        "GHSA-1",
        "CVE-1",
        "X-1",
    ]


def test_finding_title_prefers_a_real_summary() -> None:
    pysec = record(
        "PYSEC-1", pkg("demo", ("introduced", "0")), aliases=("GHSA-1",), details="Long. " * 60
    )
    ghsa = record("GHSA-1", pkg("demo", ("introduced", "0")), summary="Short and useful")
    (finding,) = check("demo", "1", [parse_advisory(pysec), parse_advisory(ghsa)]).findings
    assert finding.id == "PYSEC-1" and finding.summary == "Short and useful"
    (alone,) = check("demo", "1", [parse_advisory(pysec)]).findings
    assert alone.summary.startswith("Long. Long.") and len(alone.summary) <= 160


def test_duplicate_records_keep_the_latest() -> None:
    old = parse_advisory(record("X-1", pkg("demo", ("introduced", "0"), ("fixed", "1.1"))))
    new = parse_advisory(
        record(
            "X-1", pkg("demo", ("introduced", "0"), ("fixed", "1.2")), modified="2025-01-01T00:00Z"
        )
    )
    (finding,) = check("demo", "1.0", [new, old]).findings
    assert finding.fixed == ("1.2",)


def backport_advisories() -> list[Advisory]:
    # A: fixed in 2.0.3 on the 2.0 line and in 2.1.0 on the next one.
    a = record(
        "PYSEC-1",
        pkg(
            "demo",
            ("introduced", "0"),
            ("fixed", "2.0.3"),
            ("introduced", "2.1.0a1"),
            ("fixed", "2.1.0"),
        ),
    )
    return [parse_advisory(a)]


def test_smallest_fix_prefers_the_current_line() -> None:
    result = check("demo", "2.0.1", backport_advisories())
    (finding,) = result.findings
    assert finding.fixed == ("2.0.3", "2.1.0")
    assert finding.fix == "2.0.3"
    assert result.fix() == "2.0.3"
    assert smallest_fix("2.0.1", result.findings) == "2.0.3"
    assert smallest_fix(Version("2.0.1"), result.findings, ["2.1.0", "2.0.3", "2.0.2"]) == "2.0.3"
    assert result.fix(["2.0.2", "2.1.0"]) == "2.1.0"  # 2.0.3 not released: next line
    assert result.fix(["2.0.0", "2.0.2"]) is None  # nothing above current is clean


def test_smallest_common_fix_of_several_advisories() -> None:
    # B hits 2.0.3 (A's fix) and is fixed in 2.0.4, still on the current line.
    b = parse_advisory(record("PYSEC-2", pkg("demo", ("introduced", "2.0.0"), ("fixed", "2.0.4"))))
    result = check("demo", "2.0.1", [*backport_advisories(), b])
    assert [f.fix for f in result.findings] == ["2.0.3", "2.0.4"]
    assert result.fix() == "2.0.4"
    assert result.fix(["2.0.3", "2.0.4", "2.0.5", "2.1.0"]) == "2.0.4"
    assert result.fix(["2.0.3", "2.0.5", "2.1.0"]) == "2.0.5"


def test_fix_avoids_advisories_that_spare_the_current_version() -> None:
    # A affects 1.0 and is fixed in 1.2; B spares 1.0 but hits 1.1 to 1.3, fixed in 1.3.
    a = parse_advisory(record("PYSEC-1", pkg("demo", ("introduced", "0"), ("fixed", "1.2"))))
    b = parse_advisory(record("PYSEC-2", pkg("demo", ("introduced", "1.1"), ("fixed", "1.3"))))
    result = check("demo", "1.0", [a, b])
    assert ids(result) == ["PYSEC-1"]
    assert result.findings[0].fix == "1.2"  # the finding alone
    assert result.fix() == "1.3"  # but 1.2 trades it for PYSEC-2
    assert smallest_fix("1.0", result.findings) == "1.2"
    assert smallest_fix("1.0", result.findings, advisories=[b]) == "1.3"


def test_fix_prefers_final_releases() -> None:
    result = check("demo", "1.0", backport_advisories())
    assert result.fix(["2.0.3rc1", "2.0.3"]) == "2.0.3"  # 2.0.3rc1 precedes the fix
    assert result.fix(["2.0.4rc1", "2.0.5"]) == "2.0.5"
    assert result.fix(["2.0.4rc1", "3.0.0b1"]) == "2.0.4rc1"  # only previews qualify
    assert check("demo", "2.0.3a1", backport_advisories()).fix(["2.0.4rc1", "2.0.5"]) == "2.0.4rc1"
    assert result.fix(["bogus", "2.0.3"]) == "2.0.3"  # invalid candidates are skipped


def test_smallest_fix_edge_cases() -> None:
    result = check("demo", "2.0.1", backport_advisories())
    assert smallest_fix("2.0.1", []) is None
    assert smallest_fix("not-a-version", result.findings) is None
    other = check("other", "1.0", [parse_advisory(record("X", pkg("other", ("introduced", "0"))))])
    with pytest.raises(ValueError, match="several packages"):
        smallest_fix("1.0", [*result.findings, *other.findings])


# ---------------------------------------------------------------------------------------------
# 2c. Local databases on disk

REQUESTS_LIKE_YAML = """\
id: PYSEC-9999-1
summary: Demo flaw
details: |
  Demo before 2.10 leaks things.
affected:
- package:
    name: Demo_Pkg
    ecosystem: PyPI
  ranges:
  - type: GIT
    repo: https://example.invalid/demo
    events:
    - introduced: "0"
    - fixed: 0123456789abcdef
  - type: ECOSYSTEM
    events:
    - introduced: "0"
    - fixed: 2.10
  versions:
  - 2.1
  - 2.9
aliases:
- CVE-9999-1
modified: '2023-01-01T00:00:00Z'
"""


def pypa_layout(root: Path) -> Path:
    vulns = root / "vulns"
    (vulns / "demo-pkg").mkdir(parents=True)
    (vulns / "demo-pkg" / "PYSEC-9999-1.yaml").write_text(REQUESTS_LIKE_YAML, encoding="utf-8")
    (vulns / "other").mkdir()
    (vulns / "other" / "PYSEC-9999-2.yml").write_text(
        "id: PYSEC-9999-2\naffected:\n- package: {name: other, ecosystem: PyPI}\n"
        "  ranges: [{type: ECOSYSTEM, events: [{introduced: '1.0'}, {last_affected: '1.5'}]}]\n",
        encoding="utf-8",
    )
    (vulns / ".id-allocator").write_text("not a record", encoding="utf-8")
    (root / ".github").mkdir()
    (root / ".github" / "ci.yaml").write_text("name: demo-pkg\naffected: 1\n", encoding="utf-8")
    return vulns


def test_pypa_layout_directory(tmp_path: Path) -> None:
    source = OsvDirectory(pypa_layout(tmp_path))
    result = one(source, "demo-pkg", "2.9.1")
    assert ids(result) == ["PYSEC-9999-1"]
    assert result.findings[0].fix == "2.10"
    assert result.findings[0].summary == "Demo flaw"
    assert one(source, "demo.pkg", "2.10").safe
    assert ids(one(source, "other", "1.5")) == ["PYSEC-9999-2"]
    assert one(source, "other", "1.5.1").safe
    assert source.warnings == ()
    assert "PYSEC-9999-1.yaml" in source.advisories_for("Demo-Pkg")[0].origin


def test_whole_repository_folder_skips_hidden_folders(tmp_path: Path) -> None:
    pypa_layout(tmp_path)
    source = OsvDirectory(tmp_path)  # the checkout's root, with .github/
    assert ids(one(source, "demo-pkg", "1.0")) == ["PYSEC-9999-1"]
    assert source.warnings == ()


def test_zip_flat_json_like_all_zip(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for doc in (
            record(
                "PYSEC-1", pkg("demo", ("introduced", "0"), ("fixed", "1.1")), aliases=("CVE-1",)
            ),
            record(
                "GHSA-1", pkg("demo", ("introduced", "0"), ("fixed", "1.1")), aliases=("CVE-1",)
            ),
            record("GHSA-2", pkg("demo", ("introduced", "1.0"), ("fixed", "1.2"))),
        ):
            out.writestr(f"{doc['id']}.json", json.dumps(doc))
        out.writestr("README.txt", "not a record")
    source = OsvDirectory(archive)
    result = one(source, "demo", "1.0")
    assert ids(result) == ["PYSEC-1", "GHSA-2"]
    assert result.findings[0].aliases == ("GHSA-1", "CVE-1")
    assert result.fix() == "1.2"
    assert "all.zip!GHSA-2.json" in result.findings[1].advisories[0].origin


def test_zip_of_the_pypa_repository(tmp_path: Path) -> None:
    archive = tmp_path / "advisory-database-main.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("advisory-database-main/vulns/demo-pkg/PYSEC-9999-1.yaml", REQUESTS_LIKE_YAML)
        out.writestr("advisory-database-main/.github/workflows/x.yaml", "name: demo-pkg\n")
        out.writestr("__MACOSX/advisory-database-main/vulns/._x.yaml", "name: demo-pkg\n")
    result = one(OsvDirectory(archive), "demo-pkg", "2.1")
    assert ids(result) == ["PYSEC-9999-1"]


def test_single_record_file(tmp_path: Path) -> None:
    path = tmp_path / "PYSEC-9999-1.yaml"
    path.write_text(REQUESTS_LIKE_YAML, encoding="utf-8")
    assert ids(one(OsvDirectory(path), "demo-pkg", "1.0")) == ["PYSEC-9999-1"]


def test_advisory_filed_under_another_package(tmp_path: Path) -> None:
    folder = tmp_path / "vulns"
    write_json(
        folder / "foo",
        record("X-1", pkg("foo", ("introduced", "0")), pkg("Bar_Baz", ("introduced", "2.0"))),
    )
    source = OsvDirectory(folder)
    assert ids(one(source, "bar.baz", "2.0")) == ["X-1"]
    assert one(source, "bar-baz", "1.0").safe


def test_unscannable_file_is_still_found(tmp_path: Path) -> None:
    folder = tmp_path / "vulns"
    folder.mkdir()
    (folder / "X-1.yaml").write_text(
        "id: X-1\naffected:\n- package:\n    ecosystem: PyPI\n    name:\n      demo\n"
        "  versions: ['1.0']\n",
        encoding="utf-8",
    )
    assert ids(one(OsvDirectory(folder), "demo", "1.0")) == ["X-1"]


def test_withdrawn_and_same_id_in_two_files(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    write_json(folder, record("X-1", pkg("demo", ("introduced", "0"))), "a/X-1.json")
    write_json(
        folder,
        record(
            "X-1",
            pkg("demo", ("introduced", "0")),
            modified="2025-01-01T00:00:00Z",
            withdrawn="2025-01-01T00:00:00Z",
        ),
        "b/X-1.json",
    )
    source = OsvDirectory(folder)
    assert one(source, "demo", "1.0").safe  # the newer copy withdraws it
    (kept,) = source.advisories_for("demo")
    assert kept.withdrawn is not None


def test_malformed_files_leave_their_packages_not_checked(tmp_path: Path) -> None:
    """A record that cannot be read might say anything about its package: what the others
    say is still found, but the package is not checked, never clean. A broken record whose
    package names cannot be picked out (a name on the line after its key) concerns the
    packages it mentions at all."""
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "BAD-1.yaml").write_text(
        "id: BAD-1\naffected:\n- package: {name: demo, ecosystem: PyPI\n", encoding="utf-8"
    )
    (folder / "BAD-2.json").write_text('{"id": "BAD-2", "affected": [{"name": "demo"', "utf-8")
    (folder / "BAD-3.json").write_text(
        json.dumps(
            {
                "id": "BAD-3",
                "affected": [{"package": {"name": "demo", "ecosystem": "PyPI"}, "ranges": 7}],
            }
        ),
        encoding="utf-8",
    )
    (folder / "BAD-4.yaml").write_bytes(b"\xff\xfe name: demo\naffected: x\n")
    (folder / "BAD-5.yaml").write_text(
        "id: BAD-5\naffected:\n- package:\n    name:\n      demo-two\n  ranges: [\n", "utf-8"
    )
    write_json(folder, record("GOOD-1", pkg("demo", ("introduced", "0"), ("fixed", "2.0"))))
    source = OsvDirectory(folder)
    result = one(source, "demo", "1.0")
    assert not result.checked and ids(result) == ["GOOD-1"]
    reason = result.reason or ""
    assert "BAD-1.yaml: skipped: not valid YAML at line 4" in reason
    assert reason.endswith("(and 3 more)")
    assert len(result.warnings) == 4
    assert all("skipped" in w for w in result.warnings)
    assert any("BAD-3.json" in w and "ranges must be a list" in w for w in result.warnings)
    assert any("BAD-1.yaml: skipped: not valid YAML at line 4" in w for w in result.warnings)
    assert any("BAD-2.json: skipped: not valid JSON at line 1" in w for w in result.warnings)
    assert len(source.warnings) == 5
    assert one(source, "unrelated", "1.0").safe
    other = one(source, "demo_two", "1.0")
    assert not other.checked and "BAD-5.yaml: skipped" in (other.reason or "")


def test_missing_path_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory") as info:
        OsvDirectory(tmp_path / "nope")
    assert info.value.exit_code == 2
    assert str(info.value).startswith((tmp_path / "nope").as_posix())


def test_not_a_database_is_input_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(InputError, match="not an OSV database"):
        OsvDirectory(text)
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "README.md").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="no OSV record files"):
        OsvDirectory(empty).query([("demo", "1.0")])


def test_cache_follows_changes(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    cache = tmp_path / "cache"
    path = write_json(folder, record("X-1", pkg("demo", ("introduced", "0"), ("fixed", "1.1"))))
    write_json(folder, record("X-2", pkg("other", ("introduced", "0"))))
    (folder / "BAD.json").write_text('{"id": "BAD", "affected": [{"name": "demo"', "utf-8")
    first = OsvDirectory(folder, cache_dir=cache)
    assert one(first, "demo", "1.0").findings[0].fix == "1.1"
    (cache_file,) = cache.glob("osv-index-*.json")
    saved = json.loads(cache_file.read_text(encoding="utf-8"))
    assert set(saved["files"]) == {"X-1.json", "X-2.json", "BAD.json"}
    assert "osv" in saved["files"]["X-1.json"] and "osv" not in saved["files"]["X-2.json"]

    second = OsvDirectory(folder, cache_dir=cache)
    again = one(second, "demo", "1.0")
    assert again.findings[0].fix == "1.1" and len(again.warnings) == 1
    assert len(second.warnings) == 1

    # Change the record (different size, so the fingerprint changes on any file system).
    path.write_text(
        json.dumps(record("X-1", pkg("demo", ("introduced", "0"), ("fixed", "1.10")))), "utf-8"
    )
    third = OsvDirectory(folder, cache_dir=cache)
    assert one(third, "demo", "1.0").findings[0].fix == "1.10"

    cache_file.write_text("{damaged", encoding="utf-8")
    assert one(OsvDirectory(folder, cache_dir=cache), "demo", "1.0").findings[0].fix == "1.10"


def test_unwritable_cache_is_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    write_json(folder, record("X-1", pkg("demo", ("introduced", "0"))))
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    source = OsvDirectory(folder, cache_dir=blocker)
    assert ids(one(source, "demo", "1.0")) == ["X-1"]
    assert any("cannot write the advisory cache" in w for w in source.warnings)


# ---------------------------------------------------------------------------------------------
# 3. OsvApi against a local server


@dataclass
class Behaviour:
    """What the fake OSV server knows and how it misbehaves."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_version: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    page_size: int = 1
    batch_status: int = 200
    batch_body: bytes | None = None  # sent instead of a real answer
    batch_failures: int = 0  # answer 503 to this many querybatch calls first
    garbage_for: set[str] = field(default_factory=set)  # names whose result is garbage
    record_status: dict[str, int] = field(default_factory=dict)
    record_garbage: set[str] = field(default_factory=set)
    delay: float = 0.0
    endless_pages: bool = False
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids_for(self, name: str, version: str | None) -> list[str]:
        if version is not None:
            return self.by_version.get((name, version), [])
        return sorted(
            i
            for i, doc in self.records.items()
            if any(a["package"]["name"] == name for a in doc["affected"])
        )


class Handler(http.server.BaseHTTPRequestHandler):
    server: OsvServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        b = self.server.behaviour
        with b.lock:
            b.requests.append(("POST", self.path))
            failing = b.batch_failures > 0
            b.batch_failures -= 1
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if b.delay:
            time.sleep(b.delay)
        if self.path != "/v1/querybatch":
            return self.reply(404, b'{"message": "no such endpoint"}')
        if failing:
            return self.reply(503, b"busy")
        if b.batch_status != 200 or b.batch_body is not None:
            return self.reply(b.batch_status, b.batch_body or b"{}")
        results: list[object] = []
        for query in payload["queries"]:
            name = query["package"]["name"]
            assert query["package"]["ecosystem"] == "PyPI"
            if name in b.garbage_for:
                results.append("garbage")
                continue
            found = b.ids_for(name, query.get("version"))
            offset = int(query.get("page_token") or 0)
            page = found[offset : offset + b.page_size]
            result: dict[str, object] = {}
            if page:
                result["vulns"] = [{"id": i, "modified": b.records[i]["modified"]} for i in page]
            if offset + b.page_size < len(found) or b.endless_pages:
                result["next_page_token"] = str(offset + b.page_size)
            results.append(result)
        return self.reply(200, json.dumps({"results": results}).encode())

    def do_GET(self) -> None:
        b = self.server.behaviour
        with b.lock:
            b.requests.append(("GET", self.path))
        vuln_id = self.path.removeprefix("/v1/vulns/")
        if vuln_id in b.record_status:
            return self.reply(b.record_status[vuln_id], b'{"code": 5}')
        if vuln_id in b.record_garbage:
            return self.reply(200, b"<html>surprise</html>")
        if vuln_id not in b.records:
            return self.reply(404, b'{"code": 5, "message": "Bug not found."}')
        return self.reply(200, json.dumps(b.records[vuln_id]).encode())


class OsvServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.behaviour = behaviour

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (timeout test) is not an error worth printing

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def behaviour() -> Behaviour:
    b = Behaviour()
    docs = [
        record(
            "PYSEC-1",
            pkg("demo", ("introduced", "0"), ("fixed", "1.2")),
            aliases=("CVE-1", "GHSA-1"),
            summary="one",
        ),
        record("GHSA-1", pkg("demo", ("introduced", "0"), ("fixed", "1.2")), aliases=("CVE-1",)),
        record("PYSEC-2", pkg("demo", ("introduced", "1.0"), ("fixed", "1.3")), summary="two"),
        # Spares 1.0 but hits 1.3: the fix must skip it.
        record("PYSEC-3", pkg("demo", ("introduced", "1.3"), ("fixed", "1.4"))),
        record("PYSEC-4", pkg("other", ("introduced", "0")), withdrawn="2024-05-05T00:00:00Z"),
        record("PYSEC-5", pkg("third", ("introduced", "0"), ("fixed", "9"))),
    ]
    b.records = {str(d["id"]): d for d in docs}
    b.by_version = {
        ("demo", "1.0"): ["GHSA-1", "PYSEC-1", "PYSEC-2"],
        ("other", "1.0"): ["PYSEC-4"],
        ("third", "1.0"): ["PYSEC-5"],
    }
    return b


@pytest.fixture
def server(behaviour: Behaviour) -> Iterator[OsvServer]:
    srv = OsvServer(behaviour)
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def api(url: str, **options: object) -> OsvApi:
    settings: dict[str, object] = {"retries": 1, "backoff": 0.0, "timeout": 5.0}
    settings.update(options)
    return OsvApi(url, **settings)  # type: ignore[arg-type]


def test_api_querybatch_with_pagination(server: OsvServer, behaviour: Behaviour) -> None:
    source = api(server.url)
    results = source.query(
        [("Demo", "1.0"), ("other", "1.0"), ("third", "1.0"), ("clean", "2.0"), ("demo", "1.0")]
    )
    assert set(results) == {("demo", "1.0"), ("other", "1.0"), ("third", "1.0"), ("clean", "2.0")}
    demo = results[package_key("demo", "1.0")]
    assert demo.checked and ids(demo) == ["PYSEC-1", "PYSEC-2"]
    assert demo.findings[0].aliases == ("GHSA-1", "CVE-1")
    assert demo.findings[0].fix == "1.2" and demo.findings[1].fix == "1.3"
    assert demo.fix() == "1.4"  # 1.3 is hit by PYSEC-3, found by listing all of demo's records
    assert results[package_key("other", "1.0")].safe  # its only advisory is withdrawn
    assert ids(results[package_key("third", "1.0")]) == ["PYSEC-5"]
    assert results[package_key("clean", "2.0")].safe
    posts = [r for r in behaviour.requests if r[0] == "POST"]
    assert len(posts) > 3  # one id per page: several rounds
    gets = sorted(path for method, path in behaviour.requests if method == "GET")
    assert gets == [f"/v1/vulns/{i}" for i in sorted(behaviour.records)]

    # Records are kept in memory: asking again fetches nothing new.
    behaviour.requests.clear()
    assert one(source, "demo", "1.0") == demo
    assert not [r for r in behaviour.requests if r[0] == "GET"]


def test_api_without_check_fixes(server: OsvServer, behaviour: Behaviour) -> None:
    result = one(api(server.url, check_fixes=False), "demo", "1.0")
    assert result.checked and ids(result) == ["PYSEC-1", "PYSEC-2"]
    assert result.fix() == "1.3"  # PYSEC-3 was not asked for
    assert ("GET", "/v1/vulns/PYSEC-3") not in behaviour.requests


def test_api_disk_cache(server: OsvServer, behaviour: Behaviour, tmp_path: Path) -> None:
    first = api(server.url, cache_dir=tmp_path).query([("third", "1.0")])
    assert (tmp_path / "osv-api" / "PYSEC-5.json").is_file()
    behaviour.requests.clear()
    second = api(server.url, cache_dir=tmp_path).query([("third", "1.0")])
    assert second == first
    assert not [r for r in behaviour.requests if r[0] == "GET"]
    # A newer ``modified`` stamp makes the cached copy stale.
    behaviour.records["PYSEC-5"]["modified"] = "2025-06-01T00:00:00Z"
    behaviour.records["PYSEC-5"]["affected"] = [pkg("third", ("introduced", "0"), ("fixed", "10"))]
    third = api(server.url, cache_dir=tmp_path).query([("third", "1.0")])
    assert third[package_key("third", "1.0")].findings[0].fix == "10"


def test_api_retries_transient_errors(server: OsvServer, behaviour: Behaviour) -> None:
    behaviour.batch_failures = 1
    result = one(api(server.url, retries=1), "third", "1.0")
    assert result.checked and ids(result) == ["PYSEC-5"]
    behaviour.batch_failures = 2
    result = one(api(server.url, retries=1), "third", "1.0")
    assert not result.checked
    assert "HTTP 503" in (result.reason or "") and "2 attempts" in (result.reason or "")


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, b"oops", "HTTP 500"),
        (404, b"{}", "HTTP 404"),
        (200, b"<html>not json</html>", "not JSON"),
        (200, b'{"results": "nope"}', "unexpected answer"),
        (200, b'{"results": []}', "unexpected answer"),
        (200, b"[1, 2]", "unexpected answer"),
    ],
)
def test_api_batch_failures_leave_packages_unchecked(
    server: OsvServer, behaviour: Behaviour, status: int, body: bytes, expected: str
) -> None:
    behaviour.batch_status = status
    behaviour.batch_body = body
    results = api(server.url).query([("demo", "1.0"), ("clean", "2.0")])
    for result in results.values():
        assert not result.checked and not result.safe
        assert result.findings == ()
        assert expected in (result.reason or "")


def test_api_garbage_for_one_package(server: OsvServer, behaviour: Behaviour) -> None:
    behaviour.garbage_for = {"clean"}
    results = api(server.url).query([("third", "1.0"), ("clean", "2.0")])
    assert results[package_key("third", "1.0")].checked
    bad = results[package_key("clean", "2.0")]
    assert not bad.checked and "garbage" in (bad.reason or "")


def test_api_record_failures(server: OsvServer, behaviour: Behaviour) -> None:
    behaviour.record_status = {"PYSEC-2": 404}
    behaviour.record_garbage = {"GHSA-1"}
    source = api(server.url)
    results = source.query([("demo", "1.0"), ("third", "1.0")])
    demo = results[package_key("demo", "1.0")]
    assert not demo.checked
    assert "PYSEC-2 (HTTP 404" in (demo.reason or "") and "GHSA-1" in (demo.reason or "")
    # What is known is still reported: the ids, with details where they could be fetched
    # (GHSA-1 is merged into PYSEC-1, which names it as an alias).
    assert ids(demo) == ["PYSEC-1", "PYSEC-2"]
    assert "GHSA-1" in demo.findings[0].aliases
    assert results[package_key("third", "1.0")].checked  # other packages are unaffected


def test_api_record_failure_outside_the_findings_is_a_warning(
    server: OsvServer, behaviour: Behaviour
) -> None:
    behaviour.record_status = {"PYSEC-3": 500}
    result = one(api(server.url), "demo", "1.0")
    assert result.checked and ids(result) == ["PYSEC-1", "PYSEC-2"]
    assert any("PYSEC-3" in w for w in result.warnings)
    assert result.fix() == "1.3"  # unverified against PYSEC-3, and the warning says so


def test_api_endless_paging(server: OsvServer, behaviour: Behaviour) -> None:
    behaviour.endless_pages = True
    result = one(api(server.url), "clean", "1.0")
    assert not result.checked and "kept paging" in (result.reason or "")


def test_api_timeout(server: OsvServer, behaviour: Behaviour) -> None:
    behaviour.delay = 1.0
    start = time.perf_counter()
    result = one(api(server.url, timeout=0.2, retries=0), "demo", "1.0")
    assert time.perf_counter() - start < 1.0
    assert not result.checked and "Timeout" in (result.reason or "")


def test_api_nobody_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    results = api(f"http://127.0.0.1:{port}", retries=1).query([("demo", "1.0"), ("x", "2")])
    assert len(results) == 2
    for result in results.values():
        assert not result.checked and "ConnectError" in (result.reason or "")


def test_api_bad_url_is_input_error() -> None:
    with pytest.raises(InputError, match="not an http"):
        OsvApi("ftp://example.invalid")
    assert OsvApi().base_url.startswith("https://")
    assert api("http://127.0.0.1:9").query([]) == {}
