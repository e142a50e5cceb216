"""Which package indexes the user configured, and how to log in to them.

``greenbump check`` must look at the same indexes the user's installer would, and the uv
subprocesses of ``greenbump upgrade`` must resolve against exactly what ``check`` saw, or
greenbump would report upgrades the resolver cannot find (or miss private releases). So the
configuration is gathered once, here, from every place pip and uv read it, and handed both to
:class:`greenbump.index.IndexClient` and, through :meth:`IndexConfig.uv_args` and
:meth:`IndexConfig.uv_env`, to uv.

Precedence, highest first (see :func:`resolve_index_config`):

1. explicit command-line values (parameters of :func:`resolve_index_config`);
2. uv's environment: ``UV_DEFAULT_INDEX``, ``UV_INDEX_URL``, ``UV_INDEX``,
   ``UV_EXTRA_INDEX_URL``, ``UV_FIND_LINKS``, ``UV_NO_INDEX``, ``UV_INDEX_STRATEGY``;
3. pip's environment: ``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``, ``PIP_FIND_LINKS``,
   ``PIP_NO_INDEX``, ``PIP_CERT``;
4. ``--index-url`` / ``--extra-index-url`` / ``-f``/``--find-links`` / ``--no-index`` lines
   of the project's requirement files and Pipfile sources (parsed by the readers and passed
   in); one ``--no-index`` line turns the indexes off, as pip does for the whole install. A
   relative find-links path is taken as pip takes it: joined to the requirements file's
   folder when that path exists there, otherwise relative to the current directory;
5. the project's uv configuration: ``uv.toml`` in the project directory when it exists
   (uv then ignores ``[tool.uv]``, and so do we), otherwise ``[tool.uv]`` of
   ``pyproject.toml``: ``[[index]]`` tables (``default = true`` is the primary index,
   ``explicit = true`` ones are left out, ``format = "flat"`` ones are find-links),
   ``index-url``, ``extra-index-url``, ``find-links``, ``no-index``, ``index-strategy`` and the
   same keys under ``[pip]``; then the other index tables of ``pyproject.toml`` as its reader
   records them (Poetry sources, ``[[tool.pdm.source]]``, whose ``type = "find_links"``
   entries are find-links);
6. ``UV_CONFIG_FILE`` when set, else the user's ``$XDG_CONFIG_HOME/uv/uv.toml`` (default
   ``~/.config/uv/uv.toml``) then the system's (``$XDG_CONFIG_DIRS/uv/uv.toml``,
   ``/etc/uv/uv.toml``); ``UV_NO_CONFIG`` skips all ``uv.toml`` files;
7. pip's configuration files with pip's own rules: ``PIP_CONFIG_FILE`` first (set to
   ``os.devnull`` it disables every file), then the site file ``$VIRTUAL_ENV/pip.conf``, the
   user files ``~/.config/pip/pip.conf`` (``$XDG_CONFIG_HOME``) and ``~/.pip/pip.conf`` (both
   skipped when ``PIP_CONFIG_FILE`` names an existing file), then the global files
   ``/etc/pip.conf`` and ``$XDG_CONFIG_DIRS/pip/pip.conf``; within a file ``[install]``
   overrides ``[global]``;
8. pip's built-in default index, asked of pip (or uv) at run time, never written here.

How sources combine: the **primary index** is the one named by the highest-priority source
that names one; **extra indexes and find-links accumulate** from every source, highest
priority first, without duplicates. This is uv's rule for its own layers (command line over
project over user config, lists concatenated); pip replaces a config file's extra indexes by
the environment's instead of adding them, so greenbump may look at an extra index pip would
not: a superset, never a miss.

The **index strategy** is uv's ``first-index`` unless the user chose another
(``UV_INDEX_STRATEGY``, ``index-strategy``): a package comes from the first index that has it,
extra indexes before the primary one. When only pip's configuration (its environment
variables, config files or requirement-file options) names extra indexes, the strategy is
pip's instead (``unsafe-best-match``: the best version across all indexes), because that is
what those users get from pip today. Either way it is passed to uv explicitly, so check and
the resolver agree.

Credentials are taken, in this order, from the URL's userinfo, from
``UV_INDEX_<NAME>_USERNAME`` / ``UV_INDEX_<NAME>_PASSWORD`` for named uv indexes, and from the
netrc file (``NETRC`` or ``~/.netrc``) by host. They are kept out of :attr:`IndexUrl.url` and
out of every ``repr``, so messages built from a config never show them.

**Environment variables in the files' URLs** are expanded here, from ``env``, with the rule of
the tool that owns the file, because that is what the user's installer requests; the readers
keep the references verbatim, since greenbump writes those files back. Requirement files
(hand-written and compiled) follow pip: only ``${NAME}`` with ``NAME`` of upper-case ASCII
letters, digits and ``_``; a variable that is not set or is empty leaves the reference as
written; find-links values expand exactly like index URLs, before pip's relative-path rule is
applied. ``Pipfile`` and ``Pipfile.lock`` sources follow pipenv (``os.path.expandvars``):
``$NAME`` and ``${NAME}``, any case; an unset variable stays as written, an empty one expands
to nothing. ``[[tool.pdm.source]]`` URLs (indexes and find-links) follow pdm: ``${NAME}`` only,
any name; an unset variable stays as written, an empty one expands to nothing; values in the
userinfo are percent-quoted; ``file:///${PROJECT_ROOT}`` is the folder of the
``pyproject.toml``, put in before variables are expanded. A ``pyproject.toml`` can hold uv's,
Poetry's and pdm's tables at once and only pdm expands, so the reader lists which URLs are
pdm's (``DependencyFile.pdm_urls``, the URLs as written) rather than this module guessing from
the file kind: a per-URL mark keeps the URL fields plain strings for every other user of them
(the same text in both a uv and a pdm table is expanded for both: a reference uv would send
verbatim could only fail there anyway). Every other URL of a ``pyproject.toml`` is used as
written. After expansion a URL is checked like any other; messages about it quote the URL as
written, never the expanded one. A reference left in the userinfo is sent as written, as pip
does, and the entry's source says which variable is not set ("requirements.txt; environment
variable IDX_TOKEN is not set"), so the index's refusal names it; one left in the host or path
makes the URL an input error once the location would actually be asked (not while the
environment overrides it). Expanded values in the password, a username that is the only
credential or looks like a token, and token-like values anywhere in the URL are secrets
(:meth:`IndexConfig.secrets`, :attr:`IndexUrl.display`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from greenbump.errors import ExternalError, InputError
from greenbump.model import DependencyFile, FileKind
from greenbump.redact import looks_like_token, redact_text, redact_url

if TYPE_CHECKING:
    import netrc

log = logging.getLogger(__name__)

STRATEGIES = ("first-index", "unsafe-first-match", "unsafe-best-match")
DEFAULT_STRATEGY = "first-index"

# uv variables that :meth:`IndexConfig.uv_env` removes, because the same configuration is
# passed on the command line and a leftover variable would add to it or conflict with it.
_UV_INDEX_VARS = (
    "UV_DEFAULT_INDEX",
    "UV_INDEX_URL",
    "UV_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_INDEX_STRATEGY",
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_SUBPROCESS_TIMEOUT = 30.0


@dataclass(frozen=True)
class IndexUrl:
    """One index or find-links location: where it is, who configured it, how to log in.

    ``url`` never carries credentials (they are split off into ``username`` / ``password``,
    which stay out of ``repr``), so it can go into any message as it is. ``source`` says where
    the setting came from ("PIP_INDEX_URL", "/etc/pip.conf [global] index-url") for messages
    such as "index X (from Y) unreachable".

    An entry whose URL came from a file with environment variables in it carries what the
    variables mean for messages: ``hidden``, the expanded values that must never be shown
    (also where URL redaction would not find them, such as a token in the path), and
    ``unresolved``, the input error to raise if a variable that is not set left a reference in
    the host or path and the entry is then actually asked (see :func:`expand_pip_variables`).
    """

    url: str
    source: str
    name: str | None = None
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    credentials_source: str | None = None
    hidden: tuple[str, ...] = field(default=(), repr=False)
    unresolved: str | None = field(default=None, repr=False)

    @property
    def auth(self) -> tuple[str, str] | None:
        """Basic-auth pair for requests, or ``None`` for anonymous access."""
        if self.username is None and self.password is None:
            return None
        return (self.username or "", self.password or "")

    @property
    def display(self) -> str:
        """The URL as shown to users: no password, and the username only if not a token.

        ``hidden`` values (secrets a file's variables put outside the userinfo, such as a token
        in the path) are masked too: the user kept them out of the file for a reason.
        """
        shown = self.url if self.username is None else redact_url(self.url_with_credentials)
        return redact_text(shown, self.hidden) if self.hidden else shown

    @property
    def url_with_credentials(self) -> str:
        """The URL with its userinfo put back, for tools that only take credentials that way.

        Never print it; :func:`greenbump.redact.redact_text` with :meth:`IndexConfig.secrets`
        masks it.
        """
        if self.username is None and self.password is None:
            return self.url
        parts = urlsplit(self.url)
        userinfo = quote(self.username or "", safe="")
        if self.password is not None:
            userinfo += ":" + quote(self.password, safe="")
        return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))

    @property
    def host(self) -> str:
        """Host name (lower case) for same-host checks and credential lookup."""
        return (urlsplit(self.url).hostname or "").lower()


@dataclass(frozen=True)
class IndexConfig:
    """The indexes to query, in the user's precedence, ready for the client and for uv.

    ``index`` is ``None`` only when the user turned indexes off (``--no-index``), leaving
    find-links. ``shadowed`` keeps primary indexes named by lower-priority sources that lost to
    a higher one, so a message can say why a requirements file's ``--index-url`` was not used.
    ``cert`` is the CA bundle pip is configured with (``PIP_CERT``, ``cert =``): a company
    index signed by a private CA must verify for greenbump exactly as it does for pip.
    """

    index: IndexUrl | None
    extra: tuple[IndexUrl, ...] = ()
    find_links: tuple[IndexUrl, ...] = ()
    strategy: str = DEFAULT_STRATEGY
    strategy_source: str = "uv's default"
    shadowed: tuple[IndexUrl, ...] = ()
    cert: str | None = None
    no_index_source: str = "--no-index"  # the setting that turned indexes off (index None)

    @property
    def no_index(self) -> bool:
        """Whether package indexes are off and only find-links locations are searched."""
        return self.index is None

    def search_order(self) -> tuple[IndexUrl, ...]:
        """Indexes in the order uv searches them: extra indexes first, the primary last."""
        if self.index is None:
            return ()
        return (*self.extra, self.index)

    def secrets(self) -> tuple[str, ...]:
        """Every password and token-like username, for :func:`greenbump.redact.redact_text`."""
        found: list[str] = []
        for entry in (*self.search_order(), *self.find_links):
            if entry.password:
                found.append(entry.password)
            if entry.username and (entry.password is None or looks_like_token(entry.username)):
                found.append(entry.username)
            found += entry.hidden
        return tuple(dict.fromkeys(found))

    def describe(self) -> list[str]:
        """One line per location with its source, credentials masked, for ``--verbose``."""
        lines: list[str] = []
        for entry in self.extra:
            lines.append(f"extra index {entry.display} (from {entry.source})")
        if self.index is None:
            lines.append(f"no index (from {self.no_index_source})")
        else:
            lines.append(f"index {self.index.display} (from {self.index.source})")
        for entry in self.find_links:
            lines.append(f"find-links {entry.display} (from {entry.source})")
        lines.append(f"index strategy {self.strategy} (from {self.strategy_source})")
        return lines

    def _uv_names(self) -> list[tuple[str, IndexUrl]]:
        named = [(f"greenbump-extra-{i}", entry) for i, entry in enumerate(self.extra, 1)]
        if self.index is not None:
            named.append(("greenbump-default", self.index))
        return named

    def uv_args(self) -> list[str]:
        """Command-line options that give a uv subprocess this exact configuration.

        Indexes are passed named (``--index NAME=URL``) so their credentials can travel in
        environment variables (:meth:`uv_env`) instead of the command line, which other users
        of the machine can read. Find-links locations cannot be named, so a find-links URL
        with credentials carries them inline; redact commands with :meth:`secrets`.
        """
        args: list[str] = []
        if self.index is None:
            args.append("--no-index")
        for name, entry in self._uv_names():
            option = "--default-index" if entry is self.index else "--index"
            args += [option, f"{name}={entry.url}"]
        for entry in self.find_links:
            args += ["--find-links", entry.url_with_credentials]
        args += ["--index-strategy", self.strategy]
        return args

    def uv_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for a uv subprocess run with :meth:`uv_args`.

        Starts from ``base`` (default: this process's environment), drops uv's index
        variables, which would otherwise add to or conflict with the options, and adds
        ``UV_INDEX_<NAME>_USERNAME`` / ``_PASSWORD`` for each index with credentials.
        """
        env = dict(os.environ if base is None else base)
        for var in _UV_INDEX_VARS:
            env.pop(var, None)
        for name, entry in self._uv_names():
            if entry.auth is None:
                continue
            prefix = uv_index_env_prefix(name)
            env[f"{prefix}_USERNAME"] = entry.username or ""
            if entry.password is not None:
                env[f"{prefix}_PASSWORD"] = entry.password
        return env


