"""``[tool.greenbump]`` in ``pyproject.toml`` (or a ``greenbump.toml``), validated up front.

Every key is also a command-line flag; the flag wins. Validation happens before any work so a
typo in a key or a wrong type is one clear ``file:line`` error, not a surprise halfway through
an upgrade. Unknown keys are errors too: a misspelt ``min-release-age`` silently ignored would
quietly turn a supply-chain cooldown off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from greenbump.errors import InputError
from greenbump.textio import read_text

# key -> (python type(s), description) ; list values are lists of strings
KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "test": ((str, list), "test command"),
    "install": (list, "what makes the test environment"),
    "python": (str, "interpreter or version for test environments and candidate filtering"),
    "level": (str, "patch | minor | major"),
    "only": (list, "package names or globs to upgrade"),
    "exclude": (list, "package names or globs never to upgrade"),
    "hold": (list, "per-package caps such as 'django<6'"),
    "allow-prereleases": (bool, "consider prereleases"),
    "min-release-age": (int, "days a release must have been public"),
    "security-only": (bool, "only upgrades that fix advisories"),
    "timeout": (int, "seconds per test run"),
    "jobs": (int, "parallel test environments"),
    "branch": (str, "branch name template"),
    "advisories": (str, "path to an OSV directory or zip"),
    "fail-on": (str, "vulnerable | outdated | never"),
    "index-url": (str, "primary package index"),
    "extra-index-url": (list, "additional package indexes"),
    "cache-ttl": (int, "seconds to keep index pages without validators"),
    "notify": (dict, "notification settings"),
}
CHOICES = {
    "level": ("patch", "minor", "major"),
    "fail-on": ("vulnerable", "outdated", "never"),
}


@dataclass(frozen=True)
class Settings:
    """The validated ``[tool.greenbump]`` table and where it came from."""

    values: dict[str, Any]
    source: PurePosixPath | None

    def get(self, key: str, default: Any = None) -> Any:
        """The configured value of ``key`` or ``default``."""
        return self.values.get(key, default)


def load_settings(root: Path) -> Settings:
    """Read ``greenbump.toml`` (whole file) or ``pyproject.toml``'s ``[tool.greenbump]``."""
    own = root / "greenbump.toml"
    if own.is_file():
        rel = PurePosixPath("greenbump.toml")
        document = _parse(own, rel)
        table = document.get("tool", {}).get("greenbump", document)
        return Settings(_validate(dict(table), rel, read_text(own)), rel)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        rel = PurePosixPath("pyproject.toml")
        document = _parse(pyproject, rel)
        table = document.get("tool", {}).get("greenbump")
        if table is not None:
            if not isinstance(table, dict):
                raise InputError("[tool.greenbump] must be a table", rel)
            return Settings(_validate(dict(table), rel, read_text(pyproject)), rel)
    return Settings({}, None)


def _parse(path: Path, rel: PurePosixPath) -> dict[str, Any]:
    import tomlkit  # deferred: a project without a TOML settings file never needs it
    import tomlkit.exceptions

    try:
        return tomlkit.parse(read_text(path, display=Path(rel))).unwrap()
    except tomlkit.exceptions.ParseError as exc:
        raise InputError(f"invalid TOML: {exc}", rel, exc.line) from exc


def _validate(table: dict[str, Any], rel: PurePosixPath, text: str) -> dict[str, Any]:
    for key, value in table.items():
        line = _line_of(text, key)
        if key not in KEYS:
            known = ", ".join(sorted(KEYS))
            raise InputError(
                f"unknown key {key!r} in greenbump settings (known: {known})", rel, line
            )
        expected, _ = KEYS[key]
        if isinstance(value, bool) and expected is int:
            raise InputError(f"{key} must be a number, not a boolean", rel, line)
        if not isinstance(value, expected):
            raise InputError(f"{key} has the wrong type ({type(value).__name__})", rel, line)
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise InputError(f"{key} must be a list of strings", rel, line)
        if key in CHOICES and value not in CHOICES[key]:
            raise InputError(f"{key} must be one of {', '.join(CHOICES[key])}", rel, line)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise InputError(f"{key} must not be negative", rel, line)
    return table


def _line_of(text: str, key: str) -> int | None:
    match = re.search(rf"^[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*=", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None
