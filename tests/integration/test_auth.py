"""Signing in and out, first run, and that every page but sign-in needs it."""

from __future__ import annotations

import pytest
from flask_login.utils import encode_cookie

from quickcrm.models import User
from tests.conftest import PASSWORD, Auth, csrf_token

PROTECTED = ["/", "/leads/1", "/account/password"]


def test_first_visit_with_no_user_leads_to_first_run_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/setup")
    page = client.get("/setup").get_data(as_text=True)
    assert "Create admin" in page


def test_first_run_creates_the_first_admin_and_signs_in(client, db):
    data = {
        "name": "Ada Admin",
        "email": "Ada@Example.com",
        "password": "long enough",
        "password_confirm": "long enough",
        "csrf_token": csrf_token(client, "/setup"),
    }
    response = client.post("/setup", data=data)
    assert response.status_code == 302
    admin = db.query(User).one()
    assert (admin.email, admin.role, admin.name) == ("ada@example.com", "admin", "Ada Admin")
    assert client.get("/").status_code == 200
    # Once there is a user, the first-run page is gone.
    assert client.get("/setup").headers["Location"].endswith("/login")


def test_first_run_rejects_mismatched_passwords(client, db):
    data = {
        "email": "ada@example.com",
        "password": "long enough",
        "password_confirm": "different!",
        "csrf_token": csrf_token(client, "/setup"),
    }
    response = client.post("/setup", data=data)
    assert response.status_code == 422
    assert "The two passwords differ." in response.get_data(as_text=True)
    assert db.query(User).count() == 0


def test_first_run_rejects_a_short_password(client, db):
    data = {
        "email": "ada@example.com",
        "password": "short",
        "password_confirm": "short",
        "csrf_token": csrf_token(client, "/setup"),
    }
    response = client.post("/setup", data=data)
    assert response.status_code == 422
    assert "at least 8 characters" in response.get_data(as_text=True)
    assert db.query(User).count() == 0


@pytest.mark.parametrize("path", PROTECTED)
def test_pages_require_sign_in(client, make_user, path):
    make_user()
    response = client.get(path)
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