def uv_index_env_prefix(name: str) -> str:
    """``UV_INDEX_<NAME>`` as uv spells it: upper case, other characters as underscores."""
    return "UV_INDEX_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


# --- gathering -------------------------------------------------------------------------------


class _Raw(NamedTuple):
    """A location as one source states it, before it is checked and becomes an IndexUrl.

    ``written`` is the text of a file whose variables were expanded into ``url``: messages
    show it instead, so an expanded secret can never reach them, even from a URL it broke.
    ``note`` says which variables were not set; it is added to the entry's source.
    """

    url: str
    source: str
    name: str | None = None
    written: str | None = None
    hidden: tuple[str, ...] = ()
    note: str | None = None
    unresolved: str | None = None  # the input error if this location is used
    base_dir: Path | None = None  # where a relative path starts, when not at the layer's


@dataclass
class _Layer:
    """What one source says; layers are merged in precedence order."""

    label: str
    index: _Raw | None = None
    extra: list[_Raw] = field(default_factory=list)
    find_links: list[_Raw] = field(default_factory=list)
    no_index: tuple[bool, str] | None = None
    strategy: tuple[str, str] | None = None
    base_dir: Path | None = None
    cert: tuple[str, str] | None = None
    shadowed: list[_Raw] = field(default_factory=list)
    pip_style: bool = False  # pip merges its indexes; uv takes the first that has a package


