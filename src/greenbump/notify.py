"""Telling the people who depend on an application what an upgrade run did.

Configured in ``[tool.greenbump.notify]``::

    [tool.greenbump.notify]
    webhook-env = "GREENBUMP_SLACK_WEBHOOK"   # or webhook = "https://chat.example/hooks/..."
    webhook-format = "slack"                  # or "json": the report summary as JSON
    email-to = ["team@example.com"]
    email-from = "greenbump@example.com"
    smtp-host = "smtp.example.com"
    smtp-port = 587
    smtp-starttls = true
    smtp-user = "greenbump"
    smtp-password-env = "GREENBUMP_SMTP_PASSWORD"
    when = "changes"                          # always | changes | problems

Secrets never live in the file: the SMTP password is always read from the environment variable
that ``smtp-password-env`` names (a ``smtp-password`` key is rejected with an explanation), and
because a Slack-style webhook URL *is* a credential (its path is the token), ``webhook-env``
lets the URL come from the environment too. Whatever the source, a webhook is only ever shown
as its origin (``https://hooks.slack.com/…``), and every error and log line goes through
:func:`greenbump.redact.redact_text` with the password and URL as known secrets.

Notifying is the last step of a run, after the branch and commits exist, so it must never fail
or undo the upgrade: :func:`send_notifications` returns one :class:`Delivery` per target and
logs failures; it does not raise. Mistakes in the settings are different: they are the user's
to fix, and :func:`validate_settings` reports them as :class:`~greenbump.errors.InputError`
*before* the run starts (call it up front); if they only surface at the end they become a
failed delivery like any other.

Messages are built from the JSON report dict (:func:`greenbump.upgradereport.to_json`), like
the HTML report, so a stored run can be re-announced.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from greenbump import __version__
from greenbump.errors import InputError
from greenbump.redact import redact_text

if TYPE_CHECKING:
    import ssl
    from email.message import EmailMessage

# httpx, smtplib, ssl and the email package are imported where a notification is sent: every
# upgrade run imports this module, few send anything, and those imports cost a run about a
# tenth of a second.

__all__ = [
    "KEYS",
    "Delivery",
    "NotifySettings",
    "json_payload",
    "send_notifications",
    "slack_payload",
    "summary_text",
    "validate_settings",
]

log = logging.getLogger(__name__)

# key -> (python type(s), description). Kebab-case like the rest of [tool.greenbump].
KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "webhook": (str, "URL to POST the run summary to"),
    "webhook-env": (str, "name of an environment variable holding the webhook URL"),
    "webhook-format": (str, "slack | json"),
    "email-to": (list, "recipient addresses"),
    "email-from": (str, "sender address"),
    "smtp-host": (str, "mail relay"),
    "smtp-port": (int, "mail relay port (default 587 with STARTTLS, else 25)"),
    "smtp-starttls": (bool, "upgrade the SMTP connection with STARTTLS (default true)"),
    "smtp-user": (str, "SMTP login"),
    "smtp-password-env": (str, "name of an environment variable holding the SMTP password"),
    "ca-file": (str, "CA bundle to verify the webhook's and the relay's certificates"),
    "timeout": ((int, float), "seconds per delivery (default 20)"),
    "when": (str, "always | changes | problems"),
}
CHOICES = {"webhook-format": ("slack", "json"), "when": ("always", "changes", "problems")}
# Keys people will reach for that must not exist, with what to do instead.
_FORBIDDEN = {
    "smtp-password": "never put a password in a settings file: set smtp-password-env to the "
    "name of an environment variable that holds it",
    "password": "never put a password in a settings file: set smtp-password-env to the name of "
    "an environment variable that holds it",
}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DEFAULT_TIMEOUT = 20.0
# Slack rejects a section text over 3000 characters and a message over 50 blocks.
_SLACK_SECTION_LIMIT = 2900
_LIST_LIMIT = 30


@dataclass(frozen=True)
class NotifySettings:
    """Validated ``[tool.greenbump.notify]``. Secrets are *names* of environment variables."""

    webhook: str | None = None
    webhook_env: str | None = None
    webhook_format: str = "slack"
    email_to: tuple[str, ...] = ()
    email_from: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_starttls: bool = True
    smtp_user: str | None = None
    smtp_password_env: str | None = None
    ca_file: str | None = None
    timeout: float = _DEFAULT_TIMEOUT
    when: str = "always"


@dataclass(frozen=True)
class Delivery:
    """One notification attempt.

    ``target`` is safe to print (a webhook shows only its origin; an email shows recipients and
    relay); ``error`` says why it failed, with credentials masked, and is empty on success.
    """

    target: str
    ok: bool
    error: str = ""


# --- settings -------------------------------------------------------------------------------


def validate_settings(
    raw: object, source: PurePath | str | None = None, *, table: str = "[tool.greenbump.notify]"
) -> NotifySettings:
    """Check the notify table and return it typed; every problem is one clear InputError.

    ``source`` (the settings file) prefixes messages like the rest of greenbump's config errors.
    Environment variables are *not* read here: they may legitimately be set only in the job
    that sends, and a missing one is reported as a failed delivery.
    """
    if not isinstance(raw, Mapping):
        raise InputError(f"{table} must be a table, not {type(raw).__name__}", source)
    for key, value in raw.items():
        if key in _FORBIDDEN:
            raise InputError(f"{table}: {key}: {_FORBIDDEN[key]}", source)
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(KEYS)})"
            raise InputError(f"{table}: unknown key {key!r}{hint}", source)
        expected, _ = KEYS[key]
        wrong_bool = isinstance(value, bool) and expected is not bool
        if wrong_bool or not isinstance(value, expected):
            raise InputError(
                f"{table}: {key} must be {_type_name(expected)}, not {type(value).__name__}",
                source,
            )
        if key in CHOICES and value not in CHOICES[key]:
            raise InputError(f"{table}: {key} must be one of {', '.join(CHOICES[key])}", source)

    get = raw.get
    settings = NotifySettings(
        webhook=get("webhook"),
        webhook_env=get("webhook-env"),
        webhook_format=get("webhook-format", "slack"),
        email_to=tuple(get("email-to", ())),
        email_from=get("email-from"),
        smtp_host=get("smtp-host"),
        smtp_port=get("smtp-port"),
        smtp_starttls=get("smtp-starttls", True),
        smtp_user=get("smtp-user"),
        smtp_password_env=get("smtp-password-env"),
        ca_file=get("ca-file"),
        timeout=float(get("timeout", _DEFAULT_TIMEOUT)),
        when=get("when", "always"),
    )
    _check_consistency(settings, source, table)
    return settings


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {str: "a string", list: "a list of strings", bool: "true or false", int: "a number"}
    if isinstance(expected, tuple):
        return "a number"
    return names.get(expected, expected.__name__)


def _check_consistency(s: NotifySettings, source: PurePath | str | None, table: str) -> None:
    def fail(message: str) -> None:
        raise InputError(f"{table}: {message}", source)

    if s.webhook is not None and s.webhook_env is not None:
        fail("set webhook or webhook-env, not both")
    if s.webhook is not None:
        parts = urlsplit(s.webhook)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            fail("webhook must be an http:// or https:// URL")
    for key, name in (("webhook-env", s.webhook_env), ("smtp-password-env", s.smtp_password_env)):
        if name is not None and not _ENV_NAME.match(name):
            fail(f"{key} must be the name of an environment variable, not a value")
    if not all(isinstance(a, str) for a in s.email_to):
        fail("email-to must be a list of strings")
    for address in (*s.email_to, *([s.email_from] if s.email_from is not None else [])):
        if not _looks_like_address(address):
            fail(f"{address!r} is not an email address")
    if s.email_to:
        if s.email_from is None:
            fail("email-to needs email-from")
        if s.smtp_host is None:
            fail("email-to needs smtp-host")
    elif any(v is not None for v in (s.email_from, s.smtp_host, s.smtp_user, s.smtp_password_env)):
        fail("email settings are set but email-to is empty or missing")
    if (s.smtp_user is None) != (s.smtp_password_env is None):
        fail("smtp-user and smtp-password-env go together")
    if s.smtp_port is not None and not 0 < s.smtp_port < 65536:
        fail("smtp-port must be between 1 and 65535")
    if not s.timeout > 0:
        fail("timeout must be a positive number of seconds")
    if s.webhook is None and s.webhook_env is None and not s.email_to:
        fail("nothing to notify: set webhook, webhook-env or email-to")


def _looks_like_address(address: str) -> bool:
    # A sanity check, not RFC 5322: catches a name without a domain and header injection.
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain) and not re.search(r"[\s<>,;]", address)


# --- sending --------------------------------------------------------------------------------


def send_notifications(
    report: Mapping[str, Any],
    settings: Mapping[str, Any] | NotifySettings,
    *,
    report_link: str | None,
    project: str | None = None,
    markdown: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Delivery]:
    """Announce the run to every configured target; never raises.

    ``report`` is the JSON report dict; ``report_link`` a URL (or path) of the branch, pull
    request or HTML report, shown when known; ``project`` names the application in subjects and
    headers; ``markdown`` (the Markdown report) is attached to emails. ``environ`` defaults to
    ``os.environ`` and is where secrets named by the settings are looked up.
    """
    env = os.environ if environ is None else environ
    try:
        config = settings if isinstance(settings, NotifySettings) else validate_settings(settings)
    except InputError as exc:
        log.warning("notifications not sent: %s", exc)
        return [Delivery("notify settings", ok=False, error=str(exc))]
    if not _wanted(config.when, report):
        log.info(
            "no notification: when = %r and the run's status is %r",
            config.when,
            report.get("status"),
        )
        return []
    deliveries = []
    if config.webhook is not None or config.webhook_env is not None:
        deliveries.append(
            _deliver_webhook(report, config, report_link=report_link, project=project, env=env)
        )
    if config.email_to:
        deliveries.append(
            _deliver_email(
                report,
                config,
                report_link=report_link,
                project=project,
                markdown=markdown,
                env=env,
            )
        )
    return deliveries


def _wanted(when: str, report: Mapping[str, Any]) -> bool:
    status = report.get("status")
    if when == "changes":
        return status != "nothing-to-do"
    if when == "problems":
        return status in ("held", "baseline-red") or bool(_by_status(report, "held"))
    return True


def _finish(target: str, error: str | None, secrets: Sequence[str]) -> Delivery:
    if error is None:
        log.info("notified %s", target)
        return Delivery(target, ok=True)
    clean = redact_text(error, [s for s in secrets if s])
    log.warning("notification to %s failed: %s", target, clean)
    return Delivery(target, ok=False, error=clean)


def _deliver_webhook(
    report: Mapping[str, Any],
    config: NotifySettings,
    *,
    report_link: str | None,
    project: str | None,
    env: Mapping[str, str],
) -> Delivery:
    url = config.webhook
    if config.webhook_env is not None:
        url = env.get(config.webhook_env, "").strip()
        if not url:
            return _finish(
                f"webhook from ${config.webhook_env}",
                f"environment variable {config.webhook_env} is not set",
                (),
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return _finish(
                f"webhook from ${config.webhook_env}",
                f"{config.webhook_env} does not hold an http:// or https:// URL",
                (url,),
            )
    if not url:  # validate_settings makes this unreachable; stay total anyway
        return _finish("webhook", "no webhook configured", ())
    target = f"webhook {_origin(url)}"
    parts = urlsplit(url)
    secrets = [url, parts.path, parts.query, parts.password or ""]
    try:
        if config.webhook_format == "slack":
            payload = slack_payload(report, report_link=report_link, project=project)
        else:
            payload = json_payload(report, report_link=report_link, project=project)
        import httpx

        verify: ssl.SSLContext | bool = (
            _ssl_context(config.ca_file) if parts.scheme == "https" else True
        )
        with (
            _redacting_logs(["httpx", "httpcore"], secrets),
            httpx.Client(timeout=config.timeout, verify=verify, follow_redirects=False) as client,
        ):
            response = client.post(
                url, json=payload, headers={"User-Agent": f"greenbump/{__version__}"}
            )
    except Exception as exc:  # a notification must never fail the run
        return _finish(target, f"{type(exc).__name__}: {exc}", secrets)
    if 200 <= response.status_code < 300:
        return _finish(target, None, secrets)
    body = " ".join(response.text.split())[:200]
    detail = f"HTTP {response.status_code} {response.reason_phrase}" + (f": {body}" if body else "")
    return _finish(target, detail, secrets)


class _Redact(logging.Filter):
    """Masks secrets in records as they pass a logger (httpx logs every request's full URL at
    INFO, and a webhook URL is a credential)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


