"""Credentials out of every URL, command line and message greenbump can print or log.

Index URLs routinely carry secrets (``https://user:TOKEN@host/simple``, ``?token=...``), and
those URLs end up in error messages, logs, JSON reports and the command lines of uv
subprocesses. Everything that may reach a user's terminal, a CI log or a file goes through
:func:`redact_url` or :func:`redact_text` first, so a secret never has to be remembered at the
call site.

Usernames are kept when they look like names (``https://alice:****@host``) because they tell
the user which account was used; a username that looks like a token (a lone
``https://ghp_xxx@host``-style credential) is replaced too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from urllib.parse import quote

MASK = "****"

# Prefixes of well-known token formats (source hosts, registries, cloud providers). A username
# starting with one is a token however short it is.
_TOKEN_PREFIXES = (
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "gldt-",
    "pypi-",
    "npm_",
    "xox",
    "sk-",
    "ya29.",
    "AKIA",
    "ASIA",
)

# The authority of a URL: after "scheme://" up to the first "/", "?" or "#".
_URL_HEAD = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<authority>[^/?#]*)")
# Secrets shorter than this are not replaced inside free text: replacing every "ab" in a
# message would destroy it, and such strings are not meaningful secrets anyway.
_MIN_SECRET_LEN = 4

# The two patterns below serve rarer paths (free text, URLs with a query) and are compiled on
# first use; the index client redacts every page URL, which needs only ``_URL_HEAD``.


@functools.cache
def _url_in_text() -> re.Pattern[str]:
    """Any URL inside free text. Quotes, angle brackets, backticks and whitespace end it.

    The lookbehind anchors the scheme at a word start: without it a long run of letters with
    no "://" is retried from every position (quadratic on base64 blobs in test output).
    """
    return re.compile(r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*://[^\s<>\"'`]+")


@functools.cache
def _secret_param() -> re.Pattern[str]:
    """Query parameters whose values are secrets."""
    return re.compile(
        r"(?P<key>(?:^|[?&;])[^=&;#]*?(?:token|secret|passw(?:or)?d|pwd|api[_-]?key|apikey|auth"
        r"|signature|sig|credential|access[_-]?key|private[_-]?key)[^=&;#]*=)(?P<value>[^&;#]*)",
        re.IGNORECASE,
    )


def looks_like_token(value: str) -> bool:
    """Whether a URL username is really a secret (an access token used as the username).

    Hosts that take a token as the only credential put it where the username goes, so a
    "username" that is long and random-looking, or starts with a known token prefix, is
    treated as a secret.
    """
    if not value:
        return False
    if value.startswith(_TOKEN_PREFIXES) and len(value) >= 8:
        return True
    if len(value) >= 32:
        return True
    if len(value) >= 16 and value.isalnum():
        digits = sum(ch.isdigit() for ch in value)
        letters = sum(ch.isalpha() for ch in value)
        if digits >= 3 and letters >= 3:
            return True
    if len(value) >= 20:
        classes = sum(
            (
                any(ch.islower() for ch in value),
                any(ch.isupper() for ch in value),
                any(ch.isdigit() for ch in value),
            )
        )
        if classes == 3:
            return True
    return False


def _redact_userinfo(userinfo: str) -> str:
    user, sep, password = userinfo.partition(":")
    shown_user = MASK if looks_like_token(user) else user
    if not sep:
        return shown_user
    if not password:
        return f"{shown_user}:"
    return f"{shown_user}:{MASK}"


def _redact_query(rest: str) -> str:
    query_start = rest.find("?")
    if query_start < 0:
        return rest
    fragment_start = rest.find("#", query_start)
    end = len(rest) if fragment_start < 0 else fragment_start
    query = rest[query_start:end]
    redacted = _secret_param().sub(
        lambda m: m.group("key") + (MASK if m.group("value") else ""),
        query,
    )
    return rest[:query_start] + redacted + rest[end:]


def redact_url(url: str) -> str:
    """``url`` with its password, token-like username and secret query values masked.

    Never raises: a string that is not a URL comes back unchanged (apart from secret-looking
    query parameters), so callers can pass anything they are about to print.
    """
    match = _URL_HEAD.match(url)
    if match is None:
        return url
    authority = match.group("authority")
    at = authority.rfind("@")  # passwords may hold an unencoded "@"; the host never does
    if at >= 0:
        authority = _redact_userinfo(authority[:at]) + authority[at:]
    rest = url[match.end() :]
    return match.group("scheme") + authority + _redact_query(rest)


class _Known:
    """The secrets this run has met so far (see :func:`remember_secrets`)."""

    secrets: frozenset[str] = frozenset()


def remember_secrets(secrets: Iterable[str]) -> None:
    """Mask ``secrets`` in every later :func:`redact_text` of this run, wherever it is called.

    Some secrets cannot be found by their place in a URL: a token that a file's
    ``${VARIABLE}`` puts into an index URL's path, or a netrc password. Once the index
    configuration names them, every message (the error printer, the run log, reports) masks
    them without each call site having to be handed the list. Safe from any thread: the set
    is replaced, never changed in place.
    """
    _Known.secrets = _Known.secrets | frozenset(secret for secret in secrets if secret)


def forget_secrets() -> None:
    """Start a new run (:func:`greenbump.main.main`) with no remembered secrets."""
    _Known.secrets = frozenset()


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the credentials of every URL in it masked, and every known secret too.

    ``secrets`` are strings known to be sensitive (passwords, tokens from the environment or
    netrc) that may appear outside a URL, such as in an environment dump or an error from a
    subprocess; they are replaced as they are and in their percent-encoded form, as are the
    secrets this run remembers (:func:`remember_secrets`).
    """
    redacted = _url_in_text().sub(lambda m: redact_url(m.group(0)), text)
    variants: set[str] = set()
    for secret in (*secrets, *_Known.secrets):
        if len(secret) < _MIN_SECRET_LEN:
            continue
        variants.add(secret)
        variants.add(quote(secret, safe=""))
    for variant in sorted(variants, key=len, reverse=True):
        redacted = redacted.replace(variant, MASK)
    return redacted
