"""Poetry version constraints, translated to PEP 440 specifier sets.

Poetry writes constraints in its own language (``^1.2``, ``~1.2.3``, ``1.*``, ``>=1 <2``,
``^1 || ^2``) that :mod:`packaging` cannot read, yet every later stage (finding candidate
versions, checking that an upgrade stays inside the declared range) speaks PEP 440. Converting
once, here, keeps the rest of greenbump Poetry-agnostic.

The semantics follow Poetry's documentation and its reference parser:

* caret ``^X.Y.Z`` allows changes that keep the left-most non-zero part of the release
  (``^1.2.3`` -> ``>=1.2.3,<2.0.0``; ``^0.2.3`` -> ``>=0.2.3,<0.3.0``; ``^0.0.3`` ->
  ``>=0.0.3,<0.0.4``; ``^0.0`` -> ``>=0.0,<0.1``; ``^0`` -> ``>=0,<1``);
* tilde ``~X.Y.Z`` allows patch changes, ``~X`` minor changes (``~1.2.3`` -> ``>=1.2.3,<1.3.0``,
  ``~1`` -> ``>=1,<2``);
* ``~=`` is PEP 440's compatible release (Poetry also accepts ``~=1``, meaning ``>=1,<1.1``);
* ``*`` (also ``x``, ``*.*``) allows anything, ``1.*`` / ``1.2.x`` are PEP 440 prefix matches;
* a bare version or ``=X`` is an exact match, ``<>`` is ``!=``;
* constraints joined by ``,`` or whitespace must all hold, ``||`` (or ``|``) joins alternatives.

Upper bounds are written with as many release parts as the constraint states (``~1`` gives
``<2``, ``~1.2.3`` gives ``<1.3.0``); PEP 440 compares ``2`` and ``2.0.0`` as equal anyway.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = ["poetry_to_specifier"]

_ANY = re.compile(r"^v?[xX*](?:\.[xX*])*$")
# Operators glued to the version that follows them, so ">= 1.2" is one constraint, not two.
_OPERATOR = re.compile(r"(\^|~=|~|===|==|=|!=|<>|>=|<=|>|<)\s+")
_SINGLE = re.compile(r"^(?P<op>\^|~=|~|===|==|=|!=|<>|>=|<=|>|<)?(?P<version>[^\s,|]+)$")
_WILDCARD = re.compile(r"^v?(?P<release>\d+(?:\.\d+)*)\.[xX*]$")


def poetry_to_specifier(constraint: str) -> SpecifierSet | list[SpecifierSet]:
    """Translate a Poetry constraint into a PEP 440 specifier set.

    Returns one :class:`SpecifierSet` for a plain constraint and a list of them (one per
    alternative) for a ``||`` union. Raises :class:`ValueError` on anything Poetry would reject.
    """
    if not isinstance(constraint, str):
        raise ValueError(f"a Poetry constraint must be a string, not {type(constraint).__name__}")
    stripped = constraint.strip()
    if not stripped:
        raise ValueError("empty version constraint")
    alternatives = re.split(r"\s*\|\|?\s*", stripped)
    if any(not part for part in alternatives):
        raise ValueError(f"empty alternative in version constraint {constraint!r}")
    sets = [_conjunction(part, constraint) for part in alternatives]
    if len(sets) == 1:
        return sets[0]
    return sets


def _conjunction(part: str, whole: str) -> SpecifierSet:
    """One ``||`` alternative: constraints separated by commas or whitespace, all of which hold."""
    glued = _OPERATOR.sub(r"\1", part)
    glued = glued.rstrip().removesuffix(",").rstrip()  # Poetry tolerates a trailing comma
    tokens = re.split(r"\s*,\s*|\s+", glued)
    if any(not token for token in tokens):
        raise ValueError(f"empty constraint in {whole!r}")
    specifiers: list[str] = []
    for token in tokens:
        specifiers.extend(_single(token, whole))
    try:
        return SpecifierSet(",".join(specifiers))
    except InvalidSpecifier as exc:  # e.g. a local version after an ordering operator
        raise ValueError(f"invalid version constraint {whole!r}: {exc}") from exc


def _single(token: str, whole: str) -> list[str]:
    """PEP 440 specifiers (possibly none, for ``*``) equivalent to one Poetry constraint."""
    if _ANY.match(token):
        return []
    match = _SINGLE.match(token)
    if match is None:
        raise ValueError(f"invalid version constraint {token!r} in {whole!r}")
    op = match.group("op") or ""
    text = match.group("version")

    wildcard = _WILDCARD.match(text)
    if wildcard is not None:
        if op in ("", "=", "=="):
            return [f"=={_version(wildcard.group('release'), whole)}.*"]
        if op in ("!=", "<>"):
            return [f"!={_version(wildcard.group('release'), whole)}.*"]
        if op in (">=", ">", "<=", "<"):
            # Poetry ignores a wildcard after an ordering operator (">=3.5.*" means ">=3.5").
            return [f"{op}{_version(wildcard.group('release'), whole)}"]
        raise ValueError(f"invalid version constraint {token!r} in {whole!r}")

    version = _version(text, whole)
    if op == "^":
        return [f">={version}", f"<{_render(_next_breaking(version), version)}"]
    if op == "~":
        upper = _bump(version, 0 if len(version.release) == 1 else 1)
        return [f">={version}", f"<{_render(upper, version)}"]
    if op == "~=":
        if len(version.release) == 1:
            return [f">={version}", f"<{_render(_bump(version, 1), version, parts=2)}"]
        return [f"~={version}"]
    if op in ("", "=", "=="):
        return [f"=={version}"]
    if op == "===":
        return [f"==={text}"]
    if op == "<>":
        return [f"!={version}"]
    return [f"{op}{version}"]


def _version(text: str, whole: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion as exc:
        raise ValueError(f"invalid version {text!r} in constraint {whole!r}") from exc


def _next_breaking(version: Version) -> tuple[int, ...]:
    """The first release a caret constraint excludes: bump the left-most non-zero part."""
    release = version.release
    if release[0] != 0:
        return _bump(version, 0)
    if len(release) >= 2 and release[1] != 0:
        return _bump(version, 1)
    if len(release) == 1:
        return _bump(version, 0)  # ^0 -> <1
    if len(release) == 2:
        return _bump(version, 1)  # ^0.0 -> <0.1
    return _bump(version, 2)  # ^0.0.3 -> <0.0.4


def _bump(version: Version, index: int) -> tuple[int, ...]:
    """Release tuple with part ``index`` incremented and every later part zeroed."""
    release = list(version.release)
    while len(release) <= index:
        release.append(0)
    release[index] += 1
    for position in range(index + 1, len(release)):
        release[position] = 0
    return tuple(release)


def _render(release: tuple[int, ...], like: Version, parts: int | None = None) -> str:
    """Write ``release`` with as many parts as ``like`` states, keeping its epoch."""
    width = max(parts or len(like.release), 1)
    padded = list(release[:width]) + [0] * max(0, width - len(release))
    body = ".".join(str(part) for part in padded)
    return f"{like.epoch}!{body}" if like.epoch else body
