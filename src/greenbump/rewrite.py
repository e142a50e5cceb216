"""A declaration's new constraint text for a target version, written in the user's own style.

Why hand-written: :mod:`packaging` parses a specifier set but normalises it on the way
(``SpecifierSet(">= 1.0 ,< 2")`` prints as ``<2,>=1.0``: spacing gone, clauses reordered), and it
knows nothing of Poetry's or Pipfile's languages. An edit that is meant to change one version
number must leave the rest of the user's text alone, so this module tokenises the constraint
itself, recording where each clause's operator and version sit, and splices new versions into
those positions only. :mod:`packaging` (and, for Poetry,
:func:`~greenbump.poetry_constraints.poetry_to_specifier`) is still the judge of meaning: every
result is re-parsed, and checked to admit the target, before it is returned.

The rules follow the "bump" and "widen" strategies of pre-commit's ``autoupdate`` and of
Dependabot / Renovate:

* an exact pin (``==A``, ``===A``, Poetry's bare ``A`` or ``=A``, a lock entry) becomes the
  target, written as ``str(target)``;
* a lower bound (``>=A``, ``>A``) is kept, or raised to ``>=target`` with ``bump_lower_bounds``;
* an upper cap (``<N``, ``<=N``), a prefix match (``==1.2.*``, Poetry's ``1.2.*``) or a range
  (``~=``, Poetry's ``^`` and ``~``) that excludes the target moves up just enough to admit it,
  keeping the number of release segments written (``<2`` -> ``<3``, ``<2.5`` -> ``<2.8``,
  ``~=1.2.3`` -> ``~=1.5.0``), but only if that move is within ``level`` of where the constraint
  stands now (the highest release line it admits: ``<2`` stands at ``1.x``);
* a ``!=`` exclusion of the target is the user's explicit word: it is never removed;
* a Poetry union (``^1 || ^2``) is left alone when an alternative admits the target, otherwise
  its last alternative is rewritten.

A rewrite is all or nothing: if some clause cannot be made to admit the target (an exclusion, a
cap beyond ``level``, a lower bound above the target) the constraint is returned unchanged, with
``admits_target`` False and a reason, so a half-edited constraint never meets a file.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from greenbump.candidates import UpdateKind, update_kind
from greenbump.model import Style
from greenbump.poetry_constraints import poetry_to_specifier

__all__ = ["Rewrite", "rewrite_constraint"]

_RANK = {UpdateKind.PATCH: 0, UpdateKind.MINOR: 1, UpdateKind.MAJOR: 2}

# One PEP 440 clause between commas: spacing, operator, spacing, version, spacing.
_PEP440_CLAUSE = re.compile(r"(\s*)(~=|===|==|!=|<=|>=|<|>)(\s*)(\S(?:.*\S)?)(\s*)", re.DOTALL)
# Pipfile and lock files also accept a bare version first ("1.2", "3.*"), meaning "==".
_BARE_CLAUSE = re.compile(r"(\s*)()()(\d(?:.*\S)?)(\s*)", re.DOTALL)
# One Poetry constraint: an optional operator, optional spacing, a version or wildcard.
_POETRY_TOKEN = re.compile(r"(\^|~=|~|===|==|=|!=|<>|>=|<=|>|<)?(\s*)([^\s,|]+)")
_POETRY_SEPARATORS = " \t\r\n,"
_POETRY_UNION = re.compile(r"\|\|?")
_POETRY_ANY = re.compile(r"v?[xX*](?:\.[xX*])*")
# A prefix match: an optional "v", an optional epoch, a release, then ".*" (Poetry also ".x").
_WILDCARD = re.compile(r"(?P<v>[vV]?)(?P<version>(?:\d+!)?\d+(?:\.\d+)*)(?P<suffix>\.[*xX])")


@dataclass(frozen=True)
class Rewrite:
    """The outcome of :func:`rewrite_constraint`.

    ``text`` is the new constraint (the old one, character for character, when ``changed`` is
    False); ``admits_target`` says whether ``text`` admits the target; ``reason`` says what was
    done or what stood in the way (``"pin bumped"``, ``"cap widened"``, ``"lower bound kept"``,
    ``"cap not widened beyond level minor"``, ...).
    """

    text: str
    changed: bool
    admits_target: bool
    reason: str


class _Kind(enum.Enum):
    """What one clause does, whichever language it is written in."""

    ANY = "any"  # Poetry / Pipfile "*"
    PIN = "pin"  # ==A, ===A, bare A, =A
    LOWER = "lower"  # >=A, >A
    CAP = "cap"  # <N
    CAP_INCLUSIVE = "cap-inclusive"  # <=N
    PREFIX = "prefix"  # ==1.2.*, 1.2.*
    COMPATIBLE = "compatible"  # ~=A
    CARET = "caret"  # ^A
    TILDE = "tilde"  # ~A
    EXCLUDE = "exclude"  # !=A, !=A.*, <>A


@dataclass(frozen=True)
class _Clause:
    """One clause, with the positions of its operator and version in the constraint."""

    op: str  # as written; "" for a bare version
    op_start: int
    version_start: int
    version_end: int
    version: str  # as written


@dataclass(frozen=True)
class _Goal:
    """What a rewrite aims at, and how far it may go."""

    style: Style
    target: Version
    level: UpdateKind
    bump: bool


@dataclass(frozen=True)
class _Outcome:
    """What to do with one clause: an optional new operator / version, and why."""

    op: str | None = None
    version: str | None = None
    note: str | None = None
    blocks: bool = False  # the clause excludes the target and cannot be changed to admit it


def rewrite_constraint(
    constraint: str,
    style: Style,
    target: Version,
    *,
    level: UpdateKind = UpdateKind.MAJOR,
    bump_lower_bounds: bool = False,
) -> Rewrite:
    """The constraint text that lets a declaration move to ``target``.

    ``constraint`` is the declaration's text exactly as the file holds it (without quotes),
    ``style`` its language. ``level`` limits how far a cap may be widened, measured from the
    release line the constraint admits today; exact pins always move to ``target``.
    ``bump_lower_bounds`` raises lower bounds (``>=A``, ``~=A``, ``^A``) to the target too.
    """
    if not constraint.strip():
        return Rewrite(constraint, changed=False, admits_target=True, reason="no version stated")
    try:
        before = _admits(_parse(constraint, style), target)
    except (InvalidSpecifier, InvalidVersion, ValueError) as exc:
        return _unchanged(constraint, False, f"constraint not understood ({exc})")

    if style is Style.POETRY:
        alternatives = _poetry_alternatives(constraint)
        if alternatives is None:
            return _unchanged(constraint, before, "constraint not understood")
        if len(alternatives) > 1:
            if before:
                return _unchanged(constraint, True, "an alternative already admits the target")
            clauses = alternatives[-1]
        else:
            clauses = alternatives[0]
    else:
        found = _clauses(constraint, style)
        if found is None:
            return _unchanged(constraint, before, "constraint not understood")
        clauses = found
    goal = _Goal(style, target, level, bump_lower_bounds)
    kinds = [_kind(clause, style) for clause in clauses]
    if all(kind is _Kind.ANY for kind in kinds):  # "*" and friends
        return _unchanged(constraint, before, "any version allowed")
    try:
        outcomes = [
            _rewrite_clause(clause, kind, goal) for clause, kind in zip(clauses, kinds, strict=True)
        ]
    except (InvalidSpecifier, InvalidVersion, ValueError) as exc:  # pragma: no cover - defensive
        return _unchanged(constraint, before, f"constraint not understood ({exc})")
    blocking = [outcome.note or "target excluded" for outcome in outcomes if outcome.blocks]
    if blocking:
        return _unchanged(constraint, before, _join(blocking))

    text = _apply(constraint, clauses, outcomes)
    notes = _join([outcome.note for outcome in outcomes if outcome.note])
    if text == constraint:
        if before:
            return _unchanged(constraint, True, notes or "target already admitted")
        return _unchanged(constraint, False, notes or "target not admitted")
    try:
        after = _admits(_parse(text, style), target)
    except (InvalidSpecifier, InvalidVersion, ValueError) as exc:  # pragma: no cover - a bug
        return _unchanged(constraint, before, f"left unchanged: {text!r} would be invalid ({exc})")
    if not after:
        return _unchanged(constraint, before, f"left unchanged: {text!r} would not admit {target}")
    return Rewrite(text, changed=True, admits_target=True, reason=notes)


def _unchanged(constraint: str, admits: bool, reason: str) -> Rewrite:
    return Rewrite(constraint, changed=False, admits_target=admits, reason=reason)


def _join(notes: Sequence[str | None]) -> str:
    """Notes in clause order, each once."""
    return "; ".join(dict.fromkeys(note for note in notes if note))


# --- meaning -------------------------------------------------------------------------------


def _parse(text: str, style: Style) -> SpecifierSet | list[SpecifierSet]:
    """The PEP 440 meaning of a whole constraint in ``style``; raises on invalid text."""
    stripped = text.strip()
    if style is Style.POETRY:
        return poetry_to_specifier(text) if stripped else SpecifierSet()
    if style is Style.PIPFILE and stripped in ("", "*"):
        return SpecifierSet()
    if style in (Style.PIPFILE, Style.LOCKED) and stripped[:1].isdigit():
        return SpecifierSet(f"=={stripped}")
    return SpecifierSet(text)


def _admits(parsed: SpecifierSet | list[SpecifierSet], target: Version) -> bool:
    sets = parsed if isinstance(parsed, list) else [parsed]
    return any(spec.contains(target, prereleases=True) for spec in sets)


def _clause_spec(op: str, version: str, style: Style) -> SpecifierSet:
    """The meaning of one clause; raises on invalid text."""
    parsed = _parse(f"{op}{version}", style)
    if isinstance(parsed, list):  # pragma: no cover - one token is never a union
        raise ValueError(f"{op}{version} is not one clause")
    return parsed


def _kind(clause: _Clause, style: Style) -> _Kind:
    op = clause.op
    wildcard = _WILDCARD.fullmatch(clause.version) is not None
    if style is Style.POETRY and not op and _POETRY_ANY.fullmatch(clause.version):
        return _Kind.ANY
    if op in ("", "=", "=="):
        return _Kind.PREFIX if wildcard else _Kind.PIN
    table = {
        "===": _Kind.PIN,
        ">=": _Kind.LOWER,
        ">": _Kind.LOWER,
        "<": _Kind.CAP,
        "<=": _Kind.CAP_INCLUSIVE,
        "~=": _Kind.COMPATIBLE,
        "^": _Kind.CARET,
        "~": _Kind.TILDE,
        "!=": _Kind.EXCLUDE,
        "<>": _Kind.EXCLUDE,
    }
    return table[op]


# --- tokenising ----------------------------------------------------------------------------


def _clauses(constraint: str, style: Style) -> list[_Clause] | None:
    """PEP 440 clauses (Pipfile, PEP 508, lock entries) with their positions, or None."""
    stripped = constraint.strip()
    if style is Style.PIPFILE and stripped == "*":
        return []
    bare_first = style in (Style.PIPFILE, Style.LOCKED) and stripped[:1].isdigit()
    clauses: list[_Clause] = []
    offset = 0
    for piece in constraint.split(","):
        if piece.strip():
            pattern = _BARE_CLAUSE if bare_first and not clauses else _PEP440_CLAUSE
            match = pattern.fullmatch(piece)
            if match is None:
                return None
            clauses.append(
                _Clause(
                    op=match.group(2),
                    op_start=offset + match.start(2),
                    version_start=offset + match.start(4),
                    version_end=offset + match.end(4),
                    version=match.group(4),
                )
            )
        offset += len(piece) + 1
    return clauses


def _poetry_alternatives(constraint: str) -> list[list[_Clause]] | None:
    """Each ``||`` alternative's clauses (``*`` included), or None if the text does not scan."""
    alternatives: list[list[_Clause]] = []
    start = 0
    bounds = [(m.start(), m.end()) for m in _POETRY_UNION.finditer(constraint)]
    for end, next_start in [*bounds, (len(constraint), len(constraint))]:
        clauses: list[_Clause] = []
        position = start
        while True:
            while position < end and constraint[position] in _POETRY_SEPARATORS:
                position += 1
            if position >= end:
                break
            match = _POETRY_TOKEN.match(constraint, position, end)
            if match is None:
                return None
            clauses.append(
                _Clause(
                    op=match.group(1) or "",
                    op_start=match.start(),
                    version_start=match.start(3),
                    version_end=match.end(3),
                    version=match.group(3),
                )
            )
            position = match.end()
        alternatives.append(clauses)
        start = next_start
    return alternatives