def _split_ws(value: str) -> list[str]:
    return value.split()


def _truthy(value: str, source: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InputError(f"{source}: expected a boolean, got {value!r}")


def _cli_layer(
    *,
    index_url: str | None,
    extra_index_urls: Sequence[str],
    find_links: Sequence[str],
    no_index: bool,
    strategy: str | None,
    cwd: Path,
) -> _Layer:
    layer = _Layer("command line", base_dir=cwd)
    if index_url:
        layer.index = _Raw(index_url, "--index-url")
    layer.extra = [_Raw(url, "--extra-index-url") for url in extra_index_urls]
    layer.find_links = [_Raw(url, "--find-links") for url in find_links]
    if no_index:
        layer.no_index = (True, "--no-index")
    if strategy:
        layer.strategy = (strategy, "--index-strategy")
    return layer


def _named(entry: str) -> tuple[str, str | None]:
    """Split uv's ``NAME=URL`` index syntax (a URL's own ``=`` comes after ``://``)."""
    name, sep, url = entry.partition("=")
    if sep and "://" not in name and re.fullmatch(r"[A-Za-z0-9._-]+", name):
        return url, name
    return entry, None


def _uv_env_layer(env: Mapping[str, str], cwd: Path) -> _Layer:
    layer = _Layer("uv environment", base_dir=cwd)
    for var in ("UV_DEFAULT_INDEX", "UV_INDEX_URL"):
        value = env.get(var, "").strip()
        if value:
            url, name = _named(value) if var == "UV_DEFAULT_INDEX" else (value, None)
            layer.index = _Raw(url, var, name)
            break
    for entry in _split_ws(env.get("UV_INDEX", "")):
        url, name = _named(entry)
        layer.extra.append(_Raw(url, "UV_INDEX", name))
    layer.extra += [
        _Raw(url, "UV_EXTRA_INDEX_URL") for url in _split_ws(env.get("UV_EXTRA_INDEX_URL", ""))
    ]
    for entry in re.split(r"[,\s]+", env.get("UV_FIND_LINKS", "")):
        if entry:
            layer.find_links.append(_Raw(entry, "UV_FIND_LINKS"))
    if env.get("UV_NO_INDEX", "").strip():
        layer.no_index = (_truthy(env["UV_NO_INDEX"], "UV_NO_INDEX"), "UV_NO_INDEX")
    if env.get("UV_INDEX_STRATEGY", "").strip():
        layer.strategy = (env["UV_INDEX_STRATEGY"].strip(), "UV_INDEX_STRATEGY")
    return layer


def _pip_env_layer(env: Mapping[str, str], cwd: Path) -> _Layer:
    layer = _Layer("pip environment", base_dir=cwd, pip_style=True)
    value = env.get("PIP_INDEX_URL", "").strip()
    if value:
        layer.index = _Raw(value, "PIP_INDEX_URL")
    layer.extra = [
        _Raw(url, "PIP_EXTRA_INDEX_URL") for url in _split_ws(env.get("PIP_EXTRA_INDEX_URL", ""))
    ]
    layer.find_links = [
        _Raw(url, "PIP_FIND_LINKS") for url in _split_ws(env.get("PIP_FIND_LINKS", ""))
    ]
    if env.get("PIP_CERT", "").strip():
        layer.cert = (env["PIP_CERT"].strip(), "PIP_CERT")
    if env.get("PIP_NO_INDEX", "").strip():
        layer.no_index = (_truthy(env["PIP_NO_INDEX"], "PIP_NO_INDEX"), "PIP_NO_INDEX")
    return layer


# --- environment variables in the files' URLs --------------------------------------------------

# pip's rule for requirement files: only ${NAME}, NAME in upper-case ASCII, digits, underscores.
_PIP_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)\}")
# os.path.expandvars' rule, which pipenv applies to [[source]] URLs: $name or ${name}.
_SHELL_REFERENCE = re.compile(r"\$(?:(\w+)|\{([^}]*)\})", re.ASCII)
# pdm's rule for [[tool.pdm.source]] URLs: ${name}, any name up to the first "}".
_PDM_REFERENCE = re.compile(r"\$\{(.+?)\}")
# pdm's spelling of a path in the project, replaced before any variable is expanded.
_PDM_PROJECT_ROOT = "file:///${PROJECT_ROOT}"
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)")


