"""Known vulnerabilities of installed versions, from OSV-format advisories.

Why OSV: it is the one open format that the PyPA advisory database, GitHub's advisories and
the OSV service all publish, with machine-readable affected ranges and fixed versions. Two
sources share one interface (:class:`AdvisorySource`): :class:`OsvDirectory` reads a local copy
(the PyPA database checkout, OSV's ``all.zip`` export), offline and reproducible;
:class:`OsvApi` asks the OSV service and is always current.

Results are :class:`CheckResult` per package version, holding :class:`Finding` values (one per
vulnerability, aliases merged). A result is either checked or carries the reason it is not:
greenbump never turns "could not look" into "nothing found". :func:`smallest_fix` picks the
smallest upgrade that clears every finding of a package.
"""

from greenbump.advisories.api import DEFAULT_OSV_API, OsvApi
from greenbump.advisories.local import OsvDirectory
from greenbump.advisories.matching import (
    CheckResult,
    Finding,
    PackageKey,
    build_findings,
    check,
    package_key,
    smallest_fix,
)
from greenbump.advisories.records import (
    Advisory,
    AdvisoryFormatError,
    Affected,
    Event,
    EventKind,
    Range,
    Severity,
    load_document,
    parse_advisory,
    parse_version,
)
from greenbump.advisories.source import AdvisorySource

__all__ = [
    "DEFAULT_OSV_API",
    "Advisory",
    "AdvisoryFormatError",
    "AdvisorySource",
    "Affected",
    "CheckResult",
    "Event",
    "EventKind",
    "Finding",
    "OsvApi",
    "OsvDirectory",
    "PackageKey",
    "Range",
    "Severity",
    "build_findings",
    "check",
    "load_document",
    "package_key",
    "parse_advisory",
    "parse_version",
    "smallest_fix",
]
