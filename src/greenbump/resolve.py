"""Ask uv whether a set of versions installs together, and what the whole environment is then.

Every environment greenbump tests is "the project's declared dependencies, with these packages
at these versions": the declarations are written out as one requirements input (so Poetry,
Pipfile, setup.cfg and PEP 621 projects all resolve the same way), the chosen versions as
constraints, and ``uv pip compile`` answers with the full pinned set or with its explanation of
why not. No resolver is written here; uv is the resolver.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement

from greenbump import proc
from greenbump.envs import uv_binary
from greenbump.errors import ExternalError
from greenbump.indexconfig import IndexConfig
from greenbump.inventory import declared_specifiers
from greenbump.model import Declaration
from greenbump.names import NormalizedName, canonicalize_name
from greenbump.project import Project
from greenbump.redact import redact_text

_NO_SOLUTION = 1  # uv's exit status when the requirements cannot be satisfied (errors exit 2)
_SKIPPED_GROUPS = ("build", "lock", "constraints", "overrides")
_PIN_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


@dataclass(frozen=True)
class Resolution:
    """uv's answer: the pinned set, or why there is none."""

    pins: Mapping[NormalizedName, str]
    ok: bool
    explanation: str = ""


def requirement_lines(project: Project, install: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(requirements, constraints) in PEP 508 form for the manifest declarations.

    ``install`` (the ``install`` setting) narrows what makes the test environment: each entry
    is a file (``requirements-dev.txt``) or a group as ``deps`` shows it (``main``,
    ``extra:test``, ``group:dev``, ``dev``). Empty: every declared group but build requirements.
    Constraint files and constraint tables always apply.
    """
    requirements: list[str] = []
    constraints: list[str] = []
    wanted = _with_includes(project, set(install))
    for dep_file in project.files:
        if dep_file.kind.is_lock:
            continue
        for decl in dep_file.declarations:
            if decl.group.startswith("lock") or decl.group == "build":
                continue
            is_constraint = decl.is_constraint or decl.group in ("constraints", "overrides")
            if wanted and not is_constraint and not wanted & {str(decl.file), decl.group}:
                continue
            line = _pep508(decl)
            if line is None:
                continue
            if decl.is_constraint or decl.group in ("constraints", "overrides"):
                constraints.append(line)
            elif decl.group not in _SKIPPED_GROUPS:
                requirements.append(line)
    return sorted(set(requirements)), sorted(set(constraints))


def _with_includes(project: Project, wanted: set[str]) -> set[str]:
    """``wanted`` plus every file its requirement files pull in with ``-r`` (as pip would)."""
    by_path = {str(f.path): f for f in project.files}
    todo = [w for w in wanted if w in by_path]
    while todo:
        dep_file = by_path[todo.pop()]
        for include in dep_file.includes:
            target = str(PurePosixPath(dep_file.path.parent, include.target))
            target = posixpath.normpath(target)
            if not include.is_constraint and target in by_path and target not in wanted:
                wanted.add(target)
                todo.append(target)
    return wanted


def _pep508(decl: Declaration) -> str | None:
    extras = f"[{','.join(decl.extras)}]" if decl.extras else ""
    marker = f" ; {decl.marker}" if decl.marker else ""
    if decl.url is not None:
        if decl.editable or "://" not in decl.url:
            return None  # local paths and editables are the project's own code, not an index's
        return f"{decl.name}{extras} @ {decl.url}{marker}"
    specs = declared_specifiers(decl)
    spec = ",".join(str(s) for s in specs if str(s))
    return f"{decl.name}{extras}{spec}{marker}"


def resolve(
    requirements: Sequence[str],
    constraints: Sequence[str],
    pins: Mapping[str, str],
    *,
    index: IndexConfig,
    python: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> Resolution:
    """Resolve ``requirements`` with ``pins`` (name -> exact version) and ``constraints``."""
    fixed = {canonicalize_name(name) for name in pins}
    lines_in = [_unpinned(line, fixed) for line in requirements]
    with tempfile.TemporaryDirectory(prefix="greenbump-resolve-") as tmp:
        folder = Path(tmp)
        (folder / "requirements.in").write_text("\n".join(lines_in) + "\n", encoding="utf-8")
        lines = [*constraints, *(f"{name}=={version}" for name, version in sorted(pins.items()))]
        (folder / "constraints.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        argv = [
            uv_binary(),
            "pip",
            "compile",
            "requirements.in",
            "--constraint",
            "constraints.txt",
            "--python-version",
            python,
            "--no-header",
            "--no-annotate",
            "--quiet",
            *index.uv_args(),
        ]
        result = proc.run(
            argv, cwd=folder, env=index.uv_env(env), timeout=timeout, check=False, what="uv"
        )
    if not result.ok:
        explanation = redact_text((result.stderr or result.stdout).strip(), index.secrets())
        if result.timed_out or result.returncode != _NO_SOLUTION:
            # uv itself failed (index unreachable, broken cache, a crash): not an answer about
            # these versions, so it must not hold anything back.
            raise ExternalError(f"uv pip compile failed: {explanation}")
        return Resolution({}, False, explanation)
    return Resolution(parse_pins(result.stdout), True)


def _unpinned(line: str, fixed: set[NormalizedName]) -> str:
    """``line`` without its version specifier when the trial fixes that package's version.

    The declared ``==1.0`` of a package being moved would contradict the trial's ``==2.0``;
    everything else about the declaration (extras, markers) still applies.
    """
    try:
        req = Requirement(line)
    except InvalidRequirement:
        return line
    if canonicalize_name(req.name) not in fixed or req.url:
        return line
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    marker = f" ; {req.marker}" if req.marker else ""
    return f"{req.name}{extras}{marker}"


def parse_pins(text: str) -> dict[NormalizedName, str]:
    """``name==version`` lines of a compiled requirements output."""
    pins: dict[NormalizedName, str] = {}
    for line in text.splitlines():
        match = _PIN_LINE.match(line.strip())
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def named_in(explanation: str, names: Sequence[str]) -> list[str]:
    """Which of ``names`` uv's explanation mentions (suspects of a conflict)."""
    lowered = explanation.lower()
    found = []
    for name in names:
        pattern = re.compile(rf"(?<![a-z0-9._-]){re.escape(name.lower())}(?![a-z0-9_-])")
        spelled = {name.lower(), name.lower().replace("-", "_"), name.lower().replace("-", ".")}
        if pattern.search(lowered) or any(s in lowered.split() for s in spelled):
            found.append(name)
    return found