class Expansion(NamedTuple):
    """A URL from a file with its environment variables expanded, and what messages need.

    ``secrets`` are the expanded values that must never be shown: every value put into the
    password, a username's value when it is the only credential or looks like a token, and
    anywhere else a value that looks like a token. ``unset`` names the variables whose
    references stayed as written; ``unresolved`` are those of them outside the userinfo,
    where a reference cannot be part of a working URL.
    """

    url: str
    secrets: tuple[str, ...] = ()
    unset: tuple[str, ...] = ()
    unresolved: tuple[str, ...] = ()


def expand_pip_variables(text: str, env: Mapping[str, str]) -> Expansion:
    """``text`` with pip's requirement-file expansion: ``${NAME}`` of upper-case names only.

    As in pip, a variable that is not set, or is set to the empty string, leaves its
    reference as written; ``$NAME`` and lower-case names are never references.
    """
    return _expand(text, _PIP_REFERENCE, lambda name: env.get(name) or None)


def expand_pipenv_variables(text: str, env: Mapping[str, str]) -> Expansion:
    """``text`` with pipenv's expansion of source URLs (``os.path.expandvars``' rules).

    ``$NAME`` (ASCII letters, digits, underscores, any case) and ``${NAME}``; a variable that
    is not set leaves its reference as written, one set to the empty string expands to it.
    """
    return _expand(text, _SHELL_REFERENCE, env.get)


def expand_pdm_variables(text: str, env: Mapping[str, str]) -> Expansion:
    """``text`` with pdm's expansion of ``[[tool.pdm.source]]`` URLs (``pdm.utils``).

    ``${NAME}`` only, with any name; a variable that is not set leaves its reference as
    written, one set to the empty string expands to it. Values in the userinfo are
    percent-quoted, as pdm quotes them (``/`` kept), so a password may hold ``@`` or ``:``.
    pdm's ``file:///${PROJECT_ROOT}`` is not a variable: :func:`_file_location` puts the
    project's folder there first.
    """
    return _expand(text, _PDM_REFERENCE, env.get, quote_userinfo=True)


def _expand(
    text: str,
    pattern: re.Pattern[str],
    value_of: Callable[[str], str | None],
    *,
    quote_userinfo: bool = False,
) -> Expansion:
    """One pass over ``text``: an expanded value is not scanned for references again.

    Where each reference sits is judged on the text as written: a value with a ``/`` or
    ``@`` in it can move the parts of the expanded URL, but not what the user meant.
    A secret is kept both as set and as inserted (quoted), since either may be shown.
    """
    where = _userinfo_parts(text)
    secrets: list[str] = []
    unset: list[str] = []
    unresolved: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = next((group for group in match.groups() if group), "")
        value = value_of(name) if name else None
        part = where(match.start())
        if value is None:
            if name:
                unset.append(name)
                if part == "location":
                    unresolved.append(name)
            return match.group(0)
        inserted = quote(value, safe="/") if quote_userinfo and part != "location" else value
        if part == "password" or looks_like_token(value) or part == "lone user":
            secrets.extend((value, inserted))
        return inserted

    url = pattern.sub(replace, text)
    return Expansion(
        url=url,
        secrets=tuple(dict.fromkeys(v for v in secrets if v)),
        unset=tuple(dict.fromkeys(unset)),
        unresolved=tuple(dict.fromkeys(unresolved)),
    )


def _userinfo_parts(written: str) -> Callable[[int], str]:
    """Which part of the URL as written an offset is in: "user", "lone user" (a username
    without a password: a token, as redaction treats it), "password" or "location"."""
    match = _AUTHORITY.match(written)
    at = match.group(1).rfind("@") if match else -1
    if match is None or at < 0:
        return lambda _offset: "location"
    start = match.start(1)
    end = start + at
    colon = written.find(":", start, end)

    def part(offset: int) -> str:
        if not start <= offset < end:
            return "location"
        if colon < 0:
            return "lone user"
        return "password" if offset > colon else "user"

    return part


def _unset_note(names: Sequence[str], env: Mapping[str, str]) -> str | None:
    """What an entry's source adds when references stayed as written, or ``None``.

    Said per variable ("environment variable IDX_TOKEN is not set"), because that is the fix
    the user needs when the index then refuses the request.
    """
    if not names:
        return None
    notes = []
    for state in ("not set", "empty"):
        group = [name for name in names if (name in env) == (state == "empty")]
        if group:
            noun = "variable" if len(group) == 1 else "variables"
            verb = "is" if len(group) == 1 else "are"
            notes.append(f"environment {noun} {', '.join(group)} {verb} {state}")
    return "; ".join(notes)


_Expander = Callable[[str, Mapping[str, str]], Expansion]

