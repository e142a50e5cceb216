"""Git in tests sees only what the test sets: no config, identity or repository of the machine."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest


def isolate_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, identity: Mapping[str, str]
) -> None:
    """An empty home and global config, no system config, no repository above ``tmp_path``,
    and ``identity`` (``GIT_AUTHOR_NAME`` and friends) as the only identity."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in identity.items():
        monkeypatch.setenv(name, value)
