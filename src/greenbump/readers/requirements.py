"""Reader and editor for pip requirement files (``requirements*.txt``, ``*.in``, constraints).

Why this is hand-written: greenbump edits users' files in place and must change only the bytes
of one version specifier, so it needs the exact character offsets of every specifier and hash
option. No maintained library gives that for pip's requirement-file syntax: pip's own parser
(``pip._internal.req.req_file``) is internal API that joins lines and drops offsets, and
pip-requirements-parser does not keep byte offsets either. ``packaging`` still does all the real
PEP 508 / PEP 440 work here (requirements, specifiers, markers, wheel names); this module only
reproduces pip's line handling around it while remembering where every character came from:

* lines are split like ``str.splitlines`` (LF, CRLF, CR, ...); a UTF-8 BOM is skipped;
* a line ending in ``\\`` is joined to the next one with the backslashes removed, unless it is
  a comment line; a comment line ends a continuation;
* a comment starts at a ``#`` that begins the line or follows whitespace (so ``#egg=`` and
  ``#sha256=`` URL fragments are not comments);
* a logical line is cut into requirement text and options at the first space-separated token
  that starts with ``-``; options are split like a POSIX shell and parsed like pip's
  ``optparse`` parser (long options may be abbreviated; unknown options are errors);
* ``${VAR}`` references are kept verbatim; for validation each is read as a same-length
  stand-in version (``0.0.00``), and a specifier that contains one has no editable span.
  ``--index-url`` / ``--extra-index-url`` / ``--find-links`` values are recorded as written
  too (and a ``--no-index`` line as a flag): pip expands ``${VAR}`` in them before use, and
  so does :mod:`greenbump.indexconfig` when it builds the index configuration (with pip's
  rules and the caller's environment), so credentials kept in variables are used without
  ever reaching the file greenbump writes back. A relative find-links path is kept relative
  too: pip takes it from the file's folder only when it exists there, which a reader of text
  cannot tell, so indexconfig decides. Every ``-f`` value of a line is recorded, though pip
  uses only a line's first: a location too many costs a look, one too few a missed release.

Lines pip would resolve against the file system (a bare ``./dir``) are read as local paths,
since a reader sees only text. Requirements whose project name cannot be told from the text
(an editable ``-e .``, a path or URL with neither ``#egg=`` nor a wheel file name) produce no
declaration: there is nothing greenbump could look up or edit for them.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
import shlex
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import NamedTuple

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet

from greenbump.errors import InputError
from greenbump.model import Declaration, DependencyFile, FileKind, Include, Span

__all__ = ["compile_command", "is_compiled", "parse_requirements", "replace_hashes"]

_BOM = "\ufeff"
# The characters str.splitlines breaks on, besides "\r\n" (which counts as one break).
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_ENV_VAR_RE = re.compile(r"\$\{[A-Z0-9_]+\}")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*(?=:)")
_EGG_RE = re.compile(r"[#&]egg=([^&]*)")
_SHELL_SPACE = " \t\r\n"
_SHELL_PLAIN_RE = re.compile(r"[^ \t\r\n'\"\\]+")

_VCS_NAMES = ("git", "hg", "svn", "bzr")
_VCS_SCHEMES = frozenset(
    {f"git+{s}" for s in ("http", "https", "ssh", "git", "file")}
    | {f"hg+{s}" for s in ("file", "http", "https", "ssh", "static-http")}
    | {f"svn+{s}" for s in ("ssh", "http", "https", "svn", "file")}
    | {f"bzr+{s}" for s in ("http", "https", "ssh", "sftp", "ftp", "lp", "file")}
)
_URL_SCHEMES = frozenset({"http", "https", "file", "ftp"}) | _VCS_SCHEMES
_ARCHIVE_SUFFIXES = (
    ".zip",
    ".whl",
    ".tar.bz2",
    ".tbz",
    ".tar.gz",
    ".tgz",
    ".tar",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
)
_STRONG_HASHES = ("sha256", "sha384", "sha512")
_NEW_HASH_RE = re.compile(r"(?:sha256|sha384|sha512):[0-9A-Fa-f]+")

# The options pip accepts in a requirements file: spelling -> (destination, takes a value).
_OPTIONS: dict[str, tuple[str, bool]] = {
    "-i": ("index_url", True),
    "--index-url": ("index_url", True),
    "--pypi-url": ("index_url", True),
    "--extra-index-url": ("extra_index_url", True),
    "--no-index": ("no_index", False),
    "-c": ("constraint", True),
    "--constraint": ("constraint", True),
    "-r": ("requirement", True),
    "--requirement": ("requirement", True),
    "-e": ("editable", True),
    "--editable": ("editable", True),
    "-f": ("find_links", True),
    "--find-links": ("find_links", True),
    "--no-binary": ("no_binary", True),
    "--only-binary": ("only_binary", True),
    "--prefer-binary": ("prefer_binary", False),
    "--require-hashes": ("require_hashes", False),
    "--pre": ("pre", False),
    "--trusted-host": ("trusted_host", True),
    "--use-feature": ("use_feature", True),
    "--global-option": ("global_option", True),
    "--hash": ("hash", True),
    "-C": ("config_settings", True),
    "--config-settings": ("config_settings", True),
}
_LONG_OPTIONS = tuple(sorted(name for name in _OPTIONS if name.startswith("--")))

# pip-compile / uv pip compile options that take a separate value (for telling values from
# the input files when listing a header's options).
_COMPILE_VALUE_OPTIONS = frozenset(
    {
        "-o",
        "--output-file",
        "-c",
        "--constraint",
        "--constraints",
        "--override",
        "--overrides",
        "-b",
        "--build-constraint",
        "--build-constraints",
        "--extra",
        "--group",
        "-p",
        "--python",
        "--python-version",
        "--python-platform",
        "-i",
        "--index-url",
        "--extra-index-url",
        "--index",
        "--default-index",
        "-f",
        "--find-links",
        "--index-strategy",
        "--keyring-provider",
        "--trusted-host",
        "--allow-insecure-host",
        "--resolution",
        "--prerelease",
        "--fork-strategy",
        "--exclude-newer",
        "--no-emit-package",
        "--unsafe-package",
        "--annotation-style",
        "--custom-compile-command",
        "-P",
        "--upgrade-package",
        "--no-build-package",
        "--no-binary",
        "--only-binary",
        "-C",
        "--config-setting",
        "--config-settings",
        "--link-mode",
        "--cache-dir",
        "--config-file",
        "--directory",
        "--project",
        "--torch-backend",
        "--pip-args",
        "--resolver",
        "--cert",
        "--client-cert",
        "--max-rounds",
        "--build-deps-for",
        "--config",
        "--refresh-package",
        "--reinstall-package",
        "--color",
    }
)


# --------------------------------------------------------------------------------------------
# Public API


def parse_requirements(text: str, path: PurePosixPath) -> DependencyFile:
    """Parse a pip requirements (or constraints, or compiled) file without losing a byte."""
    return _Reader(text, path).run().file


def is_compiled(text: str) -> bool:
    """Whether ``text`` starts with a pip-compile or ``uv pip compile`` header."""
    for comment in _header_comments(text):
        lowered = comment.lower()
        if "autogenerated by pip-compile" in lowered or "autogenerated by uv" in lowered:
            return True
        if _compile_program_length(_split_command(comment)) > 0:
            return True
    return False


def compile_command(text: str) -> list[str] | None:
    """The command line recorded in a compiled file's header, as argv; ``None`` if none.

    This is the header's command as written, which may be a wrapper (``make upgrade``) when the
    file was compiled with ``CUSTOM_COMPILE_COMMAND``.
    """
    if not is_compiled(text):
        return None
    comments = _header_comments(text)
    for index, comment in enumerate(comments):
        lowered = comment.lower()
        if lowered.endswith(":") and ("following command" in lowered or "to update" in lowered):
            for candidate in comments[index + 1 :]:
                if candidate:
                    argv = _split_command(candidate)
                    return argv or None
            return None
    for comment in comments:
        argv = _split_command(comment)
        if _compile_program_length(argv) > 0:
            return argv
    return None


def replace_hashes(text: str, decl: Declaration, hashes: list[str]) -> str:
    """Return ``text`` with ``decl``'s ``--hash`` options replaced by ``hashes``.

    The existing layout is kept: the spelling of the first option (``--hash=`` or ``--hash ``)
    and the separator between options (e.g. ``" \\\\\\n    "``, with the file's own line
    ending). The declaration is found again by name and line, so an earlier
    :func:`~greenbump.edit.set_constraint` on the same line does not make it stale. An empty
    ``hashes`` list removes the options together with the whitespace and continuations before
    them.
    """
    for item in hashes:
        if not _NEW_HASH_RE.fullmatch(item):
            raise ValueError(f"not a hash for --hash: {item!r} (expected e.g. sha256:<hex>)")
    entry = _find_entry(text, decl)
    layout = entry.layout
    if layout is None or not layout.options:
        raise ValueError(f"{decl.name} has no --hash options to replace")
    if layout.interleaved:
        raise InputError(
            f"cannot replace the hashes of {decl.name}: other options sit between its --hash "
            "options",
            decl.file,
            decl.line,
        )
    first, last = layout.options[0], layout.options[-1]
    if not hashes:
        return text[: layout.before] + text[last.end :]
    if len(layout.options) >= 2:
        separator = text[first.end : layout.options[1].start]
    else:
        between = text[layout.before : first.start]
        separator = between if any(char in _LINE_BREAKS for char in between) else " "
    replacement = separator.join(first.prefix + item for item in hashes)
    return text[: first.start] + replacement + text[last.end :]


# --------------------------------------------------------------------------------------------
# Logical lines: pip's splitting, joining and comment removal, with offsets kept


class _Logical(NamedTuple):
    """A logical line after joining continuations, removing the comment and stripping.

    ``offsets[i]`` is the offset in the file's text of ``chars[i]`` (the space pip puts before
    a comment line that ends a continuation is given the offset of that line's start; it never
    survives comment removal).
    """

    line: int  # 1-based number of the physical line the logical line starts on
    chars: str
    offsets: tuple[int, ...]


def _physical_lines(text: str) -> Iterator[tuple[int, str]]:
    """``(offset, content without its line break)`` for each line, like ``str.splitlines``."""
    position = 1 if text.startswith(_BOM) else 0
    for raw in text[position:].splitlines(keepends=True):
        if raw.endswith("\r\n"):
            content = raw[:-2]
        elif raw[-1] in _LINE_BREAKS:
            content = raw[:-1]
        else:
            content = raw
        yield position, content
        position += len(raw)


class _Lines:
    """Line and column of offsets in one text, like :func:`greenbump.textio.line_col`.

    A BOM is not counted as a column. Looking up is logarithmic, so a long file is not read
    again for every line.
    """

    def __init__(self, text: str) -> None:
        self.newlines = [match.start() for match in re.finditer("\n", text)]
        self.bom = text.startswith(_BOM)

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self.newlines, offset) + 1

    def position(self, offset: int) -> tuple[int, int]:
        before = bisect.bisect_left(self.newlines, offset)
        line_start = self.newlines[before - 1] + 1 if before else 0
        column = offset - line_start + 1
        if before == 0 and self.bom:
            column -= 1
        return before + 1, column


def _logical_lines(text: str, lines_index: _Lines) -> list[_Logical]:
    lines = _physical_lines(text)
    result: list[_Logical] = []
    pending_chars: list[str] = []
    pending_offsets: list[int] = []
    primary = 0

    def finish(start_offset: int) -> None:
        chars = "".join(pending_chars)
        end = _comment_start(chars)
        left = len(chars) - len(chars.lstrip())
        right = len(chars[:end].rstrip())
        if right > left:
            line = lines_index.line(start_offset)
            result.append(_Logical(line, chars[left:right], tuple(pending_offsets[left:right])))
        pending_chars.clear()
        pending_offsets.clear()

    for offset, content in lines:
        is_comment = content.lstrip().startswith("#")
        if is_comment or not content.endswith("\\"):
            if not pending_chars:
                primary = offset
            if is_comment:
                pending_chars.append(" ")
                pending_offsets.append(offset)
            pending_chars.append(content)
            pending_offsets.extend(range(offset, offset + len(content)))
            finish(primary)
        else:
            if not pending_chars:
                primary = offset
            left = len(content) - len(content.lstrip("\\"))
            right = max(left, len(content.rstrip("\\")))
            pending_chars.append(content[left:right])
            pending_offsets.extend(range(offset + left, offset + right))
    if pending_chars:
        finish(primary)
    return result


# --------------------------------------------------------------------------------------------
# Options: a POSIX shell split that keeps offsets, then pip's optparse rules


class _Token(NamedTuple):
    value: str
    start: int  # index into the logical line
    end: int


def _shell_split(chars: str, base: int) -> list[_Token]:
    """Split like ``shlex.split`` (POSIX, no comments), keeping where each token was."""
    tokens: list[_Token] = []
    index = base
    size = len(chars)
    while index < size:
        if chars[index] in _SHELL_SPACE:
            index += 1
            continue
        start = index
        value: list[str] = []
        while index < size and chars[index] not in _SHELL_SPACE:
            plain = _SHELL_PLAIN_RE.match(chars, index)
            if plain is not None:
                value.append(plain.group())
                index = plain.end()
                continue
            char = chars[index]
            if char == "\\":
                if index + 1 >= size:
                    raise ValueError("No escaped character")
                value.append(chars[index + 1])
                index += 2
            elif char == "'":
                close = chars.find("'", index + 1)
                if close < 0:
                    raise ValueError("No closing quotation")
                value.append(chars[index + 1 : close])
                index = close + 1
            elif char == '"':
                index += 1
                while True:
                    if index >= size:
                        raise ValueError("No closing quotation")
                    inner = chars[index]
                    if inner == '"':
                        index += 1
                        break
                    if inner == "\\":
                        if index + 1 >= size:
                            raise ValueError("No escaped character")
                        escaped = chars[index + 1]
                        if escaped not in '"\\':
                            value.append("\\")
                        value.append(escaped)
                        index += 2
                    else:
                        value.append(inner)
                        index += 1
            else:
                value.append(char)
                index += 1
        tokens.append(_Token("".join(value), start, index))
    return tokens


class _Option(NamedTuple):
    dest: str
    value: str
    start: int  # logical index where the option starts
    value_start: int  # logical index of the token holding the value
    end: int  # logical index after the value
    prefix: str  # the option as written up to its value ("--hash=", "-i", ...)
    token_count: int  # how many tokens the option and its value took


def _match_long(spelling: str) -> str:
    if spelling in _OPTIONS:
        return spelling
    matches = [name for name in _LONG_OPTIONS if name.startswith(spelling)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise _OptionError(f"no such option: {spelling}")
    raise _OptionError(f"ambiguous option: {spelling} ({', '.join(matches)}?)")


class _OptionError(Exception):
    """An option pip's parser would reject; the message is pip-like."""


