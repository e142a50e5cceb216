"""Round-trip every dependency file under the given folders through greenbump's readers.

For each file: read it, check that writing the text back is byte-identical, then for each
editable declaration set a new constraint and check that the result differs from the original
only at that constraint and re-parses to the same declarations with the new constraint.
Deliberately invalid files (parser test suites ship some) are listed in ``EXPECTED_INVALID``
with the reason and must be rejected with a ``file:line`` error.

Usage: python scripts/roundtrip.py DIR [DIR ...]   (prints "N passed, N failed")
"""

from __future__ import annotations

import dataclasses
import fnmatch
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath

from greenbump.discover import sniff_kind
from greenbump.edit import apply_constraints, set_constraint
from greenbump.errors import InputError
from greenbump.model import Declaration, DependencyFile, FileKind, Style
from greenbump.readers import parse
from greenbump.textio import decode, write_text

# Path globs (relative to the corpus folder given on the command line) -> why they are invalid.
_DEPENDABOT = "requirements/dependabot-core/python/spec/fixtures/"
_PRP_DATA = "requirements/pip-requirements-parser/tests/pip_requirements_parser_tests/data/"
_PRP = "requirements/pip-requirements-parser/tests/"
_RENOVATE = "requirements/renovate/lib/modules/manager/"
_DEPENDABOT_LOCKS = "locks/dependabot-core/python/spec/fixtures/"
_PIP_AUDIT = "locks/pip-audit/test/assets/"
EXPECTED_INVALID: dict[str, str] = {
    "requirements/aiohttp/requirements/pyproject.toml": "a git symlink stored as text ('../pyproject.toml'), not TOML",
    "requirements/dependabot-core/python/helpers/test/fixtures/pep735_cycle.toml": "PEP 735 include cycle a -> b -> a",
    _DEPENDABOT + "pip_conf_files/*": "pip configuration files, not requirement files",
    _DEPENDABOT + "requirements/invalid_lines.txt": "deliberately invalid line '4 + 4 = 2'",
    _DEPENDABOT + "requirements/invalid_options.txt": "--allow-external, an option pip removed",
    _DEPENDABOT
    + "requirements/invalid_requirements.txt": "bindep syntax 'build-essential [platform:dpkg]'",
    _DEPENDABOT + "requirements/invalid_value.txt": "unclosed quote in an option",
    _DEPENDABOT
    + "requirements/jinja_requirements.txt": "a cookiecutter template, not a requirements file",
    _DEPENDABOT + "setup_files/illformed_req.cfg": "two requirements run together on one line",
    "requirements/pip/tests/data/reqfiles/supported_options.txt": "--no-use-wheel, an option pip removed",
    _PRP_DATA
    + "more-requirements/jacobzweig-RCNN_Toolbox-requirements.txt": "#egg= fragment with an invalid version",
    _PRP_DATA
    + "more-requirements/nikdoof-test-auth-requirements.txt": "'fabric==dev': not a PEP 440 version",
    _PRP_DATA + "requirements/pip-docs-examples.txt": "two names on one line",
    _PRP_DATA + "requirements/pip-docs-examples3.txt": "--install-option, removed in pip 23.1",
    _PRP_DATA + "requirements/requirement-parser-issues.txt": "extras after the version",
    _PRP_DATA
    + "requirements/requirementslib-tests.txt": "stray quote (the file says it fails on purpose)",
    _PRP_DATA + "requirements/unsupported_options.txt": "--no-use-wheel, an option pip removed",
    _PRP_DATA + "sc-requirements/invalid_spec-requirements.txt": "'test>>1.2.0' is not a specifier",
    _PRP_DATA
    + "sc-requirements/local_paths_and_files-requirements.txt": "a path with #egg= pip rejects",
    _PRP_DATA + "sc-requirements/vcs-git-requirements.txt": "plain git:// URL without -e",
    _PRP_DATA + "sc-requirements/vcs_eggs-requirements.txt": "unknown URL scheme novcs+http",
    _PRP + "requirements_detector/test5/invalid_requirements.txt": "merge-conflict marker",
    _PRP + "requirements_parser_reqfiles/fail_1.txt": "'test>>1.2.0' is not a specifier",
    _PRP + "requirements_parser_reqfiles/fail_2.txt": "unknown URL scheme novcs+http",
    _PRP + "requirements_parser_reqfiles/file_1.txt": "a path with #egg= pip rejects",
    _PRP + "requirements_parser_reqfiles/file_2.txt": "editable path with #egg= pip rejects",
    _PRP + "requirements_parser_reqfiles/vcs_git.txt": "plain git:// URL without -e",
    "requirements/poetry/tests/fixtures/project_with_setup_calls_script/pyproject.toml": "'<scripts>' is not a requirement",
    "requirements/poetry/tests/json/fixtures/source/complete_invalid_priority.toml": "unknown Poetry source priority",
    _RENOVATE
    + "pep621/__fixtures__/pyproject_with_pdm.toml": "an empty requirement string ('fail to parse')",
    _RENOVATE
    + "pip_requirements/__fixtures__/requirements4.txt": "--default-timeout is not allowed in requirement files",
    _RENOVATE
    + "pip_requirements/__fixtures__/requirements5.txt": "--default-timeout is not allowed in requirement files",
    _RENOVATE
    + "pipenv/__fixtures__/Pipfile1": "'requests[django][security][something]' is not a package name",
    _RENOVATE + "poetry/__fixtures__/pyproject.1.toml": "Poetry constraint 'Invalid version.'",
    _RENOVATE + "setup-cfg/__fixtures__/setup-cfg-1.txt": "a setup.cfg saved as .txt",
    "pyproject/pip/tests/data/src/pep518_invalid_requires/pyproject.toml": "requires = [1, 2, 3]",
    _DEPENDABOT_LOCKS + "pipfile_files/edited.lock": "a package entry is a list",
    _DEPENDABOT_LOCKS + "pipfile_files/edited_array.lock": "a package entry is a list",
    _DEPENDABOT_LOCKS + "pipfile_files/malformed_default_section.lock": "'default' is a string",
    _DEPENDABOT_LOCKS + "pipfile_files/malformed_develop_section.lock": "'develop' is a list",
    _DEPENDABOT_LOCKS + "pipfile_files/unparseable": "invalid TOML",
    _DEPENDABOT_LOCKS + "pipfile_files/unparseable.lock": "invalid JSON",
    _DEPENDABOT_LOCKS + "pyproject_files/invalid_wildcard.toml": "Poetry constraint '2.18.^'",
    _DEPENDABOT_LOCKS + "pyproject_files/unparseable.toml": "invalid TOML",
    _PIP_AUDIT + "pylock.invalid-version.toml": "unsupported lock-version 666",
    _PIP_AUDIT + "pylock.invalid.toml": "not TOML",
    _PIP_AUDIT + "pylock.missing-packages.toml": "no packages array",
    _PIP_AUDIT + "pylock.missing-version.toml": "no lock-version",
    _PIP_AUDIT + "pylock.package-missing-name.toml": "a package without a name",
    "locks/poetry/tests/fixtures/invalid_lock/poetry.lock": "not TOML",
}

