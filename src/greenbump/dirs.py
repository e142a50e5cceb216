"""Where greenbump keeps what outlives a run: folders of the user cache directory.

One place for platformdirs' answer (``~/.cache/greenbump`` on Linux, ``XDG_CACHE_HOME``
respected), so the HTTP cache, the advisory index, installed tools and test environments all
sit side by side, and deleting that one folder is always safe.
"""

from __future__ import annotations

from pathlib import Path


def user_cache(*parts: str) -> Path:
    """``user_cache_dir("greenbump")/<parts>``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("greenbump"), *parts)