def _parse_options(chars: str, tokens: list[_Token]) -> list[_Option]:
    """Read ``tokens`` the way pip's optparse parser does; positional arguments are ignored."""
    options: list[_Option] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        arg = token.value
        if arg == "--":
            break
        if arg.startswith("--"):
            spelling, has_value, explicit = arg.partition("=")
            name = _match_long(spelling)
            dest, takes_value = _OPTIONS[name]
            if not takes_value:
                if has_value:
                    raise _OptionError(f"{name} option does not take a value")
                options.append(_Option(dest, "", token.start, token.end, token.end, arg, 1))
                index += 1
                continue
            if has_value:
                raw = chars[token.start : token.end]
                equals = raw.find("=")
                prefix = raw[: equals + 1] if equals >= 0 else spelling + "="
                value_start = token.start + equals + 1 if equals >= 0 else token.start
                options.append(
                    _Option(dest, explicit, token.start, value_start, token.end, prefix, 1)
                )
                index += 1
                continue
            if index + 1 >= len(tokens):
                raise _OptionError(f"{name} option requires 1 argument")
            value = tokens[index + 1]
            prefix = chars[token.start : value.start]
            options.append(
                _Option(dest, value.value, token.start, value.start, value.end, prefix, 2)
            )
            index += 2
            continue
        if arg.startswith("-") and arg != "-":
            position = 1
            consumed = 1
            while position < len(arg):
                short = "-" + arg[position]
                if short not in _OPTIONS:
                    raise _OptionError(f"no such option: {short}")
                dest, takes_value = _OPTIONS[short]
                if not takes_value:  # pragma: no cover - every short option takes a value
                    options.append(_Option(dest, "", token.start, token.end, token.end, short, 1))
                    position += 1
                    continue
                if position + 1 < len(arg):
                    attached = arg[position + 1 :]
                    raw = chars[token.start : token.end]
                    value_start = token.end - len(attached) if raw == arg else token.start
                    options.append(
                        _Option(dest, attached, token.start, value_start, token.end, short, 1)
                    )
                else:
                    if index + 1 >= len(tokens):
                        raise _OptionError(f"{short} option requires 1 argument")
                    value = tokens[index + 1]
                    prefix = chars[token.start : value.start]
                    options.append(
                        _Option(dest, value.value, token.start, value.start, value.end, prefix, 2)
                    )
                    consumed = 2
                break
            index += consumed
            continue
        index += 1  # a positional argument: pip's parser collects and ignores these
    for option in options:
        _check_option_value(option)
    return options