def _apply(constraint: str, clauses: Sequence[_Clause], outcomes: Sequence[_Outcome]) -> str:
    """Splice new operators and versions in, last clause first so positions hold."""
    text = constraint
    for clause, outcome in reversed(list(zip(clauses, outcomes, strict=True))):
        if outcome.version is not None:
            text = text[: clause.version_start] + outcome.version + text[clause.version_end :]
        if outcome.op is not None:
            end = clause.op_start + len(clause.op)
            text = text[: clause.op_start] + outcome.op + text[end:]
    return text


# --- one clause ----------------------------------------------------------------------------


def _rewrite_clause(clause: _Clause, kind: _Kind, goal: _Goal) -> _Outcome:
    if kind is _Kind.ANY:
        return _Outcome()
    spec = _clause_spec(clause.op, clause.version, goal.style)
    admitted = spec.contains(goal.target, prereleases=True)
    written = f"{clause.op}{clause.version}"
    if kind is _Kind.PIN:
        if admitted:
            return _Outcome()
        new = _first_admitting(clause.op, clause.version, [str(goal.target)], goal)
        if new is None:
            return _Outcome(note=f"pin {written} cannot name {goal.target}", blocks=True)
        return _Outcome(version=new, note="pin bumped")
    if kind is _Kind.EXCLUDE:
        if admitted:
            return _Outcome()
        return _Outcome(note=f"target excluded by {written}", blocks=True)
    if kind is _Kind.LOWER:
        return _lower(clause, goal, admitted=admitted)
    if kind in (_Kind.CAP, _Kind.CAP_INCLUSIVE):
        return _cap(clause, kind, goal, admitted=admitted)
    return _range(clause, kind, goal, admitted=admitted)