# File kinds whose URLs their own tool expands, and with which rule (a Pipfile.lock records
# the Pipfile's sources as written, and pipenv expands them from there too). A pyproject.toml
# holds several tools' tables and only pdm expands: its rule applies to the URLs the reader
# marked as pdm's (``DependencyFile.pdm_urls``), uv's and Poetry's are used as written.
_EXPANDERS: dict[FileKind, _Expander] = {
    FileKind.REQUIREMENTS: expand_pip_variables,
    FileKind.PIP_COMPILE: expand_pip_variables,
    FileKind.PIPFILE: expand_pipenv_variables,
    FileKind.PIPFILE_LOCK: expand_pipenv_variables,
    FileKind.PYPROJECT: expand_pdm_variables,
}
# Files pip reads, whose relative find-links paths follow pip's rule (:func:`_pip_base`).
_PIP_FILES = frozenset({FileKind.REQUIREMENTS, FileKind.PIP_COMPILE})


def _expander(written: str, dep_file: DependencyFile) -> _Expander | None:
    """The rule of the tool that reads ``written`` in ``dep_file``; ``None``: used as written."""
    if dep_file.kind is FileKind.PYPROJECT and written not in dep_file.pdm_urls:
        return None
    return _EXPANDERS.get(dep_file.kind)


def _file_location(
    written: str, dep_file: DependencyFile, env: Mapping[str, str], folder: Path
) -> _Raw:
    """One of ``dep_file``'s URLs as its installer would use it; the file keeps its text.

    ``folder`` is the file's own folder: pdm's ``file:///${PROJECT_ROOT}`` names it (pdm
    replaces that before expanding variables, so a ``PROJECT_ROOT`` variable cannot).
    """
    source = dep_file.path.as_posix()
    expand = _expander(written, dep_file)
    if expand is None:
        return _Raw(written, source)
    text = written
    if dep_file.kind is FileKind.PYPROJECT:
        text = written.replace(_PDM_PROJECT_ROOT, folder.resolve().as_uri())
    expansion = expand(text, env)
    if expansion.url == written and not expansion.unset:
        return _Raw(written, source)
    unresolved = None
    if expansion.unresolved:
        why = _unset_note(expansion.unresolved, env)
        unresolved = f"{source}: index URL {redact_url(written)!r}: {why}"
    return _Raw(
        expansion.url,
        source,
        written=written,
        hidden=expansion.secrets,
        note=_unset_note(expansion.unset, env),
        unresolved=unresolved,
    )


def _find_links_location(
    written: str, dep_file: DependencyFile, env: Mapping[str, str], folder: Path
) -> _Raw:
    """A find-links value of ``dep_file``, expanded, with the folder a relative path is in."""
    location = _file_location(written, dep_file, env, folder)
    if dep_file.kind not in _PIP_FILES:
        return location  # pdm's: the project's folder, the layer's base
    return location._replace(base_dir=_pip_base(location.url, folder))


def _pip_base(value: str, folder: Path) -> Path:
    """Where pip takes a requirements file's relative find-links path from.

    pip (``req_file.handle_option_line``, after expanding the line's variables) joins the
    value to the file's folder and keeps that when the joined path exists; otherwise the
    value stays as written, so relative to the current directory. URLs and absolute paths
    are unaffected either way.
    """
    # os.path.exists, as pip calls it: False, not an error, for a URL too long to be a path.
    return folder if os.path.exists(folder / value) else Path.cwd()  # noqa: PTH110


def _files_layer(
    files: Iterable[DependencyFile], project_dir: Path, env: Mapping[str, str]
) -> _Layer:
    """What the project's files say: their indexes, find-links and ``--no-index`` lines.

    Find-links accumulate in file order. One ``--no-index`` turns the indexes off, as pip
    does for the whole install once any file it reads says so.
    """
    layer = _Layer("requirement files", base_dir=project_dir, pip_style=True)
    for dep_file in files:
        folder = project_dir / dep_file.path.parent
        for url in dep_file.index_urls:
            location = _file_location(url, dep_file, env, folder)
            # The first file (in the caller's order) that names a primary index wins; later
            # ones are reported as shadowed, not promoted to extra indexes, because an extra
            # index would be searched before the primary and change where packages come from.
            if layer.index is None:
                layer.index = location
            else:
                layer.shadowed.append(location)
        layer.extra += [
            _file_location(url, dep_file, env, folder) for url in dep_file.extra_index_urls
        ]
        layer.find_links += [
            _find_links_location(url, dep_file, env, folder) for url in dep_file.find_links
        ]
        if dep_file.no_index and layer.no_index is None:
            layer.no_index = (True, f"{dep_file.path.as_posix()} --no-index")
    return layer


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8: {exc.reason}", path) from exc
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path) from exc
    import tomlkit  # deferred: most projects have no uv.toml and no [tool.uv] to read
    import tomlkit.exceptions

    try:
        document = tomlkit.parse(text).unwrap()
    except tomlkit.exceptions.ParseError as exc:
        raise InputError(f"invalid TOML: {exc}", path, exc.line) from exc
    return dict(document)


def _as_str_list(value: Any, where: str, path: Path | None) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise InputError(f"{where} must be a string or a list of strings", path)


