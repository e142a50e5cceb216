"""Index configuration: precedence, pip and uv config files, credentials, uv arguments.

Every test passes its own ``env`` mapping with ``HOME`` and the XDG directories inside a temp
directory, so nothing from the machine's own configuration leaks in (``/etc/pip.conf`` is the
one fixed path: tests that depend on its absence say so).
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest

from greenbump import indexconfig
from greenbump.errors import InputError
from greenbump.indexconfig import (
    IndexConfig,
    IndexUrl,
    builtin_default_index,
    expand_pdm_variables,
    expand_pip_variables,
    expand_pipenv_variables,
    pip_config_files,
    resolve_index_config,
    uv_index_env_prefix,
)
from greenbump.model import DependencyFile, FileKind
from greenbump.readers.pipfile import parse_pipfile
from greenbump.readers.pyproject import parse_pyproject
from greenbump.readers.requirements import parse_requirements
from greenbump.redact import redact_text


def _etc_names_an_index() -> bool:
    """Whether the machine's fixed global config files name an index (then skip)."""
    for path in (Path("/etc/pip.conf"),):
        if path.is_file():
            parser = configparser.RawConfigParser()
            try:
                parser.read(path)
            except configparser.Error:
                return True
            for section in ("global", "install"):
                if parser.has_section(section) and (
                    parser.has_option(section, "index-url")
                    or parser.has_option(section, "index_url")
                ):
                    return True
    return Path("/etc/uv/uv.toml").is_file()