def _lower(clause: _Clause, goal: _Goal, *, admitted: bool) -> _Outcome:
    """``>=A`` / ``>A``: kept, or raised to ``>=target`` when asked; never lowered."""
    bound = _version(clause.version)
    public = Version(goal.target.public)  # ">=1.0" already admits 1.0+cpu
    above = bound is not None and public > bound
    if not admitted and not (goal.bump and above):
        # below the bound, or a post-release of it that ">1.0" excludes (PEP 440)
        word = "excluded by" if above else "below lower bound"
        return _Outcome(note=f"target {word} {clause.op}{clause.version}", blocks=True)
    if not goal.bump or not above:
        return _Outcome(note="lower bound kept")
    new = _first_admitting(">=", clause.version, [str(public)], goal)
    if new is None:  # pragma: no cover - ">=target" always admits target
        return _Outcome(note="lower bound kept")
    return _Outcome(op=">=" if clause.op != ">=" else None, version=new, note="lower bound bumped")


def _cap(clause: _Clause, kind: _Kind, goal: _Goal, *, admitted: bool) -> _Outcome:
    """``<N`` / ``<=N``: widened to the next value of the cap's granularity above the target."""
    target = goal.target
    if admitted:
        return _Outcome()
    cap = _version(clause.version)
    if cap is None:
        return _Outcome(note=f"cap {clause.op}{clause.version} not understood", blocks=True)
    # "<N" stands on the line below N; "<=N" at N. (A prerelease of N, which "<N" excludes, is
    # also a move up from the line below N.)
    stand = cap if kind is _Kind.CAP_INCLUSIVE else _below(cap.release, cap.epoch)
    if not _within(stand, target, goal.level):
        return _Outcome(note=f"cap not widened beyond level {goal.level.value}", blocks=True)
    if kind is _Kind.CAP_INCLUSIVE:
        candidates = [str(target.public)]
    else:
        release = _next_at(target.release, _granularity(cap.release), len(cap.release))
        plain = _release_text(release, target.epoch)
        candidates = [plain + _pre_dev(cap), plain]
    new = _first_admitting(clause.op, clause.version, candidates, goal)
    if new is None:  # pragma: no cover - the next value above the target always admits it
        return _Outcome(note=f"no {clause.op} cap admits {target}", blocks=True)
    return _Outcome(version=new, note="cap widened")


