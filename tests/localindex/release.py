"""Declarative description of one synthetic release: :class:`Release`."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

#: Upload time of a release that does not name one: fixed and old, so tests are deterministic.
DEFAULT_UPLOADED = datetime(2020, 1, 1, tzinfo=timezone.utc)

_SEPARATORS = re.compile(r"[-_.]+")
_VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def normalize_name(name: str) -> str:
    """PEP 503 normalized project name: ``Zeta.Pkg`` -> ``zeta-pkg``."""
    return _SEPARATORS.sub("-", name).lower()


def escape_name(name: str) -> str:
    """Distribution name as written in wheel and sdist file names: ``Zeta.Pkg`` -> ``zeta_pkg``."""
    return _SEPARATORS.sub("_", name).lower()


@dataclass(frozen=True)
class Release:
    """One version of one synthetic project, with everything its files and index entry need.

    ``requires`` are Requires-Dist lines (PEP 508, markers allowed); ``extras`` maps an extra's
    name to its requirements (the ``extra == "..."`` marker is added). ``yanked`` is ``False``,
    ``True`` (no reason) or the reason. ``module`` is the source of the top-level module named
    after the project (``import_name``, default the name with underscores); when ``None`` the
    module only holds ``__version__``. ``files`` are further files of the wheel and sdist,
    by relative POSIX path. ``uploaded`` is the PEP 700 upload time (naive means UTC).
    ``wheel``/``sdist`` choose which files exist. Versions are used as written: give them in
    normalized PEP 440 form.
    """

    name: str
    version: str
    requires: Sequence[str] = ()
    requires_python: str | None = None
    yanked: bool | str = False
    uploaded: datetime = DEFAULT_UPLOADED
    module: str | None = None
    extras: Mapping[str, Sequence[str]] = field(default_factory=dict)
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    sdist: bool = False
    wheel: bool = True
    summary: str | None = None
    import_name: str | None = None
    tag: str = "py3-none-any"

    def __post_init__(self) -> None:
        if not _VALID_NAME.match(self.name):
            raise ValueError(f"invalid project name: {self.name!r}")
        if not self.version or any(c.isspace() or c in "/\\" for c in self.version):
            raise ValueError(f"invalid version: {self.version!r}")
        if not (self.wheel or self.sdist):
            raise ValueError(f"{self.name} {self.version}: neither wheel nor sdist")
        if isinstance(self.requires, str):
            raise TypeError("requires must be a sequence of strings, not a string")
        for path in self.files:
            parts = path.split("/")
            if path.startswith("/") or "\\" in path or ".." in parts or "" in parts:
                raise ValueError(f"file path must be relative POSIX: {path!r}")
        uploaded = self.uploaded
        if uploaded.tzinfo is None:
            uploaded = uploaded.replace(tzinfo=timezone.utc)
        object.__setattr__(self, "uploaded", uploaded.astimezone(timezone.utc))
        object.__setattr__(self, "requires", tuple(self.requires))
        object.__setattr__(self, "extras", {k: tuple(v) for k, v in self.extras.items()})
        object.__setattr__(self, "files", dict(self.files))

    def __hash__(self) -> int:
        return hash((self.build_key(), self.yanked, self.uploaded, self.sdist, self.wheel))

    @property
    def project(self) -> str:
        """The PEP 503 normalized name."""
        return normalize_name(self.name)

    @property
    def dist_name(self) -> str:
        """The escaped name used in file names and the ``.dist-info`` directory."""
        return escape_name(self.name)

    @property
    def module_name(self) -> str:
        return self.import_name or escape_name(self.name)

    @property
    def file_version(self) -> str:
        return self.version.replace("-", "_")

    @property
    def wheel_filename(self) -> str:
        return f"{self.dist_name}-{self.file_version}-{self.tag}.whl"

    @property
    def sdist_filename(self) -> str:
        return f"{self.dist_name}-{self.file_version}.tar.gz"

    @property
    def is_yanked(self) -> bool:
        return self.yanked is not False

    @property
    def yanked_reason(self) -> str | None:
        """``None`` when not yanked, else the reason (``""`` for ``yanked=True``)."""
        if self.yanked is False:
            return None
        return "" if self.yanked is True else str(self.yanked)

    @property
    def module_source(self) -> str:
        if self.module is None:
            return f"__version__ = {self.version!r}\n"
        return self.module

    def build_key(self) -> str:
        """Digest of everything that goes into the built files (not yanked/uploaded)."""
        files: dict[str, Any] = {
            k: (v.hex() if isinstance(v, bytes) else ["text", v]) for k, v in self.files.items()
        }
        payload = {
            "name": self.name,
            "version": self.version,
            "requires": list(self.requires),
            "requires_python": self.requires_python,
            "module": self.module_source,
            "extras": {k: list(v) for k, v in self.extras.items()},
            "files": files,
            "summary": self.summary,
            "import_name": self.module_name,
            "tag": self.tag,
        }
        encoded = json.dumps(payload, sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()