def _check_option_value(option: _Option) -> None:
    if option.dest == "hash":
        algorithm, sep, _digest = option.value.partition(":")
        if not sep:
            raise _OptionError(
                "arguments to --hash must be a hash name followed by a value, "
                "like --hash=sha256:abcde..."
            )
        if algorithm not in _STRONG_HASHES and not _ENV_VAR_RE.fullmatch(algorithm):
            raise _OptionError(
                f"allowed hash algorithms for --hash are {', '.join(_STRONG_HASHES)}"
            )
    elif option.dest == "config_settings":
        if "=" not in option.value:
            raise _OptionError("arguments to --config-settings must be of the form KEY=VAL")
    elif option.dest in ("no_binary", "only_binary") and option.value.startswith("-"):
        raise _OptionError("--no-binary / --only-binary option requires 1 argument")


# --------------------------------------------------------------------------------------------
# The reader


class _HashOption(NamedTuple):
    start: int  # physical offset where the --hash option starts
    end: int  # physical offset after its value
    prefix: str  # "--hash=" or "--hash " (as written), put before each new hash


class _HashLayout(NamedTuple):
    options: tuple[_HashOption, ...]
    before: int  # physical offset right after the token before the first --hash option
    interleaved: bool  # other options sit between the --hash options


class _Entry(NamedTuple):
    decl: Declaration
    layout: _HashLayout | None