SKIP_NAMES = {"SOURCES.md", "README.md", ".id-allocator"}
SAMPLE_EDITS = 8  # per file: individual edits re-parsed one by one; all are checked together too


def new_constraint(decl: Declaration) -> str:
    """A different constraint in the declaration's own style."""
    if decl.style is Style.POETRY:
        return "^99.1.2"
    if decl.style is Style.LOCKED:
        return "==99.1.2" if decl.constraint.startswith("==") else "99.1.2"
    return "==99.1.2"


def identity(decl: Declaration) -> tuple[object, ...]:
    return (decl.key, decl.group, decl.extras, decl.marker, decl.url, decl.line, decl.editable)


def check_edits(dep_file: DependencyFile, kind: FileKind) -> list[str]:
    """Problems found when editing each declaration of ``dep_file`` (empty when all is well)."""
    problems: list[str] = []
    editable = [d for d in dep_file.declarations if d.editable_version]
    step = max(1, len(editable) // SAMPLE_EDITS)
    for number, decl in enumerate(editable):
        new = new_constraint(decl)
        text = set_constraint(dep_file.text, decl, new)
        assert decl.span is not None
        if text[: decl.span.start] != dep_file.text[: decl.span.start] or (
            text[decl.span.start + len(new) :] != dep_file.text[decl.span.end :]
        ):
            problems.append(f"{decl.name}: edit touched bytes outside the constraint")
            continue
        if number % step == 0:  # re-parsing every edit of a 500-package lock costs minutes
            problems += compare(dep_file, parse(text, dep_file.path, kind), {identity(decl): new})
    if len(editable) > 1:
        changes = [(d, new_constraint(d)) for d in editable]
        text = apply_constraints(dep_file.text, changes)
        expected = {identity(d): new for d, new in changes}
        problems += compare(dep_file, parse(text, dep_file.path, kind), expected)
    return problems


def compare(before: DependencyFile, after: DependencyFile, edited: dict[object, str]) -> list[str]:
    if len(before.declarations) != len(after.declarations):
        return [
            f"edit changed the declaration count {len(before.declarations)} -> "
            f"{len(after.declarations)}"
        ]
    problems = []
    for old, new in zip(before.declarations, after.declarations, strict=True):
        want = edited.get(identity(old), old.constraint)
        if identity(old) != identity(new) or new.constraint != want:
            problems.append(
                f"{old.name} (line {old.line}): re-parsed as {new.name} "
                f"{new.constraint!r}, expected {want!r}"
            )
    return problems[:3]


def check_file(path: Path, shown: PurePosixPath) -> tuple[bool, str]:
    data = path.read_bytes()
    text = decode(data, Path(shown))
    kind = sniff_kind(shown, text)
    if kind is None:
        return True, "skipped (not a dependency file)"
    dep_file = parse(text, shown, kind)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        write_text(copy, dep_file.text)
        if copy.read_bytes() != data:
            return False, "round-trip is not byte-identical"
    dep_file = dataclasses.replace(dep_file, path=shown)
    problems = check_edits(dep_file, kind)
    if problems:
        return False, "; ".join(problems)
    return True, f"{kind.value}, {len(dep_file.declarations)} declarations"


def expected_invalid(rel: str) -> str | None:
    for pattern, reason in EXPECTED_INVALID.items():
        if fnmatch.fnmatch(rel, pattern):
            return reason
    return None


def main(folders: list[str]) -> int:
    passed = failed = 0
    started = time.perf_counter()
    for folder in folders:
        root = Path(folder)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.name in SKIP_NAMES:
                continue
            rel = path.relative_to(root.parent).as_posix()
            why_invalid = expected_invalid(rel)
            try:
                ok, detail = check_file(path, PurePosixPath(rel))
            except InputError as exc:
                ok = why_invalid is not None and exc.line is not None
                detail = f"rejected: {exc}" + (f" (expected: {why_invalid})" if ok else "")
            else:
                if why_invalid is not None:
                    ok, detail = False, f"expected to be rejected ({why_invalid}) but {detail}"
            passed += ok
            failed += not ok
            if not ok or "-v" in sys.argv:
                print(f"{'ok  ' if ok else 'FAIL'} {rel}: {detail}")
    print(f"corpus round-trip in {time.perf_counter() - started:.1f}s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main([a for a in sys.argv[1:] if a != "-v"]))
