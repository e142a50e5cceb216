"""PEP 503 project names: ``Foo_Bar.baz`` and ``foo-bar-baz`` are one project.

Written here rather than imported from ``packaging.utils``, which holds the same two lines:
importing that module imports ``packaging.tags`` too (``sysconfig``, ``platform``,
``subprocess``), about a twentieth of a plain check's run, for wheel-tag code only a few
fallback paths need. The type is packaging's own, so values pass between the two freely.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NewType, cast

if TYPE_CHECKING:
    from packaging.utils import NormalizedName
else:
    NormalizedName = NewType("NormalizedName", str)

_SEPARATORS = re.compile(r"[-_.]+")


def canonicalize_name(name: str) -> NormalizedName:
    """The normalized form of a project name (PEP 503): runs of ``-_.`` become ``-``, lower case."""
    return cast(NormalizedName, _SEPARATORS.sub("-", name).lower())


__all__ = ["NormalizedName", "canonicalize_name"]