def _uv_table_layer(
    table: Mapping[str, Any], label: str, path: Path | None, base_dir: Path
) -> _Layer:
    """Read uv's index settings from a ``uv.toml`` document or a ``[tool.uv]`` table."""
    layer = _Layer(label, base_dir=base_dir)
    sections: list[tuple[str, Mapping[str, Any]]] = [("", table)]
    pip_section = table.get("pip")
    if isinstance(pip_section, Mapping):
        sections.append(("pip.", pip_section))
    indexes = table.get("index", [])
    if not isinstance(indexes, list):
        raise InputError("index must be an array of tables ([[index]])", path)
    for position, entry in enumerate(indexes, 1):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("url"), str):
            raise InputError(f"index entry {position} has no url", path)
        name = entry.get("name") if isinstance(entry.get("name"), str) else None
        source = f"{label} index {name or position}"
        if entry.get("explicit") is True:
            continue  # only used for packages pinned to it in [tool.uv.sources]
        if entry.get("format") == "flat":
            layer.find_links.append(_Raw(entry["url"], source, name))
        elif entry.get("default") is True:
            if layer.index is None:
                layer.index = _Raw(entry["url"], source, name)
        else:
            layer.extra.append(_Raw(entry["url"], source, name))
    for prefix, section in sections:
        index_url = section.get("index-url")
        if isinstance(index_url, str) and layer.index is None:
            layer.index = _Raw(index_url, f"{label} {prefix}index-url")
        if "extra-index-url" in section:
            where = f"{prefix}extra-index-url"
            for url in _as_str_list(section["extra-index-url"], where, path):
                layer.extra.append(_Raw(url, f"{label} {where}"))
        if "find-links" in section:
            where = f"{prefix}find-links"
            for url in _as_str_list(section["find-links"], where, path):
                layer.find_links.append(_Raw(url, f"{label} {where}"))
        if section.get("no-index") is True and layer.no_index is None:
            layer.no_index = (True, f"{label} {prefix}no-index")
        strategy = section.get("index-strategy")
        if isinstance(strategy, str) and layer.strategy is None:
            layer.strategy = (strategy, f"{label} {prefix}index-strategy")
    return layer


def _project_uv_layer(
    project_dir: Path, pyproject: Mapping[str, Any] | None, env: Mapping[str, str]
) -> _Layer | None:
    uv_toml = project_dir / "uv.toml"
    if not env.get("UV_NO_CONFIG") and uv_toml.is_file():
        return _uv_table_layer(_read_toml(uv_toml), uv_toml.as_posix(), uv_toml, project_dir)
    pyproject_path = project_dir / "pyproject.toml"
    if pyproject is None:
        if not pyproject_path.is_file():
            return None
        pyproject = _read_toml(pyproject_path)
    tool = pyproject.get("tool")
    uv_table = tool.get("uv") if isinstance(tool, Mapping) else None
    if not isinstance(uv_table, Mapping):
        return None
    return _uv_table_layer(uv_table, "pyproject.toml [tool.uv]", pyproject_path, project_dir)


def _home(env: Mapping[str, str]) -> Path:
    home = env.get("HOME")
    return Path(home) if home else Path.home()


def _xdg_config_home(env: Mapping[str, str]) -> Path:
    value = env.get("XDG_CONFIG_HOME")
    return Path(value) if value else _home(env) / ".config"


def _xdg_config_dirs(env: Mapping[str, str]) -> list[Path]:
    value = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    return [Path(part) for part in value.split(os.pathsep) if part]


def _user_uv_layers(env: Mapping[str, str]) -> list[_Layer]:
    if env.get("UV_NO_CONFIG"):
        return []
    config_file = env.get("UV_CONFIG_FILE")
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise InputError("UV_CONFIG_FILE names a file that does not exist", path)
        candidates = [path]
    else:
        candidates = [_xdg_config_home(env) / "uv" / "uv.toml"]
        candidates += [base / "uv" / "uv.toml" for base in _xdg_config_dirs(env)]
        candidates.append(Path("/etc/uv/uv.toml"))
    layers = []
    for path in candidates:
        if path.is_file():
            layers.append(_uv_table_layer(_read_toml(path), path.as_posix(), path, path.parent))
    return layers


def pip_config_files(env: Mapping[str, str]) -> list[Path]:
    """pip's configuration files that apply, highest priority first (pip's own rules)."""
    config_file = env.get("PIP_CONFIG_FILE")
    if config_file == os.devnull:
        return []
    files: list[Path] = []
    if config_file:
        files.append(Path(config_file))
    virtual_env = env.get("VIRTUAL_ENV")
    if virtual_env:
        files.append(Path(virtual_env) / "pip.conf")
    if not (config_file and Path(config_file).exists()):
        files.append(_xdg_config_home(env) / "pip" / "pip.conf")
        files.append(_home(env) / ".pip" / "pip.conf")
    files.append(Path("/etc/pip.conf"))
    files += [base / "pip" / "pip.conf" for base in _xdg_config_dirs(env)]
    return files


def _pip_file_layers(env: Mapping[str, str]) -> list[_Layer]:
    layers: list[_Layer] = []
    for path in pip_config_files(env):
        if not path.is_file():
            continue
        import configparser  # deferred: most machines have no pip configuration file

        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise InputError(f"cannot parse pip configuration: {exc}", path) from exc
        # pip takes relative paths from the cwd, hence no base_dir
        layer = _Layer(path.as_posix(), base_dir=None, pip_style=True)
        # [install] overrides [global] for the install command, which is what resolves.
        for section in ("install", "global"):
            if not parser.has_section(section):
                continue
            values = {key.replace("_", "-"): value for key, value in parser.items(section)}
            where = f"{path.as_posix()} [{section}]"
            if values.get("index-url", "").strip() and layer.index is None:
                layer.index = _Raw(values["index-url"].strip(), f"{where} index-url")
            for url in _split_ws(values.get("extra-index-url", "")):
                layer.extra.append(_Raw(url, f"{where} extra-index-url"))
            for url in _split_ws(values.get("find-links", "")):
                layer.find_links.append(_Raw(url, f"{where} find-links"))
            if values.get("cert", "").strip() and layer.cert is None:
                layer.cert = (values["cert"].strip(), f"{where} cert")
            if values.get("no-index", "").strip() and layer.no_index is None:
                flag = _truthy(values["no-index"], f"{where} no-index")
                layer.no_index = (flag, f"{where} no-index")
        layers.append(layer)
    return layers


# --- credentials ---------------------------------------------------------------------------