@contextlib.contextmanager
def _redacting_logs(names: Sequence[str], secrets: Sequence[str]) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    redact = _Redact(secrets)
    for logger in loggers:
        logger.addFilter(redact)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redact)


def _origin(url: str) -> str:
    """What of a webhook URL may be shown: scheme, host and port; the path may be the token."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}/…"


def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """``ca-file`` when set, else ``SSL_CERT_FILE``/``SSL_CERT_DIR`` (as the index client does),
    else the certifi bundle httpx ships with."""
    import ssl

    import certifi

    if ca_file:
        return ssl.create_default_context(cafile=str(Path(ca_file).expanduser()))
    env_file = os.environ.get("SSL_CERT_FILE")
    env_dir = os.environ.get("SSL_CERT_DIR")
    if env_file or env_dir:
        return ssl.create_default_context(cafile=env_file or None, capath=env_dir or None)
    return ssl.create_default_context(cafile=certifi.where())


def _deliver_email(
    report: Mapping[str, Any],
    config: NotifySettings,
    *,
    report_link: str | None,
    project: str | None,
    markdown: str | None,
    env: Mapping[str, str],
) -> Delivery:
    host = config.smtp_host or "localhost"  # validate_settings requires smtp-host
    port = config.smtp_port or (587 if config.smtp_starttls else 25)
    target = f"email to {', '.join(config.email_to)} via {host}:{port}"
    password = ""
    if config.smtp_password_env is not None:
        password = env.get(config.smtp_password_env, "")
        if not password:
            return _finish(
                target, f"environment variable {config.smtp_password_env} is not set", ()
            )
    import base64
    import smtplib

    secrets = [password]
    if config.smtp_user and password:
        plain = f"\0{config.smtp_user}\0{password}".encode()
        secrets.append(base64.b64encode(plain).decode())  # AUTH PLAIN's wire form
        secrets.append(base64.b64encode(password.encode()).decode())  # AUTH LOGIN's
    try:
        message = _email_message(
            report, config, report_link=report_link, project=project, markdown=markdown
        )
        with smtplib.SMTP(host, port, timeout=config.timeout) as smtp:
            smtp.ehlo()
            if config.smtp_starttls:
                # Raises SMTPNotSupportedError when the relay does not offer STARTTLS: the
                # password is then never sent in clear text.
                smtp.starttls(context=_ssl_context(config.ca_file))
                smtp.ehlo()
            if config.smtp_user is not None:
                smtp.login(config.smtp_user, password)
            refused = smtp.send_message(message)
    except Exception as exc:  # a notification must never fail the run
        return _finish(target, f"{type(exc).__name__}: {exc}", secrets)
    if refused:
        return _finish(target, f"recipients refused: {', '.join(sorted(refused))}", secrets)
    return _finish(target, None, secrets)


def _email_message(
    report: Mapping[str, Any],
    config: NotifySettings,
    *,
    report_link: str | None,
    project: str | None,
    markdown: str | None,
) -> EmailMessage:
    import email.utils
    from email.message import EmailMessage

    sender = config.email_from or ""  # validate_settings requires email-from with email-to
    message = EmailMessage()
    message["Subject"] = _one_line(_headline(report, project))
    message["From"] = sender
    message["To"] = ", ".join(config.email_to)
    message["Date"] = email.utils.formatdate(usegmt=True)
    domain = sender.rpartition("@")[2] or None
    message["Message-ID"] = email.utils.make_msgid("greenbump", domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    message.set_content(summary_text(report, report_link=report_link, project=project))
    if markdown:
        message.add_attachment(markdown, subtype="markdown", filename="greenbump-report.md")
    return message


# --- message content ------------------------------------------------------------------------


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _by_status(report: Mapping[str, Any], *statuses: str) -> list[Mapping[str, Any]]:
    return [
        p
        for p in _list(report.get("packages"))
        if isinstance(p, Mapping) and p.get("status") in statuses
    ]


def _str(value: object) -> str:
    return "" if value is None else str(value)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _headline(report: Mapping[str, Any], project: str | None) -> str:
    """The subject line: counts and status only, so it reads well in an inbox or a channel."""
    upgraded = _by_status(report, "upgraded", "planned")
    held = _by_status(report, "held")
    status = _str(report.get("status"))
    prefix = f"[{_one_line(project)}] " if project else ""
    if status == "baseline-red":
        return f"{prefix}greenbump: tests fail before any upgrade; nothing was changed"
    verb = "planned" if report.get("dry_run") is True else "upgraded"
    if not upgraded and not held:
        return f"{prefix}greenbump: dependencies are up to date"
    counts = f"{len(upgraded)} {verb}"
    if held:
        counts += f", {len(held)} held back"
    return f"{prefix}greenbump: {counts}"


def _move(package: Mapping[str, Any]) -> str:
    text = f"{_str(package.get('name'))} {_str(package.get('from')) or '?'}"
    to = package.get("to")
    return f"{text} -> {to}" if to else text


def summary_text(
    report: Mapping[str, Any], *, report_link: str | None = None, project: str | None = None
) -> str:
    """A plain-text summary: the email body and the ``text`` of the JSON payload."""
    lines = [_headline(report, project), ""]
    facts = []
    if report.get("run_id"):
        facts.append(f"Run: {_str(report.get('run_id'))} started {_str(report.get('started'))}")
    if report.get("branch"):
        facts.append(f"Branch: {_str(report.get('branch'))}")
    if report_link:
        facts.append(f"Report: {report_link}")
    lines += [*facts, ""] if facts else []

    upgraded = _by_status(report, "upgraded", "planned")
    if upgraded:
        lines.append("Planned:" if report.get("dry_run") is True else "Upgraded:")
        for package in upgraded[:_LIST_LIMIT]:
            extra = f" ({package['kind']})" if package.get("kind") else ""
            fixed = [_str(a) for a in _list(package.get("advisories_fixed"))]
            if fixed:
                extra += f", fixes {', '.join(fixed)}"
            lines.append(f"  - {_move(package)}{extra}")
        if len(upgraded) > _LIST_LIMIT:
            lines.append(f"  ... and {len(upgraded) - _LIST_LIMIT} more")
        lines.append("")
    held = _by_status(report, "held")
    if held:
        lines.append("Held back:")
        for package in held[:_LIST_LIMIT]:
            wanted = package.get("to") or package.get("latest")
            name = f"{_str(package.get('name'))} {_str(package.get('from')) or '?'}"
            lines.append(f"  - {name}" + (f" (wanted {wanted})" if wanted else ""))
            if package.get("reason"):
                lines.append(f"    why: {_one_line(_str(package.get('reason')))}")
            failing = [_str(t) for t in _list(package.get("failing_tests"))]
            if failing:
                more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
                lines.append(f"    failing tests: {', '.join(failing[:5])}{more}")
            error_lines = _str(package.get("error")).strip().splitlines()[:6]
            lines += [f"    | {line}" for line in error_lines]
        if len(held) > _LIST_LIMIT:
            lines.append(f"  ... and {len(held) - _LIST_LIMIT} more")
        lines.append("")
    baseline = [_str(t) for t in _list(report.get("baseline_failures"))]
    if baseline:
        lines.append(f"Failing before any upgrade: {', '.join(baseline[:10])}")
        lines.append("")
    for note in _list(report.get("notes")):
        lines.append(f"Note: {_one_line(_str(note))}")
    tool = report.get("tool")
    version = _str(tool.get("version")) if isinstance(tool, Mapping) else ""
    lines += ["", f"-- greenbump {version}".rstrip()]
    return redact_text("\n".join(lines).strip() + "\n")


def _slack_escape(text: str) -> str:
    """Slack mrkdwn control characters; without this ``<!channel>`` or ``<url|x>`` in a
    package name or error would ping a channel or become a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_code(text: str) -> str:
    return "`" + _slack_escape(text.replace("`", "'")) + "`"


