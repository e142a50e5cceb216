"""Real wheels and sdists from :class:`Release` descriptions, built in memory and cached.

The bytes are deterministic (fixed timestamps, sorted entries), so a release always builds to
the same file with the same sha256, and a process-wide cache keyed by
:meth:`Release.build_key` makes rebuilding free.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

from localindex.release import Release

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_GENERATOR = "greenbump-localindex 1"
BACKEND_MODULE = "_localindex_backend"


@dataclass(frozen=True)
class Artifact:
    """One built file: a wheel (with its core metadata) or an sdist."""

    filename: str
    kind: Literal["wheel", "sdist"]
    data: bytes = field(repr=False)
    metadata: bytes | None = field(default=None, repr=False)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def metadata_sha256(self) -> str | None:
        return None if self.metadata is None else hashlib.sha256(self.metadata).hexdigest()

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / self.filename
        path.write_bytes(self.data)
        return path


def _with_extra(requirement: str, extra: str) -> str:
    req, _, marker = requirement.partition(";")
    condition = f'extra == "{extra}"'
    if marker.strip():
        condition = f"({marker.strip()}) and {condition}"
    return f"{req.strip()} ; {condition}"


def core_metadata(release: Release) -> str:
    """The METADATA / PKG-INFO text (Metadata-Version 2.1)."""
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {release.name}",
        f"Version: {release.version}",
        f"Summary: {release.summary or f'Synthetic test package {release.name}'}",
    ]
    if release.requires_python is not None:
        lines.append(f"Requires-Python: {release.requires_python}")
    lines.extend(f"Requires-Dist: {req}" for req in release.requires)
    for extra, reqs in release.extras.items():
        lines.append(f"Provides-Extra: {extra}")
        lines.extend(f"Requires-Dist: {_with_extra(req, extra)}" for req in reqs)
    return "\n".join(lines) + "\n"


def _payload(release: Release) -> list[tuple[str, bytes]]:
    """The importable files: the module and the extra files."""
    entries = [(f"{release.module_name}.py", release.module_source.encode())]
    for path, content in sorted(release.files.items()):
        entries.append((path, content.encode() if isinstance(content, str) else content))
    return entries


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _zip(entries: Iterable[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries:
            info = zipfile.ZipInfo(path, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def _make_wheel(release: Release) -> Artifact:
    dist_info = f"{release.dist_name}-{release.file_version}.dist-info"
    metadata = core_metadata(release).encode()
    wheel = (
        f"Wheel-Version: 1.0\nGenerator: {_GENERATOR}\nRoot-Is-Purelib: true\nTag: {release.tag}\n"
    ).encode()
    entries = _payload(release)
    entries += [
        (f"{dist_info}/METADATA", metadata),
        (f"{dist_info}/WHEEL", wheel),
        (f"{dist_info}/top_level.txt", f"{release.module_name}\n".encode()),
    ]
    record = "".join(_record_line(p, d) + "\n" for p, d in entries)
    record += f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode()))
    return Artifact(release.wheel_filename, "wheel", _zip(entries), metadata)


# A minimal PEP 517 backend shipped inside each sdist, so that installing from the sdist
# needs nothing from any index: it packs the tree (less its own files) into a pure wheel.
_BACKEND_SOURCE = '''\
"""Minimal in-tree PEP 517 backend of greenbump's local test index."""

import base64
import hashlib
import os
import re
import zipfile
from email.parser import Parser

_SKIP = {"PKG-INFO", "pyproject.toml", "_localindex_backend.py"}


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def _record(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\\n"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open("PKG-INFO", encoding="utf-8") as f:
        text = f.read()
    meta = Parser().parsestr(text)
    dist = re.sub(r"[-_.]+", "_", meta["Name"]).lower()
    version = meta["Version"].replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    entries = []
    for root, dirs, files in os.walk("."):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.endswith(".egg-info"))
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(root, name), ".").replace(os.sep, "/")
            if rel in _SKIP:
                continue
            with open(os.path.join(root, name), "rb") as f:
                entries.append((rel, f.read()))
    entries.append((info + "/METADATA", text.encode()))
    wheel = b"Wheel-Version: 1.0\\nGenerator: localindex-backend\\nRoot-Is-Purelib: true\\n"
    entries.append((info + "/WHEEL", wheel + b"Tag: py3-none-any\\n"))
    record = "".join(_record(p, d) for p, d in entries) + info + "/RECORD,,\\n"
    entries.append((info + "/RECORD", record.encode()))
    filename = f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for path, data in entries:
            archive.writestr(path, data, compress_type=zipfile.ZIP_DEFLATED)
    return filename
'''


def _pyproject(release: Release) -> str:
    return (
        "[build-system]\n"
        "requires = []\n"
        f"build-backend = {json.dumps(BACKEND_MODULE)}\n"
        'backend-path = ["."]\n'
    )


def _make_sdist(release: Release) -> Artifact:
    top = f"{release.dist_name}-{release.file_version}"
    entries = [
        ("PKG-INFO", core_metadata(release).encode()),
        ("pyproject.toml", _pyproject(release).encode()),
        (f"{BACKEND_MODULE}.py", _BACKEND_SOURCE.encode()),
        *_payload(release),
    ]
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        dirs: set[str] = set()
        for path, data in entries:
            parts = path.split("/")[:-1]
            for depth in range(len(parts)):
                sub = "/".join(parts[: depth + 1])
                if sub not in dirs:
                    dirs.add(sub)
                    archive.addfile(_tarinfo(f"{top}/{sub}", tarfile.DIRTYPE))
            info = _tarinfo(f"{top}/{path}", tarfile.REGTYPE)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return Artifact(release.sdist_filename, "sdist", buffer.getvalue())


def _tarinfo(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


_cache: dict[tuple[str, str], Artifact] = {}
_cache_lock = threading.Lock()


def _cached(kind: str, release: Release) -> Artifact:
    key = (kind, release.build_key())
    with _cache_lock:
        found = _cache.get(key)
    if found is not None:
        return found
    artifact = _make_wheel(release) if kind == "wheel" else _make_sdist(release)
    with _cache_lock:
        return _cache.setdefault(key, artifact)


def build_wheel(release: Release) -> Artifact:
    """The release's wheel (built once per process, then cached)."""
    return _cached("wheel", release)


def build_sdist(release: Release) -> Artifact:
    """The release's sdist (built once per process, then cached)."""
    return _cached("sdist", release)


def build(release: Release) -> list[Artifact]:
    """The files the release asks for: its wheel and/or sdist."""
    artifacts = []
    if release.wheel:
        artifacts.append(build_wheel(release))
    if release.sdist:
        artifacts.append(build_sdist(release))
    return artifacts


def write_release(release: Release, directory: Path) -> list[Path]:
    """Build the release's files into ``directory`` (usable as ``--find-links``)."""
    return [artifact.write(directory) for artifact in build(release)]


def write_releases(releases: Iterable[Release], directory: Path) -> list[Path]:
    return [path for release in releases for path in write_release(release, directory)]
