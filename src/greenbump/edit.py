"""Lossless edits: change one declaration's constraint and nothing else.

Every reader records where a constraint sits (:class:`~greenbump.model.Span`), so an edit is a
plain splice of the text: comments, quoting, spacing, ordering and line endings around it are
untouched by construction. The splice first checks that the text at the span is still what the
reader saw, so a stale declaration can never overwrite the wrong bytes.
"""

from __future__ import annotations

import itertools

from greenbump.errors import InputError
from greenbump.model import Declaration, Span


def splice(text: str, span: Span, old: str, new: str) -> str:
    """Replace ``old`` at ``span`` in ``text`` by ``new``; refuse if the text moved."""
    if text[span.start : span.end] != old:
        raise ValueError(
            f"text at {span.start}..{span.end} is {text[span.start : span.end]!r}, expected {old!r}"
        )
    return text[: span.start] + new + text[span.end :]


def set_constraint(text: str, decl: Declaration, new_constraint: str) -> str:
    """Return ``text`` with ``decl``'s constraint replaced by ``new_constraint``.

    ``new_constraint`` is written in the declaration's own style (PEP 440 for PEP 508 lines,
    ``^1.2`` for Poetry, a bare version for lock entries).
    """
    if decl.span is None or not decl.editable_version:
        raise InputError(f"{decl.name} has no editable version constraint", decl.file, decl.line)
    return splice(text, decl.span, decl.constraint, new_constraint)


def apply_constraints(text: str, changes: list[tuple[Declaration, str]]) -> str:
    """Apply several constraint changes to one file's text, last span first so offsets hold."""
    ordered = sorted(changes, key=lambda change: _start(change[0]), reverse=True)
    for previous, current in itertools.pairwise(ordered):
        if _start(current[0]) == _start(previous[0]):
            raise ValueError(f"two edits at one place: {previous[0].name}, {current[0].name}")
    for decl, new in ordered:
        text = set_constraint(text, decl, new)
    return text


def _start(decl: Declaration) -> int:
    return decl.span.start if decl.span is not None else -1
