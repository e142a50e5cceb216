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

The two sources are imported on first use (``from greenbump.advisories import OsvApi`` works
as usual): a run reads a local database or asks the API, never both.
"""

import importlib
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from greenbump.advisories.api import DEFAULT_OSV_API, OsvApi
    from greenbump.advisories.local import OsvDirectory

_LAZY = {"DEFAULT_OSV_API": "api", "OsvApi": "api", "OsvDirectory": "local"}


def __getattr__(name: str) -> object:
    """The names of :data:`_LAZY`, imported from their module on first access (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


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
