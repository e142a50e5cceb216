"""Shared fixtures: an environment no outer pip/uv configuration leaks into, and local indexes.

See tests/localindex/README.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localindex import DEFAULT_CATALOGUE, LocalIndex, Release, isolated_environ
from wheelhouse import build_wheelhouse


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run the slow-marked trials too")
    parser.addoption("--run-network", action="store_true", help="run tests that need internet")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "slow" in item.keywords and not config.getoption("--run-slow"):
            item.add_marker(pytest.mark.skip(reason="slow trial: pass --run-slow"))
        if "network" in item.keywords and not config.getoption("--run-network"):
            item.add_marker(pytest.mark.skip(reason="needs the internet: pass --run-network"))


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Offline wheels of pytest for the environments tests build (see wheelhouse.py)."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    build_wheelhouse(folder)
    return folder


@pytest.fixture(scope="session")
def uv_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uv cache for the whole session, so uv does not re-download or re-build."""
    return tmp_path_factory.mktemp("uv-cache")


@pytest.fixture(scope="session")
def isolated_env(tmp_path_factory: pytest.TempPathFactory, uv_cache_dir: Path) -> dict[str, str]:
    """The isolated environment as a dict, for session-scoped fixtures' subprocesses."""
    home = tmp_path_factory.mktemp("session-home")
    return isolated_environ(os.environ, home=home, uv_cache_dir=uv_cache_dir)


@pytest.fixture(autouse=True)
def _isolate_environment(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    uv_cache_dir: Path,
) -> None:
    """Every test: no PIP_*/UV_*/proxy variables, no pip config file, a private empty home."""
    home = tmp_path_factory.mktemp("home")
    wanted = isolated_environ(os.environ, home=home, uv_cache_dir=uv_cache_dir)
    for key in list(os.environ):
        if key not in wanted:
            monkeypatch.delenv(key)
    for key, value in wanted.items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def local_index() -> Iterator[LocalIndex]:
    """The default catalogue (localindex.DEFAULT_CATALOGUE), served for the whole session.

    Shared: do not add releases or faults to it; use ``make_index`` for that.
    """
    with LocalIndex(DEFAULT_CATALOGUE) as index:
        yield index


@pytest.fixture
def make_index() -> Iterator[Callable[..., LocalIndex]]:
    """A factory: ``make_index(releases, **LocalIndex options)`` -> a running index, stopped
    at the end of the test, which fails if the server raised (``index.errors``; clear it when a
    test provokes errors on purpose)."""
    started: list[LocalIndex] = []

    def make(releases: Iterable[Release] = (), **options: Any) -> LocalIndex:
        index = LocalIndex(releases, **options).start()
        started.append(index)
        return index

    yield make
    for index in reversed(started):
        index.stop()
    errors = [error for index in started for error in index.errors]
    if errors:
        pytest.fail(f"the local index raised: {errors}")


@pytest.fixture
def osv(tmp_path: Path) -> Path:
    """An offline advisory database that knows nothing about the checked packages: a check
    that must not depend on advisories still needs a source it can read."""
    folder = tmp_path / "osv"
    folder.mkdir()
    (folder / "PYSEC-0-1.json").write_text(
        '{"id": "PYSEC-0-1", "modified": "2024-01-01T00:00:00Z", "affected": '
        '[{"package": {"ecosystem": "PyPI", "name": "zzz"}, "versions": ["1.0"]}]}'
    )
    return folder
