"""OSV advisory records: parsed from JSON or YAML documents into frozen values.

An OSV record carries much that greenbump never uses (database-specific blobs, credits, GIT
ranges with commit hashes). We keep only what a report shows or what matching needs, and only
the ``PyPI`` part of ``affected``: an advisory filed for several ecosystems must not make a
Python package look vulnerable because a Go module of the same name is.

Parsing validates the shape by hand and raises :class:`AdvisoryFormatError` with a message that
names the offending field. Callers that read thousands of files skip such a file with a warning
instead of aborting: one broken record must not hide the other 2,660.

YAML is read as plain text scalars, never typed ones: the usual safe loader would read
``fixed: 2.10`` as the float ``2.1`` and ``modified: 2021-07-05`` as a date, but versions are
text and must stay text. For speed we let PyYAML's C parser (libyaml, when built in) compose the
node tree and turn nodes into lists, dicts and strings ourselves: PyYAML's generic constructor
and tag resolver are pure Python and cost more than the parsing itself (about 40% of the load
time of the PyPA database is saved this way).
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

from greenbump.names import NormalizedName, canonicalize_name

ECOSYSTEM = "PyPI"
DETAILS_EXCERPT = 600  # characters of ``details`` kept: enough for a report, not a whole essay
TITLE_LENGTH = 160


class AdvisoryFormatError(ValueError):
    """A document that is not a usable OSV record (bad syntax or bad shape)."""


@functools.lru_cache(maxsize=1 << 16)
def parse_version(text: str) -> Version | None:
    """``text`` as a PEP 440 version, or ``None`` when it is not one (never raises).

    Memoized: advisories of one package list the same versions over and over, and
    :class:`Version` objects are immutable, so sharing them is safe.
    """
    try:
        return Version(text)
    except (InvalidVersion, TypeError):  # TypeError: not a string at all (a caller's None)
        return None


class EventKind(enum.Enum):
    """The OSV range events; ``limit`` caps a range the way ``fixed`` does, without a fix."""

    INTRODUCED = "introduced"
    FIXED = "fixed"
    LAST_AFFECTED = "last_affected"
    LIMIT = "limit"


# At equal versions, ``introduced`` is applied first so that ``introduced: X, fixed: X`` reads as
# "nothing affected" rather than "X onwards affected".
_KIND_ORDER = {
    EventKind.INTRODUCED: 0,
    EventKind.FIXED: 1,
    EventKind.LAST_AFFECTED: 1,
    EventKind.LIMIT: 1,
}


@dataclass(frozen=True)
class Event:
    """One range event. ``at`` is the parsed version; ``None`` only for ``introduced: "0"``."""

    kind: EventKind
    version: str
    at: Version | None = field(compare=False, repr=False)


@dataclass(frozen=True)
class Range:
    """An ``ECOSYSTEM`` range: its events, sorted by version as OSV evaluation requires."""

    events: tuple[Event, ...]

    def contains(self, version: Version) -> bool:
        """Whether ``version`` falls inside the range.

        OSV semantics: walk the sorted events; an ``introduced`` at or below the version opens
        the range, a ``fixed`` or ``limit`` at or below it closes it, a ``last_affected``
        strictly below it closes it. ``introduced: "0"`` opens it from the very first version.
        """
        inside = False
        for event in self.events:
            at = event.at
            if event.kind is EventKind.INTRODUCED:
                if at is None or version >= at:
                    inside = True
                else:
                    break  # sorted: every later event is above ``version`` too
            elif at is not None and version < at:
                break
            elif event.kind is EventKind.LAST_AFFECTED:
                inside = inside and version == at
            else:
                inside = False
        return inside

    @property
    def fixed(self) -> tuple[str, ...]:
        """The versions this range names as fixing it."""
        return tuple(e.version for e in self.events if e.kind is EventKind.FIXED)


@dataclass(frozen=True)
class Affected:
    """What one advisory says about one PyPI package.

    Several ``affected`` entries for the same package are merged into one. ``problems`` lists
    ranges that could not be evaluated (an event that is not a PEP 440 version); matching then
    relies on the other ranges and the explicit ``versions`` list, and reports the problem.
    """

    package: NormalizedName
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @functools.cached_property
    def _listed(self) -> frozenset[Version]:
        # Version equality ignores trailing zeros ("1.0" == "1.0.0"), and so does its hash.
        return frozenset(v for v in map(parse_version, self.versions) if v is not None)

    def affects(self, version: Version | str) -> bool:
        """Whether ``version`` is affected: inside a range, or listed in ``versions``.

        A version that is not PEP 440 can only be compared with the listed versions, as text.
        """
        if isinstance(version, str):
            parsed = parse_version(version)
            if parsed is None:
                return version.strip() in self.versions
            version = parsed
        return version in self._listed or any(r.contains(version) for r in self.ranges)

    @property
    def fixed(self) -> tuple[str, ...]:
        """Every fixed version named by the ranges, sorted by version, without duplicates."""
        return sort_versions({v for r in self.ranges for v in r.fixed})


@dataclass(frozen=True)
class Severity:
    """A severity score as OSV gives it, e.g. ``CVSS_V3`` and the vector string."""

    type: str
    score: str


@dataclass(frozen=True)
class Advisory:
    """One OSV record, reduced to what greenbump matches on and reports.

    ``details`` is an excerpt (at most :data:`DETAILS_EXCERPT` characters). ``origin`` says
    where the record was read from (a file, an archive member, a URL) for warnings.
    """

    id: str
    aliases: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    affected: tuple[Affected, ...] = ()
    modified: str = ""
    published: str = ""
    withdrawn: str | None = None
    severity: tuple[Severity, ...] = ()
    references: tuple[str, ...] = ()
    origin: str = field(default="", compare=False)

    @property
    def ids(self) -> tuple[str, ...]:
        """The id followed by the aliases."""
        return (self.id, *self.aliases)

    @property
    def title(self) -> str:
        """The summary; without one, the start of the details (at most one line for reports).

        Many PYSEC records have no summary, only a CVE description that runs for a paragraph.
        """
        if self.summary:
            return self.summary
        return _excerpt(self.details.strip().split("\n", 1)[0], TITLE_LENGTH)

    @property
    def packages(self) -> tuple[NormalizedName, ...]:
        """The PyPI packages the advisory names."""
        return tuple(a.package for a in self.affected)

    def for_package(self, name: str) -> Affected | None:
        """The ``affected`` entry for ``name`` (any spelling), or ``None``."""
        key = canonicalize_name(name)
        for entry in self.affected:
            if entry.package == key:
                return entry
        return None

    def affects(self, name: str, version: Version | str) -> bool:
        """Whether this (non-withdrawn) advisory affects ``name`` at ``version``."""
        if self.withdrawn is not None:
            return False
        entry = self.for_package(name)
        return entry is not None and entry.affects(version)

    def fixed_versions(self, name: str) -> tuple[str, ...]:
        """The versions of ``name`` that this advisory says fix it."""
        entry = self.for_package(name)
        return entry.fixed if entry is not None else ()


def version_sort_key(text: str) -> tuple[int, Version, str]:
    """Sort key: PEP 440 order, with non-PEP 440 strings after all valid ones, as text."""
    parsed = parse_version(text)
    if parsed is None:
        return (1, Version("0"), text)
    return (0, parsed, text)


def sort_versions(versions: Iterable[str]) -> tuple[str, ...]:
    """``versions`` in PEP 440 order (invalid ones last), duplicates removed."""
    return tuple(sorted(set(versions), key=version_sort_key))


# ---------------------------------------------------------------------------------------------
# Parsing


def load_document(data: bytes, name: str) -> object:
    """Decode one JSON (``*.json``) or YAML (anything else) document; never returns a float."""
    if not name.lower().endswith(".json"):
        from greenbump.advisories.yamldoc import load_yaml  # PyYAML only when YAML is read

        return load_yaml(data)
    try:
        return json.loads(data)
    except RecursionError:  # absurd nesting
        raise AdvisoryFormatError("not a usable JSON document: too deep") from None
    except json.JSONDecodeError as exc:
        raise AdvisoryFormatError(f"not valid JSON at line {exc.lineno}: {exc.msg}") from None
    except ValueError as exc:  # e.g. bytes that are not UTF-8
        raise AdvisoryFormatError(f"not valid JSON: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _text(value: object, what: str, *, required: bool = False) -> str:
    """A scalar as text. JSON numbers are accepted (some feeds write ``"fixed": 2``)."""
    if value is None:
        if required:
            raise AdvisoryFormatError(f"missing {what}")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise AdvisoryFormatError(f"{what} must be a string, not {type(value).__name__}")
    text = str(value).strip()
    if required and not text:
        raise AdvisoryFormatError(f"empty {what}")
    return text


def _list(value: object, what: str) -> list[object]:
    if value is None or value == "":  # YAML "key:" with no value reads as "" under the base loader
        return []
    if not isinstance(value, list):
        raise AdvisoryFormatError(f"{what} must be a list, not {type(value).__name__}")
    return value


def _mapping(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise AdvisoryFormatError(f"{what} must be a mapping, not {type(value).__name__}")
    return value


def _excerpt(text: str, limit: int = DETAILS_EXCERPT) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _parse_range(raw: Mapping[str, object], where: str) -> Range:
    events: list[Event] = []
    for i, item in enumerate(_list(raw.get("events"), f"{where}.events")):
        event = _mapping(item, f"{where}.events[{i}]")
        if len(event) != 1:
            raise AdvisoryFormatError(f"{where}.events[{i}] must have exactly one key")
        ((key, value),) = event.items()
        try:
            kind = EventKind(key)
        except ValueError:
            raise AdvisoryFormatError(f"{where}.events[{i}]: unknown event {key!r}") from None
        text = _text(value, f"{where}.events[{i}].{key}", required=True)
        if kind is EventKind.INTRODUCED and text == "0":
            events.append(Event(kind, text, None))
            continue
        at = parse_version(text)
        if at is None:
            raise _BadRange(f"{where}: {key} {text!r} is not a PEP 440 version")
        events.append(Event(kind, text, at))
    events.sort(key=lambda e: (e.at is not None, e.at or Version("0"), _KIND_ORDER[e.kind]))
    return Range(tuple(events))


class _BadRange(AdvisoryFormatError):
    """A range that cannot be evaluated; the rest of the record is still usable."""


_PROBLEMS_KEY = "greenbump_problems"


def _parse_affected(raw: object, where: str) -> tuple[NormalizedName, Affected] | None:
    entry = _mapping(raw, where)
    package = _mapping(entry.get("package"), f"{where}.package")
    if _text(package.get("ecosystem"), f"{where}.package.ecosystem") != ECOSYSTEM:
        return None
    name = canonicalize_name(_text(package.get("name"), f"{where}.package.name", required=True))
    ranges: list[Range] = []
    problems: list[str] = []
    for i, item in enumerate(_list(entry.get("ranges"), f"{where}.ranges")):
        rng = _mapping(item, f"{where}.ranges[{i}]")
        if _text(rng.get("type"), f"{where}.ranges[{i}].type") != "ECOSYSTEM":
            continue  # GIT ranges name commits, SEMVER ranges are not PEP 440: neither applies
        try:
            ranges.append(_parse_range(rng, f"{where}.ranges[{i}]"))
        except _BadRange as exc:
            problems.append(str(exc))
    listed = _list(entry.get("versions"), f"{where}.versions")
    if all(type(v) is str and v for v in listed):  # the usual case, checked in one pass
        versions = tuple(str(v).strip() for v in listed)
    else:
        versions = tuple(
            _text(v, f"{where}.versions[{i}]", required=True) for i, v in enumerate(listed)
        )
    extra = entry.get("database_specific")
    if isinstance(extra, dict):  # problems recorded by ``to_osv`` in a cache
        recorded = extra.get(_PROBLEMS_KEY)
        if isinstance(recorded, list):
            problems.extend(str(p) for p in recorded)
    return name, Affected(name, tuple(ranges), versions, tuple(problems))


def parse_advisory(doc: object, origin: str = "") -> Advisory:
    """Build an :class:`Advisory` from a decoded OSV document.

    Raises :class:`AdvisoryFormatError` when the document is not a usable record. A range whose
    versions are not PEP 440 does not reject the record; it is kept in ``Affected.problems``.
    """
    raw = _mapping(doc, "the document")
    adv_id = _text(raw.get("id"), "id", required=True)
    merged: dict[NormalizedName, Affected] = {}
    for i, item in enumerate(_list(raw.get("affected"), "affected")):
        parsed = _parse_affected(item, f"affected[{i}]")
        if parsed is None:
            continue
        name, entry = parsed
        if name in merged:
            old = merged[name]
            entry = Affected(
                name,
                old.ranges + entry.ranges,
                old.versions + entry.versions,
                old.problems + entry.problems,
            )
        merged[name] = entry
    severity: list[Severity] = []
    for i, item in enumerate(_list(raw.get("severity"), "severity")):
        sev = _mapping(item, f"severity[{i}]")
        severity.append(
            Severity(
                _text(sev.get("type"), f"severity[{i}].type"),
                _text(sev.get("score"), f"severity[{i}].score"),
            )
        )
    references: list[str] = []
    for i, item in enumerate(_list(raw.get("references"), "references")):
        url = _text(_mapping(item, f"references[{i}]").get("url"), f"references[{i}].url")
        if url and url not in references:
            references.append(url)
    aliases = [
        _text(a, f"aliases[{i}]", required=True)
        for i, a in enumerate(_list(raw.get("aliases"), "aliases"))
    ]
    withdrawn = _text(raw.get("withdrawn"), "withdrawn") or None
    return Advisory(
        id=adv_id,
        aliases=tuple(dict.fromkeys(a for a in aliases if a != adv_id)),
        summary=_text(raw.get("summary"), "summary"),
        details=_excerpt(_text(raw.get("details"), "details")),
        affected=tuple(merged.values()),
        modified=_text(raw.get("modified"), "modified"),
        published=_text(raw.get("published"), "published"),
        withdrawn=withdrawn,
        severity=tuple(severity),
        references=tuple(references),
        origin=origin,
    )


def to_osv(advisory: Advisory) -> dict[str, object]:
    """The advisory back as a (reduced) OSV document; ``parse_advisory`` reads it back equal.

    Used for caches: a cached record is re-parsed exactly like a fresh one. Unevaluable ranges
    are not kept, but their problem messages are, under ``database_specific`` as OSV allows.
    """
    doc: dict[str, object] = {"id": advisory.id}
    if advisory.aliases:
        doc["aliases"] = list(advisory.aliases)
    if advisory.summary:
        doc["summary"] = advisory.summary
    if advisory.details:
        doc["details"] = advisory.details
    for key in ("modified", "published", "withdrawn"):
        value = getattr(advisory, key)
        if value:
            doc[key] = value
    doc["affected"] = [
        {
            "package": {"ecosystem": ECOSYSTEM, "name": a.package},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{e.kind.value: e.version} for e in r.events]}
                for r in a.ranges
            ],
            "versions": list(a.versions),
            **({"database_specific": {_PROBLEMS_KEY: list(a.problems)}} if a.problems else {}),
        }
        for a in advisory.affected
    ]
    if advisory.severity:
        doc["severity"] = [{"type": s.type, "score": s.score} for s in advisory.severity]
    if advisory.references:
        doc["references"] = [{"url": u} for u in advisory.references]
    return doc