class _Result(NamedTuple):
    file: DependencyFile
    entries: tuple[_Entry, ...]


class _Reader:
    def __init__(self, text: str, path: PurePosixPath) -> None:
        self.text = text
        self.path = path
        self.entries: list[_Entry] = []
        self.includes: list[Include] = []
        self.index_urls: list[str] = []
        self.extra_index_urls: list[str] = []
        self.find_links: list[str] = []
        self.no_index = False
        self.lines = _Lines(text)

    def run(self) -> _Result:
        for logical in _logical_lines(self.text, self.lines):
            self._line(logical)
        compiled = is_compiled(self.text)
        options: tuple[str, ...] = ()
        if compiled:
            argv = compile_command(self.text)
            options = tuple(_compile_options(argv)) if argv else ()
        file = DependencyFile(
            path=self.path,
            kind=FileKind.PIP_COMPILE if compiled else FileKind.REQUIREMENTS,
            text=self.text,
            declarations=tuple(entry.decl for entry in self.entries),
            includes=tuple(self.includes),
            # pip lets the last --index-url win: put the effective one first.
            index_urls=tuple(reversed(self.index_urls)),
            extra_index_urls=tuple(self.extra_index_urls),
            options=options,
            find_links=tuple(self.find_links),
            no_index=self.no_index,
        )
        return _Result(file, tuple(self.entries))

    # -- helpers ------------------------------------------------------------------------------

    def error(self, message: str, logical: _Logical) -> InputError:
        return InputError(message, self.path, logical.line)

    def position(self, offset: int) -> tuple[int, int]:
        return self.lines.position(offset)

    def span(self, logical: _Logical, start: int, end: int) -> Span | None:
        """The physical span of ``logical.chars[start:end]``, if that text is contiguous."""
        if start == end:
            offset = logical.offsets[start - 1] + 1 if start > 0 else logical.offsets[0]
            return Span(offset, offset)
        span = Span(logical.offsets[start], logical.offsets[end - 1] + 1)
        if self.text[span.start : span.end] != logical.chars[start:end]:
            return None
        return span

    def _unversioned(
        self,
        name: str,
        offset: int,
        *,
        extras: tuple[str, ...],
        marker: str | None = None,
        url: str | None = None,
        editable: bool = False,
    ) -> Declaration:
        """A declaration at ``offset`` with no constraint and no span yet.

        A URL, a path or an editable requirement stays like this; a named requirement starts
        like this and gets its specifier's position and span once they are found.
        """
        line, column = self.position(offset)
        return Declaration(
            name=name,
            file=self.path,
            line=line,
            column=column,
            constraint="",
            span=None,
            extras=extras,
            marker=marker,
            url=url,
            editable=editable,
        )

    # -- one logical line ---------------------------------------------------------------------

    def _line(self, logical: _Logical) -> None:
        chars = logical.chars
        split = _options_start(chars)
        args = chars if split < 0 else chars[: max(split - 1, 0)]
        try:
            tokens = [] if split < 0 else _shell_split(chars, split)
        except ValueError as exc:
            raise self.error(
                f"could not split options ({exc}): {chars[split:]!r}", logical
            ) from exc
        try:
            options = _parse_options(chars, tokens)
        except _OptionError as exc:
            raise self.error(f"invalid option line {chars!r}: {exc}", logical) from exc
        if args.strip():
            decl = self._requirement(logical, args)
            if decl is not None:
                self._add(logical, decl, options, len(args.rstrip()))
            return
        editables = [option for option in options if option.dest == "editable"]
        if editables:
            decl = self._editable(logical, editables[0])
            if decl is not None:  # pip ignores --hash on an editable line
                self.entries.append(_Entry(decl, None))
            return
        requirements = [option for option in options if option.dest == "requirement"]
        constraints = [option for option in options if option.dest == "constraint"]
        if requirements:
            self.includes.append(Include(requirements[0].value, logical.line, False))
        elif constraints:
            self.includes.append(Include(constraints[0].value, logical.line, True))
        for option in options:
            if option.dest == "index_url":
                self.index_urls.append(option.value)
            elif option.dest == "extra_index_url":
                self.extra_index_urls.append(option.value)
            elif option.dest == "find_links":
                self.find_links.append(option.value)
            elif option.dest == "no_index":
                self.no_index = True

    def _add(
        self, logical: _Logical, decl: Declaration, options: list[_Option], requirement_end: int
    ) -> None:
        hash_options = [option for option in options if option.dest == "hash"]
        if not hash_options:
            self.entries.append(_Entry(decl, None))
            return
        offsets = logical.offsets
        positions = [index for index, option in enumerate(options) if option.dest == "hash"]
        first_index, last_index = positions[0], positions[-1]
        interleaved = len(positions) != last_index - first_index + 1
        before_end = max([requirement_end, *(option.end for option in options[:first_index])])
        layout = _HashLayout(
            options=tuple(
                _HashOption(
                    offsets[option.start],
                    offsets[option.end - 1] + 1,
                    option.prefix
                    if option.token_count == 1
                    else self.text[offsets[option.start] : offsets[option.value_start]],
                )
                for option in hash_options
            ),
            before=offsets[before_end - 1] + 1 if before_end > 0 else offsets[0],
            interleaved=interleaved,
        )
        hashes_span = Span(layout.options[0].start, layout.options[-1].end)
        decl = dataclasses.replace(
            decl, hashes=tuple(option.value for option in hash_options), hashes_span=hashes_span
        )
        self.entries.append(_Entry(decl, layout))

    # -- requirement text ---------------------------------------------------------------------

    def _requirement(self, logical: _Logical, args: str) -> Declaration | None:
        zeroed = _stand_in_variables(args)
        separator = "; " if _is_url(args) else ";"
        cut = args.find(separator)
        marker: str | None = None
        if cut >= 0:
            marker_start = cut + len(separator)
            marker = args[marker_start:].strip() or None
            if marker is not None:
                from packaging.markers import Marker  # deferred: see _parse_requirement

                try:
                    Marker(zeroed[marker_start:].strip())
                except (ValueError, RecursionError) as exc:
                    raise self.error(
                        f"invalid requirement: {args.strip()!r}: bad marker: {_first_line(exc)}",
                        logical,
                    ) from exc
        else:
            cut = len(args)
        end = len(args[:cut].rstrip())
        start = len(args) - len(args.lstrip())
        raw = args[start:end]
        if not raw:
            raise self.error(f"invalid requirement: {args.strip()!r}: no project", logical)
        if _is_url(raw):
            return self._link(logical, raw, start, marker, from_path=False)
        bare, _extras = _strip_path_extras(raw)
        if bare.lower().endswith(_ARCHIVE_SUFFIXES):
            name_part, at, _rest = raw.partition("@")
            if not (at and not _looks_like_path(name_part)):
                return self._link(logical, raw, start, marker, from_path=True)
        try:
            requirement = _parse_requirement(zeroed[start:end])
        except (ValueError, RecursionError) as exc:
            if _looks_like_directory(raw):
                return self._link(logical, raw, start, marker, from_path=True)
            raise self.error(f"invalid requirement: {raw!r}: {_first_line(exc)}", logical) from exc
        # Locate the name, extras and specifier in the raw text (packaging validated them).
        name_end = start + len(requirement.name)
        name = args[start:name_end]
        index = _skip_space(args, name_end)
        extras: tuple[str, ...] = ()
        after_extras = name_end
        if index < end and args[index] == "[":
            close = args.index("]", index)
            extras = tuple(
                item.strip() for item in args[index + 1 : close].split(",") if item.strip()
            )
            after_extras = close + 1
            index = _skip_space(args, after_extras)
        base = self._unversioned(name, logical.offsets[start], extras=extras, marker=marker)
        if requirement.url is not None:
            at_index = args.index("@", index)
            url = args[at_index + 1 : end].strip()
            return dataclasses.replace(base, url=url)
        if index < end and args[index] == "(":
            close = args.rindex(")", index, end)
            spec_start = _skip_space(args, index + 1)
            spec_end = len(args[:close].rstrip())
            if spec_end <= spec_start:  # "name ()": a version goes right after the "("
                spec_start = spec_end = index + 1
        elif index < end:
            spec_start, spec_end = index, end
        else:
            spec_start = spec_end = after_extras
        constraint = args[spec_start:spec_end]
        if not constraint:
            return dataclasses.replace(base, span=self.span(logical, spec_start, spec_end))
        line, column = self.position(logical.offsets[spec_start])
        span = self.span(logical, spec_start, spec_end)
        locked = None
        if "${" in constraint:
            span = None
        else:
            locked = _locked_version(constraint)
        return dataclasses.replace(
            base, line=line, column=column, constraint=constraint, span=span, locked=locked
        )

    def _link(
        self, logical: _Logical, raw: str, start: int, marker: str | None, *, from_path: bool
    ) -> Declaration | None:
        """A URL or local path requirement: named by a wheel file name or ``#egg=``."""
        location, extras_text = _strip_path_extras(raw) if from_path else (raw, None)
        extras = _split_extras(extras_text)
        name = _wheel_name(location)
        if name is None and location.lower().split("#")[0].split("?")[0].endswith(".whl"):
            raise self.error(f"invalid requirement: {raw!r}: not a valid wheel file name", logical)
        if name is None and not from_path:
            try:
                name, egg_extras = _egg_name(location)
            except ValueError as exc:
                raise self.error(f"invalid requirement: {raw!r}: {exc}", logical) from exc
            extras = extras or egg_extras
        if name is None:
            return None
        return self._unversioned(
            name, logical.offsets[start], extras=extras, marker=marker, url=location
        )

    def _editable(self, logical: _Logical, option: _Option) -> Declaration | None:
        """An ``-e`` line: a VCS URL (named by ``#egg=``), a ``file:`` URL or a local folder."""
        value = option.value
        bare, extras_text = _strip_path_extras(value)
        scheme = _scheme(value)
        try:
            if bare.lower().startswith("file:"):
                location = bare
                name, egg_extras = _egg_name(bare)
            elif scheme in _VCS_NAMES or scheme in _VCS_SCHEMES:
                location, extras_text = value, None
                name, egg_extras = _egg_name(value)
                if name is None:
                    raise ValueError("no project name: add #egg=NAME to the URL")
            elif _looks_like_directory(bare, relative_only=False):
                location, name, egg_extras = bare, None, ()
            else:
                raise ValueError(
                    "it should be a path to a local project or a VCS URL "
                    "(git+https://..., hg+..., svn+..., bzr+...)"
                )
        except ValueError as exc:
            raise self.error(f"invalid editable requirement {value!r}: {exc}", logical) from exc
        if name is None:
            return None
        return self._unversioned(
            name,
            logical.offsets[option.value_start],
            extras=_split_extras(extras_text) or egg_extras,
            url=location,
            editable=True,
        )


