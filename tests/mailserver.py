"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1 and a free port, in a thread,
keeping what it receives (never a mock of smtplib). The ``smtp_server`` and ``mail_app``
fixtures (tests/conftest.py) start one per test; ``running_smtp`` starts one with other
settings (TLS, sign-in)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

HOSTNAME = "127.0.0.1"
SENDER = "QuickCRM <crm@example.test>"


@dataclass
class Received:
    """One message as the server got it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class MailHandler:
    """aiosmtpd's handler: keeps every message; answers 550 to every recipient while
    ``refuse_recipients`` is set."""

    messages: list[Received] = field(default_factory=list)
    refuse_recipients: bool = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.refuse_recipients:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    hostname: str
    port: int
    handler: MailHandler
    scheme: str = "smtp"

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def url(self, user: str | None = None, password: str | None = None) -> str:
        """The MAIL_URL that reaches this server (user and password already quoted)."""
        credentials = f"{user}:{password}@" if user is not None else ""
        return f"{self.scheme}://{credentials}{self.hostname}:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOSTNAME, 0))
        return sock.getsockname()[1]


@contextmanager
def running_smtp(scheme: str = "smtp", **smtp_settings) -> Iterator[SmtpServer]:
    """An aiosmtpd server for the duration of the block; ``smtp_settings`` go to aiosmtpd
    (``ssl_context`` for implicit TLS, ``tls_context``/``authenticator`` for STARTTLS and
    sign-in)."""
    handler = MailHandler()
    port = free_port()
    controller = Controller(handler, hostname=HOSTNAME, port=port, **smtp_settings)
    controller.start()
    try:
        yield SmtpServer(HOSTNAME, port, handler, scheme)
    finally:
        controller.stop()


def accept_only(user: str, password: str):
    """An aiosmtpd authenticator that signs in ``user`` with ``password`` and no one else;
    the attempts it saw are kept in its ``tried`` list."""
    tried: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        login, secret = auth_data.login.decode(), auth_data.password.decode()
        tried.append((login, secret))
        # handled=False: aiosmtpd then answers 535 itself (its default, handled=True,
        # would leave the client waiting for an answer that never comes)
        return AuthResult(success=(login, secret) == (user, password), handled=False)

    authenticator.tried = tried
    return authenticator


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by the openssl command (PEM files)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-nodes", "-days", "1",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(key), "-out", str(cert),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
