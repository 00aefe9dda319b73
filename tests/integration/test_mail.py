"""Mail through a real SMTP conversation (aiosmtpd on 127.0.0.1, tests/mailserver.py):
what arrives, and every way a server can fail — each a False and one log line, never an
exception to the caller."""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
from urllib.parse import quote

import pytest

from quickcrm.services import mail
from tests.mailserver import HOSTNAME, SENDER, accept_only, free_port, running_smtp
from tests.mailserver import self_signed_certificate as make_certificate

TO = "Rita Rep <rita@example.test>"
PASSWORD = "p@ss:w/rd%+ #?"


def config(url: str, **more) -> dict:
    return {"MAIL_URL": url, "MAIL_FROM": SENDER, "MAIL_TIMEOUT": 5, **more}


def mail_log(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "quickcrm.mail"]


@pytest.fixture
def caught(caplog):
    caplog.set_level(logging.WARNING, logger="quickcrm.mail")
    return caplog


def test_a_message_arrives_with_its_headers_text_and_html(mail_app, smtp_server, caught):
    sent = mail.send(
        mail_app.config,
        TO,
        "Choose your password — Café",
        "Open this link: https://crm.example.test/p/abc\n",
        "<p>Open <a href='https://crm.example.test/p/abc'>this link</a></p>",
    )

    assert sent is True
    assert mail_log(caught) == []
    [received] = smtp_server.messages
    assert received.mail_from == "crm@example.test"
    assert received.rcpt_tos == ["rita@example.test"]
    message = received.message
    assert message["Subject"] == "Choose your password — Café"
    assert message["From"] == SENDER
    assert message["To"] == TO
    assert message["Message-ID"].endswith("@example.test>")
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert (
        text.get_content().replace("\r\n", "\n")
        == "Open this link: https://crm.example.test/p/abc\n"
    )
    assert "<a href='https://crm.example.test/p/abc'>" in html.get_content()


def test_a_plain_text_message_has_no_html_part(mail_app, smtp_server):
    assert mail.send(mail_app.config, "rita@example.test", "Hello", "Just text\n")

    [received] = smtp_server.messages
    assert received.message.get_content_type() == "text/plain"
    assert received.message.get_content().replace("\r\n", "\n") == "Just text\n"


def test_a_server_that_is_down_gives_false_and_a_log_line(caught):
    url = f"smtp://{HOSTNAME}:{free_port()}"

    assert mail.send(config(url), TO, "Hello", "text") is False

    [line] = mail_log(caught)
    assert "not sent" in line
    assert f"{HOSTNAME}:" in line
    assert "ConnectionRefusedError" in line


def test_a_server_that_never_answers_times_out(caught):
    with socket.socket() as silent:  # accepts connections (the backlog) and says nothing
        silent.bind((HOSTNAME, 0))
        silent.listen()
        url = f"smtp://{HOSTNAME}:{silent.getsockname()[1]}"

        assert mail.send(config(url, MAIL_TIMEOUT=0.3), TO, "Hello", "text") is False

    [line] = mail_log(caught)
    assert "timed out" in line


def test_a_refused_recipient_gives_false_and_a_log_line(smtp_server, caught):
    smtp_server.handler.refuse_recipients = True

    assert mail.send(config(smtp_server.url()), TO, "Hello", "text") is False

    assert smtp_server.messages == []
    [line] = mail_log(caught)
    assert "550" in line
    assert "SMTPRecipientsRefused" in line


@pytest.mark.parametrize(
    ("to", "subject"),
    [
        (TO, "Hello\r\nBcc: victim@example.test"),
        (TO, "Hello\nBcc: victim@example.test"),
        ("rita@example.test\r\nBcc: victim@example.test", "Hello"),
        ("rita@example.test, victim@example.test", "Hello"),
        ("not an address", "Hello"),
    ],
)
def test_line_breaks_and_extra_recipients_are_refused_unsent(smtp_server, caught, to, subject):
    assert mail.send(config(smtp_server.url()), to, subject, "text") is False

    assert smtp_server.messages == []
    [line] = mail_log(caught)
    assert "MailError" in line
    assert "\r" not in line and "\n" not in line  # the log keeps one line a failure