def _find_entry(text: str, decl: Declaration) -> _Entry:
    entries = _Reader(text, decl.file).run().entries
    candidates = [
        entry for entry in entries if entry.decl.key == decl.key and entry.decl.line == decl.line
    ]
    for entry in candidates:
        if entry.decl.hashes_span == decl.hashes_span:
            return entry
    if len(candidates) == 1:
        return candidates[0]
    raise ValueError(f"{decl.name} (line {decl.line}) is not in the text any more")


# --------------------------------------------------------------------------------------------
# Small pure helpers


def _options_start(chars: str) -> int:
    """Index of the first space-separated token starting with ``-`` (pip's rule), or -1."""
    if chars.startswith("-"):
        return 0
    found = chars.find(" -")
    return found + 1 if found >= 0 else -1


def _skip_space(chars: str, index: int) -> int:
    while index < len(chars) and chars[index].isspace():
        index += 1
    return index


def _first_line(exc: Exception) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _scheme(text: str) -> str | None:
    match = _SCHEME_RE.match(text)
    return match.group().lower() if match else None


def _is_url(text: str) -> bool:
    """pip's test: a scheme it can fetch from (plain ``git://`` is not one)."""
    return _scheme(text) in _URL_SCHEMES


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.startswith(".")


def _looks_like_directory(text: str, *, relative_only: bool = True) -> bool:
    """Whether pip could find ``text`` to be a project folder (a reader cannot look).

    A folder name with a URL scheme or a ``#`` fragment is never one in practice, so pip
    rejects those lines; for ``-e``, any path-free name may also be a folder.
    """
    if "://" in text or "#" in text or _scheme(text) in _URL_SCHEMES:
        return False
    return _looks_like_path(text) or not relative_only


