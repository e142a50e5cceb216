"""Notifications against real servers on 127.0.0.1: an http.server webhook receiver and an
aiosmtpd mail relay (plain AUTH, and STARTTLS with a certificate made for the test).

Besides "the message arrives in the right shape", these tests pin the two promises of
greenbump.notify: a failed delivery is returned, never raised, and no credential (SMTP
password, webhook token) shows up in a Delivery or in any log record.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from greenbump.errors import InputError
from greenbump.notify import (
    Delivery,
    NotifySettings,
    send_notifications,
    summary_text,
    validate_settings,
)

aiosmtpd_controller = pytest.importorskip(
    "aiosmtpd.controller", reason="aiosmtpd is a test extra: pip install aiosmtpd"
)
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

from certs import self_signed  # noqa: E402

PASSWORD = "hunter2-Sup3rSecret"
TOKEN = "XoXb9f8e7d6c5b4a3"  # the secret part of a Slack-style webhook path
HOSTILE = "<!channel> <https://evil.example|click>"


def report(**changes: Any) -> dict[str, Any]:
    """An upgrade report in the shape of upgradereport.to_json."""
    base: dict[str, Any] = {
        "schema_version": 1,
        "tool": {"name": "greenbump", "version": "0.1.0"},
        "run_id": "14e5283e",
        "started": "2026-11-27T03:30:00+00:00",
        "status": "upgraded",
        "dry_run": False,
        "branch": "greenbump/2026-11-27-14e5283e",
        "commits": ["9f1c2ab"],
        "baseline_failures": [],
        "durations": {"read": 0.01, "test": 12.0},
        "packages": [
            {
                "name": "jinja2",
                "from": "3.1.3",
                "to": "3.1.6",
                "latest": "3.1.6",
                "kind": "patch",
                "files": ["requirements.txt"],
                "status": "upgraded",
                "reason": "latest allowed",
                "failing_tests": [],
                "error": "",
                "advisories_fixed": ["GHSA-h75v-3vvj-5mfj"],
                "commit": "9f1c2ab",
            },
            {
                "name": "sqlalchemy",
                "from": "1.4.52",
                "to": None,
                "latest": "2.0.36",
                "kind": None,
                "files": ["requirements.txt"],
                "status": "held",
                "reason": "tests fail with 2.0.36",
                "failing_tests": ["tests/test_db.py::test_rollback"],
                "error": "E   RemovedIn20Warning: Query.get() is legacy",
                "advisories_fixed": [],
                "commit": None,
            },
            {
                "name": HOSTILE,
                "from": "1.0",
                "to": "2.0",
                "kind": "major",
                "status": "upgraded",
                "advisories_fixed": [],
            },
        ],
        "test_runs": [
            {"pins": {"jinja2": "3.1.6"}, "passed": True, "duration": 5.0, "env_seconds": 1.0}
        ],
        "notes": [],
    }
    base.update(changes)
    return base


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _secrets_absent(deliveries: list[Delivery], caplog: pytest.LogCaptureFixture) -> None:
    everything = repr(deliveries) + caplog.text
    everything += "".join(str(r.args) for r in caplog.records)
    for secret in (PASSWORD, TOKEN):
        assert secret not in everything


# --- the webhook receiver -------------------------------------------------------------------


@dataclass
class Webhook:
    """A running receiver: what it got, and what it answers."""

    server: ThreadingHTTPServer
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    status: int = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/{TOKEN}"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hook.received.append((self.path, dict(self.headers.items()), body))
            answer = b"ok" if hook.status < 300 else b"internal_error: no_service"
            self.send_response(hook.status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    hook = Webhook(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    thread = threading.Thread(target=hook.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()
    thread.join(5)


def test_slack_webhook(webhook: Webhook, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    link = "https://git.example/app/compare/main...greenbump/x?a=1&b=2"
    deliveries = send_notifications(
        report(), {"webhook": webhook.url}, report_link=link, project="billing"
    )
    assert [d.ok for d in deliveries] == [True]
    assert deliveries[0].error == ""
    assert deliveries[0].target.startswith("webhook http://127.0.0.1:")
    (path, headers, body) = webhook.received[0]
    assert path.endswith(TOKEN)
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert set(payload) == {"text", "blocks"}
    assert payload["text"].startswith("[billing] greenbump: 2 upgraded, 1 held back")
    assert [b["type"] for b in payload["blocks"]] == [
        "header",
        "section",
        "section",
        "section",
        "context",
    ]
    assert payload["blocks"][0]["text"]["type"] == "plain_text"
    sections = "\n".join(b["text"]["text"] for b in payload["blocks"][1:4])
    assert "<https://git.example/app/compare/main...greenbump/x?a=1&amp;b=2|report>" in sections
    assert "`jinja2` 3.1.3 → 3.1.6 (patch), fixes GHSA-h75v-3vvj-5mfj" in sections
    assert "`sqlalchemy` 1.4.52: tests fail with 2.0.36" in sections
    # A hostile name cannot ping the channel or smuggle a link: Slack's control characters
    # are escaped everywhere.
    assert "&lt;!channel&gt; &lt;https://evil.example|click&gt;" in sections
    assert "<!channel>" not in body.decode()
    _secrets_absent(deliveries, caplog)


def test_json_webhook(webhook: Webhook) -> None:
    deliveries = send_notifications(
        report(),
        {"webhook": webhook.url, "webhook-format": "json"},
        report_link=None,
    )
    assert deliveries == [Delivery(deliveries[0].target, ok=True)]
    payload = json.loads(webhook.received[0][2])
    assert payload["event"] == "greenbump.upgrade"
    assert payload["status"] == "upgraded"
    assert payload["branch"] == "greenbump/2026-11-27-14e5283e"
    assert payload["counts"] == {
        "upgraded": 2,
        "held": 1,
        "unchanged": 0,
        "advisories_fixed": 1,
        "test_runs": 1,
        "test_runs_passed": 1,
    }
    assert payload["upgraded"][0] == {
        "name": "jinja2",
        "from": "3.1.3",
        "to": "3.1.6",
        "kind": "patch",
        "advisories_fixed": ["GHSA-h75v-3vvj-5mfj"],
    }
    assert payload["held"][0]["failing_tests"] == ["tests/test_db.py::test_rollback"]
    assert "Held back:" in payload["text"]


def test_webhook_answering_500_is_a_failed_delivery(
    webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    webhook.status = 500
    deliveries = send_notifications(report(), {"webhook": webhook.url}, report_link=None)
    assert len(deliveries) == 1
    assert not deliveries[0].ok
    assert "HTTP 500" in deliveries[0].error
    assert "internal_error: no_service" in deliveries[0].error
    assert "failed" in caplog.text
    _secrets_absent(deliveries, caplog)


def test_webhook_down_is_a_failed_delivery(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{_free_port()}/services/T000/B000/{TOKEN}"
    deliveries = send_notifications(report(), {"webhook": url, "timeout": 5}, report_link=None)
    assert len(deliveries) == 1
    assert not deliveries[0].ok
    assert "ConnectError" in deliveries[0].error
    assert deliveries[0].target == f"webhook {url.split('/services', maxsplit=1)[0]}/…"
    _secrets_absent(deliveries, caplog)


def test_webhook_url_from_the_environment(
    webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = {"webhook-env": "CHAT_HOOK"}
    missing = send_notifications(report(), settings, report_link=None, environ={})
    assert [(d.ok, d.error) for d in missing] == [
        (False, "environment variable CHAT_HOOK is not set")
    ]
    assert webhook.received == []
    sent = send_notifications(
        report(), settings, report_link=None, environ={"CHAT_HOOK": webhook.url}
    )
    assert [d.ok for d in sent] == [True]
    assert len(webhook.received) == 1
    _secrets_absent(missing + sent, caplog)


def test_when_changes_skips_quiet_runs(webhook: Webhook) -> None:
    quiet = report(status="nothing-to-do", packages=[])
    settings = {"webhook": webhook.url, "when": "changes"}
    assert send_notifications(quiet, settings, report_link=None) == []
    assert webhook.received == []
    problems = {"webhook": webhook.url, "when": "problems"}
    assert [d.ok for d in send_notifications(report(), problems, report_link=None)] == [True]


# --- the mail relay -------------------------------------------------------------------------


@dataclass
class Relay:
    """A running aiosmtpd relay and what it saw."""

    host: str
    port: int
    messages: list[tuple[str, list[str], EmailMessage, bool]] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (user, accepted)


class _Handler:
    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        tls = session.ssl is not None
        self.relay.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed, tls))
        return "250 OK"


def _authenticator(relay: Relay) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = data.login == b"greenbump" and data.password == PASSWORD.encode()
        relay.logins.append((data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535

    return check


@pytest.fixture
def start_relay() -> Iterator[Callable[..., Relay]]:
    """A factory: ``start_relay(**aiosmtpd SMTP options)`` -> a relay on 127.0.0.1."""
    controllers: list[Any] = []

    def start(**options: Any) -> Relay:
        relay = Relay("127.0.0.1", _free_port())
        controller = aiosmtpd_controller.Controller(
            _Handler(relay),
            hostname=relay.host,
            port=relay.port,
            authenticator=_authenticator(relay),
            **options,
        )
        controller.start()
        controllers.append(controller)
        return relay

    yield start
    for controller in controllers:
        controller.stop()


def _mail_settings(relay: Relay, **changes: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "email-to": ["team@example.com", "ops@example.com"],
        "email-from": "greenbump@example.com",
        "smtp-host": relay.host,
        "smtp-port": relay.port,
        "smtp-starttls": False,
        "smtp-user": "greenbump",
        "smtp-password-env": "GREENBUMP_SMTP_PASSWORD",
        "timeout": 10,
    }
    settings.update(changes)
    return settings


ENV = {"GREENBUMP_SMTP_PASSWORD": PASSWORD}


def test_email_with_auth(
    start_relay: Callable[..., Relay], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    relay = start_relay(auth_require_tls=False)
    markdown = "# Dependency upgrades\n\n| package | from | to |\n"
    deliveries = send_notifications(
        report(),
        _mail_settings(relay),
        report_link="https://ci.example/runs/7/report.html",
        project="billing",
        markdown=markdown,
        environ=ENV,
    )
    assert [(d.ok, d.error) for d in deliveries] == [(True, "")]
    assert deliveries[0].target == (
        f"email to team@example.com, ops@example.com via 127.0.0.1:{relay.port}"
    )
    assert relay.logins == [("greenbump", True)]
    sender, recipients, message, _ = relay.messages[0]
    assert sender == "greenbump@example.com"
    assert recipients == ["team@example.com", "ops@example.com"]
    assert message["Subject"] == "[billing] greenbump: 2 upgraded, 1 held back"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Report: https://ci.example/runs/7/report.html" in text
    assert "jinja2 3.1.3 -> 3.1.6 (patch), fixes GHSA-h75v-3vvj-5mfj" in text
    assert "failing tests: tests/test_db.py::test_rollback" in text
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["greenbump-report.md"]
    assert attachments[0].get_content_type() == "text/markdown"
    assert attachments[0].get_content().replace("\r\n", "\n") == markdown  # SMTP uses CRLF
    _secrets_absent(deliveries, caplog)


def test_email_wrong_password_is_a_failed_delivery(
    start_relay: Callable[..., Relay], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    relay = start_relay(auth_require_tls=False)
    wrong = PASSWORD + "-old"
    deliveries = send_notifications(
        report(),
        _mail_settings(relay),
        report_link=None,
        environ={"GREENBUMP_SMTP_PASSWORD": wrong},
    )
    assert len(deliveries) == 1
    assert not deliveries[0].ok
    assert "SMTPAuthenticationError" in deliveries[0].error
    assert relay.messages == []
    assert wrong not in repr(deliveries) + caplog.text
    _secrets_absent(deliveries, caplog)


def test_missing_password_variable(start_relay: Callable[..., Relay]) -> None:
    relay = start_relay(auth_require_tls=False)
    deliveries = send_notifications(report(), _mail_settings(relay), report_link=None, environ={})
    assert [(d.ok, d.error) for d in deliveries] == [
        (False, "environment variable GREENBUMP_SMTP_PASSWORD is not set")
    ]
    assert relay.logins == []


def test_starttls_not_offered_means_no_password_on_the_wire(
    start_relay: Callable[..., Relay], caplog: pytest.LogCaptureFixture
) -> None:
    """smtp-starttls = true against a relay without TLS: fail before AUTH, never downgrade."""
    caplog.set_level(logging.DEBUG)
    relay = start_relay(auth_require_tls=False)
    deliveries = send_notifications(
        report(), _mail_settings(relay, **{"smtp-starttls": True}), report_link=None, environ=ENV
    )
    assert not deliveries[0].ok
    assert "STARTTLS" in deliveries[0].error
    assert relay.logins == []
    assert relay.messages == []
    _secrets_absent(deliveries, caplog)


def test_email_over_starttls(
    start_relay: Callable[..., Relay], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    relay = start_relay(tls_context=server_tls, require_starttls=True, auth_require_tls=True)
    settings = _mail_settings(relay, **{"smtp-starttls": True, "ca-file": str(cert)})
    deliveries = send_notifications(report(), settings, report_link=None, environ=ENV)
    assert [(d.ok, d.error) for d in deliveries] == [(True, "")]
    assert relay.logins == [("greenbump", True)]
    assert [tls for *_, tls in relay.messages] == [True]
    _secrets_absent(deliveries, caplog)

    # Without the test CA the relay's certificate is not trusted: no mail, no exception.
    untrusted = _mail_settings(relay, **{"smtp-starttls": True})
    failed = send_notifications(report(), untrusted, report_link=None, environ=ENV)
    assert not failed[0].ok
    assert "CERTIFICATE_VERIFY_FAILED" in failed[0].error
    assert len(relay.messages) == 1


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("https://hooks.example", "must be a table"),
        ({"webhok": "https://x.example/h"}, "unknown key 'webhok'; did you mean 'webhook'?"),
        ({"colour": "red", "webhook": "https://x.example/h"}, "unknown key 'colour' (known:"),
        ({"smtp-password": "x", "email-to": []}, "never put a password in a settings file"),
        ({"webhook": "ftp://x.example/h"}, "webhook must be an http:// or https:// URL"),
        ({"webhook": 3}, "webhook must be a string, not int"),
        ({"webhook": "https://x.example/h", "webhook-format": "teams"}, "slack, json"),
        ({"webhook": "https://x.example/h", "webhook-env": "H"}, "not both"),
        ({"webhook-env": "https://x.example/h"}, "name of an environment variable"),
        ({"webhook": "https://x.example/h", "timeout": True}, "timeout must be a number"),
        ({"webhook": "https://x.example/h", "timeout": 0}, "positive"),
        ({"webhook": "https://x.example/h", "when": "sometimes"}, "always, changes, problems"),
        ({"email-to": "a@example.com"}, "email-to must be a list of strings, not str"),
        ({"email-to": [1]}, "email-to must be a list of strings"),
        ({"email-to": ["nobody"]}, "'nobody' is not an email address"),
        ({"email-to": ["a@example.com"], "smtp-host": "h"}, "email-to needs email-from"),
        ({"email-to": ["a@example.com"], "email-from": "b@example.com"}, "needs smtp-host"),
        ({"smtp-host": "h"}, "email-to is empty or missing"),
        (
            {
                "email-to": ["a@example.com"],
                "email-from": "b@example.com",
                "smtp-host": "h",
                "smtp-user": "u",
            },
            "smtp-user and smtp-password-env go together",
        ),
        (
            {
                "email-to": ["a@example.com"],
                "email-from": "b@example.com",
                "smtp-host": "h",
                "smtp-port": "587",
            },
            "smtp-port must be a number, not str",
        ),
        (
            {
                "email-to": ["a@example.com"],
                "email-from": "b@example.com",
                "smtp-host": "h",
                "smtp-starttls": "yes",
            },
            "smtp-starttls must be true or false",
        ),
        ({}, "nothing to notify"),
    ],
)
def test_invalid_settings(settings: Any, message: str) -> None:
    with pytest.raises(InputError) as caught:
        validate_settings(settings, "pyproject.toml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("pyproject.toml: [tool.greenbump.notify]")


def test_valid_settings() -> None:
    settings = validate_settings(
        {
            "webhook-env": "SLACK_HOOK",
            "email-to": ["team@example.com"],
            "email-from": "bot@example.com",
            "smtp-host": "smtp.example.com",
            "smtp-user": "bot",
            "smtp-password-env": "SMTP_PASSWORD",
            "timeout": 2.5,
        }
    )
    assert settings == NotifySettings(
        webhook_env="SLACK_HOOK",
        email_to=("team@example.com",),
        email_from="bot@example.com",
        smtp_host="smtp.example.com",
        smtp_user="bot",
        smtp_password_env="SMTP_PASSWORD",
        timeout=2.5,
    )


def test_bad_settings_at_send_time_are_a_failed_delivery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deliveries = send_notifications(report(), {"smtp-password": PASSWORD}, report_link=None)
    assert [(d.target, d.ok) for d in deliveries] == [("notify settings", False)]
    assert "smtp-password-env" in deliveries[0].error
    _secrets_absent(deliveries, caplog)


def test_summary_text() -> None:
    text = summary_text(
        report(status="baseline-red", packages=[], baseline_failures=["t::a"]), project="app"
    )
    assert text.startswith("[app] greenbump: tests fail before any upgrade; nothing was changed")
    assert "Failing before any upgrade: t::a" in text
    dry = summary_text(report(dry_run=True, status="planned"))
    assert dry.startswith("greenbump: 2 planned, 1 held back")
    assert "Planned:" in dry
