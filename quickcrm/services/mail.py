"""Sending mail: one message through one SMTP conversation (the standard library's smtplib
and email.message), configured by ``MAIL_URL`` and ``MAIL_FROM`` (docs/mail.md).

``MAIL_URL`` says how to reach the server:

- ``smtp://host:25`` — no user: a plain conversation, for a relay on this machine or the
  private network (no password crosses it).
- ``smtp://user:pass@host:587`` — a user: STARTTLS is **required** before signing in; a
  server that does not offer it gets no password and the message is not sent.
- ``smtps://user:pass@host:465`` — TLS from the first byte (implicit TLS); the user is
  optional.

The user and password are percent-decoded (``%40`` for ``@``, ``%3A`` for ``:``). The
server's certificate is checked against the system's authorities, or ``MAIL_CA_FILE``
(a PEM file) for a private relay with a certificate of its own.

``send`` never raises: a server that is down, refuses, or does not answer within
``MAIL_TIMEOUT`` seconds makes it return False and write one line to the ``quickcrm.mail``
log (never the password) — the person asking for a mail gets the same answer either way.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger("quickcrm.mail")

DEFAULT_TIMEOUT = 10.0
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class Server:
    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None = None

    def __str__(self) -> str:  # what the log says: never the password
        return f"{self.scheme}://{self.host}:{self.port}"


class MailError(Exception):
    """A setting or message this module refuses before talking to a server."""


def mail_configured(config: Mapping[str, Any]) -> bool:
    """Whether mail can be sent: a server and a sender are both set."""
    return bool(config.get("MAIL_URL")) and bool(config.get("MAIL_FROM"))


def parse_url(url: str) -> Server:
    """``MAIL_URL`` read into a ``Server``; MailError (without the URL, which may hold a
    password) if it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise MailError("MAIL_URL is not a URL with a valid port") from error
    if parts.scheme not in DEFAULT_PORTS:
        raise MailError("MAIL_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise MailError("MAIL_URL has no host")
    return Server(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def build_message(
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A message with plain text (and an HTML alternative), a Message-ID and a Date, and
    ``headers`` of the caller's (a reminder's List-Unsubscribe). MailError for a header
    that carries a line break (header injection) or a recipient that is not one address."""
    extra = dict(headers or {})
    for name, value in (("From", sender), ("To", to), ("Subject", subject), *extra.items()):
        if "\r" in value or "\n" in value:
            raise MailError(f"{name} contains a line break")
    if "@" not in parseaddr(to)[1] or "," in to:
        raise MailError("To is not one address")
    message = EmailMessage()
    try:
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
    except ValueError as error:  # EmailMessage's own refusal of what slipped through
        raise MailError(str(error)) from error
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    for name, value in extra.items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send(
    config: Mapping[str, Any], to: str, subject: str, text: str, html: str | None = None
) -> bool:
    """Send one message to ``to``; True if the server accepted it. Never raises: any
    failure is one line in the ``quickcrm.mail`` log and False."""
    return attempt(config, to, subject, text, html) is None


@dataclass(frozen=True)
class Failure:
    """Why a message was not sent, in one line without the password; ``server`` when the
    server itself failed (down, silent, TLS, sign-in, a setting) rather than this message
    or its recipient — the next message would fail alike."""

    reason: str
    server: bool


def attempt(
    config: Mapping[str, Any],
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Failure | None:
    """``send`` for a caller that records why a message did not go (the reminders): None
    when the server accepted it, else the ``Failure``. Never raises; a failure is also one
    line in the ``quickcrm.mail`` log."""
    server = None
    try:
        if not mail_configured(config):
            raise MailError("mail is not configured (MAIL_URL and MAIL_FROM)")
        server = parse_url(config["MAIL_URL"])
        message = build_message(config["MAIL_FROM"], to, subject, text, html, headers)
    except Exception as error:  # noqa: BLE001 - the caller's answer must not depend on mail
        return _failed(subject, to, server, error, server_failed=server is None)
    try:
        _deliver(server, message, config)
    except Exception as error:  # noqa: BLE001
        return _failed(subject, to, server, error, server_failed=_server_failed(error))
    return None


def _server_failed(error: Exception) -> bool:
    """Whether ``error`` says the server failed (any message would) rather than refused
    this message or its recipient."""
    if isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError):
        return False
    return not isinstance(error, MailError) or "STARTTLS" in str(error)


def _failed(subject: str, to: str, server: Server | None, error: Exception, *, server_failed: bool):
    reason = _without_password(f"{type(error).__name__}: {error}", server)
    reason = " ".join(reason.split())
    log.warning("Mail %r to %r not sent via %s: %s", subject, to, server or "(no server)", reason)
    return Failure(reason=reason, server=server_failed)


def _deliver(server: Server, message: EmailMessage, config: Mapping[str, Any]) -> None:
    timeout = float(config.get("MAIL_TIMEOUT") or DEFAULT_TIMEOUT)
    context = ssl.create_default_context(cafile=config.get("MAIL_CA_FILE") or None)
    if server.scheme == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            server.host, server.port, timeout=timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
    with smtp:
        smtp.ehlo()
        if server.scheme == "smtp" and server.user is not None:
            if not smtp.has_extn("starttls"):
                raise MailError("the server does not offer STARTTLS: the password is not sent")
            smtp.starttls(context=context)
            smtp.ehlo()
        if server.user is not None:
            smtp.login(server.user, server.password or "")
        envelope_from = parseaddr(message["From"])[1]
        envelope_to = parseaddr(message["To"])[1]
        smtp.send_message(message, from_addr=envelope_from, to_addrs=[envelope_to])


def _without_password(text: str, server: Server | None) -> str:
    if server is not None and server.password:
        text = text.replace(server.password, "***")
    return text


def send_later(
    config: Mapping[str, Any], to: str, subject: str, text: str, html: str | None = None
) -> threading.Thread:
    """``send`` on a thread of its own, so the request's answer (and its time) never
    depends on the mail server: *Forgot password* answers alike for every address."""
    settings = dict(config)
    thread = threading.Thread(
        target=send, args=(settings, to, subject, text, html), name="quickcrm-mail", daemon=True
    )
    thread.start()
    return thread