def _stand_in_variables(text: str) -> str:
    """``text`` with each ``${VAR}`` replaced by a same-length stand-in such as ``0.0.00``.

    The stand-in is a valid version (even for ``~=``), project name, extra and URL part, so
    the line can be validated without knowing the variable, and offsets stay the same.
    """

    def stand_in(match: re.Match[str]) -> str:
        size = len(match.group())
        return ("0." * size)[: size - 1] + "0"

    return _ENV_VAR_RE.sub(stand_in, text)


def _comment_start(chars: str) -> int:
    """Where pip's comment pattern ``(^|\\s+)#.*$`` cuts ``chars`` (before stripping)."""
    index = chars.find("#")
    while index > 0 and not chars[index - 1].isspace():
        index = chars.find("#", index + 1)
    return len(chars) if index < 0 else index


def _strip_path_extras(text: str) -> tuple[str, str | None]:
    """Split ``path[extra,...]`` like pip's ``^(.+)(\\[[^\\]]+\\])$`` (without its backtracking)."""
    if not text.endswith("]"):
        return text, None
    # The last "[" that leaves a non-empty path and non-empty extras with no "]" inside.
    previous_close = text.rfind("]", 0, len(text) - 1)
    bracket = text.rfind("[", max(1, previous_close + 1), len(text) - 2)
    if bracket < 0:
        return text, None
    return text[:bracket], text[bracket:]


