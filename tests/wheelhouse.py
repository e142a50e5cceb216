"""Offline wheels of pytest (and what it needs) for the virtual environments tests build.

Tests that run a project's test suite need pytest inside a fresh environment, but the suite
must run without the internet and pytest is not on the local index (``tests/localindex/``).
What is always there is the environment running this suite: ``scripts/test.sh`` installed
``.[test]``, so pytest, pluggy, iniconfig, packaging, pygments (and exceptiongroup and tomli on
Python 3.10) sit in its site-packages.

:func:`build_wheelhouse` repacks those installed distributions into wheels: the files each
``*.dist-info/RECORD`` lists (minus byte code, console scripts outside site-packages and the
installer's own records) go into a zip with a fresh RECORD, which is all a wheel is. They are
pure Python, so ``py3-none-any`` is the honest tag. A test then installs them with
``--find-links <dir>`` next to the local index; uv never has to reach a registry.

Alternatives that were rejected: ``pip wheel``/``pip download`` need the registry, uv's cache
is only filled when uv installed the packages (pip does in CI), and ``--system-site-packages``
would leak the outer environment into the one under test.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import zipfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

_SKIP_DIST_INFO = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def requirement_closure(root: str) -> dict[str, str]:
    """``root`` and its runtime requirements (for this interpreter), installed versions."""
    env = default_environment()
    found: dict[str, str] = {}
    todo = [root]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        dist = importlib.metadata.distribution(name)
        found[name] = dist.version
        for line in dist.requires or ():
            req = Requirement(line)
            marker_env = {**env, "extra": ""}
            if req.marker is None or req.marker.evaluate(marker_env):
                todo.append(req.name)
    return found


def repack(name: str, out_dir: Path) -> Path:
    """Write a wheel of the installed distribution ``name`` into ``out_dir``; return its path."""
    dist = importlib.metadata.distribution(name)
    files = dist.files or []
    site = Path(str(dist.locate_file("")))
    dist_name = canonicalize_name(dist.metadata["Name"]).replace("-", "_")
    info_dir = f"{dist_name}-{dist.version}.dist-info"
    wheel = out_dir / f"{dist_name}-{dist.version}-py3-none-any.whl"
    records: list[str] = []
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel in files:
            text = rel.as_posix()
            parts = rel.parts
            if parts[0] == ".." or "__pycache__" in parts or text.endswith(".pyc"):
                continue
            if parts[0].endswith(".dist-info"):
                if parts[-1] in _SKIP_DIST_INFO:
                    continue
                text = "/".join((info_dir, *parts[1:]))
            data = (site / rel).read_bytes()
            zf.writestr(text, data)
            records.append(f"{text},{_record_hash(data)},{len(data)}")
        if not any(r.startswith(f"{info_dir}/WHEEL,") for r in records):
            data = b"Wheel-Version: 1.0\nGenerator: greenbump-tests\nRoot-Is-Purelib: true\n"
            data += b"Tag: py3-none-any\n"
            zf.writestr(f"{info_dir}/WHEEL", data)
            records.append(f"{info_dir}/WHEEL,{_record_hash(data)},{len(data)}")
        records.append(f"{info_dir}/RECORD,,")
        zf.writestr(f"{info_dir}/RECORD", "\n".join(records) + "\n")
    return wheel


def build_wheelhouse(out_dir: Path, root: str = "pytest") -> dict[str, str]:
    """Repack ``root`` and its requirement closure into ``out_dir``; return the pins used."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pins = requirement_closure(root)
    for name in pins:
        repack(name, out_dir)
    return pins