def test_without_mail_settings_nothing_is_sent(caught):
    assert mail.mail_configured({"MAIL_URL": None, "MAIL_FROM": None}) is False
    assert mail.mail_configured({"MAIL_URL": "smtp://localhost", "MAIL_FROM": None}) is False
    assert mail.mail_configured(config("smtp://localhost")) is True
    assert mail.send({"MAIL_URL": None, "MAIL_FROM": None}, TO, "Hello", "text") is False
    assert "not configured" in mail_log(caught)[0]


def test_the_app_has_no_mail_until_configured(app):
    assert app.config["MAIL_URL"] is None
    assert mail.mail_configured(app.config) is False


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("smtp://relay.local", mail.Server("smtp", "relay.local", 25, None)),
        ("smtps://mail.example.com", mail.Server("smtps", "mail.example.com", 465, None)),
        (
            f"smtp://{quote('crm@example.com', safe='')}:{quote(PASSWORD, safe='')}"
            "@smtp.gmail.com:587",
            mail.Server("smtp", "smtp.gmail.com", 587, "crm@example.com", PASSWORD),
        ),
    ],
)
def test_the_url_is_read_with_user_and_password_decoded(url, server):
    assert mail.parse_url(url) == server


@pytest.mark.parametrize("url", ["http://host", "smtp://", "smtp://host:99999", "smtp:host"])
def test_a_url_that_is_not_a_mail_server_is_refused_in_the_log(url, caught):
    assert mail.send(config(url), TO, "Hello", "text") is False
    assert "MailError" in mail_log(caught)[0]


# --- TLS: a certificate made by the openssl command, trusted through MAIL_CA_FILE ---

needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="the openssl command makes the test certificate"
)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


def server_context(certificate) -> ssl.SSLContext:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@needs_openssl
def test_smtps_sends_over_implicit_tls(certificate, caught):
    with running_smtp("smtps", ssl_context=server_context(certificate)) as server:
        settings = config(server.url(), MAIL_CA_FILE=str(certificate[0]))
        assert mail.send(settings, TO, "Over TLS", "text") is True

        [received] = server.messages
    assert received.message["Subject"] == "Over TLS"
    assert mail_log(caught) == []


@needs_openssl
def test_smtps_refuses_a_certificate_it_cannot_check(certificate, caught):
    with running_smtp("smtps", ssl_context=server_context(certificate)) as server:
        assert mail.send(config(server.url()), TO, "Over TLS", "text") is False
        assert server.messages == []
    assert "CERTIFICATE_VERIFY_FAILED" in mail_log(caught)[0]


@needs_openssl
def test_a_user_signs_in_after_starttls_with_the_decoded_password(certificate, caught):
    authenticator = accept_only("crm@example.com", PASSWORD)
    with running_smtp(
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    ) as server:
        url = server.url(quote("crm@example.com", safe=""), quote(PASSWORD, safe=""))
        settings = config(url, MAIL_CA_FILE=str(certificate[0]))

        assert mail.send(settings, TO, "Signed in", "text") is True

        assert [m.message["Subject"] for m in server.messages] == ["Signed in"]
    assert authenticator.tried == [("crm@example.com", PASSWORD)]
    assert mail_log(caught) == []


@needs_openssl
def test_a_wrong_password_is_logged_without_it(certificate, caught):
    authenticator = accept_only("crm@example.com", "the right one")
    with running_smtp(
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    ) as server:
        url = server.url("crm%40example.com", "wrong-secret")
        settings = config(url, MAIL_CA_FILE=str(certificate[0]))

        assert mail.send(settings, TO, "Signed in", "text") is False
        assert server.messages == []
    [line] = mail_log(caught)
    assert "SMTPAuthenticationError" in line
    assert "wrong-secret" not in line


def test_a_password_is_never_sent_without_starttls(smtp_server, caught):
    url = smtp_server.url("crm%40example.com", "secret-in-clear")

    assert mail.send(config(url), TO, "Hello", "text") is False

    assert smtp_server.messages == []
    [line] = mail_log(caught)
    assert "does not offer STARTTLS" in line
    assert "secret-in-clear" not in line
