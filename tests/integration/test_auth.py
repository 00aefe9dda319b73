"""Signing in and out, first run, and that every page but sign-in needs it."""

from __future__ import annotations

import pytest

from quickcrm.models import User
from tests.conftest import PASSWORD, csrf_token

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
