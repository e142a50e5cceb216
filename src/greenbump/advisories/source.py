"""The interface every advisory source implements.

Sources differ in everything but their answer: a local OSV tree answers offline from files, the
OSV API answers over the network and can fail per package. Callers only see
:meth:`AdvisorySource.query`, which always answers for every package asked about, with
``checked=False`` and a reason where the source could not tell, rather than raising halfway
through a batch.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from greenbump.advisories.matching import CheckResult, PackageKey


class AdvisorySource(abc.ABC):
    """Something that can tell which advisories affect given package versions."""

    @property
    @abc.abstractmethod
    def label(self) -> str:
        """A short description for reports, e.g. ``OSV directory /path/to/vulns``."""

    @property
    def warnings(self) -> tuple[str, ...]:
        """Problems met so far that did not stop a check (e.g. unreadable advisory files)."""
        return ()

    @abc.abstractmethod
    def query(self, packages: Sequence[tuple[str, str]]) -> dict[PackageKey, CheckResult]:
        """Check each ``(name, version)``; results are keyed by :func:`package_key`.

        Every distinct key asked about gets a result. Implementations do not raise for a
        package they could not check: they answer ``checked=False`` with a reason. They may
        raise :class:`~greenbump.errors.InputError` when the source itself is misconfigured
        (e.g. a database path that holds no advisory at all).
        """