def _slack_section(title: str, items: Sequence[str]) -> dict[str, Any]:
    text = f"*{title}*"
    for i, item in enumerate(items):
        if len(text) + len(item) + 1 > _SLACK_SECTION_LIMIT:
            text += f"\n… and {len(items) - i} more"
            break
        text += "\n" + item
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def slack_payload(
    report: Mapping[str, Any], *, report_link: str | None = None, project: str | None = None
) -> dict[str, Any]:
    """A Slack incoming-webhook message (``text`` fallback plus Block Kit ``blocks``); also
    accepted by Mattermost, Rocket.Chat and Zulip's Slack-compatible endpoints."""
    headline = redact_text(_headline(report, project))
    link = ""
    if report_link:
        safe = _slack_escape(report_link.replace("|", "%7C"))
        link = f"<{safe}|report>" if "://" in report_link else _slack_escape(report_link)
    facts = []
    if report.get("branch"):
        facts.append(f"branch {_slack_code(_str(report.get('branch')))}")
    if link:
        facts.append(link)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}}
    ]
    if facts:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": " · ".join(facts)}})
    upgraded = _by_status(report, "upgraded", "planned")
    if upgraded:
        items = []
        for package in upgraded:
            item = (
                f"• {_slack_code(_str(package.get('name')))} "
                f"{_slack_escape(_str(package.get('from')) or '?')} → "
                f"{_slack_escape(_str(package.get('to')))}"
            )
            if package.get("kind"):
                item += f" ({_slack_escape(_str(package.get('kind')))})"
            fixed = [_str(a) for a in _list(package.get("advisories_fixed"))]
            if fixed:
                item += ", fixes " + ", ".join(_slack_escape(a) for a in fixed)
            items.append(item)
        title = "Planned" if report.get("dry_run") is True else "Upgraded"
        blocks.append(_slack_section(title, items))
    held = _by_status(report, "held")
    if held:
        items = []
        for package in held:
            item = (
                f"• {_slack_code(_str(package.get('name')))} "
                f"{_slack_escape(_str(package.get('from')) or '?')}"
            )
            reason = _one_line(redact_text(_str(package.get("reason"))))
            if reason:
                item += f": {_slack_escape(reason)}"
            failing = [_str(t) for t in _list(package.get("failing_tests"))]
            if failing:
                item += " (failing: " + ", ".join(_slack_code(t) for t in failing[:3])
                item += f" +{len(failing) - 3})" if len(failing) > 3 else ")"
            items.append(item)
        blocks.append(_slack_section("Held back", items))
    tool = report.get("tool")
    version = _str(tool.get("version")) if isinstance(tool, Mapping) else ""
    context = f"greenbump {version} · run {_str(report.get('run_id'))}"
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(context)}]}
    )
    fallback = _slack_escape(headline) + (f" · {link}" if link else "")
    return {"text": fallback, "blocks": blocks}


