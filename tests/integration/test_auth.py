"""Signing in and out, first run, and that every page but sign-in needs it."""

from __future__ import annotations

import re

import pytest
from flask_login.utils import encode_cookie
from sqlalchemy import select

from quickcrm.domain import users
from quickcrm.models import RateLimit, User
from tests.conftest import PASSWORD, Auth, csrf_token

PROTECTED = ["/", "/leads/1", "/account/password"]


def test_first_visit_with_no_user_leads_to_first_run_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/setup")
    page = client.get("/setup").get_data(as_text=True)
    assert "Create admin" in page


def client_at(app, address: str):
    """A browser on another machine: its requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def first_run(client, app, **values):
    data = {
        "setup_code": users.setup_code(app.config["SECRET_KEY"]),
        "name": "Ada Admin",
        "email": "Ada@Example.com",
        "password": "long enough",
        "password_confirm": "long enough",
        **values,
    }
    return client.post("/setup", data={**data, "csrf_token": csrf_token(client, "/setup")})


def test_first_run_creates_the_first_admin_and_signs_in(app, client, db):
    page = client.get("/setup").get_data(as_text=True)
    assert '<label for="setup_code">Setup code</label>' in page
    response = first_run(client, app)
    assert response.status_code == 302
    admin = db.query(User).one()
    assert (admin.email, admin.role, admin.name) == ("ada@example.com", "admin", "Ada Admin")
    assert client.get("/").status_code == 200
    # Once there is a user, the first-run page is gone.
    assert client.get("/setup").headers["Location"].endswith("/login")


def test_the_setup_code_may_be_typed_in_lower_case_with_spaces(app, client, db):
    code = users.setup_code(app.config["SECRET_KEY"]).lower().replace("-", " ")
    assert first_run(client, app, setup_code=f" {code} ").status_code == 302
    assert db.query(User).count() == 1


def test_a_setup_code_with_a_nul_is_refused_before_the_page(app, client, db):
    assert first_run(client, app, setup_code="\x00").status_code == 400
    assert db.query(User).count() == 0


@pytest.mark.parametrize("code", ["", "AAAA-AAAA-AAAA"])
def test_first_run_without_the_setup_code_makes_no_admin(app, client, db, code):
    response = first_run(client, app, setup_code=code)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert '<p class="field-error" id="setup_code-error">That is not the setup code.' in page
    assert 'value="Ada@Example.com"' in page  # what was typed stays
    assert db.query(User).count() == 0


def test_first_run_attempts_are_throttled_per_address(app, client, db):
    codes = [first_run(client, app, setup_code="WRONG").status_code for _ in range(10)]
    assert codes == [403] * 10
    refused = first_run(client, app)  # even with the right code, for the rest of the minute
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Too many attempts. Wait" in refused.get_data(as_text=True)
    assert db.query(User).count() == 0
    assert first_run(client_at(app, "203.0.113.9"), app).status_code == 302


def test_first_run_rejects_mismatched_passwords(app, client, db):
    response = first_run(client, app, password_confirm="different!")
    assert response.status_code == 422
    assert "The two passwords differ." in response.get_data(as_text=True)
    assert db.query(User).count() == 0


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("too short", "Use at least 10 characters."),
        ("1234567890", "This is one of the most common passwords"),
        ("Password123", "This is one of the most common passwords"),
        ("ada@example.com", "Do not use your email address as your password."),
        ("Ada@Example.COM", "Do not use your email address as your password."),
        ("adalovelace", "Do not use your email address as your password."),
    ],
)
def test_first_run_refuses_a_weak_password_next_to_the_field(app, client, db, password, message):
    response = first_run(
        client, app, email="adalovelace@example.com" if "@" not in password else "ada@example.com",
        password=password, password_confirm=password,
    )  # fmt: skip
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<p class="field-error" id="password-error">' in page and message in page
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


# --- Sign-in attempts are throttled per account and per address ---------------------------


def test_the_11th_wrong_password_from_an_address_in_a_minute_is_refused_there_only(
    app, client, make_user
):
    """Guesses at an account from one address slow that address, not the account's owner:
    anyone could otherwise keep an admin out with eleven wrong passwords a minute."""
    make_user()
    attacker = client_at(app, "203.0.113.66")
    codes = [Auth(attacker).login(password=f"wrong guess {i}").status_code for i in range(10)]
    assert codes == [401] * 10
    refused = Auth(attacker).login(password=f"wrong guess {10}")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    page = refused.get_data(as_text=True)
    assert "Too many sign-in attempts. Wait" in page and 'role="alert"' in page
    # From that address, even the right password waits out the minute…
    assert Auth(attacker).login().status_code == 429
    assert attacker.get("/").status_code == 302
    # …while the owner, on their phone elsewhere, signs in with it, then goes on using the app.
    phone = client_at(app, "198.51.100.20")
    assert Auth(phone).login().status_code == 302
    assert phone.get("/").status_code == 200
    # Still refused at the attacker's address until the minute is over.
    assert Auth(attacker).login(password="wrong guess 11").status_code == 429


def test_guesses_spread_over_many_addresses_are_held_at_the_accounts_total(app, make_user):
    """An attacker who has many addresses still meets a limit on the account as a whole,
    much higher than one address's (here lowered to 25 from 100, to keep the test short)."""
    make_user()
    app.config["SIGN_IN_ACCOUNT_TOTAL_LIMIT"] = 25
    codes = [
        Auth(client_at(app, f"203.0.113.{n // 10 + 1}")).login(password="wrong").status_code
        for n in range(25)
    ]
    assert codes == [401] * 25
    assert Auth(client_at(app, "203.0.113.9")).login(password="wrong").status_code == 429
    assert Auth(client_at(app, "198.51.100.20")).login().status_code == 429