class _Credentials:
    """Looks up credentials for a host; reads the netrc file at most once."""

    def __init__(self, env: Mapping[str, str]):
        self._env = env
        self._netrc: netrc.netrc | None = None
        self._netrc_loaded = False
        self.netrc_path = Path(env["NETRC"]) if env.get("NETRC") else _home(env) / ".netrc"

    def _load(self) -> netrc.netrc | None:
        if not self._netrc_loaded:
            self._netrc_loaded = True
            if self.netrc_path.is_file():
                import netrc  # deferred: only a machine with a netrc file needs it

                try:
                    self._netrc = netrc.netrc(str(self.netrc_path))
                except (netrc.NetrcParseError, OSError, UnicodeDecodeError) as exc:
                    # Like pip and uv: a broken netrc is reported, not fatal; the request then
                    # goes out anonymously and a 401 says the rest.
                    log.warning("ignoring %s: %s", self.netrc_path, exc)
        return self._netrc

    def from_netrc(self, host: str) -> tuple[str, str] | None:
        parsed = self._load()
        if parsed is None or not host:
            return None
        found = parsed.authenticators(host)
        if found is None:
            return None
        login, _account, password = found
        return (login or "", password or "")

    def from_env(self, name: str | None) -> tuple[str | None, str | None]:
        if not name:
            return None, None
        prefix = uv_index_env_prefix(name)
        return self._env.get(f"{prefix}_USERNAME"), self._env.get(f"{prefix}_PASSWORD")


def _normalize_location(raw: str, base_dir: Path | None) -> str:
    """A URL for ``raw``; bare paths (allowed by pip and uv) become ``file://`` URLs."""
    value = raw.strip()
    if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", value):
        return value
    if value.lower().startswith("file:"):  # file:/path, which pip accepts too
        from urllib.request import url2pathname  # deferred: urllib.request is a heavy import

        return Path(url2pathname(value[5:])).resolve().as_uri()
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return path.resolve().as_uri()


def _make_entry(raw: _Raw, base_dir: Path | None, creds: _Credentials) -> IndexUrl:
    """Check ``raw`` like any URL (after expansion) and split off its credentials."""
    source, name = raw.source, raw.name
    url = _normalize_location(raw.url, raw.base_dir or base_dir)
    shown = redact_url(raw.written if raw.written is not None else url)
    try:
        parts = urlsplit(url)
        _ = parts.port  # validates the port
    except ValueError as exc:
        # The error may quote the URL, hence an expanded secret: say only what kind it is.
        reason = str(exc) if raw.written is None else "not a URL once its variables are expanded"
        raise InputError(f"{source}: invalid index URL {shown!r}: {reason}") from exc
    if parts.scheme not in {"http", "https", "file"}:
        raise InputError(f"{source}: unsupported index URL scheme in {shown!r}")
    if parts.scheme != "file" and not parts.hostname:
        raise InputError(f"{source}: index URL {shown!r} has no host")
    username: str | None = None
    password: str | None = None
    cred_source: str | None = None
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, sep, secret = userinfo.partition(":")
        username = unquote(user)
        password = unquote(secret) if sep else None
        cred_source = "URL"
    clean = urlunsplit(parts._replace(netloc=netloc))
    host = (parts.hostname or "").lower()
    if password is None:
        env_user, env_password = creds.from_env(name)
        if env_password is not None or (env_user is not None and username is None):
            username = username if username is not None else env_user
            password = env_password
            cred_source = f"{uv_index_env_prefix(name or '')}_USERNAME/PASSWORD"
    if password is None and parts.scheme != "file":
        found = creds.from_netrc(host)
        if found is not None and (username is None or username == found[0]):
            username, password = found
            cred_source = creds.netrc_path.as_posix()
    return IndexUrl(
        url=clean,
        source=f"{source}; {raw.note}" if raw.note else source,
        name=name,
        username=username,
        password=password,
        credentials_source=cred_source,
        hidden=raw.hidden,
        unresolved=raw.unresolved,
    )


def _require_resolved(used: Iterable[IndexUrl]) -> None:
    """Refuse a location that will be asked while a variable in its host or path is not set.

    Only then: pip would send the reference as written and fail with a confusing error, but a
    file's index that the environment overrides (shadowed) is never asked, so it may keep
    variables only some machines set. An unset variable in the userinfo is left to the index
    to refuse, as pip leaves it; the entry's source names the variable for that message.
    """
    for entry in used:
        if entry.unresolved is not None:
            raise InputError(entry.unresolved)


# --- pip's built-in default ------------------------------------------------------------------

_PIP_DEFAULT_CODE = "from pip._internal.models.index import PyPI; print(PyPI.simple_url)"
_UV_DEFAULT = r"by\s+default:\s*<([A-Za-z][A-Za-z0-9+.\-]*://[^>\s]+)>"  # compiled when used
_default_index_cache: dict[str, tuple[str, str]] = {}


def _valid_index_url(text: str) -> str | None:
    candidate = text.strip()
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme in {"http", "https"} and parts.hostname and "\n" not in candidate:
        return candidate
    return None


