"""Modules that only some runs need stay out of a plain ``greenbump check``.

Each test runs a fresh interpreter and looks at ``sys.modules`` afterwards: an import that
sneaks back to module level (ours or through a new dependency) fails here instead of quietly
adding to every run's start-up time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import greenbump.advisories
from localindex import LocalIndex

# Imported only where they are used, by the runs that need them.
DEFERRED = (
    "configparser",  # pip configuration files
    "netrc",  # a netrc file
    "zipfile",  # a zipped advisory database
    "yaml",  # YAML advisories
    "httpx",  # the OSV API
    "rich",  # tables on a terminal
    "greenbump.markdown",  # Markdown output
    "greenbump.readers.pyproject",  # pyproject.toml and Pipfile projects
    "tomlkit",  # any TOML file
    "html.parser",  # PEP 503 HTML pages
    "urllib.request",  # proxies, and file:// locations on Windows
    "encodings.idna",  # TLS and non-ASCII host names
    "certifi",  # https
    "greenbump.advisories.api",  # the OSV API
    "packaging.requirements",  # requirement lines other than plain name==version pins
    "packaging.markers",  # environment markers
    "packaging.tags",  # wheel tags (through packaging.utils): odd wheel names only
    "msgspec",  # index pages of 64 KiB and more (or parse workers)
)


def _modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """``sys.modules`` of a fresh interpreter once it has run ``code``."""
    script = f"{code}\nimport sys\nprint('--modules--', *sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    return set(done.stdout.split("--modules--")[-1].split())


def test_check_command_imports_defer_optional_modules() -> None:
    loaded = _modules_after("import greenbump.main, greenbump.commands.check_run")
    assert sorted(loaded.intersection(DEFERRED)) == []


# What a check needs only once its index requests are out: loaded while the index answers,
# so that the first request goes out as early as possible.
AFTER_FIRST_REQUEST = (
    "greenbump.advisories",
    "greenbump.candidates",
    "greenbump.checkreport",
    "greenbump.checkformats",
)


def test_check_command_loads_report_modules_only_after_starting_lookups() -> None:
    loaded = _modules_after("import greenbump.main, greenbump.commands.check_run")
    assert sorted(loaded.intersection(AFTER_FIRST_REQUEST)) == []


def test_plain_check_run_imports_no_optional_module(
    tmp_path: Path, local_index: LocalIndex
) -> None:
    """requirements.txt, an http:// index, a find-links folder, a local JSON advisory
    directory, plain output."""
    project = tmp_path / "app"
    project.mkdir()
    (project / "requirements.txt").write_text("alpha==1.0.0\nbeta==1.0.0\n")
    vulns = tmp_path / "osv"
    vulns.mkdir()
    record = {
        "id": "PYSEC-2099-1",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "alpha"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1.0"}]}
                ],
            }
        ],
    }
    (vulns / "PYSEC-2099-1.json").write_text(json.dumps(record))
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PIP_", "UV_", "XDG_")) and not name.lower().endswith("_proxy")
    }
    env.update(
        HOME=str(tmp_path / "home"),  # no netrc, no user configuration
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_CONFIG_DIRS=str(tmp_path / "etc"),
        PIP_CONFIG_FILE=os.devnull,
        UV_NO_CONFIG="1",
        NO_PROXY="127.0.0.1,localhost",  # common on CI machines; names no proxy
        PIP_FIND_LINKS=str(tmp_path / "wheels"),
    )
    (tmp_path / "wheels").mkdir()
    argv = [
        "check",
        str(project),
        "--index-url",
        local_index.index_url,
        "--advisories",
        str(vulns),
        "--python",
        "3.11",
    ]
    code = f"from greenbump.main import main\nassert main({argv!r}) == 0"
    loaded = _modules_after(code, env=env)
    assert "greenbump.advisories.local" in loaded  # the run did read the advisories
    assert sorted(loaded.intersection(DEFERRED)) == []
    again = _modules_after(code, env=env)  # the pages revalidated, read from their digests
    assert sorted(again.intersection(DEFERRED)) == []


@pytest.mark.parametrize(("files", "loads_msgspec"), [(10, False), (2000, True)])
def test_msgspec_is_imported_for_large_pages_only(files: int, loads_msgspec: bool) -> None:
    code = f"""
import json
from greenbump import pages
entries = [
    {{"filename": f"demo-1.{{n}}.tar.gz", "url": f"https://files.test/{{n}}", "yanked": False}}
    for n in range({files})
]
body = json.dumps({{"meta": {{"api-version": "1.1"}}, "files": entries}}).encode()
assert (len(body) >= pages._MSGSPEC_FROM) is {loads_msgspec}
assert len(pages.digest_json_page(body, "demo")) == {files}
"""
    assert ("msgspec" in _modules_after(code)) is loads_msgspec


def test_advisory_sources_are_imported_on_first_use() -> None:
    assert not {"greenbump.advisories.api", "greenbump.advisories.local"} & _modules_after(
        "import greenbump.advisories"
    )
    loaded = _modules_after("from greenbump.advisories import OsvDirectory")
    assert "greenbump.advisories.local" in loaded
    assert "greenbump.advisories.api" not in loaded
    assert greenbump.advisories.OsvApi is greenbump.advisories.api.OsvApi
    name = "no_such_source"
    with pytest.raises(AttributeError, match=name):
        getattr(greenbump.advisories, name)