@pytest.mark.parametrize("path", PROTECTED)
def test_htmx_requests_without_sign_in_redirect_the_whole_page(client, make_user, path):
    make_user()
    response = client.get(path, headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    assert "<form" not in response.get_data(as_text=True)


def test_sign_in_and_return_to_the_page_asked_for(client, make_user):
    make_user()
    token = csrf_token(client)
    response = client.post(
        "/login?next=/account/password",
        data={"email": "REP@example.com ", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/password"


def test_sign_in_never_redirects_off_site(client, make_user):
    make_user()
    token = csrf_token(client)
    response = client.post(
        "/login?next=//evil.example/steal",
        data={"email": "rep@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("email", "password"),
    [("rep@example.com", "wrong password"), ("nobody@example.com", PASSWORD)],
)
def test_wrong_credentials_get_one_message_that_does_not_say_which(
    client, auth, make_user, email, password
):
    make_user()
    response = auth.login(email, password)
    assert response.status_code == 401
    assert "That email and password do not match an active account." in response.get_data(
        as_text=True
    )
    assert client.get("/").status_code == 302


def test_a_deactivated_user_cannot_sign_in(auth, make_user, db):
    user = make_user()
    user.active = False
    db.commit()
    assert auth.login().status_code == 401


def test_stay_signed_in_keeps_the_phone_signed_in_for_30_days(client, auth, make_user):
    make_user()
    auth.login(remember=True)
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    assert cookie.max_age is None or cookie.max_age > 29 * 24 * 3600
    assert cookie.expires is not None
    # A fresh browser session with only the remember cookie is still signed in.
    client.delete_cookie("session")
    assert client.get("/").status_code == 200


def test_without_stay_signed_in_there_is_no_remember_cookie(client, auth, make_user):
    make_user()
    auth.login(remember=False)
    assert client.get_cookie("remember_token") is None
    assert client.get("/").status_code == 200


def test_sign_out(client, auth, rep):
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_sign_out_needs_a_post_with_csrf(client, rep):
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_change_password(client, auth, rep):
    token = csrf_token(client, "/account/password")
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new one",
            "new_password_confirm": "a brand new one",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    auth.logout()
    assert auth.login(password=PASSWORD).status_code == 401
    assert auth.login(password="a brand new one").status_code == 302


def test_change_password_needs_the_current_one(client, rep):
    token = csrf_token(client, "/account/password")
    response = client.post(
        "/account/password",
        data={
            "current_password": "not it",
            "new_password": "a brand new one",
            "new_password_confirm": "a brand new one",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)


def test_static_files_need_no_sign_in_and_are_cached_long(client, make_user):
    make_user()
    with client.get("/static/app.css") as response:
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]
    with client.get("/static/manifest.webmanifest") as manifest:
        assert manifest.status_code == 200
        assert manifest.headers["Cache-Control"] == "no-cache"
        assert manifest.get_json()["start_url"] == "/"


def test_sign_out_also_forgets_stay_signed_in(client, auth, make_user):
    make_user()
    auth.login(remember=True)
    auth.logout()
    assert client.get_cookie("remember_token") is None
    assert client.get("/").status_code == 302


def test_pages_loaded_at_once_after_sign_in_carry_tokens_of_one_secret(client, make_user):
    """The start page and the service worker's copy of it load together after sign-in: the
    session must already hold the CSRF secret, or each would make its own and one page's
    token would be refused later."""
    make_user("rep@example.com")
    data = {"email": "rep@example.com", "password": PASSWORD,
            "csrf_token": csrf_token(client, "/login")}  # fmt: skip
    assert client.post("/login", data=data).status_code == 302
    with client.session_transaction() as session:
        secret = session.get("csrf_token")
    assert secret
    client.get("/")
    with client.session_transaction() as session:
        assert session["csrf_token"] == secret


# --- Every session ends: sign-out, a new password, deactivation ---------------------------


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def phone_with_only_its_remember_cookie(app, client):
    """A browser holding nothing but ``client``'s "stay signed in" cookie (its session
    cookie gone, as after the phone restarts)."""
    phone = app.test_client()
    phone.set_cookie("remember_token", client.get_cookie("remember_token").value)
    return phone


def browser_with_cookies_of(app, client):
    """A browser holding copies of ``client``'s cookies as they are now (a stolen or kept
    copy)."""
    copy = app.test_client()
    for name in ("session", "remember_token"):
        cookie = client.get_cookie(name)
        if cookie is not None:
            copy.set_cookie(name, cookie.value)
    return copy


def test_signing_out_ends_every_session_and_stay_signed_in_cookie(app, client, auth, make_user):
    make_user()
    laptop = app.test_client()
    Auth(laptop).login(remember=True)
    auth.login(remember=True)
    kept = browser_with_cookies_of(app, client)
    remembered = phone_with_only_its_remember_cookie(app, laptop)
    assert signed_in(laptop) and signed_in(kept) and signed_in(remembered)

    auth.logout()
    assert not signed_in(client)
    assert not signed_in(laptop)
    assert not signed_in(remembered)
    assert not signed_in(kept)
    assert laptop.get_cookie("remember_token") is None  # and the dead cookie is deleted


def test_a_new_password_signs_out_everyone_else_but_not_this_browser(app, client, auth, rep):
    phone = app.test_client()
    Auth(phone).login(remember=True)
    remembered = phone_with_only_its_remember_cookie(app, phone)
    token = csrf_token(client, "/account/password")
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new one",
            "new_password_confirm": "a brand new one",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200  # this browser is still signed in
    assert "Other browsers and phones are signed out." in page.get_data(as_text=True)
    assert not signed_in(phone)
    assert not signed_in(remembered)


def test_a_new_password_keeps_this_phone_signed_in_for_30_days(app, client, auth, rep):
    auth.logout()
    auth.login(remember=True)
    old_cookie = client.get_cookie("remember_token").value
    client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new one",
            "new_password_confirm": "a brand new one",
            "csrf_token": csrf_token(client, "/account/password"),
        },
    )
    assert client.get_cookie("remember_token").value != old_cookie
    assert signed_in(phone_with_only_its_remember_cookie(app, client))
    old = app.test_client()
    old.set_cookie("remember_token", old_cookie)
    assert not signed_in(old)


def test_deactivation_ends_sessions_and_reactivation_does_not_bring_them_back(
    app, client, admin, make_user
):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    phone = app.test_client()
    Auth(phone).login("rita@example.com", remember=True)
    kept = browser_with_cookies_of(app, phone)
    token = csrf_token(client, "/admin/users")
    client.post(f"/admin/users/{rita.id}/deactivate", data={"csrf_token": token})
    assert not signed_in(kept)
    client.post(f"/admin/users/{rita.id}/reactivate", data={"csrf_token": token})
    assert not signed_in(phone)
    assert not signed_in(browser_with_cookies_of(app, kept))
    assert Auth(phone).login("rita@example.com").status_code == 302
    assert signed_in(phone)


@pytest.mark.parametrize(
    "session_id",
    [
        "1",  # the id alone, as before session versions
        "²",  # isdigit() says yes, int() says no
        "99999999999",
        "1:",
        ":1",
        "1:1:1",
        "0:1",
        "1:0",
        "-1:1",
        "+1:1",
        " 1:1",
        "1:1\n",
        "²:1",
        "١:1",  # an Arabic-Indic digit: isdigit() says yes
        "99999999999:1",  # past a 32-bit integer (PostgreSQL's "integer out of range")
        "1:99999999999",
        "9" * 3000 + ":1",
        "\x00:1",
        "1:2",  # a version that was never handed out
    ],
)
def test_a_malformed_or_ended_session_id_means_signed_out_never_an_error(
    app, client, make_user, session_id
):
    make_user()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # The same id in a validly signed "stay signed in" cookie.
    with app.test_request_context():
        cookie = encode_cookie(session_id)
    phone = app.test_client()
    phone.set_cookie("remember_token", cookie)
    response = phone.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
