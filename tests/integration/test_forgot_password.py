"""*Forgot password* and the links admins make, through a real SMTP conversation with a
local server (tests/mailserver.py): the same answer for every address, a one-hour link
that works once, throttled; without mail, ask an admin."""

from __future__ import annotations

import re
import threading

import pytest

from quickcrm.models import PasswordToken
from tests.conftest import PASSWORD, csrf_token

LINK = re.compile(r"https?://[^/\s]+(/password/[A-Za-z0-9_-]+)")


def wait_for(smtp_server, count: int):
    """The messages the server holds once it holds ``count`` (the mail leaves on a thread
    of its own); waits on the sending threads, never on a clock."""
    for thread in threading.enumerate():
        if thread.name == "quickcrm-mail":
            thread.join(timeout=15)
    assert len(smtp_server.messages) == count
    return smtp_server.messages


def ask(client, email: str):
    data = {"email": email, "csrf_token": csrf_token(client, "/password/forgot")}
    return client.post("/password/forgot", data=data)


def test_without_mail_the_page_says_to_ask_an_admin(client, make_user):
    make_user()
    page = client.get("/password/forgot")
    assert page.status_code == 200 and "Ask an admin" in page.get_data(as_text=True)
    assert "Forgot password?" in client.get("/login").get_data(as_text=True)


@pytest.mark.commits  # the mail thread reads nothing, but the link is used by a second client
def test_a_known_and_an_unknown_address_get_the_same_answer_and_one_mail(
    mail_app, smtp_server, client, make_user, db
):
    rep = make_user("rep@example.com", "rep", "Rita Rep")
    known, unknown = ask(client, "Rep@Example.com"), ask(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    answer = "If that address has an account, we sent it a link"
    assert answer in known.get_data(as_text=True) and answer in unknown.get_data(as_text=True)
    (message,) = wait_for(smtp_server, 1)
    assert message.rcpt_tos == ["rep@example.com"]
    body = message.message.get_content()
    path = LINK.search(body).group(1)
    assert db.query(PasswordToken).filter_by(user_id=rep.id, purpose="forgot").count() == 1

    other = mail_app.test_client()
    page = other.get(path)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    new = "a brand new passphrase"
    chosen = other.post(path, data={"csrf_token": token, "new_password": new,
                                    "new_password_confirm": new})  # fmt: skip
    assert chosen.status_code in (302, 303)
    assert other.get(path).status_code == 410  # once
    # The old password no longer signs in; the new one does.
    fresh = mail_app.test_client()
    data = {"email": "rep@example.com", "password": PASSWORD,
            "csrf_token": csrf_token(fresh, "/login")}  # fmt: skip
    assert fresh.post("/login", data=data).status_code == 401


def test_requests_for_a_link_are_throttled_per_account(mail_app, smtp_server, client, make_user):
    make_user("rep@example.com")
    codes = [ask(client, "rep@example.com").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    assert len(wait_for(smtp_server, 5)) == 5  # one link a request, none for the sixth


def test_an_invite_is_also_sent_by_mail_when_mail_is_configured(
    mail_app, smtp_server, client, admin
):
    data = {"email": "new@example.com", "name": "Nia New", "role": "rep",
            "csrf_token": csrf_token(client, "/admin/users")}  # fmt: skip
    assert client.post("/admin/users/invite", data=data).status_code == 201
    (message,) = wait_for(smtp_server, 1)
    assert message.rcpt_tos == ["new@example.com"]
    assert LINK.search(message.message.get_content())
