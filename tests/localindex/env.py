"""An environment for subprocesses (pip, uv, greenbump) that no outer configuration leaks into."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_DROPPED_PREFIXES = ("PIP_", "UV_")
_DROPPED = frozenset(
    {
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "CONDA_DEFAULT_ENV",
        "PYTHONUSERBASE",
        "PYTHONHOME",
        "NETRC",
        "XDG_CONFIG_DIRS",
        "XDG_DATA_DIRS",
        "NO_COLOR",
        "FORCE_COLOR",
        "CLICOLOR_FORCE",
    }
)
_PROXIES = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy"})


def isolated_environ(
    base: Mapping[str, str], *, home: Path, uv_cache_dir: Path | None = None
) -> dict[str, str]:
    """``base`` without pip/uv/proxy/virtualenv settings, with a private home under ``home``.

    pip reads no configuration file (``PIP_CONFIG_FILE`` is the null device), uv finds no
    user or XDG system ``uv.toml`` (they live under ``home``, which is empty), neither talks to
    a proxy for loopback addresses, uv never downloads Python, and ``uv_cache_dir`` (when
    given) is the uv cache, so that tests can share it.
    """
    env = {
        key: value
        for key, value in base.items()
        if not key.upper().startswith(_DROPPED_PREFIXES)
        and key not in _DROPPED
        and key.lower() not in _PROXIES
    }
    dirs = {
        "HOME": home,
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_CONFIG_DIRS": home / "xdg-system-config",
        "TMPDIR": Path(base["TMPDIR"]) if "TMPDIR" in base else None,
    }
    for key, path in dirs.items():
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
            env[key] = str(path)
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        PIP_NO_COLOR="1",
        UV_PYTHON_DOWNLOADS="never",
        NO_COLOR="1",
        NO_PROXY="127.0.0.1,localhost,::1",
        no_proxy="127.0.0.1,localhost,::1",
    )
    if uv_cache_dir is not None:
        env["UV_CACHE_DIR"] = str(uv_cache_dir)
    return env


def uv_bin() -> str:
    """The uv executable of the ``uv`` package installed beside greenbump."""
    from uv import find_uv_bin

    return str(find_uv_bin())