def test_a_successful_sign_in_starts_the_accounts_count_again(client, auth, make_user):
    make_user()
    for _ in range(9):
        assert auth.login(password="wrong guess").status_code == 401
    assert auth.login().status_code == 302
    auth.logout()
    for _ in range(10):
        assert auth.login(password="wrong guess").status_code == 401


def test_one_address_trying_many_accounts_is_refused_after_30_a_minute(app, client, make_user):
    make_user()
    codes = {
        Auth(client).login(f"guess{i}@example.com", "wrong guess").status_code for i in range(30)
    }
    assert codes == {401}
    assert Auth(client).login().status_code == 429
    # Someone else, elsewhere, signs in as usual.
    assert Auth(client_at(app, "2001:db8::7")).login().status_code == 302


def test_a_password_typed_into_the_email_box_is_not_kept_in_clear(app, client, db, make_user):
    """The rate limits count what was typed into the email box, but keep only a keyed hash
    of it: no row of ``rate_limit`` (nor a backup or dump of it) holds the text."""
    make_user()
    typed = "my own secret phrase 42"
    assert Auth(client).login(typed, "wrong guess").status_code == 401
    keys = db.scalars(select(RateLimit.key)).all()
    assert len(keys) == 3
    assert not [key for key in keys if "secret phrase" in key or "127.0.0.1" in key]
    assert all(re.fullmatch("[0-9a-f]{64}", key) for key in keys)
    # Counted all the same: the next attempts of that email from this address add up.
    for _ in range(9):
        assert Auth(client).login(typed, "wrong guess").status_code == 401
    assert Auth(client).login(typed, "wrong guess").status_code == 429


def test_an_unknown_email_costs_the_same_as_a_wrong_password(client, db, make_user, monkeypatch):
    """The work a sign-in does, counted rather than timed: one password check and no
    hashing, whether the email is unknown, the password wrong or the user deactivated."""
    make_user()
    make_user("gone@example.com").active = False
    db.commit()
    calls: list[str] = []
    real_check, real_generate = users.check_password_hash, users.generate_password_hash

    def check(*args, **kwargs):
        calls.append("check")
        return real_check(*args, **kwargs)

    def generate(*args, **kwargs):
        calls.append("hash")
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(users, "check_password_hash", check)
    monkeypatch.setattr(users, "generate_password_hash", generate)
    work = {}
    for email, password in (
        ("nobody@example.com", "wrong guess"),
        ("nobody@example.com", "wrong guess"),
        ("rep@example.com", "wrong guess"),
        ("gone@example.com", PASSWORD),
    ):
        calls.clear()
        assert Auth(client).login(email, password).status_code == 401
        work.setdefault(email, []).append(list(calls))
    assert work == {
        "nobody@example.com": [["check"], ["check"]],
        "rep@example.com": [["check"]],
        "gone@example.com": [["check"]],
    }


# --- Password policy everywhere a password is chosen -----------------------------------------


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("short one", "Use at least 10 characters."),
        ("qwertyuiop", "This is one of the most common passwords"),
        ("REP@example.com", "Do not use your email address as your password."),
    ],
)
def test_a_new_password_follows_the_policy(client, rep, new, message):
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": new,
            "new_password_confirm": new,
            "csrf_token": csrf_token(client, "/account/password"),
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<p class="field-error" id="new_password-error">' in page and message in page


def test_the_password_pages_say_what_a_password_needs(app, client, rep):
    hint = "At least 10 characters; not a common password, not your email."
    assert hint in client.get("/account/password").get_data(as_text=True)


# --- htmx asks for the form block: a fragment, never a 500 -----------------------------------

HX = {"HX-Request": "true"}


def assert_fragment(response, status: int, text: str) -> None:
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert text in page and "<html" not in page
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_sign_in_page_and_refusal_are_fragments(client, make_user):
    make_user()
    assert_fragment(client.get("/login", headers=HX), 200, '<label for="email">Email</label>')
    data = {"email": "rep@example.com", "password": "wrong guess",
            "csrf_token": csrf_token(client)}  # fmt: skip
    refused = client.post("/login", data=data, headers=HX)
    assert_fragment(refused, 401, "That email and password do not match an active account.")


def test_htmx_first_run_page_is_a_fragment(app, client):
    assert_fragment(client.get("/setup", headers=HX), 200, "Setup code")
    data = {"setup_code": "wrong", "csrf_token": csrf_token(client, "/setup")}
    assert_fragment(client.post("/setup", data=data, headers=HX), 403, "not the setup code")


def test_htmx_password_page_and_refusal_are_fragments(client, rep):
    assert_fragment(client.get("/account/password", headers=HX), 200, "Current password")
    data = {"current_password": "not it", "new_password": "a brand new one",
            "new_password_confirm": "a brand new one",
            "csrf_token": csrf_token(client, "/account/password")}  # fmt: skip
    refused = client.post("/account/password", data=data, headers=HX)
    assert_fragment(refused, 422, "That is not your current password.")


def test_htmx_admin_users_page_and_refusal_are_fragments(client, admin):
    assert_fragment(client.get("/admin/users", headers=HX), 200, "Invite user")
    data = {"name": "Nina", "email": "not an email", "role": "rep",
            "csrf_token": csrf_token(client, "/admin/users")}  # fmt: skip
    refused = client.post("/admin/users/invite", data=data, headers=HX)
    assert_fragment(refused, 422, "email")