def _split_extras(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(item.strip() for item in text.strip("[]").split(",") if item.strip())


def _wheel_name(location: str) -> str | None:
    """The project name of a wheel file URL or path, as its file name spells it."""
    path = location.split("#", 1)[0].split("?", 1)[0]
    filename = re.split(r"[/\\]", path)[-1]
    if not filename.lower().endswith(".whl"):
        return None
    from packaging.utils import parse_wheel_filename  # deferred: wheel links only

    try:
        parse_wheel_filename(filename)
    except ValueError:  # InvalidWheelFilename, or a bad version inside the name
        return None
    return filename.split("-", 1)[0]


def _egg_name(location: str) -> tuple[str | None, tuple[str, ...]]:
    """The project named by a ``#egg=`` fragment, with its extras; ``None`` without one.

    pip reads the fragment as a requirement (``name``, ``name[extra]``, even ``name>=1``), so
    one that is not a valid requirement raises ``ValueError``.
    """
    match = _EGG_RE.search(location)
    if match is None:
        return None, ()
    fragment = match.group(1)
    zeroed = _stand_in_variables(fragment)
    try:
        requirement = _parse_requirement(zeroed)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"bad #egg= fragment {fragment!r}: {_first_line(exc)}") from exc
    name_end = len(fragment) - len(fragment.lstrip()) + len(requirement.name)
    name = fragment[name_end - len(requirement.name) : name_end]
    rest = fragment[name_end:].lstrip()
    extras: tuple[str, ...] = ()
    if rest.startswith("["):
        extras = _split_extras(rest[: rest.index("]") + 1])
    return name, extras