def _range(clause: _Clause, kind: _Kind, goal: _Goal, *, admitted: bool) -> _Outcome:
    """``~=A``, ``^A``, ``~A`` and prefix matches: a lower bound and a cap in one clause."""
    target = goal.target
    wildcard = _WILDCARD.fullmatch(clause.version)
    suffix = wildcard.group("suffix") if wildcard is not None else ""
    base = _version(wildcard.group("version") if wildcard is not None else clause.version)
    if base is None:
        return _Outcome(note=f"{clause.op}{clause.version} not understood", blocks=not admitted)
    width = len(base.release)
    if admitted:
        if not goal.bump or kind is _Kind.PREFIX or target <= base:
            return _Outcome(note=None if kind is _Kind.PREFIX else "lower bound kept")
        note = "lower bound bumped"
    else:
        if target < base:
            return _Outcome(
                note=f"target below lower bound {clause.op}{clause.version}", blocks=True
            )
        stand = _below(_range_end(kind, base.release), base.epoch)
        if not _within(stand, target, goal.level):
            return _Outcome(note=f"cap not widened beyond level {goal.level.value}", blocks=True)
        note = "cap widened"
    plain = _release_text(_fit(target.release, width), target.epoch)
    candidates = [plain] if suffix else [plain, plain + _pre_dev(target), str(target.public)]
    new = _first_admitting(
        clause.op, clause.version, [candidate + suffix for candidate in candidates], goal
    )
    if new is None or new == clause.version:
        if admitted:
            return _Outcome(note="lower bound kept")
        return _Outcome(note=f"no {clause.op} range admits {target}", blocks=True)
    return _Outcome(version=new, note=note)


