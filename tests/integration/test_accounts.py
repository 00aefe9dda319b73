"""Accounts a team can live with (issue 23): an admin invites a user, who chooses their
password through a one-time link and is signed in; an admin resets a password; the
reset-password command; the first-run page after seed-demo."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import select

from quickcrm.domain import accounts, users
from quickcrm.models import PasswordToken, User, utcnow
from tests.conftest import PASSWORD, Auth, csrf_token

NEW = "a brand new password"
LINK = re.compile(r'value="(http://localhost/password/([A-Za-z0-9_-]+))"')


def invite(client, **values):
    data = {"name": "Nina New", "email": "nina@example.com", "role": "rep", **values}
    token = csrf_token(client, "/admin/users")
    return client.post("/admin/users/invite", data={**data, "csrf_token": token})


def link_in(response) -> str:
    match = LINK.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return match.group(1).removeprefix("http://localhost")


def choose(client, path, password=NEW, confirm=None):
    data = {
        "new_password": password,
        "new_password_confirm": password if confirm is None else confirm,
    }
    page = path if client.get(path).status_code == 200 else "/login"  # a gone link: no form
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


def test_invite_then_the_link_chooses_a_password_and_signs_in(app, client, admin, db):
    response = invite(client)
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "Invited Nina New (rep)" in page and "data-shown-once" in page
    path = link_in(response)
    secret = path.rsplit("/", 1)[1]
    assert secret not in str(db.scalars(select(PasswordToken.token_hash)).all())
    # The admin's own list no longer shows it.
    assert "/password/" not in client.get("/admin/users").get_data(as_text=True)

    nina = app.test_client()
    form = nina.get(path)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert form.headers["Referrer-Policy"] == "no-referrer"
    text = form.get_data(as_text=True)
    assert "<h1>Choose your password</h1>" in text and ">Choose password</button>" in text
    assert '<label for="new_password">New password</label>' in text
    assert '<label for="new_password_confirm">Repeat new password</label>' in text

    differ = choose(nina, path, confirm="something else")
    assert differ.status_code == 422 and "The two new passwords differ." in differ.get_data(
        as_text=True
    )
    weak = choose(nina, path, "short")
    assert weak.status_code == 422 and "Use at least 10 characters." in weak.get_data(as_text=True)

    done = choose(nina, path)
    assert done.status_code == 303
    home = nina.get(done.location, follow_redirects=True)
    assert home.status_code == 200 and "Welcome, Nina New" in home.get_data(as_text=True)
    assert nina.get("/forecast").status_code == 403  # signed in, as a rep

    # Works once.
    again = app.test_client().get(path)
    assert again.status_code == 410
    assert "ask for a new one" in again.get_data(as_text=True)
    assert choose(app.test_client(), path, "yet another password").status_code == 410
    signed_in = Auth(app.test_client()).login("nina@example.com", NEW)
    assert signed_in.status_code == 302


def test_an_invite_link_expires_after_seven_days(app, client, admin):
    path = link_in(invite(client))
    with time_machine.travel(utcnow() + timedelta(days=7, minutes=1), tick=False):
        gone = app.test_client().get(path)
        assert gone.status_code == 410 and "Ask an admin for a new link" in gone.get_data(
            as_text=True
        )


def test_a_tampered_or_unknown_link_is_gone(app, client, admin):
    path = link_in(invite(client))
    for forged in (path[:-1], path + "x", "/password/" + "A" * 43, "/password/" + "A" * 500):
        response = app.test_client().get(forged)
        assert response.status_code == 410, forged
    assert app.test_client().get("/password/%00").status_code == 400  # refused before the page
    assert app.test_client().get(path).status_code == 200


def test_an_invited_user_cannot_sign_in_before_choosing(app, client, admin):
    invite(client)
    for guess in ("", users.UNUSABLE_PASSWORD, PASSWORD):
        assert Auth(app.test_client()).login("nina@example.com", guess).status_code == 401


def test_an_admins_reset_ends_sessions_and_gives_a_new_link(app, client, admin, make_user, db):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    ritas_phone = app.test_client()
    Auth(ritas_phone).login("rita@example.com")
    assert ritas_phone.get("/account").status_code == 200

    token = csrf_token(client, "/admin/users")
    response = client.post(f"/admin/users/{rita.id}/reset-password", data={"csrf_token": token})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "Reset the password of Rita Rep" in page and "signed out everywhere" in page
    path = link_in(response)
    assert ritas_phone.get("/account").status_code == 302  # signed out
    assert Auth(app.test_client()).login("rita@example.com").status_code == 401

    # A second reset: the first link stops working.
    second = link_in(
        client.post(f"/admin/users/{rita.id}/reset-password", data={"csrf_token": token})
    )
    assert app.test_client().get(path).status_code == 410
    assert choose(app.test_client(), second).status_code == 303
    assert Auth(app.test_client()).login("rita@example.com", NEW).status_code == 302


def test_an_admin_cannot_reset_their_own_password_here(client, admin, db):
    token = csrf_token(client, "/admin/users")
    response = client.post(f"/admin/users/{admin.id}/reset-password", data={"csrf_token": token})
    assert response.status_code == 422
    assert "under Change password" in response.get_data(as_text=True)
    assert db.scalar(select(PasswordToken.id)) is None


def test_a_password_change_ends_the_users_links(app, make_user, db):
    make_user("rita@example.com", "rep", "Rita Rep")
    rita = db.scalar(select(User).where(User.email == "rita@example.com"))
    _, secret = accounts.issue_token(db, rita, "forgot", utcnow())
    db.commit()
    path = f"/password/{secret}"
    assert app.test_client().get(path).status_code == 200
    phone = app.test_client()
    Auth(phone).login("rita@example.com")
    data = {"current_password": PASSWORD, "new_password": NEW, "new_password_confirm": NEW}
    changed = phone.post(
        "/account/password", data={**data, "csrf_token": csrf_token(phone, "/account/password")}
    )
    assert changed.status_code == 302
    assert app.test_client().get(path).status_code == 410


def test_reset_password_command_prints_a_link_that_works_once(app, runner, make_user, db):
    make_user("ada@example.com", "admin", "Ada Admin")
    result = runner.invoke(
        args=["reset-password", "ADA@example.com", "--url", "https://crm.example.com/"]
    )
    assert result.exit_code == 0, result.output
    match = re.search(r"https://crm\.example\.com(/password/[A-Za-z0-9_-]{43})\n", result.output)
    assert match, result.output
    client = app.test_client()
    assert choose(client, match.group(1)).status_code == 303
    assert client.get("/admin/users").status_code == 200  # the admin is back in
    assert choose(app.test_client(), match.group(1)).status_code == 410


def test_reset_password_command_defaults_and_refusals(runner, make_user):
    make_user("ada@example.com", "admin", "Ada Admin")
    result = runner.invoke(args=["reset-password", "ada@example.com"])
    assert result.exit_code == 0 and "http://localhost:8000/password/" in result.output
    unknown = runner.invoke(args=["reset-password", "nobody@example.com"])
    assert unknown.exit_code != 0 and "No user has the email nobody@example.com" in unknown.output
    help_text = runner.invoke(args=["reset-password", "--help"]).output
    assert "QUICKCRM_BASE_URL" in help_text and "localhost:8000" in help_text


def test_the_readme_order_seed_demo_then_the_first_run_page(app, runner, client, db):
    assert client.get("/", follow_redirects=True).request.path == "/setup"
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    # Demo users exist, none is a real admin: the first-run page is still open.
    page = client.get("/", follow_redirects=True)
    assert page.request.path == "/login"
    assert 'href="/setup"' in page.get_data(as_text=True)
    assert client.get("/setup").status_code == 200
    assert runner.invoke(args=["setup-code"]).exit_code == 0
    data = {
        "setup_code": users.setup_code(app.config["SECRET_KEY"]),
        "name": "Ada Admin",
        "email": "ada@example.com",
        "password": "long enough",
        "password_confirm": "long enough",
        "csrf_token": csrf_token(client, "/setup"),
    }
    made = client.post("/setup", data=data)
    assert made.status_code == 302
    assert client.get("/admin/users").status_code == 200
    ada = db.scalar(select(User).where(User.email == "ada@example.com"))
    assert ada.role == "admin"
    # Now it is closed.
    other = app.test_client()
    assert other.get("/setup").headers["Location"].endswith("/login")
    assert 'href="/setup"' not in other.get("/login").get_data(as_text=True)