class _Parsed(NamedTuple):
    """What the reader takes from a PEP 508 requirement: the name as written, and any URL."""

    name: str
    url: str | None


# ``name==version``: most lines of a compiled file.
_SIMPLE_PIN = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)[ \t]*(==[ \t]*[^\s;@]+)")


def _parse_requirement(text: str) -> _Parsed:
    """``text`` checked as packaging's ``Requirement`` does; ``ValueError`` when it is not one.

    A plain pin (a PEP 508 name and one ``==`` specifier) is checked with packaging's
    ``Specifier`` alone: packaging's full requirement parser compiles a few dozen patterns
    when first imported, a tenth of a plain check's start-up, for lines that need none of it.
    """
    match = _SIMPLE_PIN.fullmatch(text)
    if match is not None:
        try:
            Specifier(match.group(2))
        except InvalidSpecifier:
            pass
        else:
            return _Parsed(match.group(1), None)
    from packaging.requirements import Requirement

    requirement = Requirement(text)
    return _Parsed(requirement.name, requirement.url)


def _locked_version(constraint: str) -> str | None:
    try:
        specifiers = list(SpecifierSet(constraint))
    except (ValueError, RecursionError):
        return None
    if len(specifiers) != 1:
        return None
    specifier = specifiers[0]
    if specifier.operator == "===" or (
        specifier.operator == "==" and not specifier.version.endswith(".*")
    ):
        return specifier.version
    return None


# --------------------------------------------------------------------------------------------
# pip-compile headers


def _header_comments(text: str) -> list[str]:
    """The text of each comment in the file's leading block of comments and blank lines."""
    comments: list[str] = []
    for _offset, content in _physical_lines(text):
        stripped = content.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        comments.append(stripped[1:].strip())
    return comments


def _split_command(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def _compile_program_length(argv: list[str]) -> int:
    """How many argv items name the compile program (0 when it is not pip-compile / uv)."""
    if argv and PurePosixPath(argv[0]).name == "pip-compile":
        return 1
    if len(argv) >= 3 and PurePosixPath(argv[0]).name == "uv" and argv[1:3] == ["pip", "compile"]:
        return 3
    return 0


def _compile_options(argv: list[str]) -> list[str]:
    """The options of a compile command, as written (input files left out)."""
    skip = _compile_program_length(argv)
    options: list[str] = []
    index = max(skip, 1)
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            break
        if arg.startswith("-") and arg != "-":
            options.append(arg)
            if skip and arg in _COMPILE_VALUE_OPTIONS and "=" not in arg and index + 1 < len(argv):
                options.append(argv[index + 1])
                index += 1
        index += 1
    return options