def json_payload(
    report: Mapping[str, Any], *, report_link: str | None = None, project: str | None = None
) -> dict[str, Any]:
    """The run summary as generic JSON, for webhooks that are not chat rooms (an internal
    dashboard, a workflow engine): counts and the packages that moved or were held."""
    upgraded = _by_status(report, "upgraded", "planned")
    held = _by_status(report, "held")
    runs = [r for r in _list(report.get("test_runs")) if isinstance(r, Mapping)]
    return {
        "event": "greenbump.upgrade",
        "schema_version": report.get("schema_version"),
        "tool": report.get("tool"),
        "project": project,
        "run_id": report.get("run_id"),
        "started": report.get("started"),
        "status": report.get("status"),
        "dry_run": report.get("dry_run"),
        "branch": report.get("branch"),
        "commits": _list(report.get("commits")),
        "report_link": report_link,
        "counts": {
            "upgraded": len(upgraded),
            "held": len(held),
            "unchanged": len(_by_status(report, "unchanged")),
            "advisories_fixed": sum(len(_list(p.get("advisories_fixed"))) for p in upgraded),
            "test_runs": len(runs),
            "test_runs_passed": sum(1 for r in runs if r.get("passed") is True),
        },
        "upgraded": [
            {
                "name": p.get("name"),
                "from": p.get("from"),
                "to": p.get("to"),
                "kind": p.get("kind"),
                "advisories_fixed": _list(p.get("advisories_fixed")),
            }
            for p in upgraded
        ],
        "held": [
            {
                "name": p.get("name"),
                "from": p.get("from"),
                "latest": p.get("latest"),
                "reason": redact_text(_str(p.get("reason"))),
                "failing_tests": _list(p.get("failing_tests")),
            }
            for p in held
        ],
        "text": summary_text(report, report_link=report_link, project=project),
    }