needs_clean_etc = pytest.mark.skipif(
    _etc_names_an_index(), reason="this machine's /etc config names an index"
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    """A minimal environment: private HOME and XDG dirs, the real PATH (to find pip)."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CONFIG_DIRS": str(tmp_path / "etc-xdg"),
        "PATH": os.environ.get("PATH", ""),
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def req_file(name: str, index: str | None = None, extras: tuple[str, ...] = ()) -> DependencyFile:
    return DependencyFile(
        path=PurePosixPath(name),
        kind=FileKind.REQUIREMENTS,
        text="",
        index_urls=(index,) if index else (),
        extra_index_urls=extras,
    )


# --- pip's built-in default -------------------------------------------------------------------


def test_builtin_default_index_is_asked_at_run_time() -> None:
    url, how = builtin_default_index()
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.hostname
    assert parts.path.rstrip("/").endswith("/simple")
    assert "built-in default" in how


def test_pip_is_asked_in_a_subprocess_and_a_pipless_python_says_nothing(tmp_path: Path) -> None:
    venv = tmp_path / "nopip"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    assert indexconfig._ask_pip(str(python)) is None
    assert indexconfig._ask_pip(str(tmp_path / "no-such-python")) is None


def test_uv_names_the_default_when_pip_is_absent() -> None:
    uv_bin = indexconfig._find_uv()
    assert uv_bin is not None
    url = indexconfig._ask_uv(uv_bin)
    assert url is not None
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.path.rstrip("/").endswith("/simple")
    pip_url, _ = builtin_default_index()
    assert url.rstrip("/") == pip_url.rstrip("/")  # both tools agree, whatever the host is


@needs_clean_etc
def test_nothing_configured_uses_the_builtin_default(project: Path, env: dict[str, str]) -> None:
    config = resolve_index_config(project, env=env)
    assert config.index is not None
    assert config.index.url == builtin_default_index(env)[0]
    assert "built-in default" in config.index.source
    assert config.extra == ()
    assert config.strategy == "first-index"
    assert config.search_order() == (config.index,)


# --- precedence -------------------------------------------------------------------------------


@needs_clean_etc
def test_precedence_ladder(project: Path, env: dict[str, str], home: Path) -> None:
    """Each source wins until a higher one names a primary index; then it is shadowed."""
    write(home / ".config" / "pip" / "pip.conf", "[global]\nindex-url = https://pipconf.test/s\n")
    write(home / ".config" / "uv" / "uv.toml", 'index-url = "https://uvuser.test/s"\n')
    assert resolve_index_config(project, env=env).index == IndexUrl(
        "https://uvuser.test/s", f"{home}/.config/uv/uv.toml index-url"
    )

    write(project / "pyproject.toml", '[tool.uv]\nindex-url = "https://pyproject.test/s"\n')
    config = resolve_index_config(project, env=env)
    assert config.index is not None
    assert config.index.url == "https://pyproject.test/s"
    assert [s.url for s in config.shadowed] == ["https://uvuser.test/s", "https://pipconf.test/s"]

    files = [req_file("requirements.txt", "https://reqs.test/s")]
    config = resolve_index_config(project, files, env=env)
    assert config.index is not None
    assert (config.index.url, config.index.source) == ("https://reqs.test/s", "requirements.txt")

    env["PIP_INDEX_URL"] = "https://pipenv.test/s"
    config = resolve_index_config(project, files, env=env)
    assert config.index is not None
    assert (config.index.url, config.index.source) == ("https://pipenv.test/s", "PIP_INDEX_URL")

    env["UV_INDEX_URL"] = "https://uvindexurl.test/s"
    assert resolve_index_config(project, files, env=env).index.url == "https://uvindexurl.test/s"  # type: ignore[union-attr]
    env["UV_DEFAULT_INDEX"] = "https://uvdefault.test/s"
    assert resolve_index_config(project, files, env=env).index.url == "https://uvdefault.test/s"  # type: ignore[union-attr]

    config = resolve_index_config(project, files, env=env, index_url="https://cli.test/s")
    assert config.index is not None
    assert (config.index.url, config.index.source) == ("https://cli.test/s", "--index-url")
    assert len(config.shadowed) == 6


def test_extra_indexes_accumulate_in_priority_order(
    project: Path, env: dict[str, str], home: Path
) -> None:
    write(
        home / ".config" / "pip" / "pip.conf",
        "[global]\nextra-index-url =\n    https://conf1.test/s\n    https://conf2.test/s\n",
    )
    write(
        project / "pyproject.toml",
        '[tool.uv]\nextra-index-url = ["https://pyproject.test/s"]\n',
    )
    env["PIP_EXTRA_INDEX_URL"] = "https://pipenv.test/s https://conf2.test/s"
    env["UV_INDEX"] = "named=https://uvindex.test/s"
    env["UV_EXTRA_INDEX_URL"] = "https://uvextra.test/s"
    env["PIP_INDEX_URL"] = "https://primary.test/s"
    files = [req_file("requirements.txt", extras=("https://reqs.test/s", "https://primary.test/s"))]
    config = resolve_index_config(project, files, env=env, extra_index_urls=["https://cli.test/s"])
    assert [e.url for e in config.extra] == [
        "https://cli.test/s",
        "https://uvindex.test/s",
        "https://uvextra.test/s",
        "https://pipenv.test/s",
        "https://conf2.test/s",
        "https://reqs.test/s",
        "https://pyproject.test/s",
        "https://conf1.test/s",
    ]
    assert config.extra[1].name == "named"
    # uv's order: extra indexes first, the primary last
    assert config.search_order()[-1].url == "https://primary.test/s"


def test_requirement_files_first_primary_wins_others_are_shadowed(
    project: Path, env: dict[str, str]
) -> None:
    files = [
        req_file("requirements.txt", "https://first.test/s"),
        req_file("requirements-dev.txt", "https://second.test/s"),
    ]
    config = resolve_index_config(project, files, env=env)
    assert config.index is not None
    assert config.index.url == "https://first.test/s"
    assert [(s.url, s.source) for s in config.shadowed] == [
        ("https://second.test/s", "requirements-dev.txt")
    ]
    assert config.extra == ()


# --- pip configuration files ------------------------------------------------------------------


def test_pip_config_file_order_follows_pip(env: dict[str, str], tmp_path: Path) -> None:
    env["VIRTUAL_ENV"] = str(tmp_path / "venv")
    files = pip_config_files(env)
    home = Path(env["HOME"])
    assert files[:3] == [
        tmp_path / "venv" / "pip.conf",
        home / ".config" / "pip" / "pip.conf",
        home / ".pip" / "pip.conf",
    ]
    assert Path("/etc/pip.conf") in files
    assert tmp_path / "etc-xdg" / "pip" / "pip.conf" in files

    env["PIP_CONFIG_FILE"] = os.devnull
    assert pip_config_files(env) == []


def test_pip_config_file_env_beats_site_beats_user(
    project: Path, env: dict[str, str], home: Path, tmp_path: Path
) -> None:
    write(home / ".pip" / "pip.conf", "[global]\nindex-url = https://legacy.test/s\n")
    assert resolve_index_config(project, env=env).index.url == "https://legacy.test/s"  # type: ignore[union-attr]
    write(home / ".config" / "pip" / "pip.conf", "[global]\nindex-url = https://user.test/s\n")
    assert resolve_index_config(project, env=env).index.url == "https://user.test/s"  # type: ignore[union-attr]
    venv = tmp_path / "venv"
    write(venv / "pip.conf", "[global]\nindex-url = https://site.test/s\n")
    env["VIRTUAL_ENV"] = str(venv)
    assert resolve_index_config(project, env=env).index.url == "https://site.test/s"  # type: ignore[union-attr]
    custom = write(tmp_path / "custom.conf", "[global]\nextra-index-url = https://custom.test/s\n")
    env["PIP_CONFIG_FILE"] = str(custom)
    config = resolve_index_config(project, env=env)
    assert config.index is not None
    assert config.index.url == "https://site.test/s"
    assert [e.url for e in config.extra] == ["https://custom.test/s"]
    # an existing PIP_CONFIG_FILE turns the user files off, as pip does
    assert "https://user.test/s" not in [s.url for s in config.shadowed]
    assert "https://legacy.test/s" not in [s.url for s in config.shadowed]


@needs_clean_etc
def test_pip_config_file_devnull_disables_every_file(
    project: Path, env: dict[str, str], home: Path
) -> None:
    write(home / ".config" / "pip" / "pip.conf", "[global]\nindex-url = https://user.test/s\n")
    env["PIP_CONFIG_FILE"] = os.devnull
    config = resolve_index_config(project, env=env)
    assert config.index is not None
    assert "built-in default" in config.index.source


def test_pip_install_section_overrides_global(
    project: Path, env: dict[str, str], home: Path
) -> None:
    write(
        home / ".config" / "pip" / "pip.conf",
        "[global]\nindex-url = https://global.test/s\nfind-links = /srv/wheels\n"
        "[install]\nindex_url = https://install.test/s\ncert = /srv/ca.pem\n",
    )
    config = resolve_index_config(project, env=env)
    assert config.index is not None
    assert config.index.url == "https://install.test/s"
    assert config.index.source.endswith("[install] index-url")
    assert [f.url for f in config.find_links] == ["file:///srv/wheels"]
    assert config.cert == "/srv/ca.pem"


def test_global_pip_conf_from_xdg_config_dirs(project: Path, env: dict[str, str]) -> None:
    write(
        Path(env["XDG_CONFIG_DIRS"]) / "pip" / "pip.conf",
        "[global]\nextra-index-url = https://global-extra.test/s\n",
    )
    config = resolve_index_config(project, env=env, index_url="https://cli.test/s")
    assert [e.url for e in config.extra] == ["https://global-extra.test/s"]


def test_broken_pip_conf_is_an_input_error(project: Path, env: dict[str, str], home: Path) -> None:
    path = write(home / ".config" / "pip" / "pip.conf", "index-url = no section\n")
    with pytest.raises(InputError) as caught:
        resolve_index_config(project, env=env)
    assert caught.value.path == PurePosixPath(path.as_posix())


# --- uv configuration -------------------------------------------------------------------------


def test_tool_uv_index_tables(project: Path, env: dict[str, str]) -> None:
    write(
        project / "pyproject.toml",
        """
[project]
name = "app"

[[tool.uv.index]]
name = "internal"
url = "https://internal.test/simple"

[[tool.uv.index]]
name = "torch"
url = "https://torch.test/whl"
explicit = true

[[tool.uv.index]]
name = "wheels"
url = "https://flat.test/wheels/"
format = "flat"

[[tool.uv.index]]
name = "mirror"
url = "https://mirror.test/simple"
default = true

[tool.uv]
index-url = "https://ignored-because-default-index.test/s"
index-strategy = "unsafe-best-match"
""",
    )
    config = resolve_index_config(project, env=env)
    assert config.index is not None
    assert (config.index.url, config.index.name) == ("https://mirror.test/simple", "mirror")
    assert [(e.url, e.name) for e in config.extra] == [("https://internal.test/simple", "internal")]
    assert [f.url for f in config.find_links] == ["https://flat.test/wheels/"]
    assert "https://torch.test/whl" not in [e.url for e in config.search_order()]
    assert config.strategy == "unsafe-best-match"
    assert "index-strategy" in config.strategy_source


def test_project_uv_toml_replaces_tool_uv(project: Path, env: dict[str, str]) -> None:
    write(project / "pyproject.toml", '[tool.uv]\nindex-url = "https://pyproject.test/s"\n')
    write(project / "uv.toml", '[pip]\nindex-url = "https://uvtoml.test/s"\n')
    config = resolve_index_config(project, env=env)
    assert config.index is not None
    assert config.index.url == "https://uvtoml.test/s"
    assert config.index.source.endswith("uv.toml pip.index-url")
    assert config.shadowed == ()


def test_pyproject_passed_in_is_not_reread(project: Path, env: dict[str, str]) -> None:
    write(project / "pyproject.toml", "this is [not toml")
    config = resolve_index_config(
        project, env=env, pyproject={"tool": {"uv": {"index-url": "https://given.test/s"}}}
    )
    assert config.index is not None
    assert config.index.url == "https://given.test/s"


def test_bad_pyproject_is_an_input_error_with_its_path(project: Path, env: dict[str, str]) -> None:
    path = write(project / "pyproject.toml", "[tool.uv]\nindex-url = \n")
    with pytest.raises(InputError) as caught:
        resolve_index_config(project, env=env)
    assert caught.value.path == PurePosixPath(path.as_posix())
    assert caught.value.line == 2


def test_uv_config_file_env_and_no_config(
    project: Path, env: dict[str, str], home: Path, tmp_path: Path
) -> None:
    write(home / ".config" / "uv" / "uv.toml", 'extra-index-url = ["https://user.test/s"]\n')
    write(Path(env["XDG_CONFIG_DIRS"]) / "uv" / "uv.toml", 'find-links = ["https://sys.test/f"]\n')
    config = resolve_index_config(project, env=env, index_url="https://cli.test/s")
    assert [e.url for e in config.extra] == ["https://user.test/s"]
    assert [f.url for f in config.find_links] == ["https://sys.test/f"]

    other = write(tmp_path / "other.toml", 'extra-index-url = ["https://other.test/s"]\n')
    env["UV_CONFIG_FILE"] = str(other)
    config = resolve_index_config(project, env=env, index_url="https://cli.test/s")
    assert [e.url for e in config.extra] == ["https://other.test/s"]
    assert config.find_links == ()

    env["UV_NO_CONFIG"] = "1"
    config = resolve_index_config(project, env=env, index_url="https://cli.test/s")
    assert config.extra == ()

    env.pop("UV_NO_CONFIG")
    env["UV_CONFIG_FILE"] = str(tmp_path / "missing.toml")
    with pytest.raises(InputError):
        resolve_index_config(project, env=env, index_url="https://cli.test/s")


def test_unknown_index_strategy_is_an_input_error(project: Path, env: dict[str, str]) -> None:
    env["UV_INDEX_STRATEGY"] = "best-guess"
    with pytest.raises(InputError, match="UV_INDEX_STRATEGY"):
        resolve_index_config(project, env=env, index_url="https://cli.test/s")


def test_no_index_keeps_only_find_links(project: Path, env: dict[str, str]) -> None:
    wheels = project / "wheels"
    wheels.mkdir()
    env["PIP_NO_INDEX"] = "yes"
    env["PIP_FIND_LINKS"] = "wheels"
    config = resolve_index_config(project, env=env, extra_index_urls=["https://cli.test/s"])
    assert config.no_index
    assert config.search_order() == ()
    # relative paths from the environment resolve against the working directory
    assert config.find_links[0].url == (Path.cwd() / "wheels").resolve().as_uri()
    assert config.uv_args()[0] == "--no-index"


def test_relative_find_links_in_config_resolve_against_the_file(
    project: Path, env: dict[str, str]
) -> None:
    write(project / "pyproject.toml", '[tool.uv]\nfind-links = ["./wheels"]\n')
    config = resolve_index_config(project, env=env, index_url="https://cli.test/s")
    assert config.find_links[0].url == (project / "wheels").resolve().as_uri()


def test_bad_urls_are_input_errors(project: Path, env: dict[str, str]) -> None:
    with pytest.raises(InputError, match="scheme"):
        resolve_index_config(project, env=env, index_url="ftp://old.test/simple")
    with pytest.raises(InputError, match="no host"):
        resolve_index_config(project, env=env, index_url="https:///simple")
    with pytest.raises(InputError):
        resolve_index_config(project, env=env, index_url="https://host.test:notaport/simple")


# --- credentials ------------------------------------------------------------------------------


def test_url_userinfo_is_split_off_and_never_shown(project: Path, env: dict[str, str]) -> None:
    config = resolve_index_config(
        project, env=env, index_url="https://alice:s%40cret-pw@private.test/simple"
    )
    index = config.index
    assert index is not None
    assert index.url == "https://private.test/simple"
    assert index.auth == ("alice", "s@cret-pw")
    assert index.credentials_source == "URL"
    assert index.display == "https://alice:****@private.test/simple"
    assert "cret" not in repr(config)
    assert "cret" not in "\n".join(config.describe())
    assert "s@cret-pw" in config.secrets()
    assert index.url_with_credentials == "https://alice:s%40cret-pw@private.test/simple"


def test_netrc_credentials_by_host(project: Path, env: dict[str, str], tmp_path: Path) -> None:
    netrc_file = write(
        tmp_path / "netrc",
        "machine private.test login bob password netrc-pw-123\n"
        "machine other.test login carol password other-pw\n",
    )
    env["NETRC"] = str(netrc_file)
    config = resolve_index_config(
        project,
        env=env,
        index_url="https://private.test/simple",
        extra_index_urls=["https://anon.test/simple", "https://carl@other.test/simple"],
    )
    assert config.index is not None
    assert config.index.auth == ("bob", "netrc-pw-123")
    assert config.index.credentials_source == str(netrc_file)
    anon, other = config.extra
    assert anon.auth is None
    # a URL naming another user than netrc's login does not get netrc's password
    assert other.auth == ("carl", "")
    assert other.password is None


def test_default_netrc_is_in_home(project: Path, env: dict[str, str], home: Path) -> None:
    write(home / ".netrc", "machine private.test login dan password home-netrc-pw\n")
    config = resolve_index_config(project, env=env, index_url="https://private.test/simple")
    assert config.index is not None
    assert config.index.auth == ("dan", "home-netrc-pw")


def test_broken_netrc_is_ignored(project: Path, env: dict[str, str], home: Path) -> None:
    write(home / ".netrc", 'machine "unterminated\n')
    config = resolve_index_config(project, env=env, index_url="https://private.test/simple")
    assert config.index is not None
    assert config.index.auth is None


def test_uv_index_name_credentials_from_env(project: Path, env: dict[str, str]) -> None:
    env["UV_INDEX"] = "my-corp.internal=https://corp.test/simple"
    env["UV_INDEX_MY_CORP_INTERNAL_USERNAME"] = "erin"
    env["UV_INDEX_MY_CORP_INTERNAL_PASSWORD"] = "env-pw-456"
    config = resolve_index_config(project, env=env, index_url="https://cli.test/s")
    (corp,) = config.extra
    assert corp.name == "my-corp.internal"
    assert corp.auth == ("erin", "env-pw-456")
    assert uv_index_env_prefix("my-corp.internal") == "UV_INDEX_MY_CORP_INTERNAL"


def test_uv_args_and_env_pass_the_same_configuration(project: Path, env: dict[str, str]) -> None:
    env["UV_INDEX_URL"] = "https://frank:uv-pw-789@primary.test/simple"
    env["UV_EXTRA_INDEX_URL"] = "https://extra.test/simple"
    env["UV_FIND_LINKS"] = "https://gina:flat-pw-000@flat.test/wheels/"
    config = resolve_index_config(project, env=env)
    args = config.uv_args()
    assert args == [
        "--index",
        "greenbump-extra-1=https://extra.test/simple",
        "--default-index",
        "greenbump-default=https://primary.test/simple",
        "--find-links",
        "https://gina:flat-pw-000@flat.test/wheels/",
        "--index-strategy",
        "first-index",
    ]
    assert "uv-pw-789" not in " ".join(args)
    sub_env = config.uv_env(env)
    assert "UV_INDEX_URL" not in sub_env
    assert "UV_EXTRA_INDEX_URL" not in sub_env
    assert sub_env["UV_INDEX_GREENBUMP_DEFAULT_USERNAME"] == "frank"
    assert sub_env["UV_INDEX_GREENBUMP_DEFAULT_PASSWORD"] == "uv-pw-789"
    assert "UV_INDEX_GREENBUMP_EXTRA_1_USERNAME" not in sub_env
    shown = redact_text("uv pip compile " + " ".join(args), config.secrets())
    assert "flat-pw-000" not in shown
    assert "gina" in shown


def test_uv_accepts_the_arguments(project: Path, env: dict[str, str], tmp_path: Path) -> None:
    """uv parses what uv_args() produces (offline: only argument parsing is exercised)."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    config = IndexConfig(
        index=IndexUrl("https://primary.test/simple", "test"),
        extra=(IndexUrl("https://extra.test/simple", "test"),),
        find_links=(IndexUrl(wheels.as_uri(), "test"),),
    )
    uv_bin = indexconfig._find_uv()
    assert uv_bin is not None
    requirements = write(tmp_path / "req.in", "")
    done = subprocess.run(
        [uv_bin, "pip", "compile", "--offline", "--no-cache", str(requirements), *config.uv_args()],
        capture_output=True,
        text=True,
        env=config.uv_env({**env, "UV_INDEX_URL": "https://conflict.test/s"}),
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_no_pip_and_no_uv_means_no_answer(tmp_path: Path) -> None:
    venv = tmp_path / "nopip"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    assert indexconfig.discover_default_index([python], None) is None
    assert indexconfig.discover_default_index([python], str(tmp_path / "no-uv")) is None
    answer = indexconfig.discover_default_index([python], indexconfig._find_uv())
    assert answer is not None
    assert answer[1] == "uv's built-in default (from its help)"


def test_describe_names_every_source(project: Path, env: dict[str, str]) -> None:
    env["PIP_EXTRA_INDEX_URL"] = "https://extra.test/s"
    env["UV_INDEX_STRATEGY"] = "unsafe-best-match"
    config = resolve_index_config(project, env=env, index_url="https://tok:pw-xyz@cli.test/s")
    assert config.describe() == [
        "extra index https://extra.test/s (from PIP_EXTRA_INDEX_URL)",
        "index https://tok:****@cli.test/s (from --index-url)",
        "index strategy unsafe-best-match (from UV_INDEX_STRATEGY)",
    ]


# --- environment variables in the files' URLs --------------------------------------------------

TOKEN = "pw-from-env-7Kq2"
LONG_TOKEN = "Zq8vK2mN4pL7xR1tY6wB3cD9fG5hJ0sA"  # looks like a token wherever it is


def requirements(text: str, name: str = "requirements.txt") -> DependencyFile:
    return parse_requirements(text, PurePosixPath(name))


def pipfile(*urls: str) -> DependencyFile:
    sources = "".join(f'[[source]]\nurl = "{url}"\nname = "s{i}"\n' for i, url in enumerate(urls))
    return parse_pipfile(sources + '[packages]\nalpha = "==1.0.0"\n', PurePosixPath("Pipfile"))


def test_requirement_file_urls_expand_like_pip(project: Path, env: dict[str, str]) -> None:
    env.update(IDX_USER="alice", IDX_TOKEN=TOKEN, IDX_HOST="idx.invalid", lower_name="bob")
    text = (
        "--index-url https://${IDX_USER}:${IDX_TOKEN}@${IDX_HOST}/simple/\n"
        "--extra-index-url https://${lower_name}:pw@lower.invalid/simple/\n"
        "--extra-index-url https://$IDX_USER:pw@dollar.invalid/simple/\n"
        "alpha==1.0.0\n"
    )
    dep_file = requirements(text)
    config = resolve_index_config(project, [dep_file], env=env)
    index = config.index
    assert index is not None
    assert index.url == "https://idx.invalid/simple/"
    assert index.auth == ("alice", TOKEN)
    assert index.credentials_source == "URL"
    assert index.source == "requirements.txt"
    assert index.display == "https://alice:****@idx.invalid/simple/"
    # pip expands neither lower-case names nor the $NAME form in requirement files
    assert [(e.url, e.username) for e in config.extra] == [
        ("https://lower.invalid/simple/", "${lower_name}"),
        ("https://dollar.invalid/simple/", "$IDX_USER"),
    ]
    assert TOKEN in config.secrets()
    assert TOKEN not in repr(config) + "\n".join(config.describe())
    # the file is what it was: the configuration is the only place the values go
    assert dep_file.text == text
    assert dep_file.index_urls == ("https://${IDX_USER}:${IDX_TOKEN}@${IDX_HOST}/simple/",)


def test_expanded_credentials_reach_uv_only_through_its_environment(
    project: Path, env: dict[str, str]
) -> None:
    env.update(IDX_USER="alice", IDX_TOKEN=TOKEN)
    text = "-i https://${IDX_USER}:${IDX_TOKEN}@idx.invalid/simple/\n"
    config = resolve_index_config(project, [requirements(text)], env=env)
    args = config.uv_args()
    assert "--default-index" in args
    assert "greenbump-default=https://idx.invalid/simple/" in args
    assert TOKEN not in " ".join(args)
    sub_env = config.uv_env(env)
    assert sub_env["UV_INDEX_GREENBUMP_DEFAULT_USERNAME"] == "alice"
    assert sub_env["UV_INDEX_GREENBUMP_DEFAULT_PASSWORD"] == TOKEN


@pytest.mark.parametrize(
    ("value", "note"),
    [
        (None, "environment variable IDX_TOKEN is not set"),
        ("", "environment variable IDX_TOKEN is empty"),  # pip skips empty values too
    ],
)
def test_pip_leaves_unset_variables_as_written_and_says_so(
    project: Path, env: dict[str, str], value: str | None, note: str
) -> None:
    env["IDX_USER"] = "alice"
    if value is not None:
        env["IDX_TOKEN"] = value
    text = "--index-url https://${IDX_USER}:${IDX_TOKEN}@idx.invalid/simple/\n"
    config = resolve_index_config(project, [requirements(text)], env=env)
    index = config.index
    assert index is not None
    assert index.auth == ("alice", "${IDX_TOKEN}")  # sent as written, as pip sends it
    assert index.source == f"requirements.txt; {note}"
    assert config.describe()[0] == (
        f"index https://alice:****@idx.invalid/simple/ (from requirements.txt; {note})"
    )


def test_unset_variable_outside_the_userinfo_is_an_input_error_when_used(
    project: Path, env: dict[str, str]
) -> None:
    text = "--index-url https://${IDX_HOST}/simple/\n"
    with pytest.raises(InputError) as caught:
        resolve_index_config(project, [requirements(text)], env=env)
    assert str(caught.value) == (
        "requirements.txt: index URL 'https://${IDX_HOST}/simple/': "
        "environment variable IDX_HOST is not set"
    )
    extra = "--extra-index-url https://idx.invalid/${CHANNEL}/simple/\n"
    with pytest.raises(InputError, match="environment variable CHANNEL is not set"):
        resolve_index_config(
            project, [requirements(extra)], env=env, index_url="https://cli.invalid/s"
        )
    # An index the environment overrides is never asked: no error, the note stays.
    env["PIP_INDEX_URL"] = "https://ci.invalid/simple/"
    config = resolve_index_config(project, [requirements(text)], env=env)
    assert config.index is not None
    assert config.index.url == "https://ci.invalid/simple/"
    (shadowed,) = config.shadowed
    assert shadowed.source == "requirements.txt; environment variable IDX_HOST is not set"


def test_expanded_urls_are_validated_without_showing_the_values(
    project: Path, env: dict[str, str]
) -> None:
    env["IDX_HOST"] = "idx.invalid:notaport"
    text = "--index-url https://${IDX_HOST}/simple/\n"
    with pytest.raises(InputError, match=r"invalid index URL 'https://\$\{IDX_HOST\}/simple/'"):
        resolve_index_config(project, [requirements(text)], env=env)
    env["IDX_URL"] = "ftp://idx.invalid/simple/"
    with pytest.raises(InputError, match="unsupported index URL scheme"):
        resolve_index_config(project, [requirements("-i ${IDX_URL}\n")], env=env)
    # A secret with a "/" breaks the URL apart; the message must not quote it.
    env["IDX_TOKEN"] = "s3cr/et-value"
    text = "--index-url https://alice:${IDX_TOKEN}@idx.invalid/simple/\n"
    with pytest.raises(InputError) as caught:
        resolve_index_config(project, [requirements(text)], env=env)
    assert "s3cr" not in str(caught.value)
    assert "et-value" not in str(caught.value)
    assert str(caught.value) == (
        "requirements.txt: invalid index URL 'https://alice:****@idx.invalid/simple/': "
        "not a URL once its variables are expanded"
    )


def test_a_token_expanded_outside_the_userinfo_is_masked(
    project: Path, env: dict[str, str]
) -> None:
    env.update(IDX_TOKEN=LONG_TOKEN, IDX_HOST="idx.invalid")
    text = "--index-url https://${IDX_HOST}/${IDX_TOKEN}/simple/\n"
    config = resolve_index_config(project, [requirements(text)], env=env)
    index = config.index
    assert index is not None
    assert index.url == f"https://idx.invalid/{LONG_TOKEN}/simple/"  # what is requested
    assert index.display == "https://idx.invalid/****/simple/"
    assert LONG_TOKEN in config.secrets()
    assert "idx.invalid" not in config.secrets()  # a host is no secret
    assert LONG_TOKEN not in "\n".join(config.describe())


def test_pipfile_sources_expand_like_pipenv(project: Path, env: dict[str, str]) -> None:
    env.update(IDX_USER="alice", IDX_TOKEN=TOKEN, lower_host="lower.invalid", EMPTY="")
    dep_file = pipfile(
        "https://$IDX_USER:${IDX_TOKEN}@idx.invalid/simple/",
        "https://${lower_host}/simple/",
        "https://$lower_host/other/",
        "https://x${EMPTY}y:$NOPE@extra.invalid/simple/",
    )
    config = resolve_index_config(project, [dep_file], env=env)
    index = config.index
    assert index is not None
    assert index.url == "https://idx.invalid/simple/"
    assert index.auth == ("alice", TOKEN)
    assert index.source == "Pipfile"
    assert TOKEN in config.secrets()
    assert [(e.url, e.auth) for e in config.extra] == [
        ("https://lower.invalid/simple/", None),
        ("https://lower.invalid/other/", None),
        ("https://extra.invalid/simple/", ("xy", "$NOPE")),  # empty expands to empty
    ]
    assert config.extra[-1].source == "Pipfile; environment variable NOPE is not set"
    assert dep_file.index_urls == ("https://$IDX_USER:${IDX_TOKEN}@idx.invalid/simple/",)


def test_pipfile_lock_sources_expand_like_the_pipfile(project: Path, env: dict[str, str]) -> None:
    env.update(IDX_USER="alice", IDX_TOKEN=TOKEN)
    lock = DependencyFile(
        path=PurePosixPath("Pipfile.lock"),
        kind=FileKind.PIPFILE_LOCK,
        text="",
        index_urls=("https://$IDX_USER:$IDX_TOKEN@idx.invalid/simple/",),
    )
    config = resolve_index_config(project, [lock], env=env)
    assert config.index is not None
    assert config.index.auth == ("alice", TOKEN)


def test_pyproject_urls_are_not_expanded(project: Path, env: dict[str, str]) -> None:
    """Only requirement files and Pipfiles expand: pyproject sources are used as written."""
    env["IDX_HOST"] = "idx.invalid"
    pyproject = DependencyFile(
        path=PurePosixPath("pyproject.toml"),
        kind=FileKind.PYPROJECT,
        text="",
        index_urls=("https://literal.invalid/${IDX_HOST}/simple/",),
    )
    config = resolve_index_config(project, [pyproject], env=env)
    assert config.index is not None
    assert config.index.url == "https://literal.invalid/${IDX_HOST}/simple/"


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("${A_1}", "one"),
        ("${a_1}", "${a_1}"),  # lower case: not a reference for pip
        ("$A_1", "$A_1"),  # no braces: not a reference for pip
        ("${A_1}${A_1}/${B}", "oneone/${B}"),
        ("${EMPTY}", "${EMPTY}"),
        ("${}", "${}"),
        ("${A-1}", "${A-1}"),
    ],
)
def test_pip_expansion_rules(text: str, expanded: str) -> None:
    assert expand_pip_variables(text, {"A_1": "one", "EMPTY": "", "a_1": "low"}).url == expanded


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("$A_1", "one"),
        ("${A_1}", "one"),
        ("$a_1/${a_1}", "low/low"),  # any case
        ("$A_1x", "$A_1x"),  # the longest name is looked up
        ("$EMPTY.", "."),
        ("$NOPE ${NOPE}", "$NOPE ${NOPE}"),
        ("$$A_1", "$one"),
        ("${A_1", "${A_1"),
        ("${}", "${}"),
        ("$1", "digit"),
        ("$é", "$é"),  # ASCII names only
    ],
)
def test_pipenv_expansion_rules(text: str, expanded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"A_1": "one", "EMPTY": "", "a_1": "low", "1": "digit"}
    assert expand_pipenv_variables(text, env).url == expanded
    # the function pipenv calls agrees, given the same environment
    for name in ("NOPE", "A_1x"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert os.path.expandvars(text) == expanded


# --- the files' find-links and --no-index ------------------------------------------------------


def test_file_find_links_accumulate_with_the_files_precedence(
    project: Path, env: dict[str, str], home: Path
) -> None:
    write(home / ".config" / "pip" / "pip.conf", "[global]\nfind-links = https://conf.invalid/l/\n")
    text = (
        '[tool.uv]\nfind-links = ["https://uvproject.invalid/l/"]\n\n'
        '[[tool.pdm.source]]\nname = "flat"\nurl = "https://pdm.invalid/l/"\ntype = "find_links"\n'
    )
    write(project / "pyproject.toml", text)
    env["PIP_FIND_LINKS"] = "https://pipenv.invalid/l/"
    files = [
        requirements("-f https://reqs.invalid/l/\n"),
        requirements("--find-links=https://dev.invalid/l/\n", "requirements-dev.txt"),
        parse_pyproject(text, PurePosixPath("pyproject.toml")),
    ]
    config = resolve_index_config(
        project, files, env=env, index_url="https://cli.invalid/simple/", find_links=["/cli"]
    )
    assert [(e.url, e.source) for e in config.find_links] == [
        ("file:///cli", "--find-links"),
        ("https://pipenv.invalid/l/", "PIP_FIND_LINKS"),
        ("https://reqs.invalid/l/", "requirements.txt"),
        ("https://dev.invalid/l/", "requirements-dev.txt"),
        ("https://uvproject.invalid/l/", "pyproject.toml [tool.uv] find-links"),
        ("https://pdm.invalid/l/", "pyproject.toml"),
        ("https://conf.invalid/l/", f"{home}/.config/pip/pip.conf [global] find-links"),
    ]
    assert config.index is not None
    assert config.index.url == "https://cli.invalid/simple/"


def test_a_file_no_index_turns_the_indexes_off_as_pip_does(
    project: Path, env: dict[str, str]
) -> None:
    (project / "wheels").mkdir()
    env["PIP_INDEX_URL"] = "https://ci.invalid/simple/"
    env["PIP_EXTRA_INDEX_URL"] = "https://ci-extra.invalid/simple/"
    files = [requirements("alpha==1.0.0\n"), requirements("--no-index\n-f wheels\n", "more.txt")]
    config = resolve_index_config(project, files, env=env)
    assert config.no_index
    assert config.search_order() == ()
    assert [e.url for e in config.find_links] == [(project / "wheels").resolve().as_uri()]
    assert "no index (from more.txt --no-index)" in config.describe()
    assert config.uv_args()[0] == "--no-index"
    # A higher-priority source that states its choice wins, as for index URLs.
    env["PIP_NO_INDEX"] = "no"
    config = resolve_index_config(project, files, env=env)
    assert config.index is not None
    assert config.index.url == "https://ci.invalid/simple/"
    assert config.find_links[0].url == (project / "wheels").resolve().as_uri()


def test_relative_find_links_are_joined_to_the_file_folder_as_pip_does(
    project: Path, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "elsewhere"
    for folder in (
        project / "reqs" / "wheels",
        project / "shared",
        project / "reqs" / "vendored" / "pkgs",
        project / "reqs" / "both",
        cwd / "both",
        cwd / "cwd-only",
    ):
        folder.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    env["VENDOR"] = "vendored"
    text = (
        "-f wheels\n"  # beside the file
        "-f ../shared\n"  # beside the file, one up
        "-f ./${VENDOR}/pkgs\n"  # expanded first, then joined
        "-f both\n"  # in both places: the file's folder wins
        "-f cwd-only\n"  # not beside the file: the current directory, as pip leaves it
        "-f missing\n"  # nowhere: still the current directory
        f"-f {tmp_path}/abs\n"
        "-f https://files.invalid/links/\n"
    )
    config = resolve_index_config(
        project, [requirements(text, "reqs/base.txt")], env=env, index_url="https://i.invalid/"
    )
    assert [e.url for e in config.find_links] == [
        (project / "reqs" / "wheels").resolve().as_uri(),
        (project / "shared").resolve().as_uri(),
        (project / "reqs" / "vendored" / "pkgs").resolve().as_uri(),
        (project / "reqs" / "both").resolve().as_uri(),
        (cwd / "cwd-only").resolve().as_uri(),
        (cwd / "missing").resolve().as_uri(),
        (tmp_path / "abs").resolve().as_uri(),
        "https://files.invalid/links/",
    ]


def test_file_find_links_expand_and_are_masked_like_index_urls(
    project: Path, env: dict[str, str]
) -> None:
    env.update(FL_USER="alice", FL_TOKEN=TOKEN, FL_PATH=LONG_TOKEN)
    text = (
        "--find-links https://${FL_USER}:${FL_TOKEN}@files.invalid/wheels/\n"
        "-f https://files.invalid/${FL_PATH}/links/\n"
        "-f https://bob:${FL_UNSET}@unset.invalid/links/\n"
        "-f https://$FL_USER@dollar.invalid/links/\n"  # not a reference for pip
    )
    dep_file = requirements(text)
    config = resolve_index_config(project, [dep_file], env=env, index_url="https://i.invalid/")
    first, second, third, fourth = config.find_links
    assert first.url == "https://files.invalid/wheels/"
    assert first.auth == ("alice", TOKEN)
    assert first.display == "https://alice:****@files.invalid/wheels/"
    assert second.url == f"https://files.invalid/{LONG_TOKEN}/links/"
    assert second.display == "https://files.invalid/****/links/"
    assert third.auth == ("bob", "${FL_UNSET}")  # sent as written, as pip sends it
    assert third.source == "requirements.txt; environment variable FL_UNSET is not set"
    assert fourth.username == "$FL_USER"
    assert {TOKEN, LONG_TOKEN} <= set(config.secrets())
    assert TOKEN not in "\n".join(config.describe()) + repr(config)
    assert LONG_TOKEN not in "\n".join(config.describe())  # the URL itself holds it
    command = redact_text(" ".join(config.uv_args()), config.secrets())
    assert TOKEN not in command
    assert LONG_TOKEN not in command
    assert dep_file.find_links[0] == "https://${FL_USER}:${FL_TOKEN}@files.invalid/wheels/"
    # An unset variable in the host: the location is always searched, so always an error.
    with pytest.raises(InputError) as caught:
        resolve_index_config(
            project, [requirements("--no-index\n-f https://${FL_HOST}/links/\n")], env=env
        )
    assert str(caught.value) == (
        "requirements.txt: index URL 'https://${FL_HOST}/links/': "
        "environment variable FL_HOST is not set"
    )


# --- pdm's sources -----------------------------------------------------------------------------

PDM_PROJECT = """\
[project]
name = "demo"

[[tool.uv.index]]
url = "https://uv.invalid/${PDM_USER}/simple/"

[[tool.pdm.source]]
name = "private"
url = "https://${PDM_USER}:${PDM_PASS}@idx.invalid/simple/"

[[tool.pdm.source]]
name = "local"
url = "file:///${PROJECT_ROOT}/wheels"
type = "find_links"

[[tool.pdm.source]]
name = "links"
url = "https://files.invalid/${PDM_CHANNEL}${EMPTY}/links/"
type = "find_links"
"""


def test_pdm_sources_expand_like_pdm_and_uv_tables_do_not(
    project: Path, env: dict[str, str]
) -> None:
    password = "pa#ss?w@rd"  # pdm percent-quotes userinfo values: the URL stays whole
    env.update(PDM_USER="alice", PDM_PASS=password, PDM_CHANNEL="stable", EMPTY="")
    write(project / "pyproject.toml", PDM_PROJECT)
    dep_file = parse_pyproject(PDM_PROJECT, PurePosixPath("pyproject.toml"))
    config = resolve_index_config(project, [dep_file], env=env, index_url="https://i.invalid/")
    assert [(e.url, e.auth) for e in config.extra] == [
        ("https://uv.invalid/${PDM_USER}/simple/", None),  # uv's table: used as written
        ("https://idx.invalid/simple/", ("alice", password)),
    ]
    assert config.extra[1].display == "https://alice:****@idx.invalid/simple/"
    assert [e.url for e in config.find_links] == [
        (project / "wheels").resolve().as_uri(),  # file:///${PROJECT_ROOT} is the project
        "https://files.invalid/stable/links/",  # an empty variable expands to nothing
    ]
    assert password in config.secrets()
    assert password not in "\n".join(config.describe()) + repr(config)
    assert dep_file.extra_index_urls[-1] == "https://${PDM_USER}:${PDM_PASS}@idx.invalid/simple/"


def test_an_unset_pdm_variable_is_kept_and_named(project: Path, env: dict[str, str]) -> None:
    env.update(PDM_USER="alice", PDM_CHANNEL="stable", EMPTY="")
    dep_file = parse_pyproject(PDM_PROJECT, PurePosixPath("pyproject.toml"))
    config = resolve_index_config(
        project, [dep_file], env=env, index_url="https://i.invalid/", pyproject={}
    )
    private = config.extra[-1]
    assert private.auth == ("alice", "${PDM_PASS}")
    assert private.source == "pyproject.toml; environment variable PDM_PASS is not set"
    env.pop("PDM_CHANNEL")
    with pytest.raises(InputError, match="environment variable PDM_CHANNEL is not set"):
        resolve_index_config(
            project, [dep_file], env=env, index_url="https://i.invalid/", pyproject={}
        )


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("${A_1}", "one"),
        ("${a_1}", "low"),  # any name
        ("${A-1}", "dash"),
        ("$A_1", "$A_1"),  # braces only
        ("${EMPTY}x", "x"),  # an empty value expands to nothing
        ("${NOPE}", "${NOPE}"),
        ("${A_1}${A_1}", "oneone"),
        ("https://${A_1}:${SPACE}@h.invalid/${SPACE}/", "https://one:a%20b/c@h.invalid/a b/c/"),
    ],
)
def test_pdm_expansion_rules(text: str, expanded: str) -> None:
    env = {"A_1": "one", "a_1": "low", "A-1": "dash", "EMPTY": "", "SPACE": "a b/c"}
    assert expand_pdm_variables(text, env).url == expanded
