"""Two-step sign-in: turning it on from the account page, the code after the password,
its throttling, "stay signed in", an admin turning it off, the requirement for admins."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine

from quickcrm.models import User, utcnow
from tests import factories
from tests.conftest import Auth, csrf_token

STEP = timedelta(seconds=30)


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def code(secret: str, moment=None) -> str:
    return pyotp.TOTP(secret).at(moment or utcnow())


def send_code(client, typed: str, path: str = "/login/code"):
    return client.post(path, data={"code": typed, "csrf_token": csrf_token(client, path)})


@pytest.fixture
def ana(db, make_user):
    """A rep with two-step sign-in on (secret set as confirming it would)."""
    user = make_user("ana@example.com", "rep", "Ana Rep")
    user.totp_secret = pyotp.random_base32()
    db.commit()
    return user


def test_sign_in_asks_for_the_code_then_signs_in(client, ana):
    response = Auth(client).login("ana@example.com")
    assert response.status_code == 302 and "/login/code" in response.headers["Location"]
    assert not signed_in(client)  # the password alone does not sign in
    page = client.get("/login/code").get_data(as_text=True)
    assert "Enter the 6-digit code" in page and "Verify" in page
    wrong = send_code(client, "000000" if code(ana.totp_secret) != "000000" else "111111")
    assert wrong.status_code == 401 and not signed_in(client)
    right = send_code(client, code(ana.totp_secret))
    assert right.status_code == 302 and signed_in(client)


def test_the_code_page_without_a_right_password_sends_to_sign_in(client, ana):
    response = client.get("/login/code")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_a_code_is_asked_for_within_five_minutes(client, ana):
    Auth(client).login("ana@example.com")
    with time_machine.travel(utcnow() + timedelta(minutes=6), tick=False):
        response = client.get("/login/code")
        assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_a_code_works_once(app, client, ana):
    now = utcnow()
    Auth(client).login("ana@example.com")
    typed = code(ana.totp_secret, now)
    assert send_code(client, typed).status_code == 302
    other = app.test_client()
    Auth(other).login("ana@example.com")
    assert send_code(other, typed).status_code == 401 and not signed_in(other)


def test_wrong_codes_are_throttled(app, client, ana):
    Auth(client).login("ana@example.com")
    wrong = "000000" if code(ana.totp_secret) != "000000" else "111111"
    limit = app.config["TWO_STEP_ACCOUNT_LIMIT"]
    for _ in range(limit):
        assert send_code(client, wrong).status_code == 401
    refused = send_code(client, code(ana.totp_secret))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many codes tried" in refused.get_data(as_text=True)
    # The account's count: from another address too.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    Auth(other).login("ana@example.com")
    assert send_code(other, code(ana.totp_secret)).status_code == 429
    with time_machine.travel(utcnow() + timedelta(minutes=6), tick=False):
        Auth(other).login("ana@example.com")
        assert send_code(other, code(ana.totp_secret)).status_code == 302
        assert signed_in(other)


def test_stay_signed_in_does_not_skip_the_code(app, client, ana):
    Auth(client).login("ana@example.com", remember=True)
    assert client.get_cookie("remember_token") is None
    assert not signed_in(client)
    send_code(client, code(ana.totp_secret))
    # After the code, "stay signed in" holds, and its cookie alone signs in.
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    phone = app.test_client()
    phone.set_cookie("remember_token", cookie.value)
    assert signed_in(phone)


def test_a_remember_cookie_from_before_two_step_ends_when_it_is_turned_on(app, client, db):
    factories.user(db, "bo@example.com", "rep", "Bo Rep")
    old_phone = app.test_client()
    Auth(old_phone).login("bo@example.com", remember=True)
    kept = app.test_client()
    kept.set_cookie("remember_token", old_phone.get_cookie("remember_token").value)
    Auth(client).login("bo@example.com")
    page = client.get("/account/two-step")
    assert page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "Turn on two-step sign-in" in text and 'src="data:image/svg+xml' in text
    secret = re.search(r'id="two-step-secret"[^>]*>([A-Z2-7]+)<', text).group(1)
    shown = send_code(client, code(secret), "/account/two-step")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", shown.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert signed_in(client)  # this session goes on
    assert not signed_in(kept) and not signed_in(old_phone)
    assert "Two-step sign-in</a> · on" in client.get("/account").get_data(as_text=True)
    # A recovery code signs in once.
    for browser, status in ((app.test_client(), 302), (app.test_client(), 401)):
        Auth(browser).login("bo@example.com")
        assert send_code(browser, codes[0]).status_code == status


def test_turning_it_off_needs_a_code(client, db, ana):
    with time_machine.travel(utcnow(), tick=False):
        Auth(client).login("ana@example.com")
        send_code(client, code(ana.totp_secret))
        token = csrf_token(client, "/account/two-step")
        refused = client.post("/account/two-step/off", data={"code": "", "csrf_token": token})
        assert refused.status_code == 422
        assert db.get(User, ana.id).totp_secret
    with time_machine.travel(utcnow() + STEP, tick=False):
        on = client.post(
            "/account/two-step/off", data={"code": code(ana.totp_secret), "csrf_token": token}
        )
        assert on.status_code == 303 and signed_in(client)
    db.expire_all()
    assert db.get(User, ana.id).totp_secret is None


def test_an_admin_turns_it_off_for_a_user_who_lost_their_phone(app, client, db, admin, ana):
    phone = app.test_client()
    Auth(phone).login("ana@example.com")
    send_code(phone, code(ana.totp_secret))
    assert signed_in(phone)
    page = client.get(f"/admin/users/{ana.id}").get_data(as_text=True)
    assert 'Turn off two-step sign-in<span class="visually-hidden"> for Ana Rep' in page
    assert "Turn off two-step" not in client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    token = csrf_token(client, "/admin/users")
    response = client.post(f"/admin/users/{ana.id}/two-step/off", data={"csrf_token": token})
    assert response.status_code == 303
    assert not signed_in(phone)
    db.expire_all()
    assert db.get(User, ana.id).totp_secret is None
    # The password alone signs in now.
    Auth(phone).login("ana@example.com")
    assert signed_in(phone)
    again = client.post(f"/admin/users/{ana.id}/two-step/off", data={"csrf_token": token})
    assert again.status_code == 422


def test_a_rep_cannot_turn_it_off_for_someone(client, rep, ana):
    token = csrf_token(client, "/")
    response = client.post(f"/admin/users/{ana.id}/two-step/off", data={"csrf_token": token})
    assert response.status_code == 403


def test_admins_must_turn_it_on_when_required(app, client, make_user):
    app.config["REQUIRE_2FA_FOR_ADMINS"] = True
    rep_browser = app.test_client()
    make_user("rita@example.com", "rep", "Rita Rep")
    Auth(rep_browser).login("rita@example.com")
    assert signed_in(rep_browser)  # reps choose
    make_user("ada@example.com", "admin", "Ada Admin")
    Auth(client).login("ada@example.com")
    for path in ("/", "/admin/users", "/account"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith(
            "/account/two-step"
        )
    htmx = client.get("/leads", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].endswith("/account/two-step")
    text = client.get("/account/two-step").get_data(as_text=True)
    secret = re.search(r'id="two-step-secret"[^>]*>([A-Z2-7]+)<', text).group(1)
    assert send_code(client, code(secret), "/account/two-step").status_code == 200
    assert signed_in(client)