# --- versions ------------------------------------------------------------------------------


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _first_admitting(op: str, old: str, candidates: Sequence[str], goal: _Goal) -> str | None:
    """The first candidate version that, after ``op``, parses and admits ``target``.

    Each candidate is tried written like ``old`` (keeping a leading ``v``), then as given.
    """
    for candidate in candidates:
        for text in dict.fromkeys((_like(old, candidate), candidate)):
            try:
                spec = _clause_spec(op, text, goal.style)
            except (InvalidSpecifier, InvalidVersion, ValueError):
                continue
            if spec.contains(goal.target, prereleases=True):
                return text
    return None


def _like(old: str, new: str) -> str:
    """``new``, keeping a leading ``v`` that ``old`` was written with."""
    if old[:1] in ("v", "V") and new[:1].isdigit():
        return old[0] + new
    return new


def _within(stand: Version, target: Version, level: UpdateKind) -> bool:
    """Whether moving from ``stand`` to ``target`` stays within ``level``."""
    return _RANK[update_kind(stand, target)] <= _RANK[level]


def _granularity(release: tuple[int, ...]) -> int:
    """The segment a cap counts in: its last non-zero one (``<2.0`` counts majors)."""
    for index in range(len(release) - 1, -1, -1):
        if release[index] != 0:
            return index
    return len(release) - 1


def _below(end: tuple[int, ...], epoch: int) -> Version:
    """Where a constraint whose range ends (exclusively) at ``end`` stands: the line below it.

    ``<2`` and ``<2.0.0`` stand at ``1``, ``<2.5`` at ``2.4``, ``<2.5.3`` at ``2.5.2``. Only the
    segments up to the decremented one matter to :func:`update_kind`, so later ones are zero.
    """
    if not any(end):
        return Version(_release_text(end, epoch))
    index = _granularity(end)
    release = (*end[:index], end[index] - 1)
    return Version(_release_text(release, epoch))


def _range_end(kind: _Kind, release: tuple[int, ...]) -> tuple[int, ...]:
    """The release a range clause stops before (exclusive), as Poetry and PEP 440 define it."""
    width = len(release)
    if kind is _Kind.PREFIX:
        return _bump(release, width - 1)
    if kind is _Kind.COMPATIBLE:
        return _bump(release, 1 if width == 1 else width - 2)  # Poetry reads "~=1" as <1.1
    if kind is _Kind.TILDE:
        return _bump(release, 0 if width == 1 else 1)
    # caret: keep the left-most non-zero segment
    for index, part in enumerate(release):
        if part != 0:
            return _bump(release, index)
    return _bump(release, width - 1)


def _bump(release: tuple[int, ...], index: int) -> tuple[int, ...]:
    padded = list(release) + [0] * max(0, index + 1 - len(release))
    padded[index] += 1
    return tuple(padded[: index + 1]) + (0,) * max(0, len(padded) - index - 1)


def _fit(release: tuple[int, ...], width: int) -> tuple[int, ...]:
    """``release`` truncated or zero-padded to ``width`` segments."""
    return tuple(release[:width]) + (0,) * max(0, width - len(release))


def _next_at(release: tuple[int, ...], index: int, width: int) -> tuple[int, ...]:
    """The first release above ``release`` at granularity ``index``, written in ``width`` parts."""
    return _fit(_bump(_fit(release, index + 1), index), width)


def _release_text(release: tuple[int, ...], epoch: int) -> str:
    body = ".".join(str(part) for part in release)
    return f"{epoch}!{body}" if epoch else body


def _pre_dev(version: Version) -> str:
    """The prerelease and development suffix of ``version`` ("" for a final release)."""
    text = ""
    if version.pre is not None:
        text += f"{version.pre[0]}{version.pre[1]}"
    if version.post is not None:
        text += f".post{version.post}"
    if version.dev is not None:
        text += f".dev{version.dev}"
    return text if version.pre is not None or version.dev is not None else ""