def _ask_pip(python: str) -> str | None:
    try:
        done = subprocess.run(
            [python, "-I", "-c", _PIP_DEFAULT_CODE],
            capture_output=True,
            text=True,
            timeout=_SUBPROCESS_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return _valid_index_url(done.stdout)


def _find_uv() -> str | None:
    try:
        # Imported here: only this fallback needs it.
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _ask_uv(uv_bin: str) -> str | None:
    env = {**os.environ, "NO_COLOR": "1"}
    try:
        done = subprocess.run(
            [uv_bin, "pip", "install", "--help"],
            capture_output=True,
            text=True,
            timeout=_SUBPROCESS_TIMEOUT,
            check=False,
            env=env,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(_UV_DEFAULT, done.stdout)
    return _valid_index_url(match.group(1)) if match else None


def discover_default_index(pythons: Sequence[str], uv_bin: str | None) -> tuple[str, str] | None:
    """Ask each interpreter's pip, then uv, for the default index; ``None`` if none answers."""
    for python in pythons:
        url = _ask_pip(python)
        if url:
            return url, f"pip's built-in default (asked {python})"
    if uv_bin:
        url = _ask_uv(uv_bin)
        if url:
            return url, "uv's built-in default (from its help)"
    return None


def builtin_default_index(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """pip's built-in default index URL and how it was learnt, asked at run time.

    The host is not written in greenbump: if the installers ever change it, greenbump follows.
    pip is asked in a subprocess (its internals are not a library to import into our
    process), first with our own interpreter, then with ``python3`` / ``python`` on ``PATH``;
    without pip, uv's help text names its default. The answer is cached for the process.
    """
    environ = os.environ if env is None else env
    path = environ.get("PATH")
    pythons = [sys.executable] if sys.executable else []
    for name in ("python3", "python"):
        found = shutil.which(name, path=path)
        if found and found not in pythons:
            pythons.append(found)
    key = "\0".join(pythons)
    if key not in _default_index_cache:
        answer = discover_default_index(pythons, _find_uv())
        if answer is None:
            raise ExternalError(
                "cannot tell the default package index: neither pip nor uv answered; "
                "name one with --index-url or PIP_INDEX_URL"
            )
        _default_index_cache[key] = answer
    return _default_index_cache[key]


# --- resolution ------------------------------------------------------------------------------


def resolve_index_config(
    project_dir: Path | str,
    files_index_urls: Iterable[DependencyFile] = (),
    env: Mapping[str, str] = os.environ,
    *,
    index_url: str | None = None,
    extra_index_urls: Sequence[str] = (),
    find_links: Sequence[str] = (),
    no_index: bool = False,
    index_strategy: str | None = None,
    pyproject: Mapping[str, Any] | None = None,
) -> IndexConfig:
    """Gather the index configuration for ``project_dir`` (precedence in the module docstring).

    ``files_index_urls`` are the project's parsed dependency files: the ``index_urls`` /
    ``extra_index_urls`` / ``find_links`` / ``no_index`` of requirement-style files
    (requirements, compiled files, Pipfile sources) rank below the environment; those of
    ``pyproject`` files rank with the project's uv configuration. ``pyproject`` is the parsed
    ``pyproject.toml`` when the caller has it (else it is read). ``env`` is consulted for
    every variable and for ``HOME`` / ``XDG_CONFIG_HOME`` / ``VIRTUAL_ENV``, so tests and
    callers control it completely.

    Raises :class:`InputError` for an unreadable configuration file or a bad value, and
    :class:`ExternalError` when nothing names an index and neither pip nor uv can say what
    the default is.
    """
    project = Path(project_dir)
    files = list(files_index_urls)
    requirement_files = [f for f in files if f.kind is not FileKind.PYPROJECT]
    pyproject_files = [f for f in files if f.kind is FileKind.PYPROJECT]

    layers: list[_Layer] = [
        _cli_layer(
            index_url=index_url,
            extra_index_urls=extra_index_urls,
            find_links=find_links,
            no_index=no_index,
            strategy=index_strategy,
            cwd=Path.cwd(),
        ),
        _uv_env_layer(env, Path.cwd()),
        _pip_env_layer(env, Path.cwd()),
        _files_layer(requirement_files, project, env),
    ]
    project_layer = _project_uv_layer(project, pyproject, env)
    if project_layer is not None:
        layers.append(project_layer)
    layers.append(_files_layer(pyproject_files, project, env))
    layers += _user_uv_layers(env)
    layers += _pip_file_layers(env)

    creds = _Credentials(env)
    primary: IndexUrl | None = None
    shadowed: list[IndexUrl] = []
    extras: list[IndexUrl] = []
    links: list[IndexUrl] = []
    off: tuple[bool, str] | None = None
    strategy: tuple[str, str] | None = None
    cert: tuple[str, str] | None = None
    uv_extras = False
    for layer in layers:
        if layer.index is not None:
            entry = _make_entry(layer.index, layer.base_dir, creds)
            if primary is None:
                primary = entry
            elif entry.url != primary.url:
                shadowed.append(entry)
        for raw in layer.shadowed:
            shadowed.append(_make_entry(raw, layer.base_dir, creds))
        for raw in layer.extra:
            extras.append(_make_entry(raw, layer.base_dir, creds))
            uv_extras = uv_extras or not layer.pip_style
        for raw in layer.find_links:
            links.append(_make_entry(raw, layer.base_dir, creds))
        if off is None and layer.no_index is not None:
            off = layer.no_index
        if strategy is None and layer.strategy is not None:
            strategy = layer.strategy
        if cert is None and layer.cert is not None:
            cert = layer.cert

    if strategy is None and extras and not uv_extras:
        # Only pip named extra indexes: answer as pip would, best version across all of them.
        strategy = ("unsafe-best-match", "pip's behaviour for pip-configured indexes")
    if strategy is not None and strategy[0] not in STRATEGIES:
        choices = ", ".join(STRATEGIES)
        raise InputError(
            f"{strategy[1]}: unknown index strategy {strategy[0]!r} (one of {choices})"
        )

    if off is not None and off[0]:
        primary = None
        extras = []
    elif primary is None:
        url, how = builtin_default_index(env)
        primary = _make_entry(_Raw(url, how), None, creds)

    seen: set[str] = {primary.url} if primary is not None else set()
    unique_extras: list[IndexUrl] = []
    for entry in extras:
        if entry.url not in seen:
            seen.add(entry.url)
            unique_extras.append(entry)
    seen_links: set[str] = set()
    unique_links: list[IndexUrl] = []
    for entry in links:
        if entry.url not in seen_links:
            seen_links.add(entry.url)
            unique_links.append(entry)
    _require_resolved([*([primary] if primary else []), *unique_extras, *unique_links])
    return IndexConfig(
        index=primary,
        extra=tuple(unique_extras),
        find_links=tuple(unique_links),
        strategy=strategy[0] if strategy else DEFAULT_STRATEGY,
        strategy_source=strategy[1] if strategy else "uv's default",
        shadowed=tuple(shadowed),
        cert=cert[0] if cert else None,
        no_index_source=off[1] if off is not None and off[0] else "--no-index",
    )
